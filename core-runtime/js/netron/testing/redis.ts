// A real redis-server for tests (discovery, end-to-end runs): one process per call on a free loopback
// port, in a temp dir, no persistence. The binary is `redis-server` from PATH, or Debian's own package
// fetched once without root (`apt-get download` + `dpkg-deb -x`) into a per-user cache.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants as fsConstants, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { connect as netConnect, createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import { delimiter, join } from "node:path";

/** A running redis-server started by {@link startRedis}. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>`, ready for ioredis. */
  readonly url: string;
  readonly port: number;
  /** The redis-server process id (e.g. to `kill -9` it in a crash test). */
  readonly pid: number;
  /** Stops the server (SIGTERM, SIGKILL after 3 s) and removes its temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  /** Listen on this port (e.g. to restart a server where clients expect it). Default: a free port. */
  port?: number;
  /** How long to wait for the server to answer. Default 15 s. */
  readyTimeoutMs?: number;
  /** Where progress lines go (only printed while fetching the binary). Default: stderr. */
  log?: (line: string) => void;
}

/** Where a usable redis-server binary lives, and the environment it needs to run. */
export interface RedisBinary {
  serverPath: string;
  /** Extra environment (LD_LIBRARY_PATH for the libraries fetched beside it); empty for a system binary. */
  env: Record<string, string>;
  /** How it was found: an explicit override, PATH, the cache, or a fresh fetch. */
  source: "TITAN_REDIS_SERVER" | "PATH" | "cache" | "fetched";
}

const LOG_PREFIX = "[titan:redis]";
const defaultLog = (line: string) => process.stderr.write(`${LOG_PREFIX} ${line}\n`);

// Servers still running when the test process exits are killed, so a failing test that never reached
// its `stop()` leaves no redis-server behind.
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/**
 * Starts a real redis-server on 127.0.0.1 and resolves once it answers (and is the process started).
 * The first call on a machine without redis-server may fetch it (about 1 MB, printed as it goes).
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const log = options.log ?? defaultLog;
  const binary = await locateRedisServer({ log });
  // A free port picked here can be taken by someone else before redis binds it: try a few.
  const attempts = options.port === undefined ? 5 : 1;
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = options.port ?? (await findFreePort());
    try {
      return await launch(binary, port, options.readyTimeoutMs ?? 15_000);
    } catch (error) {
      lastError = error as Error;
      if (!(error instanceof PortInUseError)) throw error;
    }
  }
  throw lastError!;
}

class PortInUseError extends Error {}

async function launch(binary: RedisBinary, port: number, readyTimeoutMs: number): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), "titan-redis-"));
  const args = [
    "--port", String(port),
    "--bind", "127.0.0.1",
    // Tests want a throwaway store: no RDB snapshots, no AOF, nothing written outside the temp dir.
    "--save", "",
    "--appendonly", "no",
    "--dir", dir,
    "--daemonize", "no",
    "--logfile", "",
  ];
  const child = spawn(binary.serverPath, args, {
    cwd: dir,
    env: { ...process.env, ...binary.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  // The server's own log, kept for error messages (why it did not start, why it died).
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    if (output.length > 40) output.splice(0, output.length - 40);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exited = { code, signal };
      running.delete(child);
      resolve();
    });
  });
  let spawnError: Error | undefined;
  child.once("error", (error) => {
    spawnError = error;
  });
  // The server must not keep a test process alive on its own (the exit hook above kills it).
  child.unref();
  (child.stdout as unknown as { unref(): void }).unref();
  (child.stderr as unknown as { unref(): void }).unref();

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      child.kill("SIGTERM");
      const forced = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exitPromise;
      clearTimeout(forced);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (spawnError || exited) {
      await stop();
      const log = output.slice(-15).join("\n  ");
      if (/Address already in use/i.test(log)) throw new PortInUseError(`port ${port} is already in use`);
      throw new Error(
        `redis-server (${binary.serverPath}) did not start on port ${port}: ` +
          (spawnError ? spawnError.message : `it exited with ${exited!.signal ?? `code ${exited!.code}`}`) +
          (log ? `. Its output:\n  ${log}` : ""),
      );
    }
    if (await answersAs(port, child.pid)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `redis-server on port ${port} did not answer within ${readyTimeoutMs} ms (raise readyTimeoutMs on a slow machine). ` +
          `Its output:\n  ${output.slice(-15).join("\n  ")}`,
      );
    }
    await sleep(25);
  }
  return { url: `redis://127.0.0.1:${port}`, port, pid: child.pid!, stop };
}

/**
 * Whether the server on `port` is up and is the process we started: `INFO server` over a fresh
 * connection must name `pid` (a PING alone would also be answered by a server already on that port).
 */
