// Reconnection against a test server that is stopped and restarted on the same address: what
// happens to calls in flight and calls made meanwhile, backoff, restored auth and subscriptions,
// giving up, and reconnection turned off.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { backoffDelay, connect, type NetronClientError, type Peer, type PeerEvents, type TitanError } from "./index.js";
import { calculatorService } from "./testing/calculator.js";
import { TestNetronServer, type TestTransport } from "./testing/server.js";

/** Records a peer's lifecycle events in order. */
function recordEvents(peer: Peer) {
  const events: { name: keyof PeerEvents; info: any }[] = [];
  for (const name of ["disconnect", "reconnecting", "reconnect", "close", "error"] as const) {
    peer.on(name, (info?: unknown) => void events.push({ name, info }));
  }
  return events;
}

async function until(condition: () => boolean, what: string, timeout = 3000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

for (const transport of ["tcp", "ws"] as TestTransport[]) {
  test(`over ${transport}: after the server restarts, auth and subscriptions come back first, waiting calls go out, proxies keep working`, async () => {
    const server = await TestNetronServer.start({ transport });
    const peer = await connect(server.address, { auth: { token: "secret-token" }, reconnect: { minDelay: 20, maxDelay: 100, jitter: 0 } });
    const events = recordEvents(peer);
    try {
      const calc = await peer.queryInterface(calculatorService);
      const secure = await peer.queryInterface("secure@1.0.0");
      const ticks: unknown[] = [];
      await peer.subscribe("tick", (value) => void ticks.push(value));
      const firstServerId = peer.serverId;

      const inFlight = calc.slow(5000, "never");
      await server.waitForLog((entry) => entry === "call calculator@1.0.0.slow");
      const inFlightRejected = assert.rejects(inFlight, (error: NetronClientError) => {
        assert.equal(error.code, 503);
        assert.equal(error.reason, "connection-lost");
        assert.match(error.message, /^calculator@1.0.0.slow failed: the connection to .* was lost.*it may or may not have run on the server; retry it only if running it twice is safe/);
        return true;
      });
      await server.stop();
      await inFlightRejected;
      assert.equal(peer.state, "reconnecting");
      assert.equal(events[0]?.name, "disconnect");
      assert.equal(events[0]?.info.willReconnect, true);

      // Made while the server is down: waits for the reconnection.
      const waiting = calc.add(1, 2);
      await until(() => events.filter((e) => e.name === "reconnecting").length >= 4, "four reconnection attempts");
      const delays = events.filter((e) => e.name === "reconnecting").map((e) => e.info.delay);
      assert.deepEqual(delays.slice(0, 4), [20, 40, 80, 100], "exponential backoff from minDelay, capped at maxDelay (no jitter)");
      assert.match(events.find((e) => e.name === "reconnecting" && e.info.attempt === 2)!.info.error.message, /connection refused/);

      server.log.length = 0;
      await server.restart();
      assert.equal(await waiting, 3);
      assert.equal(peer.state, "open");
      assert.notEqual(peer.serverId, firstServerId);
      assert.equal(peer.serverId, server.serverId);
      const reconnected = events.find((e) => e.name === "reconnect");
      assert.equal(reconnected?.info.serverId, server.serverId);
      assert.deepEqual(server.log, [
        `connect ${peer.id}`,
        "task authenticate",
        "task subscribe tick",
        "task query_interface calculator@1.0.0",
        "call calculator@1.0.0.add",
      ]);

      assert.equal(await server.emit("tick", 7), 1);
      assert.deepEqual(ticks, [7]);
      assert.equal(((await secure.whoami!()) as { userId: string }).userId, "user-1", "the restored auth is in force");
      const items: number[] = [];
      for await (const item of calc.count(2)) items.push(item);
      assert.deepEqual(items, [1, 2]);
    } finally {
      await peer.close();
      await server.stop();
    }
  });
}

test("a network drop (listener still up) reconnects after the first delay", async () => {
  const server = await TestNetronServer.start({ transport: "unix" });
  const peer = await connect(server.address, { reconnect: { minDelay: 10, jitter: 0 } });
  const events = recordEvents(peer);
  try {
    server.dropConnections();
    await until(() => events.some((e) => e.name === "reconnect"), "the reconnect event");
    assert.deepEqual(
      events.map((e) => e.name),
      ["disconnect", "reconnecting", "reconnect"],
    );
    assert.deepEqual(events[2]!.info, { attempts: 1, serverId: server.serverId });
    assert.equal(await peer.call("calculator", "add", 2, 2), 4);
  } finally {
    await peer.close();
    await server.stop();
  }
});

test("a subscription made while reconnecting is sent once, on the new connection", async () => {
  const server = await TestNetronServer.start({ transport: "tcp" });
  const peer = await connect(server.address, { reconnect: { minDelay: 30, jitter: 0 } });
  try {
    await server.stop();
    await until(() => peer.state === "reconnecting", "the reconnecting state");
    const seen: unknown[] = [];
    const subscribed = peer.subscribe("news", (value) => void seen.push(value));
    server.log.length = 0;
    await server.restart();
    await subscribed;
    assert.deepEqual(
      server.log.filter((entry) => entry.startsWith("task")),
      ["task subscribe news"],
    );
    assert.equal(await server.emit("news", "hello"), 1);
    assert.deepEqual(seen, ["hello"]);
  } finally {
    await peer.close();
    await server.stop();
  }
});

test("a call waiting for the reconnection fails after its timeout with a 408 that says it was never sent", async () => {
  const server = await TestNetronServer.start({ transport: "tcp" });
  const peer = await connect(server.address, { reconnect: { minDelay: 50 } });
  try {
    await server.stop();
    await until(() => peer.state === "reconnecting", "the reconnecting state");
    const started = Date.now();
    await assert.rejects(peer.invoke("calculator", "add", [1, 2], { timeout: 150 }), (error: NetronClientError) => {
      assert.equal(error.code, 408);
      assert.equal(error.reason, "timeout");
      assert.match(error.message, /calculator.add timed out after 150 ms waiting for the connection to .* to come back \(reconnecting\); it was never sent/);
      return true;
    });
    assert.ok(Date.now() - started >= 140);
  } finally {
    await peer.close();
    await server.stop();
  }
});

test("reconnection gives up after `retries` attempts: waiting calls fail and close carries the last error", async () => {
  const server = await TestNetronServer.start({ transport: "tcp" });
  const peer = await connect(server.address, { reconnect: { retries: 2, minDelay: 10, jitter: 0 } });
  const events = recordEvents(peer);
  try {
    await server.stop();
    await until(() => peer.state === "reconnecting", "the reconnecting state");
    const waiting = peer.call("calculator", "add", 1, 2);
    const gaveUp = (error: NetronClientError) =>
      error.code === 503 &&
      error.reason === "reconnect-failed" &&
      new RegExp(`gave up reconnecting to ${server.address} after 2 attempt\\(s\\); the last error: could not connect to ${server.address}: connection refused`).test(error.message);
    await assert.rejects(waiting, gaveUp);
    assert.equal(peer.state, "closed");
    assert.deepEqual(
      events.map((e) => e.name),
      ["disconnect", "reconnecting", "reconnecting", "close"],
    );
    assert.ok(gaveUp(events.at(-1)!.info));
    await assert.rejects(peer.call("calculator", "add", 1, 2), gaveUp);
  } finally {
    await peer.close();
  }
});

test("with reconnect: false a drop closes the peer: in-flight calls fail, later calls fail with 'closed'", async () => {
  const server = await TestNetronServer.start({ transport: "tcp" });
  const peer = await connect(server.address, { reconnect: false });
  const events = recordEvents(peer);
  try {
    const inFlight = assert.rejects(peer.call("calculator", "slow", 5000, "x"), (error: NetronClientError) => error.reason === "connection-lost");
    await server.waitForLog((entry) => entry === "call calculator@1.0.0.slow");
    await server.stop();
    await inFlight;
    assert.equal(peer.state, "closed");
    assert.deepEqual(
      events.map((e) => [e.name, e.info?.willReconnect]),
      [
        ["disconnect", false],
        ["close", undefined],
      ],
    );
    await assert.rejects(peer.call("calculator", "add", 1, 2), (error: TitanError) => error.code === 503 && /reconnect is off, so the peer is closed/.test(error.message));
  } finally {
    await peer.close();
  }
});

test("close() during reconnection stops it and fails the waiting calls", async () => {
  const server = await TestNetronServer.start({ transport: "tcp" });
  const peer = await connect(server.address, { reconnect: { minDelay: 20, jitter: 0 } });
  const events = recordEvents(peer);
  try {
    await server.stop();
    await until(() => events.some((e) => e.name === "reconnecting"), "a reconnection attempt");
    const waiting = assert.rejects(peer.call("calculator", "add", 1, 2), (error: NetronClientError) => error.reason === "closed");
    await peer.close();
    await waiting;
    const attempts = events.filter((e) => e.name === "reconnecting").length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(events.filter((e) => e.name === "reconnecting").length, attempts, "no attempt after close()");
  } finally {
    await server.stop();
  }
});

test("a refused re-authentication after a reconnection is an error event, and calls then run unauthenticated", async () => {
  const options = { transport: "tcp" as const, token: "first-token" };
  const server = await TestNetronServer.start(options);
  const peer = await connect(server.address, { auth: { token: "first-token" }, reconnect: { minDelay: 10 } });
  const events = recordEvents(peer);
  try {
    options.token = "rotated-token";
    await server.restart();
    await until(() => events.some((e) => e.name === "reconnect"), "the reconnection");
    const error = events.find((e) => e.name === "error")?.info as NetronClientError;
    assert.equal(error?.reason, "auth-failed");
    assert.match(error.message, /re-authenticating with .* after a reconnection was refused: invalid token; calls now run unauthenticated/);
    await assert.rejects(peer.call("secure", "whoami"), (e: TitanError) => e.code === 401);
  } finally {
    await peer.close();
    await server.stop();
  }
});

test("a throwing lifecycle listener or event handler is reported as an error event and changes nothing", async () => {
  const server = await TestNetronServer.start({ transport: "tcp" });
  const peer = await connect(server.address, { reconnect: { minDelay: 10 } });
  const errors: Error[] = [];
  peer.on("error", (error) => void errors.push(error));
  peer.on("disconnect", () => {
    throw new Error("listener bug");
  });
  try {
    await peer.subscribe("tick", () => {
      throw new Error("handler bug");
    });
    assert.equal(await server.emit("tick"), 1, "the emit is still answered");
    const reconnected = new Promise((resolve) => peer.once("reconnect", resolve));
    server.dropConnections();
    await reconnected;
    assert.equal(peer.state, "open");
    assert.deepEqual(
      errors.map((error) => error.message),
      ['a handler of the "tick" event threw: handler bug', "a disconnect listener threw: listener bug"],
    );
  } finally {
    await peer.close();
    await server.stop();
  }
});

test("backoffDelay: minDelay * factor^n capped at maxDelay, shortened by up to `jitter` of it", () => {
  const options = { retries: Infinity, minDelay: 100, maxDelay: 5000, factor: 2, jitter: 0 };
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 10].map((n) => backoffDelay(n, options)),
    [100, 200, 400, 800, 1600, 3200, 5000, 5000],
  );
  const jittered = { ...options, jitter: 0.5 };
  assert.equal(backoffDelay(3, jittered, () => 0), 800);
  assert.equal(backoffDelay(3, jittered, () => 1), 400);
  assert.equal(backoffDelay(3, jittered, () => 0.5), 600);
});

describe("reconnect options are checked", () => {
  for (const [reconnect, message] of [
    [{ factor: 0.5 }, /reconnect.factor must be a number >= 1, got number 0.5/],
    [{ jitter: 2 }, /reconnect.jitter must be a fraction from 0 to 1, got number 2/],
    [{ minDelay: 500, maxDelay: 100 }, /reconnect.maxDelay must be milliseconds >= minDelay \(500\), got number 100/],
    [{ retries: -1 }, /reconnect.retries must be a whole number >= 0 or Infinity/],
  ] as const) {
    test(JSON.stringify(reconnect), async () => {
      await assert.rejects(connect("tcp://127.0.0.1:1", { reconnect }), (error: Error) => error instanceof TypeError && message.test(error.message));
    });
  }
});
