// `npm run bench:http`: Titan's hello action side by side with a plain node:http server and a
// bare hyper server, in the same run, under the same wrk load. Absolute req/s depend on the
// machine and its neighbours; the ratios between servers measured in one run are the result.
//
//   node bench/http/run.mjs [--rounds 3] [--duration 5] [--warmup 2] [--connections 50,100]
//                           [--only titan,node,hyper] [--hyper-bin PATH]

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  assertAlive, checkHello, cpuTicks, freePort, killAllNow, memory, startServer, stopAll,
} from "./servers.mjs";
import { BenchError, ensureWrk, runWrk } from "./wrk.mjs";
import { clockTicksPerSecond, fmtInt, machineInfo, median, round2, runBench } from "../lib/common.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../..");
const RESULTS_DIR = join(ROOT, "bench/results");
const APP_DIR = join(HERE, "app");
const TITAN_CLI = join(ROOT, "ext-sdk/bin/titan.js");
const CORE_DIST = join(ROOT, "core-runtime/dist");

const CORES = os.availableParallelism();
const GOALS = { titanVsNode: 2, titanVsHyper: 0.6 };
const LABELS = { titan: "Titan", node: "node:http", hyper: "hyper" };
const SERVER_ORDER = ["titan", "node", "hyper"];
const WITHOUT_TITAN = "npm run bench:http -- --only node,hyper";

const USAGE = `usage: npm run bench:http -- [options]

  --rounds N          measured rounds per server and connection count (default 3)
  --duration S        seconds per measured wrk run (default 5)
  --warmup S          seconds of unmeasured load before each measured run (default 2)
  --connections LIST  wrk connection counts (default 50,100)
  --only LIST         servers to run, from titan,node,hyper (default all three)
  --hyper-bin PATH    use this hyper-bare binary instead of \`cargo build --release -p hyper-bare\`
  -h, --help          this text

Prints medians per server and connection count, the ratios Titan/node:http and Titan/hyper,
and memory; writes everything to bench/results/http-<timestamp>.json.`;

const log = (line = "") => console.log(line);

function parseOptions() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        rounds: { type: "string", default: "3" },
        duration: { type: "string", default: "5" },
        warmup: { type: "string", default: "2" },
        connections: { type: "string", default: "50,100" },
        only: { type: "string", default: SERVER_ORDER.join(",") },
        "hyper-bin": { type: "string" },
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
  const servers = values.only.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const s of servers) {
    if (!SERVER_ORDER.includes(s)) throw new BenchError(`--only: unknown server ${JSON.stringify(s)}; choose from ${SERVER_ORDER.join(", ")}`);
  }
  if (servers.length === 0) throw new BenchError(`--only needs at least one of ${SERVER_ORDER.join(", ")}`);
  return {
    rounds: positiveInt("rounds", values.rounds),
    durationSec: positiveInt("duration", values.duration),
    warmupSec: positiveInt("warmup", values.warmup, 0),
    connections: values.connections.split(",").map((c) => positiveInt("connections", c.trim())),
    servers: SERVER_ORDER.filter((s) => servers.includes(s)),
    hyperBin: values["hyper-bin"] ? resolve(values["hyper-bin"]) : null,
  };
}

// ---------------------------------------------------------------------------------------------
// Building what the servers need

