// Native extensions end to end: fixture crates built by this test with cargo, loaded with a
// real dlopen by the runtime, called from actions in real worker isolates over HTTP.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, type TitanServer } from "../dist/index.js";
import type { BuildManifest, ExtensionSpec, ResolvedConfig, RouteSpec } from "./types.js";
import { getOnNewConnection } from "./testing.js";

const ROOT = join(import.meta.dirname, "..", "..");

/** Builds the fixture crates (debug) and returns the path of each built library. */
function buildFixtures(): Record<"kitchenSink" | "abiMismatch" | "planetClassic", string> {
  execFileSync("cargo", ["build", "-p", "kitchen-sink", "-p", "abi-mismatch", "-p", "planet-classic"], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
  const metadata = JSON.parse(execFileSync("cargo", ["metadata", "--format-version", "1", "--no-deps"], { cwd: ROOT, encoding: "utf8" }));
  const dir = join(metadata.target_directory as string, "debug");
  const lib = (crate: string) => join(dir, process.platform === "darwin" ? `lib${crate}.dylib` : `lib${crate}.so`);
  return { kitchenSink: lib("kitchen_sink"), abiMismatch: lib("abi_mismatch"), planetClassic: lib("planet_classic") };
}

const CONFIG: ResolvedConfig = { host: "127.0.0.1", port: 0, workers: 2, bodyLimit: 1 << 20, actionTimeout: 10_000, shutdownTimeout: 5000 };

function writeBuild(actions: string, routes: RouteSpec[], extensions: ExtensionSpec[]): string {
  const dir = mkdtempSync(join(tmpdir(), "titan-ext-"));
  writeFileSync(join(dir, "actions.mjs"), `export const actions = {\n${actions}\n};\n`);
  const manifest: BuildManifest = { format: 1, bundle: "actions.mjs", routes, actions: [], config: CONFIG, extensions };
  writeFileSync(join(dir, "titan.build.json"), JSON.stringify(manifest));
  return dir;
}

/** Runs `fn` and answers its value, or the error message it threw. */
const ACTIONS = `
  call: defineAction((req) => {
    const { fn, args } = req.body;
    try {
      const value = t.ks[fn](...args.map(revive));
      return { ok: true, value: encode(value) };
    } catch (err) {
      return { ok: false, error: err.message };
    }
  }),
  leak: defineAction((req) => {
    const { calls, size } = req.body;
    for (let i = 0; i < calls; i++) { t.ks.alloc(size); t.ks.alloc_string(size); }
    return { rss: process.memoryUsage().rss, heap: t.ks.heap_in_use() };
  }),
  sleepy: defineAction(() => { t.ks.sleep_ms(300); return { max: t.ks.max_concurrency() }; }),
  friendly: defineAction(() => ({ hello: t.ks.hello("Ada") })),
`;
// BigInts and bytes do not survive JSON: tag them both ways.
const HELPERS = `
const revive = (v) => v && typeof v === "object" && "$bigint" in v ? BigInt(v.$bigint) : v && typeof v === "object" && "$bytes" in v ? new Uint8Array(v.$bytes) : v;
const encode = (v) => typeof v === "bigint" ? { $bigint: String(v) } : v instanceof Uint8Array ? { $bytes: Array.from(v), buffer: Buffer.isBuffer(v) } : v;
`;

const ROUTES: RouteSpec[] = [
  { method: "POST", path: "/call", action: "call" },
  { method: "POST", path: "/leak", action: "leak" },
  { method: "GET", path: "/sleepy", action: "sleepy" },
  { method: "GET", path: "/friendly", action: "friendly" },
];

describe("native extensions in the runtime", { timeout: 300_000 }, () => {
  let libs: ReturnType<typeof buildFixtures>;
  let server: TitanServer;
  const quiet = () => {};

  before(async () => {
    libs = buildFixtures();
    const dir = mkdtempSync(join(tmpdir(), "titan-ks-entry-"));
    const entry = join(dir, "index.js");
    // A JS entry wraps the natives in a friendlier API, with `t` in scope.
    writeFileSync(entry, `t.ks.hello = (name) => t.ks.greet(name).toUpperCase();\nt.ks.entryConfig = () => extension;\n`);
    const buildDir = writeBuild(HELPERS.replace(/\n/g, " ") + ACTIONS, ROUTES, [
      { name: "kitchen-sink", namespace: "ks", kind: "native", library: libs.kitchenSink, entry, config: { greeting: "bonjour" } },
    ]);
    // The helpers must sit at module level, before `actions`.
    const bundle = join(buildDir, "actions.mjs");
    writeFileSync(bundle, `${HELPERS}\nexport const actions = {\n${ACTIONS}\n};\n`);
    server = await startServer({ buildDir, log: quiet });
  });
  after(() => server?.close());

  async function call(fn: string, ...args: unknown[]): Promise<{ ok: boolean; value?: unknown; error?: string }> {
    const response = await fetch(`${server.url}/call`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ fn, args }) });
    assert.equal(response.status, 200);
    return (await response.json()) as { ok: boolean; value?: unknown; error?: string };
  }
  const value = async (fn: string, ...args: unknown[]) => {
    const result = await call(fn, ...args);
    assert.ok(result.ok, `${fn} threw: ${result.error}`);
    return result.value;
  };

  test("every argument and result type crosses both ways", async () => {
    assert.equal(await value("nothing"), null);
    assert.equal(await value("not", true), false);
    assert.equal(await value("add", 2.5, 4), 6.5);
    assert.equal(await value("add_i32", 2, 3), 5);
    assert.equal(await value("byte", 255), 255);
    assert.equal(await value("half", 3), 1.5);
    assert.deepEqual(await value("big", { $bigint: "4611686018427387903" }), { $bigint: "9223372036854775806" });
    assert.deepEqual(await value("big", 21), { $bigint: "42" }, "a safe-integer number is accepted for i64");
    assert.deepEqual(await value("big_unsigned", { $bigint: "41" }), { $bigint: "42" });
    assert.equal(await value("shout", "héllo ☃"), "HÉLLO ☃!");
    assert.equal(await value("len", "é"), 2);
    assert.deepEqual(await value("reverse", { $bytes: [1, 2, 255] }), { $bytes: [255, 2, 1], buffer: true });
    assert.deepEqual(await value("reverse", { $bytes: [] }), { $bytes: [], buffer: true });
    assert.equal(await value("maybe", null), null);
    assert.equal(await value("maybe", "x"), "maybe x");
    assert.equal(await value("version"), "0.1.0");
    assert.deepEqual(await value("describe", { name: "Ada", tags: ["math", "engines"], age: 36 }), {
      label: "Ada (2 tags)", sorted_tags: ["engines", "math"], age_next_year: 37,
    });
    assert.equal(await value("user_name", null), null);
    assert.equal(await value("user_name", { name: "Alan", tags: [] }), "Alan");
    assert.deepEqual(await value("users", 2), [{ name: "user0", tags: [], age: 0 }, { name: "user1", tags: [], age: 1 }]);
    assert.equal(await value("sum", [1, 2, 3.5]), 6.5);
    assert.deepEqual(await value("echo_json", { a: [1, { b: null }], c: "d" }), { a: [1, { b: null }], c: "d" });
    assert.equal(await value("echo_json", "plain"), "plain");
    assert.equal(await value("camelName"), "snake_name");
  });

  test("bad arguments are exceptions naming the extension, function and parameter", async () => {
    const wrongType = await call("add", "two", 3);
    assert.equal(wrongType.ok, false);
    assert.match(wrongType.error!, /^kitchen-sink\.add: argument `a` must be a number, got a string/);
    const outOfRange = await call("byte", 256);
    assert.match(outOfRange.error!, /kitchen-sink\.byte: argument `n` must be an integer from 0 to 255/);
    const bigIntTooLarge = await call("big", { $bigint: "99999999999999999999" });
    assert.match(bigIntTooLarge.error!, /kitchen-sink\.big: a BigInt argument does not fit in 64 bits/);
    const shape = await call("describe", { name: 7 });
    assert.match(shape.error!, /kitchen-sink\.describe: argument `user` does not have the expected shape/);
  });

  test("an Err and a panic become exceptions, and the worker keeps serving", async () => {
    const failed = await call("fail", "disk full");
    assert.deepEqual(failed, { ok: false, error: "kitchen-sink.fail: disk full" });
    const panicked = await call("boom");
    assert.equal(panicked.ok, false);
    assert.match(panicked.error!, /^kitchen-sink\.boom: panicked: /);
    for (let i = 0; i < 4; i++) assert.equal(await value("add", i, 1), i + 1);
  });

  test("init gets the extension's config; the JS entry wraps the natives and sees its config too", async () => {
    assert.equal(await value("greet", "Ada"), "bonjour, Ada!");
    assert.deepEqual(await value("entryConfig"), { name: "kitchen-sink", namespace: "ks", config: { greeting: "bonjour" } });
    const response = await fetch(`${server.url}/friendly`);
    assert.deepEqual(await response.json(), { hello: "BONJOUR, ADA!" });
  });

  test("each worker has its own state; calls run on several workers at once", async () => {
    assert.equal(await value("live_workers"), 2, "worker_init ran once per worker");
    // Slow calls on new connections at once: idle workers take them, so both workers end up inside
    // the extension together. Which worker accepts a connection is the kernel's race, so a round
    // may land on one worker; a runtime that serialized calls would never reach 2.
    let max = 0;
    for (let round = 0; round < 5 && max < 2; round++) {
      const sleepers = await Promise.all(Array.from({ length: 4 }, () => getOnNewConnection(`${server.url}/sleepy`)));
      max = Math.max(max, ...sleepers.map((s) => (JSON.parse(s.body) as { max: number }).max));
    }
    assert.equal(max, 2, "two workers were inside the extension at the same time");
    // worker_id checks, inside the extension, that each worker got its own state.
    for (let i = 0; i < 10; i++) assert.equal(typeof (await value("worker_id")), "number");
    const first = (await value("count")) as number;
    assert.ok(first >= 1);
  });

  test("nothing leaks per call: RSS stays flat over 40,000 calls allocating 16 KiB each", async () => {
    const leak = async (calls: number) => {
      const response = await fetch(`${server.url}/leak`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ calls, size: 16_384 }) });
      return (await response.json()) as { rss: number; heap: number };
    };
    await leak(5_000); // warm up allocators and V8
    const before = await leak(1);
    const afterCalls = await leak(40_000);
    // Exact: the extension's counting allocator holds as many bytes after as before, so every
    // result buffer was given back through free_value.
    assert.equal(afterCalls.heap, before.heap, "bytes held by the extension");
    const grownMiB = (afterCalls.rss - before.rss) / 2 ** 20;
    // 40,000 × 2 × 16 KiB = 1.25 GiB if results were never freed; the bound is generous for
    // allocator and GC noise and far below any leak.
    assert.ok(grownMiB < 64, `RSS grew by ${grownMiB.toFixed(1)} MiB`);
  });
});

