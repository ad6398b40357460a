// Netron service discovery on Redis: a runtime registers every service it serves under a key with a
// TTL and refreshes it (heartbeat); clients resolve "name@range" to the instances still alive.
// The key layout is documented in ./README.md ("Discovery").

import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import semver from "semver";

export { Redis };

/** Key prefix shared by every runtime and client of one deployment. */
export const DEFAULT_PREFIX = "titan:netron";
/** How long a registration survives without a heartbeat. */
export const DEFAULT_TTL_MS = 10_000;

/** A Redis connection, or a `redis://` / `rediss://` URL to open one from. */
export type RedisSource = string | Redis;

/** One service an instance serves. */
export interface ServiceVersion {
  name: string;
  /** An exact semver version, e.g. "1.2.3". */
  version: string;
}

/** What one key holds: one service of one instance. */
export interface ServiceRecord {
  instanceId: string;
  name: string;
  /** The newest version of `name` the instance serves. */
  version: string;
  /** Every version of `name` the instance serves, newest first (usually just `version`). */
  versions: string[];
  /** Where clients connect, e.g. `tcp://10.0.0.5:7100`. */
  addresses: string[];
  /** ISO time of `registerInstance` (not of the last heartbeat). */
  registeredAt: string;
}

/** A live instance found by {@link resolveInstances}. */
export interface ResolvedInstance {
  instanceId: string;
  name: string;
  /** The newest version this instance serves that matches the requested range. */
  version: string;
  addresses: string[];
  registeredAt: string;
}

export interface RegisterInstanceOptions {
  redis: RedisSource;
  /** Unique per runtime process; default a random UUID. Use the Netron server id to tie the two together. */
  instanceId?: string;
  /** Addresses other machines can dial (not wildcards such as 0.0.0.0). */
  addresses: string[];
  services: ServiceVersion[];
  /** Default 10 000 ms: an instance that dies drops out of discovery within this time. */
  ttlMs?: number;
  /** Default ttlMs / 3, so two heartbeats can fail before the keys expire. */
  heartbeatMs?: number;
  prefix?: string;
  /** Called for every failed heartbeat (the next one retries). Default: a warning on stderr, not repeated every beat. */
  onError?: (error: Error) => void;
}

export interface InstanceRegistration {
  readonly instanceId: string;
  /** The keys this registration writes. */
  readonly keys: readonly string[];
  /** Writes the keys now (also what the heartbeat does); rejects if Redis did not take them. */
  refresh(): Promise<void>;
  /** Stops the heartbeat and deletes the keys (if Redis is unreachable they expire within the TTL). Closes a connection it opened. */
  stop(): Promise<void>;
}

// Names and ids end up inside keys and SCAN MATCH glob patterns: ":" would blur the layout and
// glob characters (* ? [ ] \) would match other services' keys.
const NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.\-/]*$/;
const NAME_RULE = 'letters, digits, "_", ".", "-" and "/" (no ":", "@" or glob characters)';
const ADDRESS_PATTERN = /^([a-z][a-z0-9+.-]*):\/\/(.+)$/;
const WILDCARD_HOSTS = /^(0\.0\.0\.0|\[::\]|::)(:|$)/;

/** `<prefix>:svc:<name>:<instanceId>`. */
export function serviceKey(prefix: string, name: string, instanceId: string): string {
  return `${prefix}:svc:${name}:${instanceId}`;
}

/**
 * Opens a Redis connection tuned for discovery: commands fail fast while Redis is unreachable
 * (instead of queueing for a long time) and the connection keeps retrying in the background.
 */
export function openRedis(url: string): Redis {
  if (!/^rediss?:\/\//.test(url)) {
    throw new Error(`Redis address "${url}" is not a redis:// or rediss:// URL: use e.g. redis://127.0.0.1:6379 or rediss://user:password@host:6380/0.`);
  }
  const redis = new Redis(url, {
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
    connectionName: "titan-netron-discovery",
  });
  // Connection errors surface as failed commands (heartbeat onError, rejected resolve); without a
  // listener ioredis would also print every failed reconnect attempt.
  redis.on("error", () => {});
  return redis;
}

/**
 * Whether `value` is an ioredis client. Checked by shape, not `instanceof`: an app's own copy of
 * ioredis (another version, another node_modules) is a different class but works the same.
 */