/** `cargo build --release -p hyper-bare` with cargo's progress on the terminal; returns the binary. */
function buildHyperBare() {
  log("$ cargo build --release -p hyper-bare");
  const result = spawnSync(
    "cargo",
    ["build", "--release", "-p", "hyper-bare", "--message-format=json-render-diagnostics"],
    { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8", maxBuffer: 256 * 1024 * 1024 },
  );
  if (result.error?.code === "ENOENT") {
    throw new BenchError("cargo not found: install Rust (https://rustup.rs), or pass --hyper-bin PATH, or bench without hyper: `npm run bench:http -- --only titan,node`.");
  }
  if (result.status !== 0) {
    throw new BenchError("`cargo build --release -p hyper-bare` failed (see above). If the error is in another crate of the workspace, fix or wait for it, pass --hyper-bin PATH to an existing build, or bench without hyper: `npm run bench:http -- --only titan,node`.");
  }
  for (const line of result.stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    const message = JSON.parse(line);
    if (message.reason === "compiler-artifact" && message.target?.name === "hyper-bare" && message.executable) {
      return message.executable;
    }
  }
  throw new BenchError("cargo built hyper-bare but reported no executable: run `cargo build --release -p hyper-bare` by hand and pass the binary with --hyper-bin PATH.");
}

/** Checks the Titan CLI and core are built, then builds the hello app with `titan build`. */
function buildTitanApp() {
  const missing = [join(ROOT, "ext-sdk/dist/cli/main.js"), CORE_DIST].filter((path) => !existsSync(path));
  if (missing.length > 0) {
    throw new BenchError(`Titan is not built (${missing.map((p) => relative(ROOT, p)).join(", ")} missing): run \`npm install\` at the repo root (it builds the core and the CLI; \`npm run build\` rebuilds), or bench without Titan: \`${WITHOUT_TITAN}\`.`);
  }
  const args = [relative(ROOT, TITAN_CLI), "build", "--cwd", relative(ROOT, APP_DIR)];
  log(`$ node ${args.join(" ")}`);
  const result = spawnSync(process.execPath, args, { cwd: ROOT, stdio: "inherit" });
  if (result.status !== 0) {
    throw new BenchError(`\`node ${args.join(" ")}\` failed (see above): fix the Titan build (\`npm run build\` at the repo root), or bench without Titan: \`${WITHOUT_TITAN}\`.`);
  }
}

// ---------------------------------------------------------------------------------------------
// Starting the servers

async function startAll(options) {
  const titanHint = `\nIf the core is stale, run \`npm run build\` at the repo root; to bench without Titan: \`${WITHOUT_TITAN}\`.`;
  const specs = {
    titan: async () => ({
      command: process.execPath,
      args: [relative(ROOT, TITAN_CLI), "start", "--cwd", relative(ROOT, APP_DIR), "--port", String(await freePort())],
      hint: titanHint,
    }),
    node: async () => ({
      command: process.execPath,
      args: [relative(ROOT, join(HERE, "node-http-server.mjs")), "--port", "0"],
    }),
    hyper: async () => ({
      command: options.hyperBin,
      args: ["--port", "0", "--threads", String(CORES)],
    }),
  };
  const servers = {};
  for (const name of options.servers) {
    const spec = await specs[name]();
    log(`starting ${LABELS[name]}: ${spec.command === process.execPath ? "node" : relative(ROOT, spec.command)} ${spec.args.join(" ")}`);
    const server = await startServer({ name: LABELS[name], cwd: ROOT, ...spec });
    server.key = name;
    server.command = `${spec.command === process.execPath ? "node" : spec.command} ${spec.args.join(" ")}`;
    server.hello = await checkHello(server);
    server.memoryAtStart = memory(server);
    servers[name] = server;
    log(`  ${server.url} answers ${server.hello.status} ${server.hello.contentType} (${server.hello.bytes} B), pid ${server.pid}`);
  }
  return servers;
}

// ---------------------------------------------------------------------------------------------
// Measuring

let currentWrk = null;


async function measure(options, servers) {
  const ticksPerSec = clockTicksPerSecond();
  const names = Object.keys(servers);
  const runs = [];
  const total = options.rounds * options.connections.length * names.length;
  let done = 0;
  for (let round = 0; round < options.rounds; round++) {
    // Rotate who goes first each round so no server always runs on a cooler (or hotter) machine.
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const connections of options.connections) {
      for (const name of order) {
        const server = servers[name];
        assertAlive(server);
        const wrk = (seconds) => runWrk({
          url: server.url, connections, seconds, threads: 2, register: (child) => (currentWrk = child),
        });
        if (options.warmupSec > 0) await wrk(options.warmupSec);

        const before = Object.fromEntries(names.map((n) => [n, cpuTicks(servers[n])]));
        const result = await wrk(options.durationSec);
        const after = Object.fromEntries(names.map((n) => [n, cpuTicks(servers[n])]));
        currentWrk = null;
        assertAlive(server);

        const cores = (n) => (after[n] - before[n]) / ticksPerSec / (result.durationMs / 1000);
        const idleCpu = Object.fromEntries(names.filter((n) => n !== name).map((n) => [n, round2(cores(n))]));
        const run = {
          round: round + 1,
          server: name,
          connections,
          requestsPerSec: result.requestsPerSec,
          latencyMs: result.latencyMs,
          requests: result.requests,
          durationMs: result.durationMs,
          errors: result.errors,
          serverCpuCores: round2(cores(name)),
          otherServersCpuCores: idleCpu,
          command: result.command,
        };
        runs.push(run);
        done++;
        const errorCount = Object.values(result.errors).reduce((a, b) => a + b, 0);
        log(`  [${String(done).padStart(String(total).length)}/${total}] round ${round + 1}  c=${String(connections).padEnd(4)} ${LABELS[name].padEnd(10)}` +
          `${fmtInt(result.requestsPerSec).padStart(10)} req/s  p50 ${fmtMs(result.latencyMs.p50).padStart(9)}  p99 ${fmtMs(result.latencyMs.p99).padStart(9)}` +
          `  server cpu ${run.serverCpuCores.toFixed(2)} cores${errorCount ? `  errors ${errorCount}` : ""}`);
      }
    }
  }
  return runs;
}

