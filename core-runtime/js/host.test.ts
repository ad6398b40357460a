// The runtime host end to end: a build directory in the `titan.build.json` format, real worker
// isolates, the real Rust core, real HTTP over loopback.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, type TitanServer } from "../dist/index.js";
import type { BuildManifest, ResolvedConfig, RouteSpec } from "./types.js";
import { getOnNewConnection } from "./testing.js";

const CONFIG: ResolvedConfig = {
  host: "127.0.0.1",
  port: 0,
  workers: 2,
  bodyLimit: 1024,
  actionTimeout: 1500,
  shutdownTimeout: 5000,
};

/** Writes a build directory: `actions` is the source of the bundle's `actions` object. */
function writeBuild(actions: string, routes: RouteSpec[], config: Partial<ResolvedConfig> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "titan-host-"));
  writeFileSync(join(dir, "actions.mjs"), `export const actions = {\n${actions}\n};\n`);
  const manifest: BuildManifest = {
    format: 1,
    bundle: "actions.mjs",
    routes,
    actions: [],
    config: { ...CONFIG, ...config },
  };
  writeFileSync(join(dir, "titan.build.json"), JSON.stringify(manifest));
  return dir;
}

const ACTIONS = `
  hello: defineAction((req) => ({ message: "hi " + req.params.name, params: req.params, query: req.query })),
  echo: defineAction((req) => ({ kind: typeof req.body, body: req.body instanceof Uint8Array ? Array.from(req.body) : req.body, rawBody: req.rawBody, type: req.headers["content-type"] ?? null })),
  created: defineAction(() => t.response.json({ id: 7 }, { status: 201, headers: { "X-Extra": "yes" } })),
  text: defineAction(() => t.response.text("plain")),
  html: defineAction(() => t.response.html("<p>hi</p>")),
  redirect: defineAction(() => t.response.redirect("/elsewhere", { status: 307 })),
  nothing: defineAction(() => undefined),
  boom: defineAction(() => { throw new Error("secret detail"); }),
  promise: defineAction(async () => 1),
  badHeader: defineAction(() => t.response.text("x", { headers: { "bad header": "v" } })),
  spin: defineAction(() => { for (;;) {} }),
  slow: defineAction((req) => { const end = Date.now() + Number(req.params.ms); while (Date.now() < end) {} return { slept: Number(req.params.ms) }; }),
  crash: defineAction(() => process.exit(3)),
`;

const ROUTES: RouteSpec[] = [
  { method: "GET", path: "/", reply: { status: 200, contentType: "application/json", body: '{"ok":true}' } },
  { method: "GET", path: "/hello/:name", action: "hello" },
  { method: "GET", path: "/users/:id<int>", action: "hello" },
  { method: "POST", path: "/echo", action: "echo" },
  { method: "POST", path: "/created", action: "created" },
  { method: "GET", path: "/text", action: "text" },
  { method: "GET", path: "/html", action: "html" },
  { method: "GET", path: "/redirect", action: "redirect" },
  { method: "GET", path: "/nothing", action: "nothing" },
  { method: "GET", path: "/boom", action: "boom" },
  { method: "GET", path: "/promise", action: "promise" },
  { method: "GET", path: "/bad-header", action: "badHeader" },
  { method: "GET", path: "/spin", action: "spin" },
  { method: "GET", path: "/slow/:ms<int>", action: "slow" },
  { method: "GET", path: "/crash", action: "crash" },
];

const quiet = () => {};