export function isRedisClient(value: unknown): value is Redis {
  const client = value as Partial<Redis> | null;
  return typeof client === "object" && client !== null && typeof client.scan === "function" && typeof client.mget === "function" && typeof client.pipeline === "function" && typeof client.del === "function";
}

function acquire(source: RedisSource, what: string): { redis: Redis; owned: boolean } {
  if (typeof source === "string") return { redis: openRedis(source), owned: true };
  if (isRedisClient(source)) {
    const keyPrefix = (source as { options?: { keyPrefix?: string } }).options?.keyPrefix;
    if (keyPrefix) {
      throw new Error(`${what}: the Redis connection has keyPrefix "${keyPrefix}", which ioredis does not apply to SCAN patterns, so registered keys would never be found: pass a connection without keyPrefix and use the \`prefix\` option instead.`);
    }
    return { redis: source, owned: false };
  }
  throw new Error(`${what}: \`redis\` must be a redis:// URL or an ioredis Redis instance, got ${describe(source)}.`);
}

function release(redis: Redis): void {
  // quit() waits for replies in flight; when Redis is unreachable it would wait for a reconnect.
  if (redis.status === "ready") redis.quit().catch(() => redis.disconnect());
  else redis.disconnect();
}

function describe(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value === "string" ? JSON.stringify(value) : typeof value;
}

function checkPrefix(prefix: unknown, what: string): string {
  if (typeof prefix !== "string" || prefix === "" || /[*?[\]\\]/.test(prefix)) {
    throw new Error(`${what}: prefix ${describe(prefix)} must be a non-empty string without glob characters (* ? [ ] \\), e.g. "${DEFAULT_PREFIX}".`);
  }
  return prefix;
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Registers an instance's services and keeps them alive with a heartbeat (SET ... PX ttl for every key,
 * in one pipeline). Resolves after the first write was attempted; if Redis was unreachable that was
 * reported to `onError` and the heartbeat keeps retrying, so a runtime never fails to boot (or crashes)
 * because Redis is down. Throws only for invalid options.
 */
