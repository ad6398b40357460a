// The transport extension in a real worker isolate: `titan test ext` (or `npm test`) builds it
// and runs this file with node:test. Loading it runs its `init`, which registers the
// transport with the runtime; `ext.call` and `ext.eval` are synchronous.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { loadExtension } from "titan/harness";

const SCHEME = "{{ project-name | replace: "_", "-" }}";
const ext = await loadExtension(new URL("..", import.meta.url));
after(() => ext.close());

test("it loads, registering its transport, and names its scheme", () => {
  assert.equal(ext.call("scheme"), SCHEME);
  assert.equal(ext.eval("t.{{namespace}}.scheme()"), SCHEME);
});

test("greeting() is the line a client sends first", () => {
  assert.equal(ext.call("greeting"), `${SCHEME}/1\n`);
});
