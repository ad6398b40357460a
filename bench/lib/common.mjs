// What every side-by-side benchmark shares: the error type for bad options, the median of
// alternated rounds, number formatting, CPU clock ticks, and the machine the figures came from.

import { spawnSync } from "node:child_process";
import os from "node:os";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** A problem with the options or the set-up: printed as is, without a stack. */
export class BenchError extends Error {}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function round2(n) {
  return Math.round(n * 100) / 100;
}

export function fmtInt(n) {
  return Math.round(n).toLocaleString("en-US");
}

/** `/proc/<pid>/stat` counts CPU time in these. */
export function clockTicksPerSecond() {
  const probe = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  return Number(probe.stdout) > 0 ? Number(probe.stdout) : 100;
}

/** The machine and commit, stored with the figures; `extra` adds bench-specific fields. */
export function machineInfo(extra = {}) {
  const git = spawnSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" });
  return {
    cores: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    memoryMiB: Math.round(os.totalmem() / 2 ** 20),
    kernel: `${os.type()} ${os.release()}`,
    loadAverageAtStart: os.loadavg().map(round2),
    node: process.version,
    ...extra,
    gitCommit: git.status === 0 ? git.stdout.trim() : null,
  };
}

/**
 * Runs `main` so that no child process outlives the bench: on a normal end, an error, Ctrl-C,
 * SIGTERM or SIGHUP, `stopAll` stops them (a second signal kills them at once). Bad options or
 * set-up (`BenchError`) print without a stack.
 */
export async function runBench(name, main, { stopAll, killAllNow, onStopping = () => {}, print = (line) => console.error(line) }) {
  let stopping = false;
  const onSignal = (signal) => {
    if (stopping) {
      killAllNow();
      process.exit(130);
    }
    stopping = true;
    print(`\n${signal}: stopping the servers...`);
    onStopping();
    stopAll().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, onSignal);
  process.on("exit", killAllNow);
  try {
    await main();
  } catch (error) {
    if (!stopping) {
      print(`\n${name}: ${error instanceof BenchError ? error.message : error.stack}`);
      process.exitCode = 1;
    }
  } finally {
    if (!stopping) await stopAll();
  }
}
