// The main-thread host: binds the shared socket, spawns worker isolates (each its own server),
// replaces crashed and timed-out ones, swaps generations on reload, and shuts down gracefully.
// It only orchestrates: no request ever passes through this thread.

import { Worker } from "node:worker_threads";
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadNative, type Native } from "./native.js";
import { clock32, elapsed32 } from "./clock.js";
import type { BuildManifest, ExtensionSpec, ResolvedConfig } from "./types.js";
import type { BoundExtension } from "./extensions.js";
import { ENGINE_NAMES, type EngineName } from "./engines.js";
import { stageAddon, stopAddonCalls, WORKER_FLAGS_BYTES } from "./addons.js";
import type { WorkerData, WorkerMessage } from "./worker.js";
import { withNetronInvokeRoute } from "./netron/invoke.js";

export interface StartOptions {
  /** Directory holding `titan.build.json` and its bundle. */
  buildDir: string;
  /** Overrides applied over the build's config, field by field (e.g. `--port`). */
  config?: Partial<ResolvedConfig>;
  /** Dev mode: error messages and stacks in 500 bodies, debug logs. */
  dev?: boolean;
  /** Where host events go (startup, reloads, replaced workers); defaults to stderr. */
  log?: (line: string) => void;
  /** The app's directory: relative data paths (`db.path`) resolve from here. Default: the build directory. */
  dataDir?: string;
}

export interface TitanServer {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly config: ResolvedConfig;
  /** Netron: the bound listen addresses (real ports) and the services served; null without Netron. */
  readonly netron: { addresses: string[]; serverId: string; services: { name: string; version: string }[] } | null;
  /** Starts workers on a new build, then drains the old ones: no request is dropped. A build
   * whose code is the one running (only an extension's library was rebuilt, swapped in place)
   * keeps the workers: `kept` is then true. */
  reload(buildDir: string): Promise<{ ms: number; kept: boolean }>;
  /** Non-null: every request but `/__titan/health` answers 503 with `{"error": error}`. */
  setUnavailable(error: { code: string; message: string; [key: string]: unknown } | null): void;
  /** Graceful shutdown: stop accepting, finish in-flight requests, stop the workers. */
  close(): Promise<void>;
}

/** A startup or reload failure, with what to do about it. */
export class TitanHostError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = "TitanHostError";
  }
}

const WORKER_FILE = new URL("./worker.js", import.meta.url);
/** How many unexpected worker exits in CRASH_WINDOW_MS before the host stops replacing them. */
const CRASH_LIMIT = 5;
const CRASH_WINDOW_MS = 10_000;
const READY_TIMEOUT_MS = 30_000;

/** What a build runs, as one hash: its manifest and its bundle. Two builds with the same key run
 * the same code with the same routes and config. */
function buildKey(buildDir: string, manifest: BuildManifest): string {
  const hash = createHash("sha256").update(JSON.stringify(manifest));
  try {
    hash.update(readFileSync(resolve(buildDir, manifest.bundle)));
  } catch {
    // No bundle to read: the worker's start will say so; never equal to a running build.
    return `unreadable:${Math.random()}`;
  }
  return hash.digest("hex");
}

export function readBuild(buildDir: string): BuildManifest {
  const file = join(buildDir, "titan.build.json");
  let manifest: BuildManifest;
  try {
    manifest = JSON.parse(readFileSync(file, "utf8")) as BuildManifest;
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
    throw new TitanHostError(
      missing ? `no build at ${resolve(buildDir)} (${file} is missing)` : `${file} is not valid JSON: ${(err as Error).message}`,
      "run `titan build` first, or point at the build directory",
    );
  }
  if (manifest.format !== 1 || !Array.isArray(manifest.routes) || typeof manifest.bundle !== "string") {
    throw new TitanHostError(`${file} is not a Titan build of format 1`, "rebuild the app with this version of titan (`titan build`)");
  }
  return manifest;
}

interface Generation {
  id: number;
  bundlePath: string;
  routesJson: string;
  extensions: BoundExtension[];
}