export async function registerInstance(options: RegisterInstanceOptions): Promise<InstanceRegistration> {
  const what = "registerInstance";
  if (typeof options !== "object" || options === null) throw new Error(`${what}: expected an options object, got ${describe(options)}.`);
  const prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX, what);
  const instanceId = options.instanceId ?? randomUUID();
  if (typeof instanceId !== "string" || !NAME_PATTERN.test(instanceId)) {
    throw new Error(`${what}: instanceId ${describe(instanceId)} may only contain ${NAME_RULE}; leave it out for a random UUID.`);
  }
  const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
  if (!Number.isInteger(ttlMs) || ttlMs < 100) {
    throw new Error(`${what}: ttlMs ${typeof ttlMs === "number" ? ttlMs : describe(ttlMs)} must be a whole number of milliseconds, at least 100 (default ${DEFAULT_TTL_MS}).`);
  }
  const heartbeatMs = options.heartbeatMs ?? Math.max(1, Math.floor(ttlMs / 3));
  if (typeof heartbeatMs !== "number" || !Number.isFinite(heartbeatMs) || heartbeatMs <= 0 || heartbeatMs >= ttlMs) {
    throw new Error(`${what}: heartbeatMs ${typeof heartbeatMs === "number" ? heartbeatMs : describe(heartbeatMs)} must be positive and shorter than ttlMs (${ttlMs}), or the keys expire between heartbeats; the default is ttlMs / 3.`);
  }
  const addresses = checkAddresses(options.addresses, what);
  const records = buildRecords(options.services, { instanceId, addresses, registeredAt: new Date().toISOString() }, what);
  const { redis, owned } = acquire(options.redis, what);

  const entries = records.map((record) => ({ key: serviceKey(prefix, record.name, instanceId), value: JSON.stringify(record) }));
  const keys = entries.map((entry) => entry.key);

  let consecutiveFailures = 0;
  const onError =
    options.onError ??
    ((error: Error) => {
      // One line when it starts failing and then every tenth beat: Redis down for an hour must not flood the log.
      if (consecutiveFailures === 1 || consecutiveFailures % 10 === 0) {
        process.stderr.write(`[titan:netron] ${error.message} (failed ${consecutiveFailures}× in a row; retrying every ${heartbeatMs} ms)\n`);
      }
    });
  const report = (error: unknown) => {
    try {
      onError(error instanceof Error ? error : new Error(String(error)));
    } catch {
      // A throwing onError must not take the heartbeat (or the host) down with it.
    }
  };

  const writeKeys = async () => {
    const pipeline = redis.pipeline();
    for (const entry of entries) pipeline.set(entry.key, entry.value, "PX", ttlMs);
    // Past the TTL the keys are gone whatever happens, so waiting longer only stalls the heartbeat.
    const results = await withTimeout(pipeline.exec(), ttlMs, `Redis did not answer within ${ttlMs} ms`);
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw failed?.[0] ?? new Error("the pipeline was discarded");
  };

  // Writes run one at a time (heartbeat, refresh() and stop()'s DEL never interleave), so a heartbeat
  // can never re-create keys after stop() deleted them.
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task);
    queue = run.catch(() => {});
    return run;
  };

  let stopped = false;
  let stopping: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const beat = async (): Promise<void> => {
    try {
      await serially(writeKeys);
      consecutiveFailures = 0;
    } catch (error) {
      consecutiveFailures++;
      report(new Error(`discovery heartbeat for instance ${instanceId} failed: ${(error as Error).message}`, { cause: error }));
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void beat().then(schedule), heartbeatMs);
    // The heartbeat alone must not keep a process alive that has nothing else to do.
    timer.unref();
  };

  await beat();
  schedule();

  return {
    instanceId,
    keys,
    refresh() {
      if (stopped) return Promise.reject(new Error(`registration of instance ${instanceId} was stopped: register it again instead of refreshing it.`));
      return serially(writeKeys);
    },
    stop() {
      if (stopping) return stopping;
      stopped = true;
      clearTimeout(timer);
      stopping = serially(async () => {
        try {
          await withTimeout(redis.del(...keys), ttlMs, `Redis did not answer within ${ttlMs} ms`);
        } catch (error) {
          report(new Error(`could not delete the discovery keys of instance ${instanceId} (they expire within ${ttlMs} ms): ${(error as Error).message}`, { cause: error }));
        } finally {
          if (owned) release(redis);
        }
      });
      return stopping;
    },
  };
}

function checkAddresses(addresses: unknown, what: string): string[] {
  if (!Array.isArray(addresses) || addresses.length === 0) {
    throw new Error(`${what}: addresses must be a non-empty array of listen addresses such as "tcp://10.0.0.5:7100", got ${describe(addresses)}.`);
  }
  for (const address of addresses) {
    const match = typeof address === "string" ? ADDRESS_PATTERN.exec(address) : null;
    if (!match) {
      throw new Error(`${what}: address ${describe(address)} is not a Netron address: use tcp://host:port, unix:///abs/path.sock, ws://host:port[/path] or tls://host:port.`);
    }
    if (WILDCARD_HOSTS.test(match[2]!)) {
      throw new Error(`${what}: address "${address}" is a wildcard listen address that other machines cannot dial: register the address they reach this host on (e.g. ${match[1]}://10.0.0.5:7100).`);
    }
  }
  return [...addresses] as string[];
}

function buildRecords(services: unknown, instance: { instanceId: string; addresses: string[]; registeredAt: string }, what: string): ServiceRecord[] {
  if (!Array.isArray(services) || services.length === 0) {
    throw new Error(`${what}: services must be a non-empty array of { name, version }, e.g. [{ name: "calculator", version: "1.0.0" }], got ${describe(services)}.`);
  }
  const versionsByName = new Map<string, string[]>();
  for (const service of services as unknown[]) {
    const { name, version } = (service ?? {}) as Partial<ServiceVersion>;
    if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
      throw new Error(`${what}: service name ${describe(name)} may only contain ${NAME_RULE}.`);
    }
    if (typeof version !== "string" || semver.valid(version) === null) {
      throw new Error(`${what}: service ${name} has version ${describe(version)}, which is not an exact semver version such as "1.2.3".`);
    }
    const versions = versionsByName.get(name) ?? [];
    if (!versions.includes(version)) versions.push(version);
    versionsByName.set(name, versions);
  }
  // One key per service name per instance: an instance serving two versions of a name lists both in it.
  return [...versionsByName].map(([name, versions]) => {
    versions.sort(semver.rcompare);
    return { instanceId: instance.instanceId, name, version: versions[0]!, versions, addresses: instance.addresses, registeredAt: instance.registeredAt };
  });
}

