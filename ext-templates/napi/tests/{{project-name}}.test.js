// The addon in a real worker isolate, as an app's actions see it: `titan test ext` (or
// `npm test`) builds it and runs this file with node:test. `ext.call` and `ext.eval` are
// synchronous, like calls from an action.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { loadExtension } from "titan/harness";

const ext = await loadExtension(new URL("..", import.meta.url));
after(() => ext.close());

test("a string in, a string out", () => {
  assert.equal(ext.call("slugify", "Hello, World!"), "hello-world");
  assert.equal(ext.call("slugify", "  Ünïcode  café "), "ünïcode-café");
});

test("a #[napi(object)] struct comes out as a plain object", () => {
  assert.deepEqual(ext.call("stats", "one two\nthree"), { words: 3, lines: 2, bytes: 13 });
});

test("an Err becomes an exception with its message", () => {
  assert.equal(ext.call("parsePort", "8080"), 8080);
  assert.throws(() => ext.call("parsePort", "http"), {
    message: '{{project-name}}.parsePort: "http" is not a port number (1 to 65535)',
  });
});

test("a class keeps its state in the isolate", () => {
  assert.equal(ext.eval(`const counter = new t.{{namespace}}.Counter(); counter.increment(); counter.increment()`), 2);
});

test("the JS entry's helpers run in the isolate, with t in scope", () => {
  assert.deepEqual(ext.call("slugifyAll", ["Hello, World!", "Ada Lovelace"]), ["hello-world", "ada-lovelace"]);
});
