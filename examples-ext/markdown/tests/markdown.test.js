// t.markdown in a real worker isolate, through the harness: the natives, the JS entry that wraps
// them (t.markdown.page), and errors as actions see them.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { loadExtension } from "titan/harness";

const ext = await loadExtension(new URL("..", import.meta.url));
after(() => ext.close());

test("renders CommonMark with tables", () => {
  assert.equal(ext.call("render", "# Hi *there*"), "<h1>Hi <em>there</em></h1>\n");
  assert.match(ext.call("render", "| a |\n|---|\n| 1 |"), /<td>1<\/td>/);
  assert.doesNotMatch(ext.call("render", "| a |\n|---|\n| 1 |", { tables: false }), /<table>/);
});

test("headings come back as objects, counts as numbers", () => {
  assert.deepEqual(ext.call("headings", "# One\n## Two"), [{ level: 1, text: "One" }, { level: 2, text: "Two" }]);
  assert.equal(ext.call("word_count", "# Title\n\nthree more words"), 4);
});

test("the JS entry's page() builds on the natives inside the isolate", () => {
  const html = ext.eval(`t.markdown.page("# A\\n## B")`);
  assert.match(html, /<nav><ul><li class="h1">A<\/li><li class="h2">B<\/li><\/ul><\/nav>/);
  assert.match(html, /<article><h1>A<\/h1>/);
});

test("bad arguments and unknown options are errors naming the function", () => {
  assert.throws(() => ext.call("render", 42), /markdown\.render: argument `markdown` must be a string, got a number/);
  assert.throws(() => ext.call("render", "x", { colour: true }), /markdown\.render:.*unknown field `colour`/);
});