describe("a served build", () => {
  let server: TitanServer;
  const url = (path: string) => server.url + path;
  before(async () => {
    server = await startServer({ buildDir: writeBuild(ACTIONS, ROUTES), log: quiet });
  });
  after(() => server.close());

  test("reply routes, dynamic routes, typed params, decoded query", async () => {
    const root = await fetch(url("/"));
    assert.equal(root.status, 200);
    assert.deepEqual(await root.json(), { ok: true });

    const hello = await fetch(url("/hello/J%C3%BCrgen?tag=a&tag=b&q=x%20y"));
    assert.equal(hello.status, 200);
    assert.match(hello.headers.get("x-request-id") ?? "", /^[0-9a-f]{16}$/);
    assert.deepEqual(await hello.json(), { message: "hi Jürgen", params: { name: "Jürgen" }, query: { tag: ["a", "b"], q: "x y" } });

    const user = await fetch(url("/users/42"));
    assert.deepEqual((await user.json()).params, { id: 42 });
    const badParam = await fetch(url("/users/forty-two"));
    assert.equal(badParam.status, 400);
    assert.equal((await badParam.json()).error.code, "bad_param");
  });

  test("404 and 405 come from the core with the shared error shape", async () => {
    const missing = await fetch(url("/missing"));
    assert.equal(missing.status, 404);
    const body = await missing.json();
    assert.equal(body.error.code, "route_not_found");
    assert.equal(body.error.requestId, missing.headers.get("x-request-id"));
    const wrongMethod = await fetch(url("/echo"));
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get("allow"), "POST");
  });

  test("bodies are parsed by content type", async () => {
    const post = (body: BodyInit, type?: string) =>
      fetch(url("/echo"), { method: "POST", body, headers: type ? { "content-type": type } : {} }).then((r) => r.json());
    assert.deepEqual(await post('{"a":[1,2]}', "application/json"), { kind: "object", body: { a: [1, 2] }, rawBody: '{"a":[1,2]}', type: "application/json" });
    assert.deepEqual((await post("name=Ada+L&x=1&x=2", "application/x-www-form-urlencoded")).body, { name: "Ada L", x: ["1", "2"] });
    assert.deepEqual((await post("just text", "text/plain")).body, "just text");
    const binary = await post(new Uint8Array([0, 1, 255]), "application/octet-stream");
    assert.deepEqual(binary.body, [0, 1, 255]);
    const empty = await fetch(url("/echo"), { method: "POST" }).then((r) => r.json());
    assert.deepEqual([empty.body, empty.rawBody], [null, null]);
    const malformed = await fetch(url("/echo"), { method: "POST", body: "{nope", headers: { "content-type": "application/json" } });
    assert.equal(malformed.status, 400);
    assert.equal((await malformed.json()).error.code, "bad_json");
  });

  test("bodies over the limit get 413", async () => {
    const big = await fetch(url("/echo"), { method: "POST", body: "x".repeat(2048), headers: { "content-type": "text/plain" } });
    assert.equal(big.status, 413);
    assert.equal((await big.json()).error.code, "payload_too_large");
  });

  test("t.response builders and plain return values", async () => {
    const created = await fetch(url("/created"), { method: "POST" });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get("x-extra"), "yes");
    assert.equal(created.headers.get("content-type"), "application/json");
    assert.deepEqual(await created.json(), { id: 7 });
    const text = await fetch(url("/text"));
    assert.equal(text.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(await text.text(), "plain");
    assert.equal((await fetch(url("/html"))).headers.get("content-type"), "text/html; charset=utf-8");
    const redirect = await fetch(url("/redirect"), { redirect: "manual" });
    assert.equal(redirect.status, 307);
    assert.equal(redirect.headers.get("location"), "/elsewhere");
    assert.equal((await fetch(url("/nothing"))).status, 204);
  });

  test("a thrown error is a 500 with the request id and no details outside dev", async () => {
    const boom = await fetch(url("/boom"));
    assert.equal(boom.status, 500);
    const { error } = await boom.json();
    assert.equal(error.code, "internal_error");
    assert.equal(error.requestId, boom.headers.get("x-request-id"));
    assert.doesNotMatch(JSON.stringify(error), /secret detail|at /);
  });

  test("a Promise or an invalid response is refused with the fix, and the worker keeps serving", async () => {
    const promise = await fetch(url("/promise"));
    assert.equal(promise.status, 500);
    assert.match((await promise.json()).error.message, /remove `async`/);
    const badHeader = await fetch(url("/bad-header"));
    assert.equal(badHeader.status, 500);
    assert.equal((await badHeader.json()).error.code, "bad_response");
    assert.equal((await fetch(url("/text"))).status, 200);
  });

  test("a runaway action gets 504 while other requests keep being served", async () => {
    let runawaySettled = false;
    const runaway = fetch(url("/spin")).finally(() => (runawaySettled = true));
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 5; i++) assert.equal((await getOnNewConnection(url("/hello/x"))).status, 200);
    assert.equal(runawaySettled, false, "the other worker served new connections while one worker spun");
    const timedOut = await runaway;
    assert.equal(timedOut.status, 504);
    assert.equal((await timedOut.json()).error.code, "action_timeout");
    // The replacement worker comes up and both serve again.
    for (let i = 0; i < 10; i++) assert.equal((await fetch(url("/hello/y"))).status, 200);
  });

  test("a worker that dies is replaced; its request gets 503 to retry", async () => {
    const crashed = await fetch(url("/crash"));
    assert.equal(crashed.status, 503);
    assert.equal((await crashed.json()).error.code, "worker_stopped");
    for (let i = 0; i < 10; i++) assert.equal((await fetch(url("/hello/z"))).status, 200);
  });

  test("unavailable answers 503 with the given error; health stays up", async () => {
    server.setUnavailable({ code: "type_errors", message: "1 type error" });
    const blocked = await fetch(url("/hello/a"));
    assert.equal(blocked.status, 503);
    assert.equal((await blocked.json()).error.code, "type_errors");
    assert.equal((await fetch(url("/__titan/health"))).status, 200);
    assert.equal((await fetch(url("/__titan/ready"))).status, 503);
    server.setUnavailable(null);
    assert.equal((await fetch(url("/hello/a"))).status, 200);
    assert.equal((await fetch(url("/__titan/ready"))).status, 200);
  });
});

