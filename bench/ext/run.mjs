// `npm run bench:ext`: the per-call cost of a native extension function called the way actions
// call it (`t.<ns>.<fn>(...)`: the JS wrapper from core-runtime's extensions.js → the core
// addon's bound native function → the extension's ABI function table), next to the same Rust function
// exported straight from a napi-rs addon, in the same worker, in the same run. Absolute ns/call
// depend on the machine and its neighbours; the ratio Titan/napi-rs within one run is the result.
//
//   node bench/ext/run.mjs [--rounds 5] [--time-per-round 200] [--warmup 300] [--cases LIST] [--no-build]

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { CASES } from "./cases.mjs";
import { BenchError, machineInfo, median, round2 } from "../lib/common.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../..");
const RESULTS_DIR = join(ROOT, "bench/results");
const CORE_NATIVE = join(ROOT, "core-runtime/native/index.cjs");
const CORE_EXTENSIONS_JS = join(ROOT, "core-runtime/dist/extensions.js");
const NAPI_DIRECT_DIR = join(HERE, "napi-direct");
const NAPI_DIRECT_DIST = join(NAPI_DIRECT_DIR, "dist");
const NAPI_CLI = join(ROOT, "node_modules/.bin/napi");

const GOAL = 1.5; // Titan ns/call ≤ 1.5 × napi-rs ns/call, for the cases marked `goal` (scalars and strings)

const USAGE = `usage: npm run bench:ext -- [options]

  --rounds N             timed rounds per case and side, alternating Titan / napi-rs (default 5)
  --time-per-round MS    target length of one timed round; calls per round follow from it (default 200)
  --warmup MS            unmeasured calls per case and side before timing (default 300)
  --cases LIST           cases to run, from ${CASES.map((c) => c.key).join(",")} (default all)
  --no-build             use the last builds of titan-bench-ext and napi-direct instead of rebuilding
  -h, --help             this text

Prints the median ns/call of each side per case, the ratio Titan/napi-rs and whether the goal
(≤ ${GOAL}× for scalars and strings) is met; writes everything to bench/results/ext-<timestamp>.json.`;


const log = (line = "") => console.log(line);

function parseOptions() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        rounds: { type: "string", default: "5" },
        "time-per-round": { type: "string", default: "200" },
        warmup: { type: "string", default: "300" },
        cases: { type: "string", default: CASES.map((c) => c.key).join(",") },
        "no-build": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    throw new BenchError(`${error.message}\n\n${USAGE}`);
  }
  if (values.help) {
    log(USAGE);
    process.exit(0);
  }
  const positiveInt = (flag, raw, min = 1) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new BenchError(`--${flag} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
    return n;
  };
  const cases = values.cases.split(",").map((s) => s.trim()).filter(Boolean);
  for (const key of cases) {
    if (!CASES.some((c) => c.key === key)) throw new BenchError(`--cases: unknown case ${JSON.stringify(key)}; choose from ${CASES.map((c) => c.key).join(", ")}`);
  }
  if (cases.length === 0) throw new BenchError(`--cases needs at least one of ${CASES.map((c) => c.key).join(", ")}`);
  return {
    rounds: positiveInt("rounds", values.rounds),
    timePerRoundMs: positiveInt("time-per-round", values["time-per-round"], 10),
    warmupMs: positiveInt("warmup", values.warmup, 0),
    cases: CASES.filter((c) => cases.includes(c.key)).map((c) => c.key),
    build: !values["no-build"],
  };
}

// ---------------------------------------------------------------------------------------------
// What the worker loads

/** The core addon and its JS must be built (`npm install` / `npm run build`); warns when stale. */
function checkCore() {
  const missing = [CORE_NATIVE, CORE_EXTENSIONS_JS].filter((path) => !existsSync(path));
  if (missing.length > 0) {
    throw new BenchError(`Titan's core is not built (${missing.map((p) => relative(ROOT, p)).join(", ")} missing): run \`npm install\` at the repo root (it builds the core addon and the TypeScript; \`npm run build\` rebuilds).`);
  }
  const warnings = [];
  const addon = readdirSync(dirname(CORE_NATIVE)).filter((f) => f.endsWith(".node")).map((f) => join(dirname(CORE_NATIVE), f));
  if (addon.length === 0) throw new BenchError("core-runtime/native has no .node addon: run `npm run build` at the repo root.");
  const addonTime = Math.max(...addon.map((f) => statSync(f).mtimeMs));
  const rustSources = ["core-runtime/crates", "ext-sdk/crates/titan-ext-sys/src"].map((d) => newest(join(ROOT, d), /\.rs$|Cargo\.toml$/));
  const newestSource = rustSources.reduce((a, b) => (b.mtimeMs > a.mtimeMs ? b : a), { mtimeMs: 0, path: null });
  if (newestSource.mtimeMs > addonTime) {
    warnings.push(`the core addon is older than ${relative(ROOT, newestSource.path)}: this run measures the last build; \`npm run build\` at the repo root to bench the current sources`);
  }
  const ts = join(ROOT, "core-runtime/js/extensions.ts");
  if (existsSync(ts) && statSync(ts).mtimeMs > statSync(CORE_EXTENSIONS_JS).mtimeMs) {
    warnings.push("core-runtime/dist/extensions.js is older than js/extensions.ts: this run measures the last build; `npm run build` at the repo root to bench the current sources");
  }
  return { addon: addon.map((f) => relative(ROOT, f)), addonBuiltAt: new Date(addonTime).toISOString(), warnings };
}

