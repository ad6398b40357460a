// Client-side service discovery: `discover("calculator@^1", { redis })` finds the live instances of a
// service in Redis (registered by runtimes through @titan/core/netron/registry) and spreads calls over
// them round-robin, one lazily connected Peer per instance, failing over when one cannot be reached.

import { isRedisClient, openRedis, parseServiceSpec, resolveInstances, type Redis, type ResolvedInstance } from "@titan/core/netron/registry";
import { connect, type ConnectOptions, type Peer } from "./client.js";
import { TitanError } from "./codec.js";
import { ErrorCode, NetronClientError, summarize } from "./errors.js";
import { createRemote, remoteCall, type Remote, type RemoteCall } from "./remote.js";

export type { ResolvedInstance } from "@titan/core/netron/registry";

/** Options of {@link discover}. */
export interface DiscoverOptions {
  /** The Redis the runtimes register in: a `redis://` URL (a connection is opened and closed with the proxy) or an ioredis `Redis` you own. */
  redis: string | Redis;
  /** The key prefix the runtimes register under (default "titan:netron"). */
  prefix?: string;
  /** How often the instance list is resolved again, in ms (default 5000). Also re-resolved when an instance cannot be reached. */
  refreshMs?: number;
  /**
   * Options for each instance's `connect()`. `reconnect` defaults to `false` here: a dropped instance is
   * connected again on its next call, or skipped if it is gone, which is what failover wants.
   */
  connect?: ConnectOptions;
  /** How long an instance that could not be reached is skipped, in ms (default 10000, the registry's default TTL). */
  skipUnreachableMs?: number;
  /** Called when a background refresh fails (Redis down): calls keep using the last known instances. Default: stderr, once per outage. */
  onError?: (error: Error) => void;
}

/** The discovery behind a proxy: `calc[discovery].instances()`. */
export const discovery: unique symbol = Symbol("titan.netron.discovery");

/** What a discovery proxy exposes besides the service's methods. */
export interface DiscoveryHandle {
  /** The spec resolved, e.g. "calculator@^1". */
  readonly spec: string;
  /** The instances calls go to now (resolved, minus those skipped as unreachable), newest version first. */
  instances(): ResolvedInstance[];
  /** Resolves the instances again now. */
  refresh(): Promise<ResolvedInstance[]>;
  /** Stops refreshing and closes every connection (and the Redis connection if it opened it). */
  close(): Promise<void>;
}

/**
 * The service's methods (as `Remote<T>`: awaitable, and `for await`-able for generator methods), plus
 * `close()` and the {@link DiscoveryHandle} under the `discovery` symbol. (A service method named
 * `close` is shadowed by it: call that one through a Peer, `peer.call(service, "close")`.)
 */
export type Discovered<T> = Remote<T> & { close(): Promise<void>; readonly [discovery]: DiscoveryHandle };

const DEFAULT_REFRESH_MS = 5_000;
const DEFAULT_SKIP_UNREACHABLE_MS = 10_000;

/** Failures where the call never reached the instance, so trying another one is safe. */
const UNREACHABLE = new Set(["connection-failed", "connect-timeout", "handshake-timeout", "handshake-failed", "bad-address"]);

function isUnreachable(error: unknown): boolean {
  return error instanceof NetronClientError && UNREACHABLE.has(error.reason);
}

/** One instance's connection and the calls it carries. */
interface Connection {
  peer: Promise<Peer>;
  inFlight: number;
  /** Close once idle: the instance is no longer registered. */
  retiring: boolean;
}

/**
 * Resolves `spec` ("calculator", "calculator@1.2.3", "calculator@^1") in Redis and returns a proxy whose
 * calls go round-robin to the live instances. Rejects if Redis cannot be read; resolves even when no
 * instance is registered yet (calls then fail with 503 until one appears).
 */
