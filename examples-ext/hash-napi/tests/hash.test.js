// t.hash in a real worker isolate through the harness: the addon as `titan build ext` built it,
// bound as t.hash, its JS entry run. Expected hashes are the algorithms' published test vectors.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadExtension } from "titan/harness";

const ext = await loadExtension(new URL("..", import.meta.url));
after(() => ext.close());

const BLAKE3_ABC = "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85";
const BLAKE3_EMPTY = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262";
const XXH3_ABC = "78af5f94892f3950";

test("BLAKE3 of a string and of the same bytes", () => {
  assert.equal(ext.call("blake3", "abc"), BLAKE3_ABC);
  assert.equal(ext.call("blake3", new Uint8Array([0x61, 0x62, 0x63])), BLAKE3_ABC);
  assert.equal(ext.call("blake3", ""), BLAKE3_EMPTY);
  // A Buffer is a Uint8Array: borrowed by the addon without a copy.
  assert.equal(ext.eval(`t.hash.blake3(Buffer.from("abc"))`), BLAKE3_ABC);
});

test("XXH3, 64 and 128 bits", () => {
  assert.equal(ext.call("xxh3", "abc"), XXH3_ABC);
  assert.match(ext.call("xxh128", "abc"), /^[0-9a-f]{32}$/);
  assert.notEqual(ext.call("xxh128", "abc"), ext.call("xxh128", "abd"));
});

test("a keyed BLAKE3 hash needs a 32-byte key", () => {
  const key = new Uint8Array(32).fill(7);
  const mac = ext.call("blake3Keyed", key, "message");
  assert.match(mac, /^[0-9a-f]{64}$/);
  assert.notEqual(mac, ext.call("blake3", "message"));
  assert.notEqual(mac, ext.call("blake3Keyed", new Uint8Array(32).fill(8), "message"));
  assert.throws(() => ext.call("blake3Keyed", new Uint8Array(16), "message"), /blake3Keyed: the key must be 32 bytes, got 16/);
});

test("data of the wrong type is refused by name", () => {
  assert.throws(() => ext.call("blake3", 42), /hash\.blake3: data must be a string or a Uint8Array \(or Buffer\), got number/);
  assert.throws(() => ext.call("xxh3", null), /hash\.xxh3: data must be a string or a Uint8Array \(or Buffer\), got null/);
});

test("a streaming hasher gives the one-shot hash", () => {
  const streamed = ext.eval(`
    const hasher = new t.hash.Blake3Hasher();
    hasher.update("a");
    hasher.update(new Uint8Array([0x62, 0x63]));
    const first = hasher.digest();
    hasher.reset();
    [first, hasher.digest()];
  `);
  assert.deepEqual(streamed, [BLAKE3_ABC, BLAKE3_EMPTY]);
});

test("hashFile streams a file with either algorithm", () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "titan-hash-")), "data.bin");
  const content = "x".repeat(200_000);
  writeFileSync(file, content);
  assert.equal(ext.call("hashFile", file), ext.call("blake3", content));
  assert.equal(ext.call("hashFile", file, "xxh3"), ext.call("xxh3", content));
  assert.throws(() => ext.call("hashFile", file, "md5"), /hash\.hashFile: unknown algorithm "md5": use "blake3" or "xxh3"/);
  assert.throws(() => ext.call("hashFile", `${file}.missing`), /hash\.hashFile: cannot read .*data\.bin\.missing: No such file/);
});

test("the JS entry adds t.hash.etag", () => {
  assert.equal(ext.call("etag", "abc"), `"${XXH3_ABC}"`);
});
