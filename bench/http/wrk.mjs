// wrk, the load generator: find it (installing Debian's package when we may), run it, and turn
// its text report into numbers. Parsing lives here, apart from the runner, so it is tested alone.

import { spawn, spawnSync } from "node:child_process";

import { BenchError } from "../lib/common.mjs";

export { BenchError };

/** wrk's time units (see its `format_time`), in milliseconds. */
const TIME_UNITS_MS = { us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
/** wrk's metric suffixes for counts (`format_metric`): `1.50k`, `2.00M`. */
const COUNT_UNITS = { "": 1, k: 1e3, M: 1e6, G: 1e9 };

/** `"512.00us"` → 0.512, `"1.5ms"` → 1.5, `"2.00s"` → 2000 (milliseconds). */
export function parseDuration(text) {
  const match = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!match) throw new Error(`not a wrk duration: ${JSON.stringify(text)}`);
  return Number(match[1]) * TIME_UNITS_MS[match[2]];
}

/** `"200000"` → 200000, `"1.50M"` → 1500000. */
function parseCount(text) {
  const match = /^([\d.]+)([kMG]?)$/.exec(text.trim());
  if (!match) throw new Error(`not a wrk count: ${JSON.stringify(text)}`);
  return Number(match[1]) * COUNT_UNITS[match[2]];
}

/**
 * Reads the report of `wrk --latency`. Returns requests/s, the 50th and 99th latency percentiles
 * in ms, the request total, and every error wrk counted (so a server answering 500s fast is not
 * mistaken for a fast server). Throws, quoting the report, when a required line is missing.
 */
export function parseWrkOutput(output) {
  const fail = (what) => {
    throw new Error(`wrk report has no ${what} line; wrk printed:\n${output.trim()}`);
  };

  const rps = /^Requests\/sec:\s+([\d.]+)\s*$/m.exec(output) ?? fail('"Requests/sec:"');
  const total = /^\s*(\d+(?:\.\d+)?[kMG]?) requests in ([\d.]+(?:us|ms|s|m|h))/m.exec(output) ??
    fail('"N requests in T"');

  // The "Latency Distribution" block: "     50%  512.00us". Only read lines after its heading,
  // so a percentage from the "Thread Stats" table above can never be taken for a percentile.
  const distribution = output.split(/^\s*Latency Distribution\s*$/m)[1] ?? fail('"Latency Distribution"');
  const percentile = (p) => {
    const line = new RegExp(`^\\s*${p}(?:\\.0+)?%\\s+(\\S+)\\s*$`, "m").exec(distribution);
    return line ? parseDuration(line[1]) : fail(`${p}% latency`);
  };

  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  return {
    requestsPerSec: Number(rps[1]),
    latencyMs: { p50: percentile(50), p99: percentile(99) },
    requests: parseCount(total[1]),
    durationMs: parseDuration(total[2]),
    errors: {
      connect: socket ? Number(socket[1]) : 0,
      read: socket ? Number(socket[2]) : 0,
      write: socket ? Number(socket[3]) : 0,
      timeout: socket ? Number(socket[4]) : 0,
      non2xx: non2xx ? Number(non2xx[1]) : 0,
    },
  };
}

/** The version line of an installed wrk (`wrk 4.1.0 [epoll] ...`), or null when there is none. */
export function wrkVersion() {
  // `wrk -v` prints its banner and usage, then exits non-zero; only the banner matters.
  const probe = spawnSync("wrk", ["-v"], { encoding: "utf8" });
  if (probe.error) return null;
  const banner = `${probe.stdout}\n${probe.stderr}`.split("\n").find((line) => line.startsWith("wrk "));
  return banner?.trim() ?? "wrk (unknown version)";
}

/**
 * Makes sure wrk is on PATH. As root, installs Debian's package with apt's own progress output
 * (refreshing the package lists first when apt does not know the package); otherwise stops with
 * the command to run.
 */
export function ensureWrk(log) {
  const found = wrkVersion();
  if (found) return found;

  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const hasApt = !spawnSync("apt-get", ["--version"], { stdio: "ignore" }).error;
  if (!hasApt) {
    throw new BenchError("wrk not found on PATH: install it (Debian/Ubuntu: `apt-get install -y wrk`, macOS: `brew install wrk`), then run the bench again.");
  }
  if (!isRoot) {
    throw new BenchError("wrk not found on PATH: install it with `sudo apt-get install -y wrk`, then run the bench again.");
  }

  const apt = (args) => {
    log(`$ apt-get ${args.join(" ")}`);
    const result = spawnSync("apt-get", args, {
      stdio: "inherit",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    return result.status === 0;
  };
  const candidate = spawnSync("apt-cache", ["policy", "wrk"], { encoding: "utf8" }).stdout ?? "";
  const known = /Candidate:\s+(?!\(none\))\S+/.test(candidate);
  log("wrk not found: installing Debian's wrk package");
  if (!known && !apt(["update"])) {
    throw new BenchError("`apt-get update` failed (see above): fix the package sources, or install wrk yourself, then run the bench again.");
  }
  if (!apt(["install", "-y", "wrk"])) {
    throw new BenchError("`apt-get install -y wrk` failed (see above): run `apt-get update && apt-get install -y wrk` yourself, then run the bench again.");
  }
  const installed = wrkVersion();
  if (!installed) throw new BenchError("wrk was installed but is not on PATH: check PATH for /usr/bin, then run the bench again.");
  return installed;
}

/**
 * One wrk run: `wrk -t<threads> -c<connections> -d<seconds>s --latency URL`, no pipelining.
 * `register` receives the child process so an interrupted bench can stop it too.
 */
export function runWrk({ url, connections, seconds, threads = 2, register = () => {} }) {
  // wrk refuses fewer connections than threads.
  const args = [`-t${Math.min(threads, connections)}`, `-c${connections}`, `-d${seconds}s`, "--latency", url];
  return new Promise((resolve, reject) => {
    const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
    register(child);
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk) => (output += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk) => (output += chunk));
    child.on("error", (error) => reject(new BenchError(`cannot run wrk: ${error.message}`)));
    child.on("close", (code, signal) => {
      if (code !== 0) {
        reject(new BenchError(`\`wrk ${args.join(" ")}\` ${signal ? `was killed by ${signal}` : `exited with ${code}`}:\n${output.trim()}`));
        return;
      }
      try {
        resolve({ command: `wrk ${args.join(" ")}`, ...parseWrkOutput(output), output });
      } catch (error) {
        reject(new BenchError(error.message));
      }
    });
  });
}
