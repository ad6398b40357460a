// `npm run bench:netron`: Titan's Netron server (a JS service method in a worker isolate) side by
// side with a plain Node `net` server that answers the same frames with a pre-encoded packet, in
// the same run, called by the same raw pipelined client. Servers and the client each run in their
// own process; this one only orchestrates. The ratio between the two, within one run, is the result.
//
// Titan runs 1 worker by default: a Netron connection stays on the worker that accepted it, so
// with one client connection more workers cannot serve it faster, and on a 2-core machine the
// client needs the other core (`--workers 1,2` measures both: an idle second worker costs nothing).
//
//   node bench/netron/run.mjs [--rounds 3] [--duration 5] [--warmup 1] [--inflight 1,16] [--workers 1] [--json]

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { cpuTicks, memory } from "../http/servers.mjs";
import { BenchError, clockTicksPerSecond, fmtInt, machineInfo, median, round2, runBench } from "../lib/common.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../..");
const RESULTS_DIR = join(ROOT, "bench/results");
const CORES = os.availableParallelism();
const KEEP_LINES = 40;
const READY_TIMEOUT_MS = 60_000;

const USAGE = `usage: npm run bench:netron -- [options]

  --rounds N          measured rounds per server and in-flight count (default 3)
  --duration S        seconds per measured run (default 5; fractions allowed)
  --warmup S          seconds of unmeasured calls before each measured run (default 1)
  --inflight LIST     calls kept in flight on the one connection (default 1,16)
  --workers LIST      Titan worker isolates, one Titan server per value (default 1)
  --json              print the whole result as JSON on stdout (instead of the table and the
                      results file); progress still goes to stderr
  -h, --help          this text

Prints, per in-flight count, calls/s and p50/p99 latency of Titan and of a plain Node \`net\`
server answering the same frames, and their ratio; writes everything to
bench/results/netron-<timestamp>.json.`;

/** A problem the user can fix, reported without a stack. */

const progress = (line = "") => process.stderr.write(`${line}\n`);

function parseOptions(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        rounds: { type: "string", default: "3" },
        duration: { type: "string", default: "5" },
        warmup: { type: "string", default: "1" },
        inflight: { type: "string", default: "1,16" },
        workers: { type: "string", default: "1" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    throw new BenchError(`${error.message}\n\n${USAGE}`);
  }
  const integer = (flag, raw) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new BenchError(`--${flag} takes integers ≥ 1, got ${JSON.stringify(raw)} (e.g. --${flag} ${flag === "inflight" ? "1,16" : "2"})`);
    return n;
  };
  const seconds = (flag, raw, { zeroAllowed }) => {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n) || n < 0 || (n === 0 && !zeroAllowed)) {
      throw new BenchError(`--${flag} takes seconds ${zeroAllowed ? "≥ 0" : "> 0"}, got ${JSON.stringify(raw)} (e.g. --${flag} ${zeroAllowed ? "1" : "5"})`);
    }
    return n;
  };
  const list = (flag) => [...new Set(values[flag].split(",").map((v) => v.trim()).filter(Boolean).map((v) => integer(flag, v)))];
  const options = {
    help: values.help,
    json: values.json,
    rounds: integer("rounds", values.rounds),
    durationSec: seconds("duration", values.duration, { zeroAllowed: false }),
    warmupSec: seconds("warmup", values.warmup, { zeroAllowed: true }),
    inflight: list("inflight"),
    workers: list("workers"),
  };
  if (options.inflight.length === 0) throw new BenchError("--inflight needs at least one count, e.g. --inflight 1,16");
  if (options.workers.length === 0) throw new BenchError("--workers needs at least one count, e.g. --workers 1");
  return options;
}

// ---------------------------------------------------------------------------------------------
// Child processes: the servers (kept for the whole run) and the client (one per measured run).
// Each runs in its own process group, so stopping it also stops anything it started.

const children = new Set();