describe("extensions that cannot load", { timeout: 300_000 }, () => {
  let libs: ReturnType<typeof buildFixtures>;
  before(() => (libs = buildFixtures()));

  const start = (spec: Partial<ExtensionSpec>) =>
    startServer({
      buildDir: writeBuild(`ok: defineAction(() => "ok"),`, [{ method: "GET", path: "/", action: "ok" }], [
        { name: "x", namespace: "x", kind: "native", library: libs.kitchenSink, entry: null, config: null, ...spec },
      ]),
      log: () => {},
    });

  test("an ABI mismatch is refused, naming both versions and the fix", async () => {
    await assert.rejects(start({ name: "abi-mismatch", library: libs.abiMismatch }), (err: Error) => {
      assert.match(err.message, /extension `abi-mismatch` was built with titan-ext 9\.9\.9 for extension ABI 2, but this Titan runtime speaks ABI 1/);
      assert.match(err.message, /upgrade the runtime/);
      return true;
    });
  });

  test("a library that is not an extension, or missing, says what to do", async () => {
    await assert.rejects(start({ library: "/lib/x86_64-linux-gnu/libm.so.6" }), /is not a Titan extension: it exports no `titan_extension_entry`/);
    await assert.rejects(start({ library: "/nonexistent/libnope.so" }), /could not load the extension library .*Build the extension first/);
  });

  test("a failing init names the extension and points at its config", async () => {
    await assert.rejects(start({ config: { fail_init: "no database at /data" } }), /extension `kitchen-sink` failed to start: no database at \/data\. Check its `config`/);
    await assert.rejects(start({ config: { panic_init: true } }), /init panicked: kitchen-sink init panicked on purpose/);
  });
});