function newest(dir, pattern) {
  let best = { mtimeMs: 0, path: null };
  if (!existsSync(dir)) return best;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !pattern.test(entry.name)) continue;
    const path = join(entry.parentPath ?? entry.path, entry.name);
    const { mtimeMs } = statSync(path);
    if (mtimeMs > best.mtimeMs) best = { mtimeMs, path };
  }
  return best;
}

function run(title, command, args) {
  log(`$ ${command === NAPI_CLI ? "napi" : command} ${args.join(" ")}`);
  const result = spawnSync(command, args, {
    cwd: ROOT, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8", maxBuffer: 256 * 1024 * 1024,
  });
  if (result.error?.code === "ENOENT") {
    throw new BenchError(command === "cargo"
      ? "cargo not found: install Rust (https://rustup.rs)."
      : `${relative(ROOT, command)} not found: run \`npm install\` at the repo root (it installs @napi-rs/cli).`);
  }
  if (result.status !== 0) {
    throw new BenchError(`${title} failed (see above). If the error is in a crate others are editing (titan-ext, titan-ext-sys), wait for it or fix it; \`--no-build\` reuses the last builds.`);
  }
  return result.stdout;
}

/** `cargo build --release -p titan-bench-ext`; returns the cdylib cargo reports. */
function buildTitanExtension() {
  const stdout = run("building titan-bench-ext", "cargo", ["build", "--release", "-p", "titan-bench-ext", "--message-format=json-render-diagnostics"]);
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    const message = JSON.parse(line);
    if (message.reason === "compiler-artifact" && message.target?.name === "titan_bench_ext" && message.target.kind?.includes("cdylib")) {
      const library = message.filenames.find((f) => /\.(so|dylib|dll)$/.test(f));
      if (library) return library;
    }
  }
  throw new BenchError("cargo built titan-bench-ext but reported no cdylib: run `cargo build --release -p titan-bench-ext` by hand and look at the output.");
}

/** napi-rs's CLI, as `npm run build` builds the core: release, into bench/ext/napi-direct/dist. */
function buildNapiDirect() {
  run("building napi-direct (napi build)", NAPI_CLI, [
    "build", "--release", "--manifest-path", relative(ROOT, join(NAPI_DIRECT_DIR, "Cargo.toml")),
    "--output-dir", relative(ROOT, NAPI_DIRECT_DIST),
  ]);
  return findNapiDirect();
}

function findNapiDirect() {
  const nodes = existsSync(NAPI_DIRECT_DIST) ? readdirSync(NAPI_DIRECT_DIST).filter((f) => f.endsWith(".node")) : [];
  if (nodes.length === 0) {
    throw new BenchError(`no .node addon in ${relative(ROOT, NAPI_DIRECT_DIST)}: run without --no-build (the bench builds it), or \`node_modules/.bin/napi build --release --manifest-path bench/ext/napi-direct/Cargo.toml --output-dir bench/ext/napi-direct/dist\`.`);
  }
  const path = join(NAPI_DIRECT_DIST, nodes.includes("index.node") ? "index.node" : nodes[0]);
  return path;
}