/** A parsed `name`, `name@1.2.3` or `name@^1` (range undefined: any version). */
export interface ServiceSpec {
  name: string;
  range: string | undefined;
}

/** Parses `calculator`, `calculator@1.2.3` or `calculator@^1`; throws a clear error for anything else. */
export function parseServiceSpec(spec: string): ServiceSpec {
  if (typeof spec !== "string") throw new Error(`a service spec must be a string such as "calculator@^1", got ${describe(spec)}.`);
  const at = spec.indexOf("@");
  const name = at === -1 ? spec : spec.slice(0, at);
  const range = at === -1 ? undefined : spec.slice(at + 1).trim();
  if (!NAME_PATTERN.test(name)) {
    throw new Error(`service spec "${spec}": the name may only contain ${NAME_RULE}; use "calculator", "calculator@1.2.3" or "calculator@^1".`);
  }
  if (range !== undefined && (range === "" || semver.validRange(range) === null)) {
    throw new Error(`service spec "${spec}": "${range}" is not a semver version or range; use e.g. "${name}@1.2.3", "${name}@^1", "${name}@~1.2" or just "${name}" for any version.`);
  }
  return { name, range };
}

export interface ResolveOptions {
  prefix?: string;
}

/**
 * The live instances serving `spec` ("calculator", "calculator@1.2.3", "calculator@^1"): SCAN for the
 * service's keys, MGET them, keep those whose versions match. Newest version first (ties by instance id).
 */
export async function resolveInstances(redisSource: RedisSource, spec: string, options: ResolveOptions = {}): Promise<ResolvedInstance[]> {
  const what = "resolveInstances";
  const prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX, what);
  const { name, range } = parseServiceSpec(spec);
  const { redis, owned } = acquire(redisSource, what);
  try {
    const keys = new Set<string>();
    let cursor = "0";
    do {
      const [next, batch] = await redis.scan(cursor, "MATCH", serviceKey(prefix, name, "*"), "COUNT", 500);
      // SCAN may return a key more than once.
      for (const key of batch) keys.add(key);
      cursor = next;
    } while (cursor !== "0");

    const found: ResolvedInstance[] = [];
    const all = [...keys];
    for (let start = 0; start < all.length; start += 500) {
      const values = await redis.mget(...all.slice(start, start + 500));
      for (const value of values) {
        // null: expired between SCAN and MGET. Unparseable or foreign values are skipped, not fatal:
        // one bad writer must not hide every other instance.
        const record = value === null ? undefined : parseRecord(value);
        if (!record || record.name !== name) continue;
        const version = range === undefined ? record.versions[0] : record.versions.find((candidate) => semver.satisfies(candidate, range));
        if (version === undefined) continue;
        found.push({ instanceId: record.instanceId, name, version, addresses: record.addresses, registeredAt: record.registeredAt });
      }
    }
    return found.sort((a, b) => semver.rcompare(a.version, b.version) || a.instanceId.localeCompare(b.instanceId));
  } finally {
    if (owned) release(redis);
  }
}

function parseRecord(value: string): ServiceRecord | undefined {
  let parsed: Partial<ServiceRecord>;
  try {
    parsed = JSON.parse(value) as Partial<ServiceRecord>;
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || typeof parsed.instanceId !== "string" || typeof parsed.name !== "string") return undefined;
  if (!Array.isArray(parsed.addresses) || !parsed.addresses.every((address) => typeof address === "string")) return undefined;
  // Records written with only `version` (the documented minimum) are accepted too.
  const versions = (Array.isArray(parsed.versions) ? parsed.versions : [parsed.version]).filter((version): version is string => typeof version === "string" && semver.valid(version) !== null);
  if (versions.length === 0) return undefined;
  versions.sort(semver.rcompare);
  return {
    instanceId: parsed.instanceId,
    name: parsed.name,
    version: versions[0]!,
    versions,
    addresses: parsed.addresses,
    registeredAt: typeof parsed.registeredAt === "string" ? parsed.registeredAt : "",
  };
}
