// The built-in engines through the runtime, as actions use them: t.fetch against a real HTTP
// server started here, t.jwt, t.password, and t.db on a real SQLite file shared by two workers.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { startServer, type TitanServer } from "../dist/index.js";
import type { BuildManifest, ResolvedConfig, RouteSpec } from "./types.js";
import { getOnNewConnection } from "./testing.js";

const CONFIG: ResolvedConfig = { host: "127.0.0.1", port: 0, workers: 2, bodyLimit: 1 << 20, actionTimeout: 20_000, shutdownTimeout: 5000, db: { path: "data/app.db" } };

/** Each action runs `body` (a function of `req.body`) and answers its value or its error. */
const ACTIONS = `
  run: defineAction((req) => {
    try {
      const fn = new Function("input", "t", req.body.code);
      return { ok: true, value: fn(req.body.input, t) };
    } catch (err) {
      return { ok: false, error: err.message };
    }
  }),
`;

describe("built-in engines", { timeout: 120_000 }, () => {
  let server: TitanServer;
  let upstream: Server;
  let upstreamUrl: string;
  const dataDir = mkdtempSync(join(tmpdir(), "titan-engines-"));

  before(async () => {
    upstream = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        if (req.url === "/missing") return void res.writeHead(404, { "content-type": "text/plain" }).end("nope");
        res.writeHead(200, { "content-type": "application/json", "x-upstream": "yes" });
        res.end(JSON.stringify({ method: req.method, url: req.url, body, type: req.headers["content-type"] ?? null, auth: req.headers.authorization ?? null }));
      });
    });
    await new Promise<void>((done) => upstream.listen(0, "127.0.0.1", done));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

    const buildDir = mkdtempSync(join(tmpdir(), "titan-engines-build-"));
    writeFileSync(join(buildDir, "actions.mjs"), `export const actions = {\n${ACTIONS}\n  insertMany: defineAction((req) => { for (let i = 0; i < req.params.n; i++) t.db.exec("insert into hits (worker) values (?)", [req.params.w]); return { done: true }; }),\n};\n`);
    const routes: RouteSpec[] = [
      { method: "POST", path: "/run", action: "run" },
      { method: "GET", path: "/insert/:w/:n<int>", action: "insertMany" },
    ];
    const manifest: BuildManifest = { format: 1, bundle: "actions.mjs", routes, actions: [], config: CONFIG };
    writeFileSync(join(buildDir, "titan.build.json"), JSON.stringify(manifest));
    server = await startServer({ buildDir, dataDir, log: () => {} });
  });

  after(async () => {
    await server?.close();
    await new Promise((done) => upstream?.close(done));
  });

  async function run(code: string, input?: unknown): Promise<unknown> {
    const response = await fetch(`${server.url}/run`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ code, input }) });
    const result = (await response.json()) as { ok: boolean; value?: unknown; error?: string };
    if (!result.ok) throw new Error(result.error);
    return result.value;
  }

  test("t.fetch: synchronous requests with method, headers, JSON body, and non-2xx responses", async () => {
    const got = (await run(`
      const r = t.fetch(input + "/echo?x=1", { method: "POST", headers: { Authorization: "Bearer k" }, body: { a: 1 } });
      return { status: r.status, ok: r.ok, header: r.headers["x-upstream"], json: r.json() };
    `, upstreamUrl)) as Record<string, unknown>;
    assert.deepEqual(got, {
      status: 200, ok: true, header: "yes",
      json: { method: "POST", url: "/echo?x=1", body: '{"a":1}', type: "application/json", auth: "Bearer k" },
    });
    const missing = (await run(`const r = t.fetch(input + "/missing"); return [r.status, r.ok, r.text()];`, upstreamUrl)) as unknown[];
    assert.deepEqual(missing, [404, false, "nope"]);
    await assert.rejects(run(`return t.fetch("http://127.0.0.1:1/", { timeout: 2000 });`), /^Error: fetch\.request: /);
  });

  test("t.jwt: sign and verify round trip; tampering and expiry are refused", async () => {
    const claims = (await run(`
      const token = t.jwt.sign({ sub: "u1", role: "admin" }, "s3cret", { algorithm: "HS384", expiresIn: 60 });
      return t.jwt.verify(token, "s3cret", { algorithms: ["HS384"] });
    `)) as Record<string, unknown>;
    assert.equal(claims.sub, "u1");
    assert.equal(claims.role, "admin");
    assert.equal(typeof claims.exp, "number");
    await assert.rejects(
      run(`
        const [h, , s] = t.jwt.sign({ sub: "u1" }, "s3cret").split(".");
        const forged = Buffer.from(JSON.stringify({ sub: "admin" })).toString("base64url");
        return t.jwt.verify([h, forged, s].join("."), "s3cret");
      `),
      /jwt\.verify: .*invalid signature/i,
    );
    await assert.rejects(run(`return t.jwt.verify(t.jwt.sign({ sub: "u", exp: 1 }, "k"), "k");`), /jwt\.verify: token expired/);
    await assert.rejects(run(`return t.jwt.verify(t.jwt.sign({ sub: "u" }, "k"), "other");`), /jwt\.verify: .*invalid signature/i);
  });

  test("t.password: argon2id hashes verify; wrong passwords do not", async () => {
    const result = (await run(`
      const hash = t.password.hash("correct horse");
      return { prefix: hash.slice(0, 10), ok: t.password.verify("correct horse", hash), wrong: t.password.verify("battery staple", hash) };
    `)) as Record<string, unknown>;
    assert.deepEqual(result, { prefix: "$argon2id$", ok: true, wrong: false });
  });

  test("t.db: CRUD with bound parameters and every column type decoded", async () => {
    const rows = await run(`
      t.db.execBatch("create table if not exists items (id integer primary key, name text, price real, big integer, data blob, note text)");
      const inserted = t.db.exec("insert into items (name, price, big, data, note) values (?, ?, ?, ?, ?)", ["a'b", 2.5, 9007199254740993n, new Uint8Array([0, 1, 255]), null]);
      t.db.exec("update items set price = ? where id = ?", [3.25, inserted.lastInsertRowid]);
      const [row] = t.db.query("select * from items where name = ?", ["a'b"]);
      return { id: row.id, name: row.name, price: row.price, big: String(row.big), bigType: typeof row.big, data: Array.from(row.data), note: row.note, changes: inserted.changes };
    `);
    assert.deepEqual(rows, { id: 1, name: "a'b", price: 3.25, big: "9007199254740993", bigType: "bigint", data: [0, 1, 255], note: null, changes: 1 });
    const deleted = await run(`return t.db.exec("delete from items where id = ?", [1]).changes;`);
    assert.equal(deleted, 1);
  });

  test("t.db.transaction commits on return and rolls back when the function throws", async () => {
    const result = await run(`
      t.db.execBatch("create table if not exists ledger (amount integer)");
      t.db.transaction(() => { t.db.exec("insert into ledger values (10)"); });
      try {
        t.db.transaction(() => { t.db.exec("insert into ledger values (99)"); throw new Error("boom"); });
      } catch (err) { if (err.message !== "boom") throw err; }
      let nested = null;
      try { t.db.transaction(() => t.db.transaction(() => 1)); } catch (err) { nested = err.message; }
      return { rows: t.db.query("select amount from ledger"), nested };
    `);
    assert.deepEqual(result, { rows: [{ amount: 10 }], nested: "t.db.transaction: already inside a transaction (nested transactions are not supported)" });
  });

  test("t.db: concurrent writes from two workers all land", async () => {
    await run(`t.db.execBatch("create table if not exists hits (worker text)"); return null;`);
    await Promise.all([getOnNewConnection(`${server.url}/insert/a/200`), getOnNewConnection(`${server.url}/insert/b/200`), getOnNewConnection(`${server.url}/insert/c/200`)]);
    const counts = await run(`return t.db.query("select worker, count(*) as n from hits group by worker order by worker");`);
    assert.deepEqual(counts, [{ worker: "a", n: 200 }, { worker: "b", n: 200 }, { worker: "c", n: 200 }]);
  });

  test("SQL errors name the problem", async () => {
    await assert.rejects(run(`return t.db.query("select * from no_such_table");`), /db\.query: .*no such table: no_such_table/);
  });
});