/** Starts a server and resolves once it prints `listening on tcp://HOST:PORT`. */
function startServer({ key, label, script, args = [] }) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [relative(ROOT, script), ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true });
    const lines = [];
    const server = { key, label, child, pid: child.pid, address: null, exited: null, command: `node ${relative(ROOT, script)} ${args.join(" ")}`.trim(), lines };
    children.add(server);
    const timer = setTimeout(() => reject(new BenchError(`${label} printed no "listening on tcp://HOST:PORT" within ${READY_TIMEOUT_MS / 1000}s (\`${server.command}\`).${tail(server)}`)), READY_TIMEOUT_MS);
    onLines(child, (line) => {
      lines.push(line);
      if (lines.length > KEEP_LINES) lines.shift();
      const match = server.address ? null : /listening on (tcp:\/\/\S+)/.exec(line);
      if (!match) return;
      server.address = match[1];
      clearTimeout(timer);
      resolvePromise(server);
    });
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new BenchError(`cannot start ${label} (\`${server.command}\`): ${error.message}`));
    });
    child.on("exit", (code, signal) => {
      server.exited = { code, signal };
      if (!server.address) {
        clearTimeout(timer);
        setImmediate(() => reject(new BenchError(`${label} exited (${signal ?? `code ${code}`}) before listening (\`${server.command}\`).${tail(server)}\nIf the core is stale or missing, run \`npm run build\` at the repo root.`)));
      }
    });
  });
}

function onLines(child, handle) {
  for (const stream of [child.stdout, child.stderr]) {
    let partial = "";
    stream.setEncoding("utf8").on("data", (chunk) => {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop();
      parts.forEach(handle);
    });
  }
}

function tail(server) {
  const text = server.lines.join("\n").trim();
  return text ? `\nIts last output:\n${text.replace(/^/gm, "  | ")}` : "";
}

function assertAlive(server) {
  if (server.exited) {
    const { code, signal } = server.exited;
    throw new BenchError(`${server.label} exited (${signal ?? `code ${code}`}) during the bench.${tail(server)}`);
  }
}

function signalGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

async function stopChild(entry, graceMs = 3000) {
  children.delete(entry);
  if (entry.exited) return signalGroup(entry.child, "SIGKILL");
  const exited = new Promise((ok) => entry.child.once("exit", ok));
  signalGroup(entry.child, "SIGTERM");
  const timer = new Promise((ok) => setTimeout(ok, graceMs).unref());
  await Promise.race([exited, timer]);
  signalGroup(entry.child, "SIGKILL");
}

const stopAll = () => Promise.all([...children].map((entry) => stopChild(entry)));
const killAllNow = () => {
  for (const entry of children) signalGroup(entry.child, "SIGKILL");
  children.clear();
};

/**
 * One measured run: the client process against `server`, sampling every server's CPU over the
 * client's measured window (the client announces it on stdout).
 */
function runClient(server, inflight, options, servers) {
  return new Promise((resolvePromise, reject) => {
    const args = [relative(ROOT, join(HERE, "client.mjs")), "--address", server.address, "--inflight", String(inflight),
      "--warmup", String(options.warmupSec), "--duration", String(options.durationSec)];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true });
    const entry = { child, exited: null, lines: [] };
    children.add(entry);
    let cpuBefore = null;
    let cpuAfter = null;
    let result = null;
    onLines(child, (line) => {
      let message = null;
      if (line.startsWith("{")) {
        try {
          message = JSON.parse(line);
        } catch {
          // not one of the client's lines
        }
      }
      if (message?.event === "measuring") cpuBefore = sampleCpu(servers);
      else if (message?.event === "result") {
        cpuAfter = sampleCpu(servers);
        result = message;
      } else {
        entry.lines.push(line);
        if (entry.lines.length > KEEP_LINES) entry.lines.shift();
      }
    });
    child.on("error", (error) => reject(new BenchError(`cannot start the client: ${error.message}`)));
    // "close", not "exit": the result line must have been read from its stdout.
    child.on("close", (code, signal) => {
      children.delete(entry);
      entry.exited = { code, signal };
      if (code === 0 && result && cpuBefore) resolvePromise({ result, cpuBefore, cpuAfter });
      else reject(new BenchError(`the client against ${server.label} (in-flight ${inflight}) failed (${signal ?? `code ${code}`}).${tail(entry)}${tail(server)}`));
    });
  });
}

