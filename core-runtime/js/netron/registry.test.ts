import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { parseServiceSpec, registerInstance, resolveInstances, serviceKey, type InstanceRegistration } from "./registry.js";
import { startRedis, type RedisServer } from "./testing/redis.js";

let server: RedisServer;
let redis: Redis;

before(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});
after(async () => {
  redis.disconnect();
  await server.stop();
});

/** Each test writes under its own prefix, so tests never see each other's keys. */
const freshPrefix = () => `titan:test:${randomBytes(4).toString("hex")}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 20 ms until it returns true; returns the time it took, or throws after `limitMs`. */
async function waitUntil(check: () => Promise<boolean>, limitMs: number, what: string): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > limitMs) throw new Error(`${what}: not within ${limitMs} ms`);
    await sleep(20);
  }
}

async function withTwoInstances(body: (prefix: string, a: InstanceRegistration, b: InstanceRegistration) => Promise<void>) {
  const prefix = freshPrefix();
  const a = await registerInstance({
    redis: server.url,
    prefix,
    instanceId: "instance-a",
    addresses: ["tcp://10.0.0.5:7100", "ws://10.0.0.5:7101/netron"],
    services: [{ name: "calculator", version: "1.2.3" }, { name: "echo", version: "0.1.0" }],
  });
  // Instance b serves two versions of calculator: both live in its one calculator key.
  const b = await registerInstance({
    redis,
    prefix,
    instanceId: "instance-b",
    addresses: ["tcp://10.0.0.6:7100"],
    services: [{ name: "calculator", version: "1.5.0" }, { name: "calculator", version: "2.0.0" }],
  });
  try {
    await body(prefix, a, b);
  } finally {
    await a.stop();
    await b.stop();
  }
}

const summary = (instances: { instanceId: string; version: string }[]) => instances.map((instance) => `${instance.instanceId}@${instance.version}`);

test("registered instances resolve by range, exact version and bare name, newest version first", async () => {
  await withTwoInstances(async (prefix) => {
    const resolve = (spec: string) => resolveInstances(redis, spec, { prefix });
    assert.deepEqual(summary(await resolve("calculator@^1")), ["instance-b@1.5.0", "instance-a@1.2.3"]);
    assert.deepEqual(summary(await resolve("calculator@~1.2")), ["instance-a@1.2.3"]);
    assert.deepEqual(summary(await resolve("calculator@1.2.3")), ["instance-a@1.2.3"]);
    assert.deepEqual(summary(await resolve("calculator@^2")), ["instance-b@2.0.0"]);
    assert.deepEqual(summary(await resolve("calculator")), ["instance-b@2.0.0", "instance-a@1.2.3"], "a bare name matches any version, newest first");
    assert.deepEqual(summary(await resolve("echo")), ["instance-a@0.1.0"]);
    assert.deepEqual(await resolve("calculator@^3"), [], "no matching version → empty");
    assert.deepEqual(await resolve("nothing"), [], "unknown service → empty");
    // A service whose name starts like another's is not mixed in (keys are <name>:<instanceId>).
    assert.deepEqual(await resolve("calc"), []);

    const [first] = await resolve("calculator@~1.2");
    assert.deepEqual(first, {
      instanceId: "instance-a",
      name: "calculator",
      version: "1.2.3",
      addresses: ["tcp://10.0.0.5:7100", "ws://10.0.0.5:7101/netron"],
      registeredAt: first!.registeredAt,
    });
    assert.ok(Date.now() - Date.parse(first!.registeredAt) < 60_000, "registeredAt is an ISO time of registration");

    // A URL works as well as a connection (resolveInstances opens and closes its own).
    assert.deepEqual(summary(await resolveInstances(server.url, "calculator@^1", { prefix })), ["instance-b@1.5.0", "instance-a@1.2.3"]);
  });
});

test("the key layout: one key per service per instance, JSON, with a TTL", async () => {
  const prefix = freshPrefix();
  const registration = await registerInstance({
    redis,
    prefix,
    instanceId: "node-1",
    addresses: ["tcp://10.0.0.5:7100"],
    services: [{ name: "calculator", version: "1.0.0" }, { name: "auth.users", version: "3.1.4" }],
    ttlMs: 5000,
  });
  try {
    assert.deepEqual((await redis.keys(`${prefix}:*`)).sort(), [`${prefix}:svc:auth.users:node-1`, `${prefix}:svc:calculator:node-1`]);
    assert.deepEqual([...registration.keys].sort(), [serviceKey(prefix, "auth.users", "node-1"), serviceKey(prefix, "calculator", "node-1")]);
    const stored = JSON.parse((await redis.get(`${prefix}:svc:calculator:node-1`))!);
    assert.deepEqual(stored, {
      instanceId: "node-1",
      name: "calculator",
      version: "1.0.0",
      versions: ["1.0.0"],
      addresses: ["tcp://10.0.0.5:7100"],
      registeredAt: stored.registeredAt,
    });
    const ttl = await redis.pttl(`${prefix}:svc:calculator:node-1`);
    assert.ok(ttl > 3000 && ttl <= 5000, `PTTL ${ttl} is the registration's ttl`);
  } finally {
    await registration.stop();
  }
});

