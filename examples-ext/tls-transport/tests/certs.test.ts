// The certificates tests/certs.ts generates are real ones: they load into node:tls, chain to
// their CA, name 127.0.0.1 and localhost, and carry a TLS 1.3 handshake with mutual auth in
// which the CA's client is authorized and the other CA's is not.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import tls from "node:tls";
import { generateTlsFiles, type TlsFiles } from "./certs.js";

let files: TlsFiles;
before(async () => {
  files = await generateTlsFiles();
});
after(() => files.remove());

const read = (file: string) => readFileSync(file);

test("every file loads with createSecureContext", () => {
  tls.createSecureContext({ cert: read(files.serverCert), key: read(files.serverKey), ca: read(files.ca) });
  tls.createSecureContext({ cert: read(files.clientCert), key: read(files.clientKey), ca: read(files.ca) });
  tls.createSecureContext({ cert: read(files.strangerCert), key: read(files.strangerKey) });
});

test("the server certificate chains to the CA and names 127.0.0.1 and localhost", () => {
  const ca = new X509Certificate(read(files.ca));
  const server = new X509Certificate(read(files.serverCert));
  assert.ok(ca.ca, "the CA is a CA");
  assert.ok(!server.ca);
  assert.ok(server.checkIssued(ca) && server.verify(ca.publicKey));
  assert.equal(server.checkIP("127.0.0.1"), "127.0.0.1");
  assert.equal(server.checkHost("localhost"), "localhost");
  assert.ok(!new X509Certificate(read(files.strangerCert)).verify(ca.publicKey), "the stranger's is from another CA");
});

/** A TLS 1.3 handshake against a node:tls server that asks for a client certificate: what each
 * side concluded. */
async function handshake(clientCert: string, clientKey: string) {
  const server = tls.createServer({
    cert: read(files.serverCert),
    key: read(files.serverKey),
    ca: read(files.ca),
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: "TLSv1.3",
  });
  const serverSide = new Promise<{ authorized: boolean; error: string | undefined }>((resolve) => {
    server.once("secureConnection", (socket) => {
      resolve({ authorized: socket.authorized, error: socket.authorizationError?.toString() });
      socket.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  try {
    const client = tls.connect({ host: "127.0.0.1", port, ca: read(files.ca), cert: read(clientCert), key: read(clientKey) });
    await new Promise<void>((resolve, reject) => client.once("secureConnect", resolve).once("error", reject));
    const clientSide = { authorized: client.authorized, protocol: client.getProtocol() };
    // In TLS 1.3 the server concludes after the client's last flight: wait for it before closing.
    const serverConcluded = await serverSide;
    client.destroy();
    return { client: clientSide, server: serverConcluded };
  } finally {
    server.close();
  }
}

test("a TLS 1.3 handshake: the client trusts the server, the server trusts only the CA's client", async () => {
  const member = await handshake(files.clientCert, files.clientKey);
  assert.deepEqual(member.client, { authorized: true, protocol: "TLSv1.3" });
  assert.equal(member.server.authorized, true);

  const stranger = await handshake(files.strangerCert, files.strangerKey);
  assert.equal(stranger.client.authorized, true);
  assert.equal(stranger.server.authorized, false);
  assert.match(stranger.server.error ?? "", /^UNABLE_TO_(VERIFY_LEAF_SIGNATURE|GET_ISSUER_CERT)/);
});