/** Loads the built-in engines once for the whole process; workers attach on first use. */
export function loadEngines(native: Native, config: Pick<ResolvedConfig, "db">, dataDir: string): BoundExtension[] {
  const configs: Record<EngineName, unknown> = {
    fetch: null,
    jwt: null,
    password: null,
    db: { path: resolve(dataDir, config.db?.path ?? ".titan/app.db") },
  };
  return ENGINE_NAMES.map((name) => {
    let info;
    try {
      info = native.extLoadBuiltin(name, JSON.stringify(configs[name]), resolve(dataDir));
    } catch (err) {
      throw new TitanHostError(`the built-in engine t.${name} could not start: ${(err as Error).message}`);
    }
    return { id: info.id, name, namespace: name, entry: null, functions: info.functions.map((f) => ({ name: f.name, arity: f.arity })) };
  });
}

/** A Node-API addon is only staged here (one copy per build); each worker loads it itself.
 * The core has no part in it: id 0 is no loaded extension, so extRelease(0) does nothing. */
function stageNapiExtension(spec: ExtensionSpec): BoundExtension {
  try {
    return { id: 0, name: spec.name, namespace: spec.namespace, entry: spec.entry, kind: "napi", config: spec.config ?? null, functions: [], addon: stageAddon(spec.name, spec.library) };
  } catch (err) {
    throw new TitanHostError(`extension ${spec.name} (t.${spec.namespace}) could not be loaded: ${(err as Error).message}`, "build it with `titan build ext`, then build the app again");
  }
}

/** Loads each registered extension once for the whole process (dlopen, ABI check, init).
 * `dataDir` is the app's data directory, which native extensions read from the host table. */
export function loadExtensions(native: Native, specs: readonly ExtensionSpec[], dataDir?: string): BoundExtension[] {
  return specs.map((spec) => {
    if (spec.kind === "napi") return stageNapiExtension(spec);
    let info;
    try {
      info = spec.kind === "classic"
        ? native.extLoadClassic(spec.library, spec.manifest ?? "{}")
        : native.extLoad(spec.library, JSON.stringify(spec.config ?? null), dataDir === undefined ? undefined : resolve(dataDir));
    } catch (err) {
      throw new TitanHostError(`extension ${spec.name} (t.${spec.namespace}) could not be loaded: ${(err as Error).message}`);
    }
    return {
      id: info.id,
      name: info.name,
      namespace: spec.namespace,
      entry: spec.entry,
      kind: spec.kind,
      config: spec.config ?? null,
      functions: info.functions.map((f) => ({ name: f.name, arity: f.arity })),
    };
  });
}

interface PooledWorker {
  slot: number;
  worker: Worker;
  generation: Generation;
  busy: Int32Array;
  state: "starting" | "serving" | "draining" | "stopping";
  exited: Promise<void>;
}

class WorkerPool {
  private readonly workers = new Map<number, PooledWorker>();
  private nextSlot = 1;
  private crashes: number[] = [];
  private readonly epoch = Date.now();
  private readonly watchdog: NodeJS.Timeout;
  private closing = false;
  current!: Generation;

  constructor(
    private readonly native: Native,
    private readonly serverId: number,
    private readonly config: ResolvedConfig,
    private readonly engines: BoundExtension[],
    private readonly dev: boolean,
    private readonly log: (line: string) => void,
    private readonly netron: WorkerData["netron"],
  ) {
    const every = Math.max(10, Math.min(250, Math.floor(config.actionTimeout / 4)));
    this.watchdog = setInterval(() => this.checkTimeouts(), every);
    this.watchdog.unref();
  }

  /** Services the last started generation serves. */
  services: { name: string; version: string }[] = [];

  /** Starts `config.workers` workers on a build and resolves once all serve. */
  async startGeneration(generation: Generation): Promise<PooledWorker[]> {
    const started = Array.from({ length: this.config.workers }, () => this.spawn(generation));
    try {
      const services = await Promise.all(started.map((w) => this.whenReady(w)));
      this.services = services[0] ?? [];
    } catch (err) {
      await Promise.all(started.map((w) => this.stop(w, "stopped")));
      throw err;
    }
    this.current = generation;
    return started;
  }