function lastTitanExtension() {
  const targetDir = process.env.CARGO_TARGET_DIR ? resolve(ROOT, process.env.CARGO_TARGET_DIR) : join(ROOT, "target");
  const name = process.platform === "darwin" ? "libtitan_bench_ext.dylib" : process.platform === "win32" ? "titan_bench_ext.dll" : "libtitan_bench_ext.so";
  const path = join(targetDir, "release", name);
  if (!existsSync(path)) throw new BenchError(`${relative(ROOT, path)} does not exist: run without --no-build (the bench builds it), or \`cargo build --release -p titan-bench-ext\`.`);
  return path;
}

// ---------------------------------------------------------------------------------------------
// Measuring: one worker, as an action runs in one

function measure(options, titanLibrary, napiAddon) {
  return new Promise((resolvePromise, reject) => {
    const worker = new Worker(join(HERE, "worker.mjs"), {
      workerData: {
        coreNative: CORE_NATIVE,
        coreExtensionsJs: CORE_EXTENSIONS_JS,
        titanLibrary,
        napiAddon,
        rounds: options.rounds,
        timePerRoundMs: options.timePerRoundMs,
        warmupMs: options.warmupMs,
        caseKeys: options.cases,
      },
    });
    let extension = null;
    let settled = false;
    const finish = (fn, value) => {
      if (settled) return;
      settled = true;
      worker.terminate().finally(() => fn(value));
    };
    worker.on("message", (message) => {
      switch (message.type) {
        case "progress":
          log(`  ${message.text}`);
          break;
        case "extension":
          extension = message.extension;
          log(`  worker: t.bench = ${extension.name} ${extension.version} (titan-ext ${extension.sdkVersion}), napi-direct loaded`);
          break;
        case "case": {
          const r = message.result;
          const t = median(r.titan.nsPerCallByRound);
          const n = median(r.napi.nsPerCallByRound);
          log(`  [${message.index + 1}/${message.total}] ${r.label.padEnd(20)} Titan ${fmtNs(t).padStart(9)}  napi-rs ${fmtNs(n).padStart(9)}  ${(t / n).toFixed(2)}×`);
          break;
        }
        case "done":
          finish(resolvePromise, { extension, results: message.results });
          break;
        case "error":
          finish(reject, new BenchError(message.setup ? message.message : `the bench worker failed:\n${message.message}`));
          break;
        default:
      }
    });
    worker.on("error", (error) => finish(reject, new BenchError(`the bench worker crashed: ${error.stack ?? error}`)));
    worker.on("exit", (code) => finish(reject, new BenchError(`the bench worker exited (code ${code}) before finishing; a crash inside a native call ends the worker: run \`node bench/ext/run.mjs --cases <one>\` to find which case.`)));
  });
}

// ---------------------------------------------------------------------------------------------
// Summarizing


function spread(values) {
  const m = median(values);
  return m ? (Math.max(...values) - Math.min(...values)) / 2 / m : 0;
}

function summarize(results) {
  const cases = results.map((r) => {
    const titan = median(r.titan.nsPerCallByRound);
    const napi = median(r.napi.nsPerCallByRound);
    const ratio = titan / napi;
    return {
      key: r.key,
      label: r.label,
      titanFunction: r.titanFunction,
      napiFunction: r.napiFunction,
      titanNsPerCall: round1(titan),
      napiNsPerCall: round1(napi),
      extraNsPerCall: round1(titan - napi),
      ratio: round2(ratio),
      titanSpread: round2(spread(r.titan.nsPerCallByRound)),
      napiSpread: round2(spread(r.napi.nsPerCallByRound)),
      goal: r.goal ? { max: GOAL, met: ratio <= GOAL } : null,
    };
  });
  const goalCases = cases.filter((c) => c.goal);
  const failing = goalCases.filter((c) => !c.goal.met);
  return {
    cases,
    goal: goalCases.length === 0 ? null : {
      text: `Titan ≤ ${GOAL}× napi-rs for scalars and strings`,
      max: GOAL,
      met: failing.length === 0,
      casesMet: goalCases.length - failing.length,
      casesCounted: goalCases.length,
      notMet: failing.map((c) => c.key),
    },
  };
}