function sampleCpu(servers) {
  return { at: performance.now(), ticks: Object.fromEntries(servers.map((s) => [s.key, cpuTicks(s)])) };
}


// ---------------------------------------------------------------------------------------------
// Measuring and summarizing

async function measure(options, servers) {
  const ticksPerSec = clockTicksPerSecond();
  const runs = [];
  const total = options.rounds * options.inflight.length * servers.length;
  let done = 0;
  for (let round = 0; round < options.rounds; round++) {
    // Rotate who goes first each round so no server always meets the same machine state.
    const order = servers.map((_, i) => servers[(i + round) % servers.length]);
    for (const inflight of options.inflight) {
      for (const server of order) {
        assertAlive(server);
        const { result, cpuBefore, cpuAfter } = await runClient(server, inflight, options, servers);
        assertAlive(server);
        const seconds = (cpuAfter.at - cpuBefore.at) / 1000;
        const cpuSeconds = (key) => (cpuAfter.ticks[key] - cpuBefore.ticks[key]) / ticksPerSec;
        const cores = (key) => round2(cpuSeconds(key) / seconds);
        const run = {
          round: round + 1,
          server: server.key,
          inflight,
          calls: result.calls,
          callsPerSec: result.callsPerSec,
          durationMs: result.durationMs,
          latencyUs: result.latencyUs,
          errors: result.errors,
          serverCpuCores: cores(server.key),
          // CPU time per answered call: steadier than calls/s on a shared machine, since a server
          // that waits on a busy neighbour loses throughput but not CPU per call.
          serverCpuUsPerCall: result.calls ? round2((cpuSeconds(server.key) * 1e6) / result.calls) : null,
          clientCpuCores: result.clientCpuCores,
          otherServersCpuCores: Object.fromEntries(servers.filter((s) => s !== server).map((s) => [s.key, cores(s.key)])),
        };
        runs.push(run);
        done++;
        progress(`  [${String(done).padStart(String(total).length)}/${total}] round ${round + 1}  in-flight ${String(inflight).padEnd(4)} ${server.label.padEnd(18)}` +
          `${fmtInt(run.callsPerSec).padStart(9)} calls/s  p50 ${fmtUs(run.latencyUs.p50).padStart(8)}  p99 ${fmtUs(run.latencyUs.p99).padStart(8)}` +
          `  cpu server ${run.serverCpuCores.toFixed(2)} (${fmtCpuPerCall(run.serverCpuUsPerCall)}/call) client ${run.clientCpuCores.toFixed(2)}${run.errors ? `  errors ${run.errors}` : ""}`);
      }
    }
  }
  return runs;
}