test("an instance id defaults to a fresh UUID", async () => {
  const prefix = freshPrefix();
  const registration = await registerInstance({ redis, prefix, addresses: ["tcp://10.0.0.5:7100"], services: [{ name: "calculator", version: "1.0.0" }] });
  try {
    assert.match(registration.instanceId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal((await resolveInstances(redis, "calculator", { prefix }))[0]?.instanceId, registration.instanceId);
  } finally {
    await registration.stop();
  }
});

test("the heartbeat keeps a short-TTL registration alive well past its TTL", async () => {
  const prefix = freshPrefix();
  const ttlMs = 500;
  const registration = await registerInstance({ redis, prefix, instanceId: "alive", addresses: ["tcp://10.0.0.5:7100"], services: [{ name: "calculator", version: "1.0.0" }], ttlMs });
  try {
    const started = Date.now();
    while (Date.now() - started < 4 * ttlMs) {
      await sleep(150);
      assert.deepEqual(summary(await resolveInstances(redis, "calculator", { prefix })), ["alive@1.0.0"], `after ${Date.now() - started} ms`);
    }
  } finally {
    await registration.stop();
  }
});

test("stop() deletes the keys at once, keeps a connection it was given open, and is idempotent", async () => {
  await withTwoInstances(async (prefix, a, b) => {
    await a.stop();
    assert.deepEqual(summary(await resolveInstances(redis, "calculator", { prefix })), ["instance-b@2.0.0"]);
    assert.equal(await redis.exists(serviceKey(prefix, "echo", "instance-a")), 0);
    await b.stop();
    assert.deepEqual(await redis.keys(`${prefix}:*`), []);
    await b.stop(); // twice is harmless
    assert.equal(redis.status, "ready", "a connection passed in stays open for its owner");
    await assert.rejects(b.refresh(), /registration of instance instance-b was stopped: register it again/);
  });
});

// The instance runs in its own process, killed with SIGKILL: no stop(), no DEL, the heartbeat just ends.
test("an instance that dies drops out of discovery within its TTL", async () => {
  const prefix = freshPrefix();
  const ttlMs = 500;
  const registryModule = new URL("./registry.ts", import.meta.url).href;
  const script = `
    import { registerInstance } from ${JSON.stringify(registryModule)};
    await registerInstance({ redis: ${JSON.stringify(server.url)}, prefix: ${JSON.stringify(prefix)}, instanceId: "doomed",
      addresses: ["tcp://10.0.0.9:7100"], services: [{ name: "calculator", version: "1.0.0" }], ttlMs: ${ttlMs} });
    console.log("registered");
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: fileURLToPath(new URL(".", import.meta.url)),
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const lines = createInterface({ input: child.stdout! });
    const startupLimit = setTimeout(() => child.kill("SIGKILL"), 20_000);
    let first = "(no output: the instance process exited or took over 20 s)";
    for await (const line of lines) {
      first = line;
      break;
    }
    clearTimeout(startupLimit);
    assert.equal(first, "registered");
    // Alive for several TTLs thanks to its heartbeat...
    await sleep(3 * ttlMs);
    assert.deepEqual(summary(await resolveInstances(redis, "calculator", { prefix })), ["doomed@1.0.0"]);

    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    // ...its key is still there right after the kill (nothing deleted it)...
    const left = await redis.pttl(serviceKey(prefix, "calculator", "doomed"));
    assert.ok(left > 0 && left <= ttlMs, `PTTL ${left} right after the kill`);
    // ...and expires within the TTL (the PTTL above is Redis's own word for that; the slack below is
    // only for this process's polling on a busy machine).
    await waitUntil(async () => (await resolveInstances(redis, "calculator", { prefix })).length === 0, ttlMs + 1500, "the dead instance's key expires");
  } finally {
    child.kill("SIGKILL");
  }
});

test("Redis restarted mid-heartbeat: failures are reported, nothing crashes, and the registration comes back", async () => {
  const own = await startRedis();
  const port = own.port;
  const errors: Error[] = [];
  const prefix = freshPrefix();
  const registration = await registerInstance({
    redis: own.url,
    prefix,
    instanceId: "survivor",
    addresses: ["tcp://10.0.0.5:7100"],
    services: [{ name: "calculator", version: "1.0.0" }],
    ttlMs: 600,
    heartbeatMs: 100,
    onError: (error) => errors.push(error),
  });
  let restarted: RedisServer | undefined;
  try {
    assert.equal((await resolveInstances(own.url, "calculator", { prefix })).length, 1);
    await own.stop();
    await waitUntil(async () => errors.length >= 2, 5_000, "heartbeat failures are reported");
    assert.match(errors[0]!.message, /^discovery heartbeat for instance survivor failed: /);

    // The new server is empty (no persistence): only the heartbeat can bring the key back.
    restarted = await startRedis({ port });
    await waitUntil(async () => (await resolveInstances(restarted!.url, "calculator", { prefix })).length === 1, 5_000, "the registration comes back");
    const [back] = await resolveInstances(restarted.url, "calculator", { prefix });
    assert.equal(back?.instanceId, "survivor");
    const failuresSoFar = errors.length;
    await sleep(300);
    assert.equal(errors.length, failuresSoFar, "no more failures once Redis is back");
  } finally {
    await registration.stop();
    await own.stop();
    await restarted?.stop();
  }
});

test("Redis unreachable at registration: registerInstance still resolves, reports it, and stop() resolves", async () => {
  const gone = await startRedis();
  await gone.stop(); // a port where nothing listens
  const errors: Error[] = [];
  const registration = await registerInstance({
    redis: gone.url,
    addresses: ["tcp://10.0.0.5:7100"],
    services: [{ name: "calculator", version: "1.0.0" }],
    ttlMs: 1000,
    onError: (error) => errors.push(error),
  });
  assert.ok(errors.length >= 1, "the failed first write was reported");
  assert.match(errors[0]!.message, /discovery heartbeat for instance .* failed/);
  await registration.stop();
  assert.match(errors.at(-1)!.message, /could not delete the discovery keys of instance .* \(they expire within 1000 ms\)/);
});

test("a malformed value under a service key is skipped, the other instances still resolve", async () => {
  const prefix = freshPrefix();
  const registration = await registerInstance({ redis, prefix, instanceId: "good", addresses: ["tcp://10.0.0.5:7100"], services: [{ name: "calculator", version: "1.0.0" }] });
  try {
    await redis.set(serviceKey(prefix, "calculator", "garbage"), "{not json", "PX", 5000);
    await redis.set(serviceKey(prefix, "calculator", "no-version"), JSON.stringify({ instanceId: "no-version", name: "calculator", addresses: [] }), "PX", 5000);
    // A record with only `version` (no `versions`) is the documented minimum and is accepted.
    await redis.set(serviceKey(prefix, "calculator", "minimal"), JSON.stringify({ instanceId: "minimal", name: "calculator", version: "1.1.0", addresses: ["tcp://10.0.0.7:7100"] }), "PX", 5000);
    assert.deepEqual(summary(await resolveInstances(redis, "calculator", { prefix })), ["minimal@1.1.0", "good@1.0.0"]);
  } finally {
    await registration.stop();
  }
});

test("bad options are refused with what to do", async () => {
  const base = { redis, addresses: ["tcp://10.0.0.5:7100"], services: [{ name: "calculator", version: "1.0.0" }] };
  await assert.rejects(registerInstance({ ...base, services: [{ name: "calc:ulator", version: "1.0.0" }] }), /service name "calc:ulator" may only contain letters, digits/);
  await assert.rejects(registerInstance({ ...base, services: [{ name: "calculator", version: "1.0" }] }), /service calculator has version "1.0", which is not an exact semver version such as "1.2.3"/);
  await assert.rejects(registerInstance({ ...base, services: [] }), /services must be a non-empty array of \{ name, version \}/);
  await assert.rejects(registerInstance({ ...base, addresses: ["10.0.0.5:7100"] }), /address "10.0.0.5:7100" is not a Netron address: use tcp:\/\/host:port, unix:\/\/\/abs\/path.sock/);
  await assert.rejects(registerInstance({ ...base, addresses: ["tcp://0.0.0.0:7100"] }), /"tcp:\/\/0.0.0.0:7100" is a wildcard listen address that other machines cannot dial/);
  await assert.rejects(registerInstance({ ...base, ttlMs: 50 }), /ttlMs 50 must be a whole number of milliseconds, at least 100/);
  await assert.rejects(registerInstance({ ...base, ttlMs: 1000, heartbeatMs: 1000 }), /heartbeatMs 1000 must be positive and shorter than ttlMs \(1000\), or the keys expire between heartbeats/);
  await assert.rejects(registerInstance({ ...base, redis: "localhost:6379" }), /Redis address "localhost:6379" is not a redis:\/\/ or rediss:\/\/ URL: use e.g. redis:\/\/127.0.0.1:6379/);
  await assert.rejects(registerInstance({ ...base, prefix: "titan:*" }), /prefix "titan:\*" must be a non-empty string without glob characters/);
  await assert.rejects(registerInstance({ ...base, instanceId: "a:b" }), /instanceId "a:b" may only contain/);
  await assert.rejects(registerInstance({ ...base, redis: {} as Redis }), /registerInstance: `redis` must be a redis:\/\/ URL or an ioredis Redis instance, got object/);
  const prefixed = new Redis(server.url, { keyPrefix: "app:", lazyConnect: true });
  await assert.rejects(registerInstance({ ...base, redis: prefixed }), /the Redis connection has keyPrefix "app:", which ioredis does not apply to SCAN patterns.*use the `prefix` option instead/);
  await assert.rejects(resolveInstances(prefixed, "calculator"), /resolveInstances: the Redis connection has keyPrefix "app:"/);
  prefixed.disconnect();
  await assert.rejects(resolveInstances(redis, "calculator@banana"), /service spec "calculator@banana": "banana" is not a semver version or range; use e.g. "calculator@1.2.3", "calculator@\^1"/);
  await assert.rejects(resolveInstances(redis, "calculator@"), /"" is not a semver version or range/);
  await assert.rejects(resolveInstances(redis, "*"), /service spec "\*": the name may only contain/);
});

test("parseServiceSpec splits name and range", () => {
  assert.deepEqual(parseServiceSpec("calculator"), { name: "calculator", range: undefined });
  assert.deepEqual(parseServiceSpec("calculator@^1"), { name: "calculator", range: "^1" });
  assert.deepEqual(parseServiceSpec("auth.users@>=1.2.0 <2"), { name: "auth.users", range: ">=1.2.0 <2" });
});