export async function discover<T = unknown>(spec: string, options: DiscoverOptions): Promise<Discovered<T>> {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`discover(${JSON.stringify(spec)}, options): options must be an object with at least { redis: "redis://host:6379" }, got ${summarize(options)}`);
  }
  const { name } = parseServiceSpec(spec);
  const refreshMs = options.refreshMs ?? DEFAULT_REFRESH_MS;
  const skipMs = options.skipUnreachableMs ?? DEFAULT_SKIP_UNREACHABLE_MS;
  for (const [option, value] of [["refreshMs", refreshMs], ["skipUnreachableMs", skipMs]] as const) {
    if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value)) {
      throw new TypeError(`discover(${JSON.stringify(spec)}): ${option} must be a number of milliseconds > 0, got ${summarize(value)}`);
    }
  }
  if (typeof options.redis !== "string" && !isRedisClient(options.redis)) {
    throw new TypeError(`discover(${JSON.stringify(spec)}): redis must be a redis:// URL or an ioredis Redis instance, got ${summarize(options.redis)}`);
  }
  const ownsRedis = typeof options.redis === "string";
  const redis = typeof options.redis === "string" ? openRedis(options.redis) : options.redis;
  const where = typeof options.redis === "string" ? options.redis : "the given Redis connection";
  const prefix = options.prefix;
  const connectOptions: ConnectOptions = { reconnect: false, ...options.connect };

  let instances: ResolvedInstance[] = [];
  /** instanceId → until when it is skipped. */
  const unreachable = new Map<string, number>();
  const connections = new Map<string, Connection>();
  let cursor = 0;
  let closed = false;
  let refreshing: Promise<ResolvedInstance[]> | undefined;
  let failingSince: number | undefined;

  const reportRefreshError =
    options.onError ??
    ((error: Error) => {
      if (failingSince === undefined) process.stderr.write(`[titan:netron] ${error.message} (calls keep using the ${instances.length} instance(s) known)\n`);
    });

  const usable = () => {
    const now = Date.now();
    return instances.filter((instance) => (unreachable.get(instance.instanceId) ?? 0) <= now);
  };

  const closeConnection = (instanceId: string, connection: Connection) => {
    if (connections.get(instanceId) === connection) connections.delete(instanceId);
    void connection.peer.then((peer) => peer.close()).catch(() => {});
  };

  const refresh = (): Promise<ResolvedInstance[]> => {
    if (closed) return Promise.reject(closedError());
    refreshing ??= resolveInstances(redis, spec, prefix === undefined ? {} : { prefix })
      .then((found) => {
        instances = found;
        failingSince = undefined;
        const live = new Set(found.map((instance) => instance.instanceId));
        for (const id of unreachable.keys()) if (!live.has(id)) unreachable.delete(id);
        // An instance no longer registered stops getting calls; its connection closes once idle.
        for (const [id, connection] of connections) {
          connection.retiring = !live.has(id);
          if (connection.retiring && connection.inFlight === 0) closeConnection(id, connection);
        }
        return usable();
      })
      .catch((error: Error) => {
        throw new Error(`could not resolve ${spec} in Redis (${where}): ${error.message}. Is Redis up, and is it the one the runtimes register in?`, { cause: error });
      })
      .finally(() => {
        refreshing = undefined;
      });
    return refreshing;
  };

  const connectTo = async (instance: ResolvedInstance): Promise<Peer> => {
    // Addresses in the order the instance registered them: the first one that answers wins.
    let lastError: unknown;
    for (const address of instance.addresses) {
      try {
        return await connect(address, connectOptions);
      } catch (error) {
        if (!isUnreachable(error)) throw error;
        lastError = error;
      }
    }
    throw lastError ?? new NetronClientError("connection-failed", ErrorCode.SERVICE_UNAVAILABLE, `instance ${instance.instanceId} registered no address`);
  };

  const connectionOf = (instance: ResolvedInstance): Connection => {
    let connection = connections.get(instance.instanceId);
    if (!connection) {
      const peer = connectTo(instance);
      const created: Connection = { peer, inFlight: 0, retiring: false };
      connection = created;
      connections.set(instance.instanceId, created);
      peer.then(
        (opened) => {
          // A dropped connection is forgotten, so the next call connects again (or skips a dead instance).
          opened.once("close", () => {
            if (connections.get(instance.instanceId) === created) connections.delete(instance.instanceId);
          });
          if (closed) void opened.close();
        },
        () => {
          if (connections.get(instance.instanceId) === created) connections.delete(instance.instanceId);
        },
      );
    }
    return connection;
  };

  /** The next instance round-robin, connected; instances that cannot be reached are skipped and the list re-resolved. */
  const pick = async (what: string): Promise<{ instance: ResolvedInstance; connection: Connection; peer: Peer }> => {
    const tried = new Set<string>();
    const failures: string[] = [];
    let refreshed = false;
    for (;;) {
      if (closed) throw closedError();
      const candidates = usable().filter((instance) => !tried.has(instance.instanceId));
      if (candidates.length === 0) {
        if (!refreshed) {
          refreshed = true;
          await refresh();
          continue;
        }
        if (failures.length > 0) {
          throw new NetronClientError(
            "connection-failed",
            ErrorCode.SERVICE_UNAVAILABLE,
            `${what} was not sent: no instance of ${spec} could be reached (${failures.join("; ")})`,
            { details: { service: spec, instances: failures } },
          );
        }
        throw new TitanError({
          code: ErrorCode.SERVICE_UNAVAILABLE,
          message: `${what} was not sent: no live instance of ${spec} is registered in Redis (${where}${prefix ? `, prefix "${prefix}"` : ""}). Is a runtime serving ${name} running, and registered with the same Redis and prefix?`,
          details: { reason: "no-instance", service: spec },
        });
      }
      const instance = candidates[cursor++ % candidates.length]!;
      tried.add(instance.instanceId);
      const connection = connectionOf(instance);
      // Counted from here, so a refresh cannot close the connection while this call waits for it.
      connection.inFlight++;
      try {
        return { instance, connection, peer: await connection.peer };
      } catch (error) {
        connection.inFlight--;
        if (!isUnreachable(error)) throw error;
        unreachable.set(instance.instanceId, Date.now() + skipMs);
        failures.push(`${instance.instanceId} at ${instance.addresses.join(", ")}: ${(error as Error).message}`);
        // It may be dead: look for instances that replaced it, without holding this call up.
        refresh().catch(() => {});
      }
    }
  };

  const call = async (method: string, args: unknown[], what: string): Promise<unknown> => {
    const { instance, connection, peer } = await pick(what);
    try {
      // The exact version resolved for this instance, so each instance runs the version the range matched.
      return await peer.invoke(`${instance.name}@${instance.version}`, method, args);
    } finally {
      connection.inFlight--;
      if (connection.retiring && connection.inFlight === 0) closeConnection(instance.instanceId, connection);
    }
  };

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    clearInterval(timer);
    const peers = [...connections.values()].map((connection) => connection.peer);
    connections.clear();
    await Promise.all(peers.map((peer) => peer.then((opened) => opened.close(), () => {})));
    if (ownsRedis) {
      if (redis.status === "ready") await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    }
  };

  const closedError = () => new NetronClientError("closed", ErrorCode.SERVICE_UNAVAILABLE, `discover(${JSON.stringify(spec)}) was closed (close() was called)`);

  try {
    await refresh();
  } catch (error) {
    closed = true;
    if (ownsRedis) redis.disconnect();
    throw error;
  }
  const timer = setInterval(() => {
    refresh().catch((error: Error) => {
      try {
        reportRefreshError(error);
      } catch {
        // A throwing onError must not become an unhandled rejection.
      }
      failingSince ??= Date.now();
    });
  }, refreshMs);
  // Refreshing alone must not keep a process alive.
  timer.unref();

  const handle: DiscoveryHandle = { spec, instances: usable, refresh, close };
  const remote = createRemote<T>(spec, (method, args): RemoteCall<unknown, unknown> => {
    const what = `${spec}.${method}`;
    return remoteCall(call(method, args, what), what);
  });
  return new Proxy(remote as object, {
    get(target, property, receiver) {
      if (property === discovery) return handle;
      if (property === "close") return close;
      return Reflect.get(target, property, receiver);
    },
  }) as Discovered<T>;
}
