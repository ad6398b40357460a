// The extension in a real worker isolate, as an app's actions see it: `titan test ext` (or
// `npm test`) builds it and runs this file with node:test. `ext.call` and `ext.eval` are
// synchronous, like calls from an action.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { loadExtension } from "titan/harness";

// The config is what an app passes in titan.config.json (`extensions[].config`).
const ext = await loadExtension(new URL("..", import.meta.url), { config: { greeting: "Hi" } });
after(() => ext.close());

test("greet uses the greeting from the config", () => {
  assert.equal(ext.call("greet", "Ada"), "Hi, Ada!");
});

test("a struct goes in and comes out as a plain object", () => {
  assert.deepEqual(ext.call("measure", { width: 3, height: 4 }), { area: 12, perimeter: 14 });
});

test("an Err becomes an exception naming the extension and function", () => {
  assert.equal(ext.call("parsePort", "8080"), 8080);
  assert.throws(() => ext.call("parsePort", "http"), {
    message: '{{project-name}}.parsePort: "http" is not a port number (1 to 65535)',
  });
});

test("the JS entry's helpers run in the isolate, with t in scope", () => {
  assert.equal(ext.eval(`t.{{namespace}}.greetAll(["Ada", "Linus"])`), "Hi, Ada!\nHi, Linus!");
});