function summarize(options, servers, runs) {
  const summary = {};
  for (const inflight of options.inflight) {
    summary[inflight] = {};
    for (const server of servers) {
      const mine = runs.filter((r) => r.server === server.key && r.inflight === inflight);
      const rates = mine.map((r) => r.callsPerSec);
      summary[inflight][server.key] = {
        callsPerSec: Math.round(median(rates)),
        minCallsPerSec: Math.min(...rates),
        maxCallsPerSec: Math.max(...rates),
        p50Us: median(mine.map((r) => r.latencyUs.p50)),
        p99Us: median(mine.map((r) => r.latencyUs.p99)),
        serverCpuCores: round2(median(mine.map((r) => r.serverCpuCores))),
        serverCpuUsPerCall: round2(median(mine.map((r) => r.serverCpuUsPerCall ?? 0))),
        clientCpuCores: round2(median(mine.map((r) => r.clientCpuCores))),
        calls: mine.reduce((sum, r) => sum + r.calls, 0),
        errors: mine.reduce((sum, r) => sum + r.errors, 0),
        rounds: mine.length,
      };
    }
  }
  const ratios = {};
  for (const inflight of options.inflight) {
    ratios[inflight] = {};
    const reference = summary[inflight]["node-net"];
    for (const server of servers.filter((s) => s.workers)) {
      const titan = summary[inflight][server.key];
      ratios[inflight][server.key] = {
        callsPerSec: reference.callsPerSec ? round2(titan.callsPerSec / reference.callsPerSec) : null,
        p50: reference.p50Us ? round2(titan.p50Us / reference.p50Us) : null,
        p99: reference.p99Us ? round2(titan.p99Us / reference.p99Us) : null,
        cpuPerCall: reference.serverCpuUsPerCall ? round2(titan.serverCpuUsPerCall / reference.serverCpuUsPerCall) : null,
      };
    }
  }
  const warnings = [];
  const label = (key) => servers.find((s) => s.key === key).label;
  for (const run of runs) {
    if (run.errors) warnings.push(`${label(run.server)} in-flight ${run.inflight} round ${run.round}: ${run.errors} error answers`);
    if (run.clientCpuCores >= 0.9) warnings.push(`the client used ${run.clientCpuCores} cores against ${label(run.server)} (in-flight ${run.inflight}, round ${run.round}): it may be the bottleneck, which understates the gap`);
    for (const [other, cores] of Object.entries(run.otherServersCpuCores)) {
      if (cores >= 0.05) warnings.push(`${label(other)} used ${cores} cores while idle (during ${label(run.server)} in-flight ${run.inflight} round ${run.round}): it competes with the server being measured`);
    }
  }
  return { summary, ratios, warnings };
}

