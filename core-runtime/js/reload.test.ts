// Hot reload of native extensions, end to end: the fixture crates `swap-a` and `swap-b` (two
// builds of one extension, `swap`) built with cargo, loaded with a real dlopen by the core
// addon, called from real worker threads through `extBind` functions, and swapped with
// `extReload`; then the same through the runtime host, whose rebuilds reload in place. Each
// build appends its lifecycle (init, worker_init/worker_drop, unload with the calls it served)
// to the file its config names, so the test sees what ran.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { startServer, type TitanServer } from "../dist/index.js";
import { loadNative } from "./native.js";
import type { BuildManifest, ExtensionSpec, ResolvedConfig } from "./types.js";

const ROOT = join(import.meta.dirname, "..", "..");
const NATIVE = join(ROOT, "core-runtime", "native", "index.cjs");

type Fixtures = Record<"swapA" | "swapB" | "abiMismatch" | "sdkMismatch" | "kitchenSink", string>;

/** Builds the fixture crates (debug) and returns the path of each built library. */
function buildFixtures(): Fixtures {
  execFileSync("cargo", ["build", "-p", "swap-a", "-p", "swap-b", "-p", "abi-mismatch", "-p", "sdk-mismatch", "-p", "kitchen-sink"], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
  const metadata = JSON.parse(execFileSync("cargo", ["metadata", "--format-version", "1", "--no-deps"], { cwd: ROOT, encoding: "utf8" }));
  const dir = join(metadata.target_directory as string, "debug");
  const lib = (crate: string) => join(dir, process.platform === "darwin" ? `lib${crate}.dylib` : `lib${crate}.so`);
  return { swapA: lib("swap_a"), swapB: lib("swap_b"), abiMismatch: lib("abi_mismatch"), sdkMismatch: lib("sdk_mismatch"), kitchenSink: lib("kitchen_sink") };
}

/** A scratch directory with the event log the fixtures append to. */
function scratch(label: string) {
  const dir = mkdtempSync(join(tmpdir(), `titan-reload-${label}-`));
  const events = join(dir, "events.log");
  return {
    dir,
    events,
    config: { events },
    lines: (): string[] => {
      try {
        return readFileSync(events, "utf8").split("\n").filter(Boolean);
      } catch {
        return [];
      }
    },
  };
}

const count = (lines: string[], prefix: string) => lines.filter((line) => line.startsWith(prefix)).length;

async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// Shared flags between the main thread and the calling workers.
const STARTED = 0; // workers that made their first 100 calls
const SWAPPED = 1; // 1 once extReload returned

/** A worker that binds `t.swap` as a Titan worker does (extAttach + extBind), calls `value()` in
 * a tight loop through the bound function until it made 2,000 calls that started after the
 * swap, then checks what a reload changes for already-bound and rebound functions. Plain JS:
 * an eval'd worker script. */
const CALLER = `
const { workerData, parentPort } = require("node:worker_threads");
const { nativePath, id, workerId, flags: shared } = workerData;
const native = require(nativePath);
const flags = new Int32Array(shared);
const swap = native.extBind(native.extAttach(id, workerId));
let servedByA = 0, callsAfterSwap = 0, failures = [];
for (let i = 0; callsAfterSwap < 2000; i++) {
  if (i === 100) Atomics.add(flags, ${STARTED}, 1);
  const afterSwap = Atomics.load(flags, ${SWAPPED}) === 1;
  try {
    const value = swap.value();
    if (value === "a") {
      if (afterSwap) failures.push("build a answered a call that started after the swap");
      servedByA++;
    } else if (value !== "b") failures.push("unexpected value " + value);
  } catch (err) {
    failures.push(err.message);
  }
  if (afterSwap) callsAfterSwap++;
}
let removed = null;
try { swap.only_in_a(); } catch (err) { removed = err.message; }
const rebound = native.extBind(native.extAttach(id, workerId));
parentPort.postMessage({
  servedByA, failures, removed,
  echo: swap.echo("hi"),
  worker: swap.worker(),
  rebound: Object.keys(rebound).sort(),
  onlyInB: rebound.only_in_b(),
});
`;

interface CallerReport {
  servedByA: number;
  failures: string[];
  removed: string | null;
  echo: string;
  worker: string;
  rebound: string[];
  onlyInB: string;
}

describe("extReload under calling workers", { timeout: 300_000 }, () => {
  let fx: Fixtures;
  before(() => (fx = buildFixtures()));

  test("two workers calling bound functions in a loop move to the new build with no failed call, and the old build unloads", async () => {
    const native = loadNative();
    const s = scratch("workers");
    const dataDir = join(s.dir, "data");
    const info = native.extLoad(fx.swapA, JSON.stringify(s.config), dataDir);
    assert.deepEqual([info.name, info.version], ["swap", "0.1.0"]);
    const flags = new SharedArrayBuffer(8);
    const workers = [1, 2].map((workerId) => new Worker(CALLER, { eval: true, workerData: { nativePath: NATIVE, id: info.id, workerId, flags } }));
    const reports = workers.map(
      (worker) =>
        new Promise<CallerReport>((resolve, reject) => {
          worker.once("message", resolve);
          worker.once("error", reject);
        }),
    );
    const exited = workers.map((worker) => new Promise((resolve) => worker.once("exit", resolve)));

    const shared = new Int32Array(flags);
    await until("both workers calling build a", () => Atomics.load(shared, STARTED) === 2);
    const reloaded = native.extReload(info.id, fx.swapB);
    Atomics.store(shared, SWAPPED, 1);
    assert.equal(reloaded.id, info.id, "the same extension, in place");
    assert.equal(reloaded.version, "0.2.0");
    assert.deepEqual(reloaded.functions.map((f) => f.name).sort(), ["data_dir", "echo", "only_in_b", "value", "worker"]);

    const results = await Promise.all(reports);
    await Promise.all(exited);
    for (const [index, report] of results.entries()) {
      const workerId = index + 1;
      assert.deepEqual(report.failures, [], `worker ${workerId}: no call failed`);
      assert.ok(report.servedByA >= 100, "the worker called build a before the swap");
      assert.equal(report.echo, "b:hi", "arguments reach the new build");
      assert.equal(report.worker, `b:${workerId}`, "the new build's worker_init ran for this worker");
      assert.match(report.removed!, /^swap\.only_in_a no longer exists after reload: the build of `swap` now loaded \(0\.2\.0\) does not export `only_in_a`/);
      assert.deepEqual(report.rebound, ["data_dir", "echo", "only_in_b", "value", "worker"], "rebinding lists the new build's functions");
      assert.equal(report.onlyInB, "only in b");
    }

    const lines = s.lines();
    const servedByA = results.reduce((sum, r) => sum + r.servedByA, 0);
    assert.equal(count(lines, "unload a "), 1, lines.join("\n"));
    assert.ok(lines.includes(`unload a calls=${servedByA} in_flight=0`), `a unloaded after the last of its ${servedByA} calls:\n${lines.join("\n")}`);
    assert.ok(lines.includes(`init b config=${JSON.stringify(s.config)} data_dir=${dataDir}`), "b's init got the same config and data dir");
    for (const workerId of [1, 2]) {
      const startedB = lines.findIndex((l) => l.startsWith(`worker_init b worker=${workerId} `));
      const droppedA = lines.findIndex((l) => l.startsWith(`worker_drop a worker=${workerId} `));
      assert.ok(startedB >= 0 && droppedA > startedB, `worker ${workerId}: b's worker_init, then a's worker_drop`);
      const tid = (line: number) => lines[line]!.split(" tid=")[1];
      assert.equal(tid(startedB), tid(droppedA), `worker ${workerId} moved on one thread`);
    }
    assert.equal(count(lines, "worker_drop b "), 2, "the workers stopped: b's worker_drop ran for each");

    native.extRelease(info.id);
    assert.equal(count(s.lines(), "unload b "), 1, "released with no worker left: b unloads");
    rmSync(s.dir, { recursive: true, force: true });
  });

  test("a reload that cannot load leaves the old build serving and says why", () => {
    const native = loadNative();
    const s = scratch("refused");
    const info = native.extLoad(fx.swapA, JSON.stringify(s.config));
    const swap = native.extBind(native.extAttach(info.id, 1));
    assert.throws(() => native.extReload(info.id, join(s.dir, "libmissing.so")), /could not load the extension library .*libmissing\.so: no such file\. Build the extension first/);
    assert.throws(() => native.extReload(info.id, fx.abiMismatch), /extension `abi-mismatch` was built with titan-ext 9\.9\.9 for extension ABI 2, but this Titan runtime speaks ABI 1/);
    assert.throws(() => native.extReload(info.id, fx.sdkMismatch), /extension `sdk-mismatch` was built with titan-ext 0\.2\.0 but this runtime speaks titan-ext 0\.1\.x/);
    assert.throws(() => native.extReload(999_999, fx.swapB), /no loaded extension with id 999999/);
    assert.equal(swap.value!(), "a");
    assert.equal(count(s.lines(), "unload a "), 0);
    native.extRelease(info.id);
    rmSync(s.dir, { recursive: true, force: true });
  });

  test("a call made from a toJSON while another call's arguments convert throws instead of crashing the process", () => {
    // The call path holds the attachment's argument buffers while it converts; converting an
    // object runs its toJSON, which user code may make call the extension again.
    const native = loadNative();
    const info = native.extLoad(fx.kitchenSink, "null");
    const ks = native.extBind(native.extAttach(info.id, 1));
    const sneaky = { toJSON: () => ks.add!(1, 2) };
    assert.throws(() => ks.echo_json!(sneaky), /kitchen-sink: called while the arguments of another of its calls were being converted/);
    assert.equal(ks.add!(1, 2), 3, "the extension keeps working");
    native.extRelease(info.id);
  });

  test("the SDK version is checked at load, with the exact fix", () => {
    const native = loadNative();
    assert.throws(
      () => native.extLoad(fx.sdkMismatch, "null"),
      (err: Error) => {
        assert.equal(
          err.message,
          "extension `sdk-mismatch` was built with titan-ext 0.2.0 but this runtime speaks titan-ext 0.1.x: set `titan-ext = \"0.1\"` in sdk-mismatch's Cargo.toml and run `titan build ext`, or upgrade the runtime with `npm install titan@0.2`",
        );
        return true;
      },
    );
  });
});

const CONFIG: ResolvedConfig = { host: "127.0.0.1", port: 0, workers: 2, bodyLimit: 1 << 20, actionTimeout: 10_000, shutdownTimeout: 5000 };

describe("the host reloads a rebuilt native extension in place", { timeout: 300_000 }, () => {
  let fx: Fixtures;
  let server: TitanServer;
  let s: ReturnType<typeof scratch>;
  let library: string;
  let buildDir: string;
  const logs: string[] = [];

  /** Puts `from` at the app's library path the way cargo does: a new file under the old name. */
  const install = (from: string) => {
    const staged = `${library}.next`;
    copyFileSync(from, staged);
    renameSync(staged, library);
  };
  const value = async () => (await (await fetch(`${server.url}/value`)).json()) as { value: string; dataDir: string | null };

  before(async () => {
    fx = buildFixtures();
    s = scratch("host");
    library = join(s.dir, "libswap.so");
    install(fx.swapA);
    buildDir = mkdtempSync(join(tmpdir(), "titan-reload-build-"));
    writeFileSync(join(buildDir, "actions.mjs"), `export const actions = {\n  value: defineAction(() => ({ value: t.swap.value(), dataDir: t.swap.data_dir() })),\n};\n`);
    const extensions: ExtensionSpec[] = [{ name: "swap", namespace: "swap", kind: "native", library, entry: null, config: s.config }];
    const manifest: BuildManifest = { format: 1, bundle: "actions.mjs", routes: [{ method: "GET", path: "/value", action: "value" }], actions: [], config: CONFIG, extensions };
    writeFileSync(join(buildDir, "titan.build.json"), JSON.stringify(manifest));
    server = await startServer({ buildDir, dataDir: s.dir, log: (line) => logs.push(line) });
  });
  after(async () => {
    await server?.close();
    rmSync(s.dir, { recursive: true, force: true });
    rmSync(buildDir, { recursive: true, force: true });
  });

  test("the extension sees the app's data dir; a rebuild of its library swaps it without reloading it from scratch", async () => {
    assert.deepEqual(await value(), { value: "a", dataDir: s.dir });
    install(fx.swapB);
    // b's function list differs from a's (only_in_b): new workers start to bind it.
    assert.equal((await server.reload(buildDir)).kept, false);
    assert.ok(logs.some((line) => /^extension swap reloaded in place in \d+(\.\d+)? ms$/.test(line)), logs.join("\n"));
    assert.deepEqual(await value(), { value: "b", dataDir: s.dir });
    // One init per build: the host did not load a second copy of the extension.
    assert.equal(count(s.lines(), "init "), 2, s.lines().join("\n"));
    // The previous generation's workers drain and stop; no worker is left on a, so it unloads.
    await until("build a to unload", () => count(s.lines(), "unload a ") === 1);
    // Those workers (slots 1 and 2) were waiting for requests when the library was swapped:
    // the core woke them and each moved to b by itself, before it was drained.
    const lines = s.lines();
    for (const slot of [1, 2]) {
      const startedB = lines.findIndex((l) => l.startsWith(`worker_init b worker=${slot} `));
      const droppedA = lines.findIndex((l) => l.startsWith(`worker_drop a worker=${slot} `));
      assert.ok(startedB >= 0 && droppedA > startedB, `idle worker ${slot} moved to b when woken:\n${lines.join("\n")}`);
    }
  });

  test("an app rebuild that leaves the library alone does not reload it, and the same code keeps its workers", async () => {
    const before = logs.length;
    const workerInits = count(s.lines(), "worker_init ");
    assert.equal((await server.reload(buildDir)).kept, true, "the same bundle over the same extension instances");
    assert.equal(count(s.lines(), "worker_init "), workerInits, "no new workers attached to the extension");
    assert.equal(logs.slice(before).filter((line) => line.includes("reloaded in place")).length, 0);
    assert.equal((await value()).value, "b");
  });

  test("a rebuilt library that cannot load fails the reload and the previous build keeps serving", async () => {
    install(fx.abiMismatch);
    await assert.rejects(server.reload(buildDir), /extension swap \(t\.swap\) could not be reloaded in place: extension `abi-mismatch` was built with titan-ext 9\.9\.9 for extension ABI 2.*; its previous build keeps serving/);
    assert.equal((await value()).value, "b");
  });
});

describe("the host keeps unchanged extensions loaded across rebuilds", { timeout: 300_000 }, () => {
  let fx: Fixtures;
  let server: TitanServer;
  let s: ReturnType<typeof scratch>;
  const dirs: string[] = [];
  const logs: string[] = [];

  const swap = (config: Record<string, unknown>): ExtensionSpec => ({ name: "swap", namespace: "swap", kind: "native", library: fx.swapA, entry: null, config: { ...s.config, ...config } });
  const kitchenSink = (): ExtensionSpec => ({ name: "kitchen-sink", namespace: "ks", kind: "native", library: fx.kitchenSink, entry: null, config: null });
  /** A build whose `/value` answers swap's value and whether t.ks is bound. */
  const writeBuild = (extensions: ExtensionSpec[]) => {
    const dir = mkdtempSync(join(tmpdir(), "titan-keep-build-"));
    dirs.push(dir);
    writeFileSync(join(dir, "actions.mjs"), `export const actions = {\n  value: defineAction(() => ({ value: t.swap.value(), sum: t.ks ? t.ks.add(1, 2) : null })),\n};\n`);
    const manifest: BuildManifest = { format: 1, bundle: "actions.mjs", routes: [{ method: "GET", path: "/value", action: "value" }], actions: [], config: CONFIG, extensions };
    writeFileSync(join(dir, "titan.build.json"), JSON.stringify(manifest));
    return dir;
  };
  // A fresh connection per request: a kept-alive one may still reach a draining worker.
  const value = async () => (await (await fetch(`${server.url}/value`, { headers: { connection: "close" } })).json()) as { value: string; sum: number | null };
  const inits = () => s.lines().filter((line) => line.startsWith("init a "));

  before(async () => {
    fx = buildFixtures();
    s = scratch("keep");
    server = await startServer({ buildDir: writeBuild([swap({})]), dataDir: s.dir, log: (line) => logs.push(line) });
  });
  after(async () => {
    await server?.close();
    // Closing the server releases its extensions: the last instance of swap unloads.
    await until("swap to unload after close", () => count(s.lines(), "unload a ") === inits().length);
    rmSync(s.dir, { recursive: true, force: true });
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test("adding and removing another extension leaves an unchanged one loaded: no second init, no unload", async () => {
    assert.deepEqual(await value(), { value: "a", sum: null });
    await server.reload(writeBuild([swap({}), kitchenSink()]));
    assert.deepEqual(await value(), { value: "a", sum: 3 });
    await server.reload(writeBuild([kitchenSink(), swap({})]));
    await server.reload(writeBuild([swap({})]));
    assert.deepEqual(await value(), { value: "a", sum: null });
    // Give the drained generations time to release what they held: swap is not among it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(inits().length, 1, s.lines().join("\n"));
    assert.equal(count(s.lines(), "unload a "), 0, s.lines().join("\n"));
    assert.equal(logs.filter((line) => line.includes("reloaded in place")).length, 0);
  });

  test("a changed config loads a new instance, and the replaced one unloads once its workers stop", async () => {
    await server.reload(writeBuild([swap({ note: "changed" })]));
    assert.deepEqual(await value(), { value: "a", sum: null });
    assert.deepEqual(inits().map((line) => line.split(" data_dir=")[0]), [`init a config=${JSON.stringify(s.config)}`, `init a config=${JSON.stringify({ ...s.config, note: "changed" })}`]);
    await until("the replaced instance to unload", () => count(s.lines(), "unload a ") === 1);
    // The new instance stays for the next rebuild with the same config.
    await server.reload(writeBuild([swap({ note: "changed" }), kitchenSink()]));
    assert.deepEqual(await value(), { value: "a", sum: 3 });
    assert.equal(inits().length, 2);
  });

  test("a rebuild whose extension cannot load fails and changes nothing", async () => {
    const broken: ExtensionSpec = { name: "abi-mismatch", namespace: "broken", kind: "native", library: fx.abiMismatch, entry: null, config: null };
    await assert.rejects(server.reload(writeBuild([swap({ note: "changed" }), broken])), /extension abi-mismatch \(t\.broken\) could not be loaded: .*ABI 2/);
    assert.deepEqual(await value(), { value: "a", sum: 3 });
    await server.reload(writeBuild([swap({ note: "changed" })]));
    assert.deepEqual(await value(), { value: "a", sum: null });
    assert.equal(inits().length, 2, "swap was neither reloaded nor loaded again");
  });
});