function answersAs(port: number, pid: number | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: "127.0.0.1", port });
    let answer = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("INFO server\r\n"));
    socket.on("data", (chunk) => {
      answer += chunk.toString("latin1");
      // A bulk string: "$<length>\r\n<text>\r\n"; anything else (e.g. -LOADING) means not ready yet.
      const header = /^\$(\d+)\r\n/.exec(answer);
      if (!header) {
        if (answer.includes("\r\n")) done(false);
        return;
      }
      if (answer.length < header[0].length + Number(header[1])) return;
      done(new RegExp(`^process_id:${pid}\r?$`, "m").test(answer));
    });
  });
}

function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Finding (or fetching) the binary.

/** The per-user cache the fetched packages are unpacked into, one folder per Debian version. */
export function redisCacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "titan", "redis");
}

/** What the cache folder of one version records once it is complete (paths relative to the folder). */
interface CacheManifest {
  debianVersion: string;
  redisVersion: string;
  serverPath: string;
  libraryDirs: string[];
  packages: string[];
  fetchedAt: string;
  fetchMs: number;
}
const MANIFEST_FILE = "titan-redis.json";

export interface LocateOptions {
  log?: (line: string) => void;
  /** false: ignore $TITAN_REDIS_SERVER and PATH, use only the cache or Debian's package (tests of the fetch). Default true. */
  preferInstalled?: boolean;
}

/**
 * Finds a redis-server: `$TITAN_REDIS_SERVER`, then PATH, then the cache; otherwise fetches Debian's
 * packages into the cache (no root needed) and returns that.
 */
export async function locateRedisServer(options: LocateOptions = {}): Promise<RedisBinary> {
  const override = process.env.TITAN_REDIS_SERVER;
  if (options.preferInstalled === false) return readCache() ?? fetchFromDebian(options.log ?? defaultLog);
  if (override) {
    if (!isExecutable(override)) {
      throw new Error(`TITAN_REDIS_SERVER=${override} is not an executable file: point it at a redis-server binary, or unset it to use PATH.`);
    }
    return { serverPath: override, env: {}, source: "TITAN_REDIS_SERVER" };
  }
  const onPath = findOnPath("redis-server");
  if (onPath) return { serverPath: onPath, env: {}, source: "PATH" };
  const cached = readCache();
  if (cached) return cached;
  return fetchFromDebian(options.log ?? defaultLog);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && isExecutable(join(dir, command))) return join(dir, command);
  }
  return undefined;
}

function binaryFromCache(dir: string, manifest: CacheManifest, source: RedisBinary["source"]): RedisBinary {
  const libraryPath = [...manifest.libraryDirs.map((lib) => join(dir, lib)), process.env.LD_LIBRARY_PATH].filter(Boolean).join(":");
  return { serverPath: join(dir, manifest.serverPath), env: libraryPath ? { LD_LIBRARY_PATH: libraryPath } : {}, source };
}

/** The newest complete cached version, if any: no apt call, so a second run starts at once. */
function readCache(): RedisBinary | undefined {
  const root = redisCacheRoot();
  let entries: string[];
  try {
    entries = readdirSync(root).filter((name) => !name.startsWith("."));
  } catch {
    return undefined;
  }
  const complete = entries
    .map((name) => {
      try {
        const manifest = JSON.parse(readFileSync(join(root, name, MANIFEST_FILE), "utf8")) as CacheManifest;
        return isExecutable(join(root, name, manifest.serverPath)) ? { dir: join(root, name), manifest } : undefined;
      } catch {
        return undefined;
      }
    })
    .filter((entry) => entry !== undefined)
    .sort((a, b) => b.manifest.fetchedAt.localeCompare(a.manifest.fetchedAt));
  const newest = complete[0];
  return newest && binaryFromCache(newest.dir, newest.manifest, "cache");
}

