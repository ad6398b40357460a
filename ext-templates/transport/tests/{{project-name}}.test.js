// The transport extension in a real worker isolate: `titan test ext` (or `npm test`) builds it
// and runs this file with node:test. `ext.call` and `ext.eval` are synchronous.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { loadExtension } from "titan/harness";

const SCHEME = "{{ project-name | replace: "_", "-" }}";
const ext = await loadExtension(new URL("..", import.meta.url));
after(() => ext.close());

test("scheme() names the transport's URL scheme", () => {
  assert.equal(ext.call("scheme"), SCHEME);
});

test("parseAddress returns the target of its own addresses", () => {
  assert.equal(ext.call("parseAddress", `${SCHEME}://db:7000`), "db:7000");
  assert.equal(ext.eval(`t.{{namespace}}.parseAddress("${SCHEME}://[::1]:7000")`), "[::1]:7000");
});

test("another scheme's address is refused with a message naming both", () => {
  assert.throws(() => ext.call("parseAddress", "tcp://db:7000"), {
    message: `{{project-name}}.parseAddress: "tcp://db:7000" is not a ${SCHEME}:// address`,
  });
});