describe("reload and shutdown", () => {
  test("reload swaps in the new build while requests keep succeeding", async () => {
    const v1 = writeBuild(`v: defineAction(() => ({ version: 1 })),`, [{ method: "GET", path: "/v", action: "v" }]);
    const v2 = writeBuild(`v: defineAction(() => ({ version: 2 })),`, [{ method: "GET", path: "/v", action: "v" }]);
    const server = await startServer({ buildDir: v1, log: quiet });
    try {
      assert.deepEqual(await (await fetch(server.url + "/v")).json(), { version: 1 });
      let stop = false;
      const failures: string[] = [];
      const seen = new Set<number>();
      const load = (async () => {
        while (!stop) {
          try {
            const response = await fetch(server.url + "/v");
            if (response.status !== 200) failures.push(`status ${response.status}`);
            else seen.add((await response.json()).version);
          } catch (err) {
            failures.push(String((err as Error).cause ?? err));
          }
        }
      })();
      await new Promise((r) => setTimeout(r, 100));
      const { ms, kept } = await server.reload(v2);
      assert.equal(kept, false, "new code: a new generation");
      assert.ok(ms >= 0);
      await new Promise((r) => setTimeout(r, 200));
      stop = true;
      await load;
      assert.deepEqual(failures, []);
      assert.deepEqual([...seen].sort(), [1, 2]);
      assert.deepEqual(await (await fetch(server.url + "/v")).json(), { version: 2 });
    } finally {
      await server.close();
    }
  });

  test("a build that fails to load is refused and the old one keeps serving", async () => {
    const good = writeBuild(`ok: defineAction(() => "ok"),`, [{ method: "GET", path: "/", action: "ok" }]);
    const broken = writeBuild(`ok: defineAction(() => "ok"), ${"}"}; throw new Error("bad module"); {`, [{ method: "GET", path: "/", action: "ok" }]);
    const server = await startServer({ buildDir: good, log: quiet });
    try {
      await assert.rejects(server.reload(broken), /the app failed to load/);
      assert.equal(await (await fetch(server.url + "/")).text(), "ok");
    } finally {
      await server.close();
    }
  });

  test("close finishes the request in flight, then stops listening", async () => {
    const server = await startServer({ buildDir: writeBuild(ACTIONS, ROUTES), log: quiet });
    const inFlight = fetch(server.url + "/slow/300");
    await new Promise((r) => setTimeout(r, 100));
    await server.close();
    const response = await inFlight;
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { slept: 300 });
    await assert.rejects(fetch(server.url + "/"), /fetch failed/);
  });

  test("a port in use is refused with advice", async () => {
    const first = await startServer({ buildDir: writeBuild(ACTIONS, ROUTES), log: quiet });
    try {
      await assert.rejects(
        startServer({ buildDir: writeBuild(ACTIONS, ROUTES), config: { port: first.port }, log: quiet }),
        (err: Error & { hint?: string }) => /already in use/.test(err.message) && /--port/.test(err.hint ?? ""),
      );
    } finally {
      await first.close();
    }
  });

  test("a missing build says what to run", async () => {
    const empty = mkdtempSync(join(tmpdir(), "titan-empty-"));
    mkdirSync(join(empty, "x"));
    await assert.rejects(startServer({ buildDir: empty, log: quiet }), (err: Error & { hint?: string }) =>
      /no build at/.test(err.message) && /titan build/.test(err.hint ?? ""),
    );
  });
});
