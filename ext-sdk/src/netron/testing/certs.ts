// Throwaway certificates for the tls:// and wss:// tests, made with the openssl command line: a CA,
// a server certificate it signed (localhost, 127.0.0.1) and a client certificate for mutual TLS.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCertificates {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed neither certificate, to test refusals. */
  otherCa: string;
}

/** Whether the openssl command is available (tests that need certificates skip without it). */
export function hasOpenssl(): boolean {
  return spawnSync("openssl", ["version"], { stdio: "ignore" }).status === 0;
}

function openssl(dir: string, args: string[]): void {
  const result = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${result.stderr || result.error?.message}`);
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

function makeCa(dir: string, name: string): void {
  openssl(dir, ["req", "-x509", ...EC_KEY, "-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "2", "-subj", `/CN=${name}`]);
}

function makeSigned(dir: string, name: string, extensions: string): void {
  openssl(dir, ["req", ...EC_KEY, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`]);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.pem`, "-days", "2", "-extfile", `${name}.ext`]);
}

/** Makes the certificates in a temp dir and returns them as PEM text. */
export function makeCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "titan-netron-certs-"));
  try {
    makeCa(dir, "ca");
    makeCa(dir, "other-ca");
    makeSigned(dir, "server", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
    makeSigned(dir, "client", "extendedKeyUsage=clientAuth\n");
    const read = (file: string) => readFileSync(join(dir, file), "utf8");
    return {
      ca: read("ca.pem"),
      serverCert: read("server.pem"),
      serverKey: read("server.key"),
      clientCert: read("client.pem"),
      clientKey: read("client.key"),
      otherCa: read("other-ca.pem"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
