import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Redis, registerInstance, serviceKey, type InstanceRegistration } from "@titan/core/netron/registry";
import { startRedis, type RedisServer } from "../../../core-runtime/js/netron/testing/redis.js";
import { discover, discovery } from "./discovery.js";
import { NetronClientError } from "./errors.js";
import { calculatorService } from "./testing/calculator.js";
import { TestNetronServer } from "./testing/server.js";

type Calculator = (typeof calculatorService)["methods"];

let redisServer: RedisServer;
let redis: Redis;

before(async () => {
  redisServer = await startRedis();
  redis = new Redis(redisServer.url);
});
after(async () => {
  redis.disconnect();
  await redisServer.stop();
});

const freshPrefix = () => `titan:test:${randomBytes(4).toString("hex")}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const callsOf = (server: TestNetronServer, method: string) => server.log.filter((entry) => entry === `call calculator@1.0.0.${method}`).length;

/** Registers `server` as an instance serving calculator@1.0.0 under `prefix`. */
function register(prefix: string, instanceId: string, address: string, ttlMs = 10_000): Promise<InstanceRegistration> {
  return registerInstance({ redis, prefix, instanceId, addresses: [address], services: [{ name: "calculator", version: "1.0.0" }], ttlMs });
}

/** A port where nothing listens: a server that was started and stopped. */
async function deadAddress(): Promise<string> {
  const server = await TestNetronServer.start({ transport: "tcp" });
  await server.stop();
  return server.address;
}

test("calls go round-robin over the registered instances, streams included", async () => {
  const prefix = freshPrefix();
  const [one, two] = await Promise.all([TestNetronServer.start({ transport: "tcp" }), TestNetronServer.start({ transport: "ws" })]);
  const registrations = await Promise.all([register(prefix, "one", one.address), register(prefix, "two", two.address)]);
  const calc = await discover<Calculator>("calculator@^1", { redis, prefix });
  try {
    assert.deepEqual(calc[discovery].instances().map((instance) => instance.instanceId).sort(), ["one", "two"]);
    const sums = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => calc.add(n, 10)));
    assert.deepEqual(sums, [11, 12, 13, 14, 15, 16]);
    assert.equal(callsOf(one, "add"), 3, "half the calls went to the tcp instance");
    assert.equal(callsOf(two, "add"), 3, "half to the ws one");

    const counted: number[] = [];
    for await (const i of calc.count(3)) counted.push(i);
    assert.deepEqual(counted, [1, 2, 3]);

    // Server errors come through as they are.
    await assert.rejects(calc.fail(), (error: NetronClientError) => error.code === 500 && /always fails/.test(error.message));
  } finally {
    await calc.close();
    await Promise.all(registrations.map((registration) => registration.stop()));
    await Promise.all([one.stop(), two.stop()]);
  }
});

test("an instance that cannot be reached is skipped: calls go to the others", async () => {
  const prefix = freshPrefix();
  const live = await TestNetronServer.start({ transport: "tcp" });
  // A runtime that crashed a moment ago: still registered (its key has not expired), nothing listens.
  await redis.set(serviceKey(prefix, "calculator", "crashed"), JSON.stringify({ instanceId: "crashed", name: "calculator", version: "1.0.0", addresses: [await deadAddress()] }), "PX", 60_000);
  const registration = await register(prefix, "live", live.address);
  const calc = await discover<Calculator>("calculator", { redis, prefix });
  try {
    for (let i = 0; i < 4; i++) assert.equal(await calc.add(i, i), 2 * i);
    assert.equal(callsOf(live, "add"), 4, "every call reached the live instance");
    assert.deepEqual(calc[discovery].instances().map((instance) => instance.instanceId), ["live"], "the crashed one is skipped for a while");
  } finally {
    await calc.close();
    await registration.stop();
    await live.stop();
  }
});

test("when every instance is unreachable the error names each one and why", async () => {
  const prefix = freshPrefix();
  const address = await deadAddress();
  await redis.set(serviceKey(prefix, "calculator", "ghost"), JSON.stringify({ instanceId: "ghost", name: "calculator", version: "1.0.0", addresses: [address] }), "PX", 60_000);
  const calc = await discover<Calculator>("calculator@^1", { redis, prefix });
  try {
    await assert.rejects(calc.add(1, 2), (error: NetronClientError) => {
      assert.equal(error.code, 503);
      assert.equal(error.reason, "connection-failed");
      assert.match(error.message, new RegExp(`calculator@\\^1.add was not sent: no instance of calculator@\\^1 could be reached \\(ghost at ${address.replace(/[.]/g, "\\.")}: `));
      return true;
    });
  } finally {
    await calc.close();
  }
});

test("no instance registered: calls fail with 503 saying what to check; an instance registered later is picked up", async () => {
  const prefix = freshPrefix();
  const calc = await discover<Calculator>("calculator@^1", { redis, prefix, refreshMs: 100 });
  const server = await TestNetronServer.start({ transport: "tcp" });
  let registration: InstanceRegistration | undefined;
  try {
    assert.deepEqual(calc[discovery].instances(), []);
    await assert.rejects(calc.add(1, 2), (error: { code: number; message: string; details: { reason: string } }) => {
      assert.equal(error.code, 503);
      assert.equal(error.details.reason, "no-instance");
      assert.match(error.message, /no live instance of calculator@\^1 is registered in Redis \(the given Redis connection, prefix "titan:test:[0-9a-f]+"\)\. Is a runtime serving calculator running/);
      return true;
    });
    registration = await register(prefix, "late", server.address);
    // A call resolves again when it finds no instance, so it works at once...
    assert.equal(await calc.add(1, 2), 3);
    // ...and the periodic refresh sees it too.
    await sleep(250);
    assert.deepEqual(calc[discovery].instances().map((instance) => instance.instanceId), ["late"]);
  } finally {
    await calc.close();
    await registration?.stop();
    await server.stop();
  }
});

test("an instance that stops is dropped at the next refresh, and its connection is closed", async () => {
  const prefix = freshPrefix();
  const [one, two] = await Promise.all([TestNetronServer.start({ transport: "tcp" }), TestNetronServer.start({ transport: "tcp" })]);
  const first = await register(prefix, "one", one.address);
  const second = await register(prefix, "two", two.address);
  const calc = await discover<Calculator>("calculator@^1", { redis, prefix, refreshMs: 100 });
  try {
    await Promise.all([calc.add(1, 1), calc.add(2, 2)]);
    assert.equal(two.connections.size, 1, "both instances were connected");
    await second.stop(); // a clean shutdown deletes its keys
    await sleep(300);
    assert.deepEqual(calc[discovery].instances().map((instance) => instance.instanceId), ["one"]);
    assert.equal(two.connections.size, 0, "the idle connection to the stopped instance was closed");
    const before = callsOf(one, "add");
    await Promise.all([calc.add(1, 1), calc.add(2, 2), calc.add(3, 3)]);
    assert.equal(callsOf(one, "add"), before + 3);
  } finally {
    await calc.close();
    await first.stop();
    await Promise.all([one.stop(), two.stop()]);
  }
});

test("a dropped connection is opened again on the next call", async () => {
  const prefix = freshPrefix();
  const server = await TestNetronServer.start({ transport: "tcp" });
  const registration = await register(prefix, "solo", server.address);
  const calc = await discover<Calculator>("calculator", { redis: redisServer.url, prefix });
  try {
    assert.equal(await calc.add(1, 1), 2);
    server.dropConnections();
    await sleep(50);
    assert.equal(await calc.add(2, 2), 4);
    assert.equal(server.log.filter((entry) => entry.startsWith("connect ")).length, 2, "connected a second time");
  } finally {
    await calc.close();
    await registration.stop();
    await server.stop();
  }
});

test("close() closes the connections, and later calls fail saying so", async () => {
  const prefix = freshPrefix();
  const server = await TestNetronServer.start({ transport: "tcp" });
  const registration = await register(prefix, "solo", server.address);
  const calc = await discover<Calculator>("calculator@^1", { redis: redisServer.url, prefix });
  try {
    assert.equal(await calc.add(2, 3), 5);
    assert.equal(server.connections.size, 1);
    await calc.close();
    await sleep(50);
    assert.equal(server.connections.size, 0);
    await assert.rejects(calc.add(2, 3), /discover\("calculator@\^1"\) was closed/);
    await calc.close(); // twice is harmless
  } finally {
    await registration.stop();
    await server.stop();
  }
});

test("bad input and an unreachable Redis are refused with what to do", async () => {
  await assert.rejects(discover("calculator@banana", { redis }), /"banana" is not a semver version or range; use e.g. "calculator@1.2.3"/);
  await assert.rejects(discover("calculator", { redis: 42 as unknown as string }), /redis must be a redis:\/\/ URL or an ioredis Redis instance, got number 42/);
  await assert.rejects(discover("calculator", { redis, refreshMs: 0 }), /refreshMs must be a number of milliseconds > 0, got number 0/);
  const gone = await startRedis();
  await gone.stop();
  await assert.rejects(discover("calculator", { redis: gone.url }), new RegExp(`could not resolve calculator in Redis \\(${gone.url}\\): .*Is Redis up, and is it the one the runtimes register in\\?`));
});

test("the proxy is typed from the service's methods", async () => {
  const prefix = freshPrefix();
  const server = await TestNetronServer.start({ transport: "tcp" });
  const registration = await register(prefix, "typed", server.address);
  const calc = await discover<Calculator>("calculator", { redis, prefix });
  try {
    const sum: number = await calc.add(1, 2);
    assert.equal(sum, 3);
    // @ts-expect-error add takes numbers
    await assert.rejects(calc.add("1", 2), (error: NetronClientError) => error.code === 422);
    // @ts-expect-error no such method on the calculator
    assert.equal(typeof calc.nope, "function");
    const close: () => Promise<void> = calc.close;
    assert.equal(typeof close, "function");
  } finally {
    await calc.close();
    await registration.stop();
    await server.stop();
  }
});

test("apps import it as titan/netron/discovery (kept out of titan/netron, which needs no Redis client)", async () => {
  const published = (await import("titan/netron/discovery")) as Record<string, unknown>;
  assert.equal(typeof published.discover, "function");
  assert.equal(typeof published.discovery, "symbol");
  const client = (await import("titan/netron")) as Record<string, unknown>;
  assert.equal(client.discover, undefined);
});