// ---------------------------------------------------------------------------------------------
// Summarizing


function summarize(options, servers, runs) {
  const summary = {};
  for (const connections of options.connections) {
    summary[connections] = {};
    for (const name of Object.keys(servers)) {
      const mine = runs.filter((r) => r.server === name && r.connections === connections);
      const rps = mine.map((r) => r.requestsPerSec);
      summary[connections][name] = {
        requestsPerSec: median(rps),
        minRequestsPerSec: Math.min(...rps),
        maxRequestsPerSec: Math.max(...rps),
        p50Ms: median(mine.map((r) => r.latencyMs.p50)),
        p99Ms: median(mine.map((r) => r.latencyMs.p99)),
        serverCpuCores: round2(median(mine.map((r) => r.serverCpuCores))),
        errors: mine.reduce((sum, r) => sum + Object.values(r.errors).reduce((a, b) => a + b, 0), 0),
        rounds: mine.length,
      };
    }
  }

  const ratios = {};
  for (const connections of options.connections) {
    const s = summary[connections];
    if (!s.titan) continue;
    ratios[connections] = {};
    if (s.node) {
      const ratio = s.titan.requestsPerSec / s.node.requestsPerSec;
      ratios[connections].titanVsNode = { ratio: round2(ratio), goal: GOALS.titanVsNode, met: ratio >= GOALS.titanVsNode };
      ratios[connections].p99BelowNode = s.titan.p99Ms < s.node.p99Ms;
    }
    if (s.hyper) {
      const ratio = s.titan.requestsPerSec / s.hyper.requestsPerSec;
      ratios[connections].titanVsHyper = { ratio: round2(ratio), goal: GOALS.titanVsHyper, met: ratio >= GOALS.titanVsHyper };
    }
  }

  const mem = {};
  for (const [name, server] of Object.entries(servers)) {
    const after = memory(server);
    mem[name] = {
      pid: server.pid,
      atStart: { rssKiB: server.memoryAtStart.rssKiB },
      afterLoad: after,
    };
    if (name === "titan") {
      mem[name].workers = CORES; // the CLI's default: one worker per core
      mem[name].rssPerWorkerKiB = Math.round(after.rssKiB / CORES);
    }
  }

  const warnings = [];
  for (const run of runs) {
    const errors = Object.entries(run.errors).filter(([, n]) => n > 0);
    if (errors.length) warnings.push(`${LABELS[run.server]} c=${run.connections} round ${run.round}: wrk counted ${errors.map(([k, n]) => `${n} ${k}`).join(", ")} errors`);
    for (const [other, cores] of Object.entries(run.otherServersCpuCores)) {
      if (cores >= 0.05) warnings.push(`${LABELS[other]} used ${cores} cores while idle (during ${LABELS[run.server]} c=${run.connections} round ${run.round}): it competes with the server being measured`);
    }
  }
  return { summary, ratios, memory: mem, warnings };
}