const INSTALL_HINT =
  "Install Redis (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`) " +
  "or set TITAN_REDIS_SERVER=/path/to/redis-server.";

function run(command: string, args: string[], cwd?: string): string {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", env: { ...process.env, LC_ALL: "C" } });
  if (result.error) throw new Error(`${command} could not be run: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`\`${command} ${args.join(" ")}\` failed (exit ${result.status}): ${(result.stderr || result.stdout).trim()}`);
  }
  return result.stdout;
}

/** `apt-get download` with its "Get:..." lines forwarded as progress. */
function aptDownload(packages: string[], cwd: string, log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("apt-get", ["download", ...packages], { cwd, env: { ...process.env, LC_ALL: "C" }, stdio: ["ignore", "pipe", "pipe"] });
    let errors = "";
    let pending = "";
    child.stdout.on("data", (chunk: Buffer) => {
      pending += chunk.toString("utf8");
      const lines = pending.split(/\r?\n/);
      pending = lines.pop() ?? "";
      for (const line of lines) if (line.trim()) log(`  ${line.trim()}`);
    });
    child.stderr.on("data", (chunk: Buffer) => (errors += chunk.toString("utf8")));
    child.once("error", (error) => reject(new Error(`apt-get could not be run: ${error.message}. ${INSTALL_HINT}`)));
    child.once("close", (code) => {
      if (code === 0) return resolve();
      // As root, apt warns that it downloads unsandboxed: not an error, so only real errors are shown.
      const reasons = errors.split("\n").filter((line) => line.startsWith("E:")).join("\n  ") || errors.trim();
      reject(new Error(`apt-get download ${packages.join(" ")} failed (exit ${code}):\n  ${reasons}\n${INSTALL_HINT}`));
    });
  });
}

/** Library packages (`lib*`) among the hard dependencies of `packages` (the first of each alternative). */
function libraryDependencies(packages: string[]): string[] {
  const out = run("apt-cache", ["depends", "--no-recommends", "--no-suggests", "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", ...packages]);
  const found = new Set<string>();
  for (const line of out.split("\n")) {
    const match = /^\s+(?:Pre)?Depends:\s+(\S+)/.exec(line);
    const name = match?.[1];
    if (name && name.startsWith("lib") && !name.startsWith("<")) found.add(name.replace(/:any$/, ""));
  }
  return [...found];
}

/** Which of `packages` dpkg has installed on this machine. */
function installedPackages(packages: string[]): Set<string> {
  const result = spawnSync("dpkg-query", ["-W", "-f=${Package} ${db:Status-Abbrev}\\n", ...packages], { encoding: "utf8" });
  const installed = new Set<string>();
  for (const line of (result.stdout ?? "").split("\n")) {
    const [name, status] = line.split(" ");
    if (name && status?.startsWith("ii")) installed.add(name.replace(/:.*$/, ""));
  }
  return installed;
}

function filesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...filesUnder(path));
    else found.push(path);
  }
  return found;
}

