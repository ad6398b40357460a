// The servers under test as child processes: start one, wait for its `listening on` line, check
// it answers the expected hello JSON, read its CPU time and memory from /proc, and stop it.
// Every server runs in its own process group so that stopping it also stops anything it spawned.

import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { BenchError } from "./wrk.mjs";

/** The answer every server must give, byte for byte after JSON parsing. */
export const EXPECTED_BODY = { message: "hello" };

const LISTENING = /listening on (https?):\/\/(\[[^\]]+\]|[^\s:/]+):(\d+)/;
const KEEP_LINES = 40;

/** Every server started and not yet stopped; `stopAll` and the exit hook walk this list. */
const running = new Set();

/** Asks the kernel for a free loopback port (released at once; used a moment later). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Starts `command args` and resolves once it prints `listening on http://HOST:PORT`, with
 * `{ name, pid, url, lastLines() }`. Its output keeps being drained (a server that logs must
 * never block on a full pipe); the last lines are kept for error messages.
 */
export function startServer({ name, command, args, cwd, env, readyTimeoutMs = 60_000, hint = "" }) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // own process group: killing -pid reaches its children too
    });
    const lines = [];
    const server = {
      name,
      child,
      pid: child.pid,
      url: null,
      exited: null,
      lastLines: () => lines.join("\n"),
    };
    running.add(server);

    const describe = () => `${command} ${args.join(" ")}`;
    const timer = setTimeout(() => {
      reject(new BenchError(`${name} printed no "listening on http://HOST:PORT" line within ${readyTimeoutMs / 1000}s (\`${describe()}\`).${tail(server)}${hint}`));
    }, readyTimeoutMs);

    const onLine = (line) => {
      lines.push(line);
      if (lines.length > KEEP_LINES) lines.shift();
      const match = server.url ? null : LISTENING.exec(line);
      if (!match) return;
      // A server bound to every interface is reached on loopback.
      let host = match[2];
      if (host === "0.0.0.0" || host === "[::]" || host === "localhost") host = "127.0.0.1";
      server.url = `${match[1]}://${host}:${match[3]}/`;
      clearTimeout(timer);
      resolve(server);
    };
    for (const stream of [child.stdout, child.stderr]) {
      let partial = "";
      stream.setEncoding("utf8").on("data", (chunk) => {
        const parts = (partial + chunk).split("\n");
        partial = parts.pop();
        parts.forEach(onLine);
      });
    }

    child.on("error", (error) => {
      clearTimeout(timer);
      running.delete(server);
      reject(new BenchError(`cannot start ${name} (\`${describe()}\`): ${error.message}${hint}`));
    });
    child.on("exit", (code, signal) => {
      // Stays in `running`: anything it spawned may still be alive in its group.
      server.exited = { code, signal };
      if (!server.url) {
        clearTimeout(timer);
        // Let the last output arrive before quoting it.
        setImmediate(() => reject(new BenchError(`${name} exited (${signal ?? `code ${code}`}) before listening (\`${describe()}\`).${tail(server)}${hint}`)));
      }
    });
  });
}

function tail(server) {
  const text = server.lastLines().trim();
  return text ? `\nIts last output:\n${text.replace(/^/gm, "  | ")}\n` : "\n";
}

/** Throws if the server has died, quoting its last output. */
export function assertAlive(server) {
  if (server.exited) {
    const { code, signal } = server.exited;
    throw new BenchError(`${server.name} exited (${signal ?? `code ${code}`}) during the bench.${tail(server)}`);
  }
}

/**
 * One GET / before measuring: a server that answers something else (an error page, a different
 * body or content type) would make its numbers meaningless.
 */
export async function checkHello(server) {
  let response;
  try {
    response = await fetch(server.url, { signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new BenchError(`${server.name} at ${server.url} did not answer GET /: ${error.cause?.message ?? error.message}.${tail(server)}`);
  }
  const text = await response.text();
  const type = response.headers.get("content-type") ?? "";
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const ok = response.status === 200 && type.startsWith("application/json") &&
    JSON.stringify(body) === JSON.stringify(EXPECTED_BODY);
  if (!ok) {
    throw new BenchError(`${server.name} at ${server.url} answered GET / with ${response.status}, content-type ${JSON.stringify(type)}, body ${JSON.stringify(text.slice(0, 200))}; expected 200, application/json, ${JSON.stringify(EXPECTED_BODY)}.${tail(server)}`);
  }
  return { status: response.status, contentType: type, bytes: Buffer.byteLength(text), headers: Object.fromEntries(response.headers) };
}

/** The processes of a server's group (the server and anything it spawned), as /proc pids. */
function groupPids(server) {
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 5 of /proc/PID/stat is the process group; the command name (field 2) may hold
      // spaces and parentheses, so split after its closing parenthesis.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === server.pid) pids.push(Number(entry));
    } catch {
      // The process ended between readdir and read.
    }
  }
  return pids;
}

/** CPU time (user + system, in clock ticks) used so far by the server's processes. */
export function cpuTicks(server) {
  let ticks = 0;
  for (const pid of groupPids(server)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      // gone
    }
  }
  return ticks;
}

/**
 * Memory of the server right now: VmRSS (and VmHWM, the peak) in KiB summed over its process
 * group, with each process's thread count. Pages shared between processes count once per process.
 */
export function memory(server) {
  const processes = [];
  for (const pid of groupPids(server)) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const field = (key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
      const name = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? "?";
      processes.push({ pid, name, rssKiB: field("VmRSS"), peakRssKiB: field("VmHWM"), threads: field("Threads") });
    } catch {
      // gone
    }
  }
  return {
    rssKiB: processes.reduce((sum, p) => sum + p.rssKiB, 0),
    peakRssKiB: processes.reduce((sum, p) => sum + p.peakRssKiB, 0),
    processes,
  };
}

function signalGroup(server, signal) {
  try {
    process.kill(-server.pid, signal);
  } catch {
    // Already gone.
  }
}

/** SIGTERM to the server's group, then SIGKILL if it is still there after `graceMs`. */
export async function stopServer(server, graceMs = 3000) {
  if (server.exited) {
    // The leader is gone; its children may not be.
    signalGroup(server, "SIGKILL");
    running.delete(server);
    return;
  }
  const exited = new Promise((resolve) => server.child.once("exit", () => resolve(true)));
  signalGroup(server, "SIGTERM");
  const stopped = await within(exited, graceMs);
  signalGroup(server, "SIGKILL"); // leftovers of the group, or a leader that ignored SIGTERM
  if (!stopped) await within(exited, 1000);
  running.delete(server);
}

/** Resolves with the promise's value, or with false once `ms` have passed. */
function within(promise, ms) {
  let timer;
  const timeout = new Promise((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function stopAll() {
  await Promise.all([...running].map((server) => stopServer(server)));
}

/** Last resort when the bench process exits: no time left for grace periods. */
export function killAllNow() {
  for (const server of running) signalGroup(server, "SIGKILL");
  running.clear();
}

export function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