function printReport(options, servers, { summary, ratios, memory: mem, warnings }) {
  const names = Object.keys(servers);
  const header = ["server", "conns", "req/s", "spread", "p50", "p99", "cpu", "errors"];
  const rows = [];
  for (const connections of options.connections) {
    for (const name of names) {
      const s = summary[connections][name];
      const spread = s.requestsPerSec ? (s.maxRequestsPerSec - s.minRequestsPerSec) / s.requestsPerSec : 0;
      rows.push([LABELS[name], String(connections), fmtInt(s.requestsPerSec), `±${(spread * 50).toFixed(0)}%`,
        fmtMs(s.p50Ms), fmtMs(s.p99Ms), s.serverCpuCores.toFixed(2), String(s.errors)]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  log();
  log(`Medians of ${options.rounds} round(s), ${options.durationSec}s each after ${options.warmupSec}s warm-up; wrk -t2, no pipelining; ${CORES} cores.`);
  log("(spread: half the min–max range of req/s across rounds; cpu: cores the server used while measured)");
  log(line(header));
  log(line(widths.map((w) => "-".repeat(w))));
  for (const row of rows) log(line(row));

  if (Object.keys(ratios).length) {
    log();
    for (const [connections, r] of Object.entries(ratios)) {
      const parts = [];
      if (r.titanVsNode) parts.push(`Titan/node:http ${r.titanVsNode.ratio.toFixed(2)}× (goal ≥ ${GOALS.titanVsNode}×: ${r.titanVsNode.met ? "met" : "NOT met"})`);
      if (r.titanVsHyper) parts.push(`Titan/hyper ${r.titanVsHyper.ratio.toFixed(2)}× (goal ≥ ${GOALS.titanVsHyper}×: ${r.titanVsHyper.met ? "met" : "NOT met"})`);
      if (r.p99BelowNode !== undefined) parts.push(`p99 below node:http: ${r.p99BelowNode ? "yes" : "no"}`);
      log(`c=${connections.padEnd(4)} ${parts.join("   ")}`);
    }
  }

  log();
  log("Memory (VmRSS of the server's processes, after the load):");
  for (const [name, m] of Object.entries(mem)) {
    const processes = m.afterLoad.processes.map((p) => `${p.name} pid ${p.pid}, ${p.threads} threads`).join("; ");
    let text = `  ${LABELS[name].padEnd(10)} ${fmtMiB(m.afterLoad.rssKiB)} (peak ${fmtMiB(m.afterLoad.peakRssKiB)}, at start ${fmtMiB(m.atStart.rssKiB)})`;
    if (name === "titan") text += `, ${m.workers} workers → ${fmtMiB(m.rssPerWorkerKiB)}/worker`;
    log(`${text}  [${processes}]`);
  }

  if (warnings.length) {
    log();
    log("Warnings:");
    for (const w of warnings) log(`  - ${w}`);
  }
}

// ---------------------------------------------------------------------------------------------


async function main() {
  const options = parseOptions();
  if (!existsSync("/proc/self/status")) throw new BenchError("this bench reads /proc for CPU and memory: run it on Linux.");

  const wrkVersion = ensureWrk(log);
  const machine = machineInfo({ wrk: wrkVersion });
  if (options.servers.includes("titan")) buildTitanApp();
  if (options.servers.includes("hyper") && !options.hyperBin) options.hyperBin = buildHyperBare();
  if (options.hyperBin && !existsSync(options.hyperBin)) throw new BenchError(`--hyper-bin ${options.hyperBin} does not exist: build it with \`cargo build --release -p hyper-bare\`.`);

  const runCount = options.rounds * options.connections.length * options.servers.length;
  const estimate = runCount * (options.durationSec + options.warmupSec);
  log(`${wrkVersion}; ${CORES} cores (${machine.cpuModel}); load average ${machine.loadAverageAtStart.join(" ")}`);
  if (machine.loadAverageAtStart[0] > CORES / 2) log(`note: the machine is already busy (load ${machine.loadAverageAtStart[0]} on ${CORES} cores): expect noisy absolute numbers; compare the ratios.`);

  const servers = await startAll(options);
  log(`\n${runCount} measured runs of ${options.durationSec}s, each after ${options.warmupSec}s warm-up: about ${estimate < 120 ? `${estimate} s` : `${Math.round(estimate / 60)} min`}.`);
  const startedAt = new Date();
  const runs = await measure(options, servers);
  const report = summarize(options, servers, runs);
  printReport(options, servers, report);

  const result = {
    benchmark: "http",
    startedAt: startedAt.toISOString(),
    machine,
    settings: {
      rounds: options.rounds,
      durationSec: options.durationSec,
      warmupSec: options.warmupSec,
      connections: options.connections,
      wrkThreads: 2,
      pipelining: false,
      goals: GOALS,
    },
    servers: Object.fromEntries(Object.entries(servers).map(([name, s]) => [name, {
      label: LABELS[name], command: s.command, url: s.url, responseHeaders: s.hello.headers,
    }])),
    ...report,
    runs,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `http-${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  log(`\nresults: ${relative(process.cwd(), file)}`);
}

// ---------------------------------------------------------------------------------------------
// Formatting

function fmtMs(ms) {
  return ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`;
}
function fmtMiB(kib) {
  return `${(kib / 1024).toFixed(1)} MiB`;
}

// ---------------------------------------------------------------------------------------------
// Never leave a server behind: normal end, error, Ctrl-C, SIGTERM.

await runBench("bench:http", main, {
  stopAll,
  killAllNow,
  onStopping: () => currentWrk?.kill("SIGTERM"),
});