describe("classic Titan Planet extensions", { timeout: 300_000 }, () => {
  let server: TitanServer;
  const fixture = join(ROOT, "core-runtime", "test-extensions", "planet-classic");

  before(async () => {
    const libs = buildFixtures();
    const manifest = (await import("node:fs")).readFileSync(join(fixture, "titan.json"), "utf8");
    const actions = `
      run: defineAction((req) => {
        const p = t.planet;
        return {
          add: p.add(2, 3.5),
          greet: p.greet("Ada"),
          shout: p.shout("Ada"),
          origin: p.origin(),
          even: [p.isEven(4), p.isEven(5)],
          stats: p.stats([1, 2, 3.5]),
          byteSum: p.byteSum(new Uint8Array([1, 2, 250])),
          everything: p.everything("s", 1.5, true, { k: "v" }, new Uint8Array([7, 8]), -2, "end"),
          touches: (p.touch(), p.touch(), p.touches()),
        };
      }),
      wrong: defineAction(() => { try { return t.planet.add("two", 3); } catch (err) { return { error: err.message }; } }),
    `;
    server = await startServer({
      buildDir: writeBuild(actions, [{ method: "GET", path: "/run", action: "run" }, { method: "GET", path: "/wrong", action: "wrong" }], [
        { name: "planet", namespace: "planet", kind: "classic", library: libs.planetClassic, entry: join(fixture, "index.js"), config: null, manifest },
      ]),
      config: { workers: 1 },
      log: () => {},
    });
  });
  after(() => server?.close());

  test("every type and a seven-parameter function, through t.<name>, with main's wrapper", async () => {
    const body = await (await fetch(`${server.url}/run`)).json();
    assert.deepEqual(body, {
      add: 5.5,
      greet: "hello, Ada",
      shout: "HELLO, ADA",
      origin: "planet",
      even: [true, false],
      stats: { sum: 6.5, count: 3 },
      byteSum: 253,
      everything: 's|1.5|true|{"k":"v"}|[7, 8]|-2|end',
      touches: 2,
    });
  });

  test("a wrong argument type is an exception naming the function", async () => {
    const body = await (await fetch(`${server.url}/wrong`)).json();
    assert.match(body.error, /^planet\.add: argument 1 must be a number/);
  });
});
