// t.imagemeta in a real worker isolate through the harness: the neon addon as `titan build ext`
// built it, bound as t.imagemeta, its JS entry run. The images are real files' bytes.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadExtension } from "titan/harness";

const ext = await loadExtension(new URL("..", import.meta.url));
after(() => ext.close());

// A complete 1×1 PNG and 1×1 GIF; the JPEG and WebP are headers only (all probe needs).
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=", "base64");
const GIF = Buffer.from("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7", "base64");
// SOI, then a baseline frame header (SOF0): 8-bit, 480 rows, 640 columns, 3 components.
const JPEG = Buffer.from("ffd8ffc000110801e0028003011100021101031101ffd9", "hex");
// RIFF/WEBP with an extended (VP8X) header: canvas 640×480, stored minus one, 24-bit little endian.
const WEBP = Buffer.concat([Buffer.from("RIFF"), Buffer.from([30, 0, 0, 0]), Buffer.from("WEBPVP8X"), Buffer.from([10, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0x02, 0, 0xdf, 0x01, 0])]);

test("probe reads the format and size of each kind of image", () => {
  assert.deepEqual(ext.call("probe", new Uint8Array(PNG)), { format: "png", width: 1, height: 1 });
  assert.deepEqual(ext.call("probe", new Uint8Array(GIF)), { format: "gif", width: 1, height: 1 });
  assert.deepEqual(ext.call("probe", new Uint8Array(JPEG)), { format: "jpeg", width: 640, height: 480 });
  assert.deepEqual(ext.call("probe", new Uint8Array(WEBP)), { format: "webp", width: 640, height: 480 });
});

test("a Buffer made inside the isolate works too", () => {
  assert.deepEqual(ext.eval(`t.imagemeta.probe(Buffer.from(${JSON.stringify(PNG.toString("base64"))}, "base64"))`), { format: "png", width: 1, height: 1 });
});

test("probeFile reads only the file's header", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "titan-imagemeta-"));
  writeFileSync(path.join(dir, "pixel.gif"), GIF);
  assert.deepEqual(ext.call("probeFile", path.join(dir, "pixel.gif")), { format: "gif", width: 1, height: 1 });
  assert.throws(() => ext.call("probeFile", path.join(dir, "missing.png")), /imagemeta\.probeFile: cannot open .*missing\.png: No such file/);
});

test("what is not an image is refused with the reason", () => {
  assert.throws(() => ext.call("probe", new TextEncoder().encode("hello, plain text here")), /imagemeta\.probe: not an image in a known format/);
  assert.throws(() => ext.call("probe", new Uint8Array(3)), /imagemeta\.probe: too few bytes to hold an image header/);
  assert.throws(() => ext.call("probe", "not bytes"), /imagemeta\.probe: bytes must be a Uint8Array \(or Buffer\)/);
});

test("the JS entry adds t.imagemeta.mimeType", () => {
  assert.equal(ext.call("mimeType", new Uint8Array(JPEG)), "image/jpeg");
  assert.equal(ext.call("mimeType", new Uint8Array(WEBP)), "image/webp");
  assert.equal(ext.call("mimeType", new TextEncoder().encode("<html>not an image</html>")), null);
});
