// Streams from generator methods: early STREAM packets, cancellation by leaving the loop, server
// errors, the bounded buffer of a slow consumer, a connection lost mid-stream, and reordering.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { connect, NetronClientError, RemoteStream, type Peer, type RemoteOf, type TitanError } from "./index.js";
import type { StreamLink } from "./stream.js";
import { calculatorService } from "./testing/calculator.js";
import { TestNetronServer } from "./testing/server.js";

type Calculator = RemoteOf<typeof calculatorService>;

describe("streams over tcp", () => {
  let server: TestNetronServer;
  let peer: Peer;
  let calc: Calculator;
  before(async () => {
    server = await TestNetronServer.start({ transport: "tcp" });
    peer = await connect(server.address, { streamBuffer: 10 });
    calc = await peer.queryInterface(calculatorService);
  });
  after(async () => {
    await peer.close();
    await server.stop();
  });

  test("leaving for await early sends STREAM_CLOSE { streamId, reason: 'cancelled' } and the server stops the generator", async () => {
    server.log.length = 0;
    const items: number[] = [];
    for await (const item of calc.ticks(1000, 5)) {
      items.push(item);
      if (items.length === 3) break;
    }
    assert.deepEqual(items, [1, 2, 3]);
    const closed = await server.waitForLog((entry) => entry.startsWith("stream-close"));
    assert.match(closed, /^stream-close \d+ cancelled$/);
    const stopped = await server.waitForLog((entry) => entry.startsWith("stream-stopped"));
    // Stopped, not run to its end (how many values it made first depends on the machine's load).
    const produced = Number(/after (\d+)/.exec(stopped)![1]);
    assert.ok(produced >= 3 && produced < 1000, `the generator stopped after ${produced} values`);
    assert.equal(server.log.filter((entry) => entry.startsWith("stream-done")).length, 0);
  });

  test("return() before the CALL answer arrives cancels the stream as soon as it does", async () => {
    server.log.length = 0;
    const iterator = calc.ticks(1000, 5)[Symbol.asyncIterator]();
    assert.deepEqual(await iterator.return!(), { value: undefined, done: true });
    await server.waitForLog((entry) => /^stream-close \d+ cancelled$/.test(entry));
    assert.deepEqual(await iterator.next(), { value: undefined, done: true });
  });

  test("STREAM_ERROR rejects the iterator with the server's message, after the values sent before it", async () => {
    const items: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const item of calc.brokenCount(2)) items.push(item);
      })(),
      (error: TitanError) => {
        assert.equal(error.code, 500);
        assert.match(error.message, /^calculator@1.0.0.brokenCount failed on the server: count broke after 2$/);
        return true;
      },
    );
    assert.deepEqual(items, [1, 2]);
  });

  test("a consumer more than streamBuffer chunks behind gets what was buffered, then a 429; the server is told to stop", async () => {
    server.log.length = 0;
    const stream = await calc.count(100);
    await server.waitForLog((entry) => /^stream-close \d+ overflow$/.test(entry));
    const items: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const item of stream) items.push(item);
      })(),
      (error: NetronClientError) => {
        assert.equal(error.code, 429);
        assert.equal(error.reason, "stream-overflow");
        assert.match(error.message, /calculator@1.0.0.count: 11 chunks are waiting for the consumer, over the streamBuffer limit of 10, so the stream was cancelled/);
        return true;
      },
    );
    assert.deepEqual(items, Array.from({ length: 11 }, (_, i) => i + 1));
  });

  test("iterating an ordinary answer with for await is a TypeError that says to await it", async () => {
    await assert.rejects(
      (async () => {
        // @ts-expect-error add's answer is not iterable, on purpose
        for await (const _ of calc.add(1, 2));
      })(),
      /calculator@1.0.0.add answered number 3, not a stream: await the call instead of iterating it with for await/,
    );
  });
});

test("STREAM packets that arrive before the CALL answer are kept for it", async () => {
  const server = await TestNetronServer.start({ transport: "unix", streamBeforeAnswer: true });
  const peer = await connect(server.address);
  try {
    const calc = await peer.queryInterface(calculatorService);
    const items: number[] = [];
    for await (const item of calc.count(5)) items.push(item);
    assert.deepEqual(items, [1, 2, 3, 4, 5]);
    await server.waitForLog((entry) => entry.startsWith("stream-done"));
    // The whole stream, EOS included, arrived before the answer: it is complete all the same.
    const stream = await calc.count(3);
    assert.equal(stream.finished, true);
    assert.equal(stream.buffered, 3);
  } finally {
    await peer.close();
    await server.stop();
  }
});

test("a stream cut by a lost connection fails with connection-lost after the values it got", async () => {
  const server = await TestNetronServer.start({ transport: "ws" });
  const peer = await connect(server.address, { reconnect: false });
  try {
    const calc = await peer.queryInterface(calculatorService);
    const items: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const item of calc.ticks(1000, 5)) {
          items.push(item);
          if (items.length === 2) server.dropConnections();
        }
      })(),
      (error: NetronClientError) => error.reason === "connection-lost" && /^calculator@1.0.0.ticks ended early: the connection to ws:.* was lost/.test(error.message),
    );
    assert.ok(items.length >= 2);
  } finally {
    await peer.close();
    await server.stop();
  }
});

describe("RemoteStream ordering", () => {
  function stream(limit = 100) {
    const closes: string[] = [];
    const link: StreamLink = { limit, what: () => "svc.gen", sendClose: (reason) => void closes.push(reason), settled: () => {} };
    return { stream: new RemoteStream<unknown>(7, link), closes };
  }
  async function drain(remote: RemoteStream<unknown>): Promise<unknown[]> {
    const items: unknown[] = [];
    for await (const item of remote) items.push(item);
    return items;
  }

  test("chunks go out in index order whatever order they arrive in; duplicates are dropped", async () => {
    const { stream: remote } = stream();
    remote.push(2, "c", false);
    remote.push(0, "a", false);
    remote.push(0, "a again", false);
    remote.push(4, null, true);
    remote.push(1, "b", false);
    assert.equal(remote.finished, false, "index 3 is still missing");
    remote.push(3, null, false);
    assert.equal(remote.finished, true);
    assert.deepEqual(await drain(remote), ["a", "b", "c", null]);
  });

  test("an EOS with data is a last value (Netron's reading); with null it is only the end", async () => {
    const { stream: remote } = stream();
    remote.push(0, 1, false);
    remote.push(1, 2, true);
    assert.deepEqual(await drain(remote), [1, 2]);
  });

  test("a consumer waiting before the chunks arrive gets them as they come", async () => {
    const { stream: remote } = stream();
    const drained = drain(remote);
    remote.push(0, "x", false);
    await new Promise((resolve) => setImmediate(resolve));
    remote.push(1, "y", false);
    remote.push(2, null, true);
    assert.deepEqual(await drained, ["x", "y"]);
  });

  test("cancel() drops what is buffered and tells the server once", async () => {
    const { stream: remote, closes } = stream();
    remote.push(0, "x", false);
    remote.cancel();
    remote.cancel();
    remote.push(1, "y", false);
    assert.deepEqual(closes, ["cancelled"]);
    assert.deepEqual(await drain(remote), []);
  });
});