function printReport(options, servers, { summary, ratios, warnings }) {
  const reference = servers.find((s) => s.key === "node-net");
  const header = ["in-flight", "workers", "titan calls/s", "node-net calls/s", "ratio", "titan p50/p99", "node-net p50/p99", "cpu/call titan/node-net", "cores titan/node-net/client"];
  const rows = [];
  for (const inflight of options.inflight) {
    const n = summary[inflight][reference.key];
    for (const server of servers.filter((s) => s.workers)) {
      const t = summary[inflight][server.key];
      const spread = (s) => (s.callsPerSec ? `±${(((s.maxCallsPerSec - s.minCallsPerSec) / s.callsPerSec) * 50).toFixed(0)}%` : "");
      rows.push([
        String(inflight), String(server.workers),
        `${fmtInt(t.callsPerSec)} ${spread(t)}`, `${fmtInt(n.callsPerSec)} ${spread(n)}`,
        `${ratios[inflight][server.key].callsPerSec?.toFixed(2) ?? "-"}×`,
        `${fmtUs(t.p50Us)} / ${fmtUs(t.p99Us)}`, `${fmtUs(n.p50Us)} / ${fmtUs(n.p99Us)}`,
        `${fmtCpuPerCall(t.serverCpuUsPerCall)} / ${fmtCpuPerCall(n.serverCpuUsPerCall)}`,
        `${t.serverCpuCores.toFixed(2)} / ${n.serverCpuCores.toFixed(2)} / ${Math.max(t.clientCpuCores, n.clientCpuCores).toFixed(2)}`,
      ]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => c.padStart(widths[i])).join("  ");
  const out = (text = "") => process.stdout.write(`${text}\n`);
  out();
  out(`Netron CALL ${"bench@1.0.0"}.noop() → 1 over one tcp connection; medians of ${options.rounds} round(s), ${options.durationSec}s each after ${options.warmupSec}s warm-up; ${CORES} cores.`);
  out("(ratio: Titan calls/s ÷ node-net calls/s; ±: half the min–max range of calls/s across rounds; cpu/call: server CPU time per answered call,");
  out(" the steadier figure on a shared machine; cores: CPU used in the measured window, client = the busier of its two runs)");
  out(line(header));
  out(line(widths.map((w) => "-".repeat(w))));
  for (const row of rows) out(line(row));
  if (warnings.length) {
    out();
    out("Warnings:");
    for (const w of warnings) out(`  - ${w}`);
  }
}

// ---------------------------------------------------------------------------------------------


async function main() {
  const options = parseOptions(process.argv.slice(2));
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!existsSync("/proc/self/stat")) throw new BenchError("this bench reads /proc for CPU and memory: run it on Linux.");
  const missing = ["core-runtime/dist/index.js", "core-runtime/dist/netron/codec.js"].filter((p) => !existsSync(join(ROOT, p)));
  if (missing.length) throw new BenchError(`Titan's core is not built (${missing.join(", ")} missing): run \`npm install\` (or \`npm run build\`) at the repo root.`);

  const machine = machineInfo();
  progress(`${CORES} cores (${machine.cpuModel}); load average ${machine.loadAverageAtStart.join(" ")}`);
  if (machine.loadAverageAtStart[0] > CORES / 2) progress(`note: the machine is already busy (load ${machine.loadAverageAtStart[0]} on ${CORES} cores): expect noisy absolute numbers; compare the ratios.`);

  const servers = [];
  for (const workers of options.workers) {
    const label = `Titan (${workers} worker${workers === 1 ? "" : "s"})`;
    progress(`starting ${label} ...`);
    const server = await startServer({ key: `titan-w${workers}`, label, script: join(HERE, "titan-server.mjs"), args: ["--workers", String(workers)] });
    server.workers = workers;
    servers.push(server);
  }
  progress("starting node-net ...");
  servers.push(await startServer({ key: "node-net", label: "node-net", script: join(HERE, "node-net-server.mjs") }));
  for (const server of servers) {
    server.memoryAtStart = memory(server);
    progress(`  ${server.label.padEnd(18)} ${server.address}  pid ${server.pid}`);
  }

  const runCount = options.rounds * options.inflight.length * servers.length;
  const estimate = Math.round(runCount * (options.durationSec + options.warmupSec + 0.3));
  progress(`\n${runCount} measured runs of ${options.durationSec}s, each after ${options.warmupSec}s warm-up: about ${estimate < 120 ? `${estimate} s` : `${Math.round(estimate / 60)} min`}.`);
  const startedAt = new Date();
  const runs = await measure(options, servers);
  const report = summarize(options, servers, runs);

  const result = {
    benchmark: "netron",
    startedAt: startedAt.toISOString(),
    machine,
    settings: { rounds: options.rounds, durationSec: options.durationSec, warmupSec: options.warmupSec, inflight: options.inflight, workers: options.workers, connections: 1, call: ["bench@1.0.0", "noop"] },
    servers: Object.fromEntries(servers.map((s) => [s.key, {
      label: s.label, command: s.command, address: s.address, workers: s.workers ?? null,
      memory: { atStartKiB: s.memoryAtStart.rssKiB, afterLoad: memory(s) },
    }])),
    ...report,
    runs,
  };
  if (options.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  printReport(options, servers, report);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `netron-${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`\nresults: ${relative(process.cwd(), file)}\n`);
}

// ---------------------------------------------------------------------------------------------
// Formatting

function fmtCpuPerCall(us) {
  return us === null || us === undefined ? "-" : `${us.toFixed(1)} µs`;
}
function fmtUs(us) {
  return us < 1000 ? `${us.toFixed(0)} µs` : `${(us / 1000).toFixed(2)} ms`;
}

// ---------------------------------------------------------------------------------------------
// Never leave a child behind: normal end, error, Ctrl-C, SIGTERM.

await runBench("bench:netron", main, {
  stopAll,
  killAllNow,
  print: progress,
});
