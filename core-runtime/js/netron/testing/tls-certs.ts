// Test certificates for tls:// as PEM files in a temporary directory: a CA, a server certificate
// for 127.0.0.1 and localhost, a client certificate from that CA, and one from another CA (which
// mutual TLS refuses). ECDSA P-256 keys from Node's WebCrypto; certificates built with
// @peculiar/x509. For tests of the tls-transport extension and of the Node client over tls:// and wss://.
//
//   const files = await generateTlsFiles();
//   // server: { cert: files.serverCert, key: files.serverKey, clientCa: files.ca }
//   // client: tls.connect({ port, host: "127.0.0.1", ca: readFileSync(files.ca), ... })
//   files.remove();

// tsyringe (under @peculiar/x509) needs the Reflect metadata API before it loads.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes, webcrypto } from "node:crypto";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

/** The files `generateTlsFiles` wrote (absolute paths), and how to remove them. */
export interface TlsFiles {
  /** The directory holding every file. */
  dir: string;
  /** The CA's certificate: what clients trust, and the server's `clientCa` for mutual TLS. */
  ca: string;
  /** The server's certificate (SAN 127.0.0.1 and localhost, serverAuth) and its PKCS#8 key. */
  serverCert: string;
  serverKey: string;
  /** A client certificate signed by the CA (clientAuth) and its key. */
  clientCert: string;
  clientKey: string;
  /** Another CA, which signed neither the server's nor the client's certificate. */
  otherCa: string;
  /** A client certificate signed by the other CA, and its key: refused under mutual TLS. */
  strangerCert: string;
  strangerKey: string;
  /** Deletes `dir`. */
  remove(): void;
}

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
const DAY = 24 * 60 * 60 * 1000;

async function keyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"])) as CryptoKeyPair;
}

/** A positive serial number in hex, random as RFC 5280 asks. */
function serial(): string {
  return "01" + randomBytes(15).toString("hex");
}

/** Valid from yesterday (clock skew) for a week. */
function validity() {
  return { notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 7 * DAY) };
}

interface Authority {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
}

async function authority(commonName: string): Promise<Authority> {
  const keys = await keyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    ...validity(),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys };
}

async function leaf(issuer: Authority, commonName: string, usage: x509.ExtendedKeyUsage, names: x509.JsonGeneralName[]) {
  const keys = await keyPair();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([usage]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${commonName}`,
    issuer: issuer.cert.subject,
    ...validity(),
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    extensions,
  });
  return { cert, keys };
}

async function privateKeyPem(keys: CryptoKeyPair): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey), "PRIVATE KEY");
}

/** Writes a fresh CA, server and client certificates into `dir` (default: a new temp dir). */
export async function generateTlsFiles(dir: string = mkdtempSync(path.join(tmpdir(), "titan-tls-"))): Promise<TlsFiles> {
  const ca = await authority("Titan test CA");
  const server = await leaf(ca, "localhost", x509.ExtendedKeyUsage.serverAuth, [
    { type: "dns", value: "localhost" },
    { type: "ip", value: "127.0.0.1" },
  ]);
  const client = await leaf(ca, "titan test client", x509.ExtendedKeyUsage.clientAuth, []);
  const otherCa = await authority("Another CA");
  const stranger = await leaf(otherCa, "stranger", x509.ExtendedKeyUsage.clientAuth, []);

  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, text, { mode: 0o600 });
    return file;
  };
  return {
    dir,
    ca: write("ca.pem", ca.cert.toString("pem")),
    serverCert: write("server.pem", server.cert.toString("pem")),
    serverKey: write("server.key", await privateKeyPem(server.keys)),
    clientCert: write("client.pem", client.cert.toString("pem")),
    clientKey: write("client.key", await privateKeyPem(client.keys)),
    otherCa: write("other-ca.pem", otherCa.cert.toString("pem")),
    strangerCert: write("stranger.pem", stranger.cert.toString("pem")),
    strangerKey: write("stranger.key", await privateKeyPem(stranger.keys)),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