function printReport(options, summary, warnings) {
  const header = ["case", "Titan ns/call", "napi-rs ns/call", "Titan − napi", "ratio", "spread T/n", `goal ≤ ${GOAL}×`];
  const rows = summary.cases.map((c) => [
    c.label, fmtNs(c.titanNsPerCall), fmtNs(c.napiNsPerCall), `${c.extraNsPerCall < 0 ? "−" : "+"}${fmtNs(Math.abs(c.extraNsPerCall))}`, `${c.ratio.toFixed(2)}×`,
    `±${Math.round(c.titanSpread * 100)}%/±${Math.round(c.napiSpread * 100)}%`,
    c.goal ? (c.goal.met ? "met" : "NOT met") : "(no goal)",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  log();
  log(`Medians of ${options.rounds} round(s) of ~${options.timePerRoundMs} ms per case and side, alternating; one worker thread.`);
  log("(Titan: t.bench.<fn> via attachExtension (one native function per extension function); napi-rs: the same Rust body as a #[napi] export;");
  log(" spread: half the min–max range across rounds, relative to the median)");
  log(line(header));
  log(line(widths.map((w) => "-".repeat(w))));
  for (const row of rows) log(line(row));
  if (summary.goal) {
    log();
    log(`Goal: ${summary.goal.text}: ${summary.goal.met ? "met" : "NOT met"} (${summary.goal.casesMet} of ${summary.goal.casesCounted} cases within it${summary.goal.met ? "" : `; not: ${summary.goal.notMet.join(", ")}`}).`);
  }
  const noisy = summary.cases.filter((c) => Math.max(c.titanSpread, c.napiSpread) > 0.1);
  if (noisy.length) warnings.push(`spread above ±10% for ${noisy.map((c) => c.key).join(", ")}: the machine was busy; run more rounds (--rounds ${Math.max(9, options.rounds * 2)}) or longer ones (--time-per-round ${Math.max(500, options.timePerRoundMs * 2)}), or wait for a quieter machine`);
  if (warnings.length) {
    log();
    log("Warnings:");
    for (const w of warnings) log(`  - ${w}`);
  }
}

// ---------------------------------------------------------------------------------------------


async function main() {
  const options = parseOptions();
  const machine = machineInfo({ v8: process.versions.v8 });
  const core = checkCore();
  const warnings = [...core.warnings];
  for (const w of core.warnings) log(`note: ${w}`);

  let titanLibrary;
  let napiAddon;
  if (options.build) {
    titanLibrary = buildTitanExtension();
    napiAddon = buildNapiDirect();
  } else {
    titanLibrary = lastTitanExtension();
    napiAddon = findNapiDirect();
    log(`--no-build: ${relative(ROOT, titanLibrary)}, ${relative(ROOT, napiAddon)}`);
  }

  log(`\n${machine.cores} cores (${machine.cpuModel}); load average ${machine.loadAverageAtStart.join(" ")}; node ${machine.node}`);
  if (machine.loadAverageAtStart[0] > machine.cores / 2) log(`note: the machine is already busy (load ${machine.loadAverageAtStart[0]} on ${machine.cores} cores): expect noisy absolute numbers; compare the ratios.`);
  const perSide = options.warmupMs + 100 + options.rounds * options.timePerRoundMs;
  log(`${options.cases.length} case(s) × 2 sides, ${options.rounds} rounds of ~${options.timePerRoundMs} ms after ${options.warmupMs} ms warm-up: about ${Math.round((options.cases.length * 2 * perSide) / 1000)} s.`);

  const startedAt = new Date();
  const { extension, results } = await measure(options, titanLibrary, napiAddon);
  const summary = summarize(results);
  printReport(options, summary, warnings);

  const result = {
    benchmark: "ext",
    startedAt: startedAt.toISOString(),
    machine,
    settings: {
      rounds: options.rounds,
      timePerRoundMs: options.timePerRoundMs,
      warmupMs: options.warmupMs,
      cases: options.cases,
      goal: { max: GOAL, appliesTo: CASES.filter((c) => c.goal).map((c) => c.key) },
    },
    titan: {
      coreAddon: core.addon,
      coreAddonBuiltAt: core.addonBuiltAt,
      library: relative(ROOT, titanLibrary),
      extension,
      path: "attachExtension (core-runtime/dist/extensions.js) → extBind native function → titan_function_def.call",
    },
    napi: { addon: relative(ROOT, napiAddon) },
    ...summary,
    warnings,
    rounds: results,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `ext-${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  log(`\nresults: ${relative(process.cwd(), file)}`);
}

// ---------------------------------------------------------------------------------------------
// Formatting

function round1(n) {
  return Math.round(n * 10) / 10;
}
function fmtNs(ns) {
  return ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${ns.toFixed(ns < 100 ? 1 : 0)} ns`;
}

try {
  await main();
} catch (error) {
  console.error(`\nbench:ext: ${error instanceof BenchError ? error.message : error.stack}`);
  process.exitCode = 1;
}