async function fetchFromDebian(log: (line: string) => void): Promise<RedisBinary> {
  for (const tool of ["apt-get", "apt-cache", "dpkg-deb", "dpkg-query"]) {
    if (!findOnPath(tool)) throw new Error(`redis-server is not on PATH, and ${tool} is not available to fetch Debian's package. ${INSTALL_HINT}`);
  }
  const started = Date.now();
  const policy = run("apt-cache", ["policy", "redis-server"]);
  const debianVersion = /Candidate:\s*(\S+)/.exec(policy)?.[1];
  if (!debianVersion || debianVersion === "(none)") {
    throw new Error(`redis-server is not on PATH, and apt knows no redis-server package (its package lists are missing or stale: run \`sudo apt-get update\`). ${INSTALL_HINT}`);
  }
  const root = redisCacheRoot();
  // Epoch and "~" are dropped so the version makes a plain folder name: 5:7.0.15-1~deb12u10 → 7.0.15-1-deb12u10.
  const target = join(root, debianVersion.replace(/^\d+:/, "").replace(/[^A-Za-z0-9.+-]/g, "-"));
  log(`redis-server is not on PATH: fetching Debian's redis-server ${debianVersion} into ${target} (once; later runs use the cache)`);

  // Everything happens in a private staging folder that is renamed into place when complete, so two
  // test processes fetching at once never see (or leave) a half-unpacked cache.
  mkdirSync(root, { recursive: true });
  const staging = join(root, `.staging-${process.pid}-${randomBytes(4).toString("hex")}`);
  const debs = join(staging, "debs");
  const unpacked = join(staging, "root");
  mkdirSync(debs, { recursive: true });
  mkdirSync(unpacked);
  try {
    // redis-server is a symlink into redis-tools; the libraries it links against that this machine lacks
    // (liblzf1 and libjemalloc2 on a stock Debian) come along, with their own missing dependencies.
    const packages = new Set(["redis-server", "redis-tools"]);
    let frontier = [...packages];
    while (frontier.length > 0) {
      const libraries = libraryDependencies(frontier).filter((name) => !packages.has(name));
      const installed = installedPackages(libraries);
      frontier = libraries.filter((name) => !installed.has(name));
      for (const name of frontier) packages.add(name);
    }
    const versioned = [...packages].map((name) => (name.startsWith("redis-") ? `${name}=${debianVersion}` : name));
    log(`downloading ${[...packages].join(", ")}`);
    await aptDownload(versioned, debs, log);
    for (const deb of readdirSync(debs).filter((name) => name.endsWith(".deb"))) {
      run("dpkg-deb", ["-x", join(debs, deb), unpacked]);
    }
    const serverPath = ["usr/bin/redis-server", "bin/redis-server"].find((path) => existsSync(join(unpacked, path)));
    if (!serverPath) throw new Error(`Debian's redis-server package did not contain usr/bin/redis-server. ${INSTALL_HINT}`);
    const libraryDirs = [
      ...new Set(
        filesUnder(unpacked)
          .filter((path) => /\.so(\.\d+)*$/.test(path))
          .map((path) => path.slice(unpacked.length + 1, path.lastIndexOf("/"))),
      ),
    ];
    const manifest: CacheManifest = {
      debianVersion,
      redisVersion: "",
      serverPath: join("root", serverPath),
      libraryDirs: libraryDirs.map((dir) => join("root", dir)),
      packages: versioned,
      fetchedAt: new Date().toISOString(),
      fetchMs: 0,
    };
    const binary = binaryFromCache(staging, manifest, "fetched");
    // Every shared library must resolve, else say which ones are missing rather than fail at start.
    const ldd = spawnSync("ldd", [binary.serverPath], { encoding: "utf8", env: { ...process.env, ...binary.env } });
    const missing = (ldd.stdout ?? "").split("\n").filter((line) => line.includes("not found")).map((line) => line.trim().split(" ")[0]);
    if (missing.length > 0) {
      throw new Error(`the fetched redis-server cannot load ${missing.join(", ")} (not installed, not fetched). ${INSTALL_HINT}`);
    }
    const version = spawnSync(binary.serverPath, ["--version"], { encoding: "utf8", env: { ...process.env, ...binary.env } });
    if (version.status !== 0) {
      throw new Error(`the fetched redis-server does not run (\`redis-server --version\` exited ${version.status}: ${(version.stderr || "").trim()}). ${INSTALL_HINT}`);
    }
    manifest.redisVersion = /v=(\S+)/.exec(version.stdout)?.[1] ?? "";
    manifest.fetchMs = Date.now() - started;
    rmSync(debs, { recursive: true, force: true });
    writeFileSync(join(staging, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + "\n");
    try {
      renameSync(staging, target);
    } catch (error) {
      // Another process completed the same version first: use theirs.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw error;
      rmSync(staging, { recursive: true, force: true });
    }
    const settled = JSON.parse(readFileSync(join(target, MANIFEST_FILE), "utf8")) as CacheManifest;
    log(`redis-server ${settled.redisVersion} ready in ${Date.now() - started} ms`);
    return binaryFromCache(target, settled, "fetched");
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
