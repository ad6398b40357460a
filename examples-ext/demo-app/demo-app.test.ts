// The README's main job: the demo app, built and served by the real `titan` CLI, answering with
// its native example extension (examples-ext/markdown, built by `npm install`).

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { CliProcess, assertRuntimeBuilt, runCli } from "../../ext-sdk/src/testing/cli-process.js";

const APP = path.dirname(new URL(import.meta.url).pathname);
let server: CliProcess;
let base: string;

before(async () => {
  assertRuntimeBuilt();
  const build = await runCli(["build", "--out", ".titan/test-dist"], { cwd: APP });
  assert.equal(build.code, 0, build.stderr);
  server = new CliProcess(["start", ".titan/test-dist", "--port", "0"], { cwd: APP });
  base = await server.listening({ timeoutMs: 60_000 });
});
after(() => server?.stop());

test("the demo app renders Markdown through its native extension", async () => {
  const response = await fetch(`${base}/docs`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
  const html = await response.text();
  assert.match(html, /<nav><ul><li class="h1">Welcome to Titan<\/li>/, "the JS entry's table of contents");
  assert.match(html, /<td>extension<\/td><td>Rust<\/td>/, "a table rendered by pulldown-cmark");
  const count = await fetch(`${base}/word-count`, { method: "POST", headers: { "content-type": "text/plain" }, body: "one two *three*" });
  assert.deepEqual(await count.json(), { words: 3 });
});

test("the demo app counts visits in t.db (SQLite, a built-in engine)", async () => {
  const first = ((await (await fetch(`${base}/visits`)).json()) as { visits: number }).visits;
  const second = ((await (await fetch(`${base}/visits`)).json()) as { visits: number }).visits;
  assert.equal(second, first + 1);
});

test("the demo app's plain routes", async () => {
  assert.deepEqual(await (await fetch(`${base}/hello/ada`)).json(), { message: "hi ada" });
  assert.equal((await fetch(`${base}/users/abc`)).status, 400);
  assert.deepEqual(await (await fetch(`${base}/users/1`)).json(), { id: 1, name: "Ada Lovelace" });
});

test("the demo app's calculator service answers Netron's HTTP invocation", async () => {
  const invoke = (body: unknown) =>
    fetch(`${base}/netron/invoke`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  assert.deepEqual(await (await invoke({ id: "a", service: "calculator", method: "add", input: [2, 3] })).json(), { id: "a", success: true, data: 5 });
  assert.deepEqual(await (await invoke({ id: "b", service: "calculator@1.0.0", method: "count", input: [3] })).json(), { id: "b", success: true, data: [0, 1, 2] });
  const refused = await invoke({ id: "c", service: "calculator", method: "add", input: ["2", 3] });
  assert.equal(refused.status, 422);
});
