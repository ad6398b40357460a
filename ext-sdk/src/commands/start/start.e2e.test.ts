// End-to-end: `titan init` + `titan build` + `titan start` on a real port, driven over HTTP.
// Needs the runtime (core-runtime/dist and its native addon): `npm test` builds it first.

import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { CliProcess, getOnNewConnection, runCli, assertRuntimeBuilt, tempDir } from "../../testing/cli-process.js";

assertRuntimeBuilt();

describe("titan start (end to end)", { timeout: 180_000 }, () => {
  const root = tempDir("start-e2e");
  const appDir = path.join(root, "shop");
  let server: CliProcess;
  let base: string;

  before(async () => {
    const init = await runCli(["init", "shop", "--lang", "js", "--no-install"], { cwd: root });
    assert.equal(init.code, 0, init.stderr);
    writeFileSync(
      path.join(appDir, "titan.config.json"),
      JSON.stringify({ port: 3000, workers: 2, bodyLimit: "1kb", actionTimeout: 1500, shutdownTimeout: 5000 }),
    );
    writeFileSync(
      path.join(appDir, "app", "app.js"),
      [
        `t.get("/").reply({ ok: true });`,
        `t.get("/text").reply("plain text");`,
        `t.get("/hello/:name").action("hello");`,
        `t.post("/echo").action("echo");`,
        `t.get("/n/:n<int>").action("number");`,
        `t.get("/files/*rest").action("rest");`,
        `t.get("/created").action("created");`,
        `t.get("/text-response").action("textResponse");`,
        `t.get("/html").action("htmlResponse");`,
        `t.get("/go").action("goHome");`,
        `t.get("/boom").action("boom");`,
        `t.get("/spin").action("spin");`,
        `t.get("/busy").action("busy");`,
        `t.start(3000, "shop is open");`,
      ].join("\n"),
    );
    writeFileSync(
      path.join(appDir, "app", "actions", "extra.js"),
      [
        `export const number = defineAction((req) => ({ n: req.params.n, type: typeof req.params.n }));`,
        `export const rest = defineAction((req) => ({ rest: req.params.rest }));`,
        `export const created = defineAction(() => t.response.json({ made: true }, { status: 201, headers: { "x-made": "yes" } }));`,
        `export const textResponse = defineAction(() => t.response.text("just text"));`,
        `export const htmlResponse = defineAction(() => t.response.html("<h1>hi</h1>"));`,
        `export const goHome = defineAction(() => t.response.redirect("/hello/home"));`,
        `export const boom = defineAction(() => { throw new Error("kaboom"); });`,
        `export const spin = defineAction(() => { for (;;) {} });`,
        `export const busy = defineAction(() => { const end = Date.now() + 300; while (Date.now() < end) {} return { done: true }; });`,
      ].join("\n"),
    );
    const build = await runCli(["build"], { cwd: appDir });
    assert.equal(build.code, 0, build.stderr);
    server = new CliProcess(["start", "--port", "0"], { cwd: appDir });
    base = await server.listening({ timeoutMs: 60_000 });
  });

  after(async () => {
    await server?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test("prints the t.start() message", async () => {
    await server.waitFor(/shop is open/);
  });

  test("static replies", async () => {
    const json = await fetch(`${base}/`);
    assert.equal(json.status, 200);
    assert.match(json.headers.get("content-type") ?? "", /application\/json/);
    assert.deepEqual(await json.json(), { ok: true });
    const text = await fetch(`${base}/text`);
    assert.match(text.headers.get("content-type") ?? "", /text\/plain/);
    assert.equal(await text.text(), "plain text");
  });

  test("dynamic routes, typed params and catch-all", async () => {
    assert.deepEqual(await (await fetch(`${base}/hello/ada`)).json(), { message: "hi ada" });
    assert.deepEqual(await (await fetch(`${base}/n/42`)).json(), { n: 42, type: "number" });
    assert.deepEqual(await (await fetch(`${base}/files/a/b.txt`)).json(), { rest: "a/b.txt" });
  });

  test("a typed param that does not parse is 400; an unknown path is 404", async () => {
    const bad = await fetch(`${base}/n/abc`);
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(await bad.json()), /n/);
    const missing = await fetch(`${base}/nowhere`);
    assert.equal(missing.status, 404);
    await missing.arrayBuffer();
  });

  test("JSON and urlencoded bodies", async () => {
    const json = await fetch(`${base}/echo`, { method: "POST", headers: { "content-type": "application/json" }, body: `{"a":[1,2]}` });
    assert.deepEqual(await json.json(), { received: { a: [1, 2] } });
    const form = await fetch(`${base}/echo`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "name=ada&lang=js",
    });
    assert.deepEqual(await form.json(), { received: { name: "ada", lang: "js" } });
  });

  test("t.response.json / text / html / redirect", async () => {
    const created = await fetch(`${base}/created`);
    assert.equal(created.status, 201);
    assert.equal(created.headers.get("x-made"), "yes");
    assert.deepEqual(await created.json(), { made: true });
    const text = await fetch(`${base}/text-response`);
    assert.match(text.headers.get("content-type") ?? "", /text\/plain/);
    assert.equal(await text.text(), "just text");
    const html = await fetch(`${base}/html`);
    assert.match(html.headers.get("content-type") ?? "", /text\/html/);
    assert.equal(await html.text(), "<h1>hi</h1>");
    const redirect = await fetch(`${base}/go`, { redirect: "manual" });
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.get("location"), "/hello/home");
    await redirect.arrayBuffer();
  });

  test("a body over bodyLimit (1kb) is 413", async () => {
    const response = await fetch(`${base}/echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ filler: "x".repeat(2048) }),
    });
    assert.equal(response.status, 413);
    await response.arrayBuffer();
  });

  test("a thrown error is 500 with the request id and no stack", async () => {
    const response = await fetch(`${base}/boom`);
    assert.equal(response.status, 500);
    const requestId = response.headers.get("x-request-id");
    const text = await response.text();
    const body = JSON.parse(text) as { error: { requestId?: string } };
    assert.ok(requestId, "x-request-id is set");
    assert.equal(body.error.requestId, requestId);
    assert.doesNotMatch(text, /stack|\s+at \S+ \(/);
  });

  test("a runaway action gets 504 while other requests keep being served", async () => {
    const started = Date.now();
    let spinSettled = false;
    const spinning = fetch(`${base}/spin`).then(async (r) => {
      spinSettled = true;
      return { status: r.status, body: await r.text(), at: Date.now() };
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (let i = 0; i < 5; i++) assert.equal(await getOnNewConnection(`${base}/hello/while-spinning`), 200);
    assert.equal(spinSettled, false, "requests were answered while the runaway action ran");
    const spin = await spinning;
    assert.equal(spin.status, 504, spin.body);
    assert.ok(spin.at - started >= 1400, "the timeout is the configured 1500 ms");
    // The replaced worker serves again.
    assert.equal((await fetch(`${base}/hello/after`)).status, 200);
  });

  // Last: it stops the shared server.
  test("SIGTERM lets an in-flight request finish, then exits 0", async () => {
    const busy = fetch(`${base}/busy`).then(async (r) => ({ status: r.status, body: await r.json() }));
    await new Promise((resolve) => setTimeout(resolve, 80));
    server.child.kill("SIGTERM");
    const result = await busy;
    assert.equal(result.status, 200);
    assert.deepEqual(result.body, { done: true });
    const exit = await server.exited;
    assert.equal(exit.code, 0, server.output);
    assert.match(server.output, /stopped/);
  });
});
