// `npm run bench:harness`: how fast the extension harness gets an author to a call, next to the
// least a bare worker can do, in the same run.
//   1. boot → first call: HarnessIsolate.start (worker isolate with Titan's globals, the four
//      engines and the extension bound, JS entry run) + one synchronous call, against
//      `new Worker` that loads the core addon, opens the same library and calls it once.
//      Goals: ≤ 300 ms and ≤ 1.5× the bare worker.
//   2. swap latency: a rebuilt library swapped into a running isolate → first call served by it.
//      Goal ≤ 20 ms.
//   3. edit → new behaviour with --watch's cycle, cargo included: a one-line change saved until a
//      call returns the new value (reported, no goal).
//
//   node bench/harness/run.mjs [--rounds 10] [--edits 3]

import { createRequire } from "node:module";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { performance } from "node:perf_hooks";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../..");
const { values: options } = parseArgs({ options: { rounds: { type: "string", default: "10" }, edits: { type: "string", default: "3" }, help: { type: "boolean", short: "h" } } });
if (options.help) {
  console.log("usage: npm run bench:harness -- [--rounds N (boot and swap rounds, default 10)] [--edits N (watch edit cycles, default 3)]");
  process.exit(0);
}
const rounds = Number(options.rounds);
const edits = Number(options.edits);

const { HarnessIsolate, watchExtension } = await import(join(ROOT, "harness/dist/index.js")).catch((error) => {
  console.error(`the harness is not built (${error.message}): run \`npm run build\` at the repo root`);
  process.exit(1);
});
const { buildAndResolve } = await import(join(ROOT, "ext-sdk/dist/harness/index.js"));
// Test fixtures are TypeScript sources (not built): this script runs under tsx (see package.json).
const { writeCrateExtension, writeCrateFunctions } = await import(join(ROOT, "ext-sdk/src/testing/extensions.ts"));

// The core addon on this thread, to release what each bare worker loaded (as the harness does).
const mainNative = createRequire(import.meta.url)(join(ROOT, "core-runtime/native/index.cjs"));

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const fmt = (ms) => `${ms.toFixed(1)} ms`;
const log = (line = "") => console.log(line);

const MARKDOWN = join(ROOT, "examples-ext/markdown");
log("building examples-ext/markdown (the extension both sides load) ...");
const spec = await buildAndResolve(MARKDOWN, { build: true, log: () => {} });
const dataDir = mkdtempSync(join(os.tmpdir(), "titan-bench-harness-"));

async function harnessBoot() {
  const started = performance.now();
  const isolate = await HarnessIsolate.start({ extension: spec, dataDir });
  const result = isolate.call("word_count", "one two three");
  const ms = performance.now() - started;
  if (result !== 3) throw new Error(`harness: unexpected result ${result}`);
  await isolate.close();
  return ms;
}

async function bareBoot(round) {
  const started = performance.now();
  const worker = new Worker(join(HERE, "bare-worker.mjs"), {
    workerData: { coreNative: join(ROOT, "core-runtime/native/index.cjs"), library: spec.library, fn: "word_count", args: ["one two three"], round },
  });
  const { result, id } = await new Promise((resolveMessage, reject) => {
    worker.once("message", resolveMessage);
    worker.once("error", reject);
  });
  const ms = performance.now() - started;
  if (result !== 3) throw new Error(`bare worker: unexpected result ${result}`);
  await worker.terminate();
  mainNative.extRelease(id);
  return ms;
}

log(`\n1. boot → first call, ${rounds} rounds alternating (after one warm-up each)`);
await harnessBoot();
await bareBoot(0);
const harnessMs = [];
const bareMs = [];
for (let round = 1; round <= rounds; round++) {
  harnessMs.push(await harnessBoot());
  bareMs.push(await bareBoot(round));
}
const boot = median(harnessMs);
const bare = median(bareMs);
const bootRatio = boot / bare;
log(`   harness      ${fmt(boot)} (median; min ${fmt(Math.min(...harnessMs))}, max ${fmt(Math.max(...harnessMs))})`);
log(`   bare Worker  ${fmt(bare)} (median; min ${fmt(Math.min(...bareMs))}, max ${fmt(Math.max(...bareMs))})`);
log(`   ratio        ${bootRatio.toFixed(2)}×   goal ≤ 300 ms and ≤ 1.5×: ${boot <= 300 && bootRatio <= 1.5 ? "met" : "NOT met"}`);

log(`\n2. swap latency (new build loaded → first call served by it), ${rounds} rounds`);
const isolate = await HarnessIsolate.start({ extension: spec, dataDir });
const swaps = [];
let mode = "";
for (let round = 0; round < rounds; round++) {
  const started = performance.now();
  const result = await isolate.swap(spec);
  isolate.call("word_count", "a");
  swaps.push(performance.now() - started);
  mode = result.mode;
}
await isolate.close();
const swap = median(swaps);
log(`   ${mode}: ${fmt(swap)} (median; min ${fmt(Math.min(...swaps))}, max ${fmt(Math.max(...swaps))})   goal ≤ 20 ms: ${swap <= 20 ? "met" : "NOT met"}`);

let editMs = [];
if (edits > 0) {
  log(`\n3. edit → new behaviour with the --watch cycle (cargo included), ${edits} edits`);
  const dir = writeCrateExtension(mkdtempSync(join(os.tmpdir(), "titan-bench-edit-")), "editbench", "#[function]\nfn answer() -> u32 { 0 }", ["answer"]);
  process.env.CARGO_TARGET_DIR ??= join(ROOT, "target");
  const first = await buildAndResolve(dir, { build: true, log: () => {} });
  const watched = await HarnessIsolate.start({ extension: first, dataDir });
  const watcher = watchExtension({ dir, isolate: watched, build: () => buildAndResolve(dir, { build: true, log: () => {} }), log: () => {}, debounceMs: 20 });
  await watcher.ready;
  for (let edit = 1; edit <= edits; edit++) {
    const cycle = watcher.nextCycle();
    const started = performance.now();
    writeCrateFunctions(dir, `#[function]\nfn answer() -> u32 { ${edit} }`, ["answer"]);
    const report = await cycle;
    if (!report.ok || watched.call("answer") !== edit) throw new Error(`edit ${edit} did not take effect: ${report.error ?? "old value"}`);
    const ms = performance.now() - started;
    editMs.push(ms);
    log(`   edit ${edit}: ${fmt(ms)} (cargo + titan build ext ${fmt(report.buildMs)}, swap ${fmt(report.swap.swapMs)} ${report.swap.mode})`);
  }
  await watcher.close();
  await watched.close();
}

const resultsDir = join(ROOT, "bench/results");
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `harness-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
writeFileSync(file, JSON.stringify({ boot: { harnessMs, bareMs, median: boot, bareMedian: bare, ratio: bootRatio }, swap: { mode, swaps, median: swap }, editMs }, null, 2));
log(`\nwritten to ${file}`);
