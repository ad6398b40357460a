// tls-transport loaded the way an app loads it: the real runtime (the harness's worker isolate and
// the core addon) runs its `init` with the `config` an app gives it in titan.config.json. A good
// config registers tls://; a bad one stops the load with a message that says what to fix. The
// TLS connections themselves are tested in tests/tls.rs (Rust client) and by the Netron tests of
// the runtime (Node client).

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { loadExtension } from "titan/harness";
import { generateTlsFiles, type TlsFiles } from "./certs.js";

const extDir = new URL("..", import.meta.url);
let files: TlsFiles;
before(async () => {
  files = await generateTlsFiles();
});
after(() => files.remove());

test("loads with the certificates Node generated, with and without client certificates", async () => {
  for (const config of [
    { cert: files.serverCert, key: files.serverKey },
    { cert: files.serverCert, key: files.serverKey, clientCa: files.ca },
  ]) {
    const ext = await loadExtension(extDir, { config });
    assert.equal(ext.namespace, "tls");
    assert.deepEqual(ext.functions, [], "a transport adds no t.tls functions");
    // Closing releases the extension and its tls:// registration: the next load may take it.
    await ext.close();
  }
});

test("relative paths are resolved against the app's data directory", async () => {
  const ext = await loadExtension(extDir, { config: { cert: "server.pem", key: "server.key", clientCa: "ca.pem" }, dataDir: files.dir });
  await ext.close();
});

test("a bad config stops the load and says what to fix", async () => {
  writeFileSync(path.join(files.dir, "notes.txt"), "not a certificate\n");
  const cases: [unknown, string][] = [
    [null, "tls-transport needs a config in the app's titan.config.json extensions entry"],
    [{ cert: files.serverCert }, "missing field `key`"],
    [{ cert: path.join(files.dir, "missing.pem"), key: files.serverKey }, `\`cert\`: cannot read certificates from ${path.join(files.dir, "missing.pem")}`],
    [{ cert: path.join(files.dir, "notes.txt"), key: files.serverKey }, "holds no PEM certificate"],
    [{ cert: files.serverCert, key: files.clientKey }, "`cert` and `key` cannot serve TLS together"],
  ];
  for (const [config, expected] of cases) {
    await assert.rejects(loadExtension(extDir, { config }), (err: Error) => {
      assert.ok(err.message.includes("extension `tls-transport` failed to start"), err.message);
      assert.ok(err.message.includes(expected), `${JSON.stringify(config)}: ${err.message}`);
      return true;
    });
  }
});