  private spawn(generation: Generation): PooledWorker {
    const slot = this.nextSlot++;
    const busy = new SharedArrayBuffer(WORKER_FLAGS_BYTES);
    const workerData: WorkerData = {
      serverId: this.serverId,
      slot,
      bundlePath: generation.bundlePath,
      routesJson: generation.routesJson,
      extensions: generation.extensions,
      engines: this.engines,
      bodyLimit: this.config.bodyLimit,
      dev: this.dev,
      busy,
      epoch: this.epoch,
      ...(this.netron ? { netron: this.netron } : {}),
    };
    const worker = new Worker(WORKER_FILE, { workerData, execArgv: [], name: `titan-worker-${slot}` });
    const pooled: PooledWorker = {
      slot,
      worker,
      generation,
      busy: new Int32Array(busy),
      state: "starting",
      exited: new Promise((done) => worker.once("exit", () => done())),
    };
    this.workers.set(slot, pooled);
    worker.on("error", (err) => this.log(`worker ${slot} crashed: ${err.stack ?? err.message}`));
    worker.once("exit", (code) => this.onExit(pooled, code));
    return pooled;
  }

  private whenReady(pooled: PooledWorker): Promise<{ name: string; version: string }[]> {
    return new Promise((resolveReady, reject) => {
      const timer = setTimeout(() => reject(new TitanHostError(`worker ${pooled.slot} did not start within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
      const onExit = (code: number) => {
        clearTimeout(timer);
        reject(new TitanHostError(`worker ${pooled.slot} exited with code ${code} while starting`));
      };
      pooled.worker.once("exit", onExit);
      pooled.worker.once("message", (message: WorkerMessage) => {
        clearTimeout(timer);
        pooled.worker.off("exit", onExit);
        if (message.type === "ready") {
          pooled.state = "serving";
          resolveReady(message.services ?? []);
        } else {
          reject(new TitanHostError(`the app failed to load: ${message.message}`, message.stack));
        }
      });
    });
  }

  private onExit(pooled: PooledWorker, code: number) {
    this.workers.delete(pooled.slot);
    if (pooled.state !== "serving" || this.closing) return;
    // A serving worker that exits on its own crashed (its loop only ends when told to).
    const now = Date.now();
    this.crashes = [...this.crashes.filter((t) => now - t < CRASH_WINDOW_MS), now];
    if (this.crashes.length > CRASH_LIMIT) {
      this.log(`worker ${pooled.slot} exited (code ${code}); ${this.crashes.length} crashes in ${CRASH_WINDOW_MS / 1000} s, not replacing it`);
      return;
    }
    this.log(`worker ${pooled.slot} exited unexpectedly (code ${code}); starting a replacement`);
    this.replace(pooled.generation);
  }

  private replace(generation: Generation) {
    if (this.closing || generation !== this.current) return;
    const replacement = this.spawn(generation);
    this.whenReady(replacement).catch((err: Error) => {
      if (!this.closing) this.log(`replacement worker failed: ${err.message}`);
    });
  }

  /** The watchdog: a worker whose action runs past the timeout is terminated and replaced. */
  private checkTimeouts() {
    const now = clock32(this.epoch);
    for (const pooled of this.workers.values()) {
      const startedAt = Atomics.load(pooled.busy, 0);
      if (pooled.state !== "serving" || startedAt === 0 || elapsed32(now, startedAt) < this.config.actionTimeout) continue;
      this.log(`worker ${pooled.slot}: an action ran longer than ${this.config.actionTimeout} ms; terminating it (the client gets 504) and starting a replacement`);
      void this.stop(pooled, "timeout");
      this.replace(pooled.generation);
    }
  }

  /** Wakes the worker with a reason (decides its in-flight answer), then terminates its isolate. */
  async stop(pooled: PooledWorker, reason: "timeout" | "stopped"): Promise<void> {
    pooled.state = "stopping";
    this.native.abortWorker(this.serverId, pooled.slot, reason);
    // Terminating an isolate inside a Node-API addon call can abort the process (addons.ts).
    await stopAddonCalls(pooled.busy);
    await pooled.worker.terminate();
    await pooled.exited;
  }

  /** Drains workers: each finishes its in-flight requests and exits; stragglers are stopped. */
  async drain(workers: PooledWorker[], deadlineMs: number): Promise<void> {
    for (const pooled of workers) pooled.state = "draining";
    // One step for the whole generation: none of them can adopt a connection another hands off.
    this.native.drainWorkers(this.serverId, workers.map((pooled) => pooled.slot));
    await this.awaitExit(workers, deadlineMs);
  }

  async awaitExit(workers: PooledWorker[], deadlineMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<"late">((done) => (timer = setTimeout(() => done("late"), deadlineMs)));
    const outcome = await Promise.race([Promise.all(workers.map((w) => w.exited)), deadline]);
    clearTimeout(timer);
    if (outcome === "late") {
      const late = workers.filter((w) => this.workers.has(w.slot));
      this.log(`${late.length} worker(s) still busy after ${deadlineMs} ms; stopping them`);
      await Promise.all(late.map((w) => this.stop(w, "stopped")));
    }
  }

  all(): PooledWorker[] {
    return [...this.workers.values()];
  }

  /** No more replacements; the watchdog stops. */
  beginClose() {
    this.closing = true;
    clearInterval(this.watchdog);
  }
}

function describeBindError(err: Error, config: ResolvedConfig): TitanHostError {
  const where = `${config.host}:${config.port}`;
  if (err.message.startsWith("EADDRINUSE")) {
    return new TitanHostError(`port ${config.port} is already in use (${where})`, "stop the other server, or pick another port with --port, the PORT variable, or `port` in titan.config.json");
  }
  if (err.message.startsWith("EACCES")) {
    return new TitanHostError(`no permission to listen on ${where}`, "ports below 1024 need privileges: use a port ≥ 1024");
  }
  return new TitanHostError(err.message, "check `host` and `port` in titan.config.json");
}

function generationOf(buildDir: string, manifest: BuildManifest, id: number, extensions: BoundExtension[], netron: boolean): Generation {
  const routes = netron || manifest.services?.length ? withNetronInvokeRoute(manifest.routes) : manifest.routes;
  return { id, bundlePath: resolve(buildDir, manifest.bundle), routesJson: JSON.stringify(routes), extensions };
}

/** Whether two generations' extension lists are the same loaded instances, in the same order,
 * with the same functions: an in-place reload that adds or changes a function needs workers that
 * bind the new list. */
function sameInstances(a: readonly BoundExtension[], b: readonly BoundExtension[]): boolean {
  return a.length === b.length && a.every((extension, i) => extension.id === b[i]!.id && JSON.stringify(extension.functions) === JSON.stringify(b[i]!.functions));
}

/** Registers the served services in Redis with a TTL heartbeat (`netron.discovery`). Addresses
 * bound on a wildcard host are advertised with this machine's hostname unless `advertise` says. */
async function startDiscovery(
  discovery: NonNullable<NonNullable<ResolvedConfig["netron"]>["discovery"]>,
  bound: string[],
  services: { name: string; version: string }[],
  log: (line: string) => void,
): Promise<{ stop(): Promise<void> }> {
  const { registerInstance } = await import("./netron/registry.js");
  const { hostname } = await import("node:os");
  const addresses = discovery.advertise ?? bound.filter((a) => !a.startsWith("unix://")).map((a) => a.replace(/:\/\/(0\.0\.0\.0|\[::\]|::)(?=:)/, `://${hostname()}`));
  let warned = false;
  try {
    const registration = await registerInstance({
      redis: discovery.redis,
      addresses,
      services,
      ...(discovery.ttl ? { ttlMs: discovery.ttl } : {}),
      ...(discovery.prefix ? { prefix: discovery.prefix } : {}),
      onError: (error) => {
        if (!warned) log(`netron discovery: heartbeat to ${discovery.redis} failed (${error.message}); retrying`);
        warned = true;
      },
    });
    log(`netron discovery: registered ${services.length} service(s) as ${registration.instanceId} at ${addresses.join(", ")}`);
    return registration;
  } catch (err) {
    throw new TitanHostError(`netron discovery could not register in ${discovery.redis}: ${(err as Error).message}`, "check that Redis runs and netron.discovery.redis points at it");
  }
}

/** The JWT key for Netron peers, from `netron.auth`. */
function netronAuth(config: ResolvedConfig): NonNullable<WorkerData["netron"]>["auth"] {
  const auth = config.netron?.auth;
  if (!auth) return undefined;
  const secret = auth.secret ?? (auth.secretEnv ? process.env[auth.secretEnv] : undefined);
  if (!secret) {
    throw new TitanHostError(
      auth.secretEnv ? `netron.auth.secretEnv names ${auth.secretEnv}, which is not set` : "netron.auth needs a secret (or secretEnv)",
      auth.secretEnv ? `set ${auth.secretEnv} in the environment` : 'add "secretEnv": "NETRON_JWT_SECRET" to netron.auth in titan.config.json',
    );
  }
  return { secret, ...(auth.algorithms ? { algorithms: auth.algorithms } : {}), ...(auth.issuer ? { issuer: auth.issuer } : {}), ...(auth.audience ? { audience: auth.audience } : {}) };
}

/** A native library's identity on disk: a rebuild gives it a new size, mtime or inode (cargo
 * links a new file). Not a content hash: that would read every library on every app rebuild,
 * and a rebuild with identical bytes only costs a harmless in-place reload. */
function libraryFingerprint(spec: ExtensionSpec): string | null {
  try {
    const stat = statSync(spec.library, { bigint: true });
    return `${stat.size}:${stat.mtimeNs}:${stat.ino}`;
  } catch {
    return null;
  }
}

/** One loaded extension and what it was loaded from. */
interface LoadedExtension {
  /** The spec as JSON: two specs with the same key are the same extension, loaded the same way. */
  key: string;
  spec: ExtensionSpec;
  bound: BoundExtension;
  fingerprint: string | null;
}

/** What a transport extension's second `init` reports while its first instance holds the scheme. */
const TRANSPORT_TAKEN = /a transport for (\S+):\/\/ is registered already/;

/**
 * Extensions for a new build, diffed per extension against the loaded ones: a spec identical to
 * a loaded one (same name, library, config, ...) keeps that instance (same id, no second `init`);
 * only new or changed specs load, and only removed or changed ones are handed back for release.
 * Keeping unchanged instances is what lets a transport extension (tls://) stay loaded across
 * rebuilds: a second instance could not register its scheme while the first holds it. A native
 * extension whose library changed on disk is reloaded in place (`extReload`): workers move to the
 * new build without a restart, and generations started afterwards bind its new function list.
 */
class ExtensionSet {
  private loaded: LoadedExtension[] = [];

  constructor(
    private readonly native: Native,
    private readonly dataDir: string,
    private readonly log: (line: string) => void,
  ) {}

  /** The extensions for a generation of `specs` (in their order), and the loaded ones it no
   * longer uses (`previous`: release them once the generations using them have stopped). On
   * failure nothing changes: what this call loaded is released and the loaded set keeps serving. */
  use(specs: readonly ExtensionSpec[] | undefined): { bound: BoundExtension[]; previous: BoundExtension[] } {
    const wanted = (specs ?? []).map((spec) => ({ spec, key: JSON.stringify(spec) }));
    // Each loaded instance serves at most one wanted spec (a list could repeat a spec).
    const unclaimed = [...this.loaded];
    const kept = wanted.map(({ key }) => {
      const index = unclaimed.findIndex((loaded) => loaded.key === key);
      return index < 0 ? undefined : unclaimed.splice(index, 1)[0]!;
    });
    for (const loaded of kept) if (loaded) this.reloadIfRebuilt(loaded);

    const added: LoadedExtension[] = [];
    let next: LoadedExtension[];
    try {
      next = wanted.map(({ spec, key }, index) => {
        const loaded = kept[index];
        if (loaded) return loaded;
        const fresh = { key, spec, bound: this.load(spec, unclaimed), fingerprint: libraryFingerprint(spec) };
        added.push(fresh);
        return fresh;
      });
    } catch (err) {
      this.release(added.map((loaded) => loaded.bound));
      throw err;
    }
    this.loaded = next;
    return { bound: next.map((loaded) => loaded.bound), previous: unclaimed.map((loaded) => loaded.bound) };
  }

  /** Loads `spec`; `replaced` are the loaded instances the new set drops, for the message when a
   * changed transport extension cannot load beside its running instance. */
  private load(spec: ExtensionSpec, replaced: readonly LoadedExtension[]): BoundExtension {
    try {
      return loadExtensions(this.native, [spec], this.dataDir)[0]!;
    } catch (err) {
      const scheme = TRANSPORT_TAKEN.exec((err as Error).message)?.[1];
      if (scheme && replaced.some((loaded) => loaded.spec.name === spec.name)) {
        // Its running instance holds the scheme, and the Netron listeners bound at start run that
        // instance's code: loading the change beside it, or in its place, would leave the
        // listeners on the old settings while the app claims the new ones.
        throw new TitanHostError(
          `extension ${spec.name} changed (its entry in titan.config.json or its titan.json), but it provides the ${scheme}:// Netron transport, ` +
            `which the listeners bound at start keep using: the change needs a restart; the running server keeps the previous ${spec.name}`,
          `restart the server to apply the change to ${spec.name}`,
        );
      }
      throw err;
    }
  }

  /** An unchanged spec whose native library was rebuilt: swap the build in place. A failure
   * leaves that extension's previous build serving and fails the reload with the cause. */
  private reloadIfRebuilt(loaded: LoadedExtension) {
    const { spec } = loaded;
    const fingerprint = libraryFingerprint(spec);
    if (spec.kind !== "native" || fingerprint === loaded.fingerprint) return;
    const started = performance.now();
    let info;
    try {
      info = this.native.extReload(loaded.bound.id, spec.library, this.dataDir);
    } catch (err) {
      throw new TitanHostError(
        `extension ${spec.name} (t.${spec.namespace}) could not be reloaded in place: ${(err as Error).message}; its previous build keeps serving`,
        // A transport extension's build cannot be swapped under its listeners (the core says so).
        /restart the server/.test((err as Error).message) ? `restart the server to load the new build of ${spec.name}` : "fix the extension and build it again (`titan build ext`)",
      );
    }
    const ms = performance.now() - started;
    loaded.fingerprint = fingerprint;
    // A new object: generations already running keep the function list they were started with.
    loaded.bound = { ...loaded.bound, functions: info.functions.map((f) => ({ name: f.name, arity: f.arity })) };
    this.log(`extension ${spec.name} reloaded in place in ${ms.toFixed(1)} ms`);
  }

  /** Lets the process unload extensions no generation uses; each unloads once its workers stop. */
  release(extensions: BoundExtension[]) {
    for (const extension of extensions) this.native.extRelease(extension.id);
  }

  /** The server stopped: releases every loaded extension, so the process can load them again
   * (a transport extension's scheme is free for the next server). */
  releaseAll() {
    this.release(this.loaded.map((loaded) => loaded.bound));
    this.loaded = [];
  }
}

/** Serves a build: binds the port, starts the workers, resolves once every worker serves. */
export async function startServer(options: StartOptions): Promise<TitanServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const manifest = readBuild(options.buildDir);
  const overrides = Object.fromEntries(Object.entries(options.config ?? {}).filter(([, v]) => v !== undefined));
  const config: ResolvedConfig = { ...manifest.config, ...overrides };
  const native = loadNative();
  let bound;
  try {
    bound = native.bindServer(config.host, config.port);
  } catch (err) {
    throw describeBindError(err as Error, config);
  }
  let engines: BoundExtension[];
  try {
    engines = loadEngines(native, config, options.dataDir ?? options.buildDir);
  } catch (err) {
    native.shutdownServer(bound.id);
    throw err;
  }
  const extensions = new ExtensionSet(native, resolve(options.dataDir ?? options.buildDir), log);
  let generations = 1;
  let pool: WorkerPool | undefined;
  let netron: { addresses: string[]; serverId: string } | null = null;
  let discovery: { stop(): Promise<void> } | null = null;
  let startedExtensions: BoundExtension[] = [];
  try {
    // Extensions first: a transport extension registers its scheme (tls://) in its init.
    const { bound: loaded } = extensions.use(manifest.extensions);
    startedExtensions = loaded;
    const listen = config.netron?.listen ?? [];
    if (listen.length > 0) {
      try {
        netron = native.bindNetron(bound.id, listen);
      } catch (err) {
        throw new TitanHostError((err as Error).message, "fix netron.listen in titan.config.json");
      }
    }
    const auth = netronAuth(config);
    const workerNetron = netron || auth ? { serverId: netron?.serverId ?? "", ...(auth ? { auth } : {}) } : undefined;
    pool = new WorkerPool(native, bound.id, config, engines, options.dev ?? false, log, workerNetron);
    await pool.startGeneration(generationOf(options.buildDir, manifest, generations, loaded, netron !== null));
    if (netron) log(`netron listening on ${netron.addresses.join(", ")} (${pool.services.map((s) => `${s.name}@${s.version}`).join(", ") || "no services"})`);
    if (netron && config.netron?.discovery) {
      discovery = await startDiscovery(config.netron.discovery, netron.addresses, pool.services, log);
    }
  } catch (err) {
    native.shutdownServer(bound.id);
    pool?.beginClose();
    extensions.releaseAll();
    throw err;
  }
  const workers = pool;

  let closing: Promise<void> | undefined;
  let reloading = Promise.resolve();
  let runningKey = buildKey(options.buildDir, manifest);
  let runningExtensions = startedExtensions;
  const urlHost = bound.host.includes(":") ? `[${bound.host}]` : bound.host;
  return {
    host: bound.host,
    port: bound.port,
    url: `http://${urlHost}:${bound.port}`,
    config,
    get netron() {
      return netron ? { ...netron, services: workers.services } : null;
    },
    reload(buildDir: string) {
      // Reloads run one at a time so two quick saves cannot interleave generations.
      const run = reloading.then(async () => {
        const started = performance.now();
        const next = readBuild(buildDir);
        const key = buildKey(buildDir, next);
        const previous = workers.all();
        const { bound: loaded, previous: replaced } = extensions.use(next.extensions);
        if (key === runningKey && replaced.length === 0 && sameInstances(loaded, runningExtensions)) {
          // The same code over the same extension instances (a rebuilt library was swapped in
          // place above): the running workers already serve this build. A new generation would
          // only cost a start and drop their Netron connections.
          runningExtensions = loaded;
          return { ms: Math.round(performance.now() - started), kept: true };
        }
        await workers.startGeneration(generationOf(buildDir, next, ++generations, loaded, netron !== null));
        runningKey = key;
        runningExtensions = loaded;
        void workers.drain(previous, config.shutdownTimeout).then(() => extensions.release(replaced));
        return { ms: Math.round(performance.now() - started), kept: false };
      });
      reloading = run.then(() => undefined, () => undefined);
      return run;
    },
    setUnavailable(error) {
      native.setUnavailable(bound.id, error === null ? null : JSON.stringify(error));
    },
    close() {
      closing ??= (async () => {
        await reloading;
        await discovery?.stop().catch((err: Error) => log(`netron discovery: could not deregister: ${err.message}`));
        workers.beginClose();
        const running = workers.all();
        for (const w of running) w.state = "draining";
        native.shutdownServer(bound.id);
        await workers.awaitExit(running, config.shutdownTimeout);
        extensions.releaseAll();
      })();
      return closing;
    },
  };
}
