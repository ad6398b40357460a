// Netron served by the runtime end to end, at the wire level: a build with JS services, real worker
// isolates each accepting Netron connections on their own I/O loop, raw packets over real tcp,
// unix and ws sockets. (The typed client is tested against the runtime in ext-sdk.)

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect as netConnect, type Socket } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, type TitanServer } from "../../dist/index.js";
import {
  Definition,
  FrameDecoder,
  PacketType,
  StreamReference,
  TitanError,
  decodePacket,
  encodeFrame,
  encodeHandshake,
  encodePacket,
  parseHandshake,
  requestPacket,
  type Packet,
} from "./codec.js";
import { CALCULATOR_SERVICE, signTestJwt, writeServiceBuild } from "./testing/app.js";

const SECRET = "netron-test-secret";

function writeBuild(): string {
  return writeServiceBuild({
    actions: "ping: defineAction(() => ({ pong: true }))",
    routes: [{ method: "GET", path: "/ping", action: "ping" }],
    services: [
      CALCULATOR_SERVICE,
      `defineService({ name: "calculator", version: "2.0.0", methods: { add(a, b) { return (a + b) * 10; } } })`,
      `defineService({ name: "vault", version: "1.0.0", auth: true, methods: { open() { return "opened"; } } })`,
    ],
  });
}

/** A raw Netron peer: frames in, packets out, nothing hidden. */
class RawPeer {
  private readonly decoder = new FrameDecoder();
  private readonly frames: Uint8Array[] = [];
  private waiters: (() => void)[] = [];
  closed = false;
  serverId = "";
  private nextId = 1;

  private constructor(readonly socket: Socket) {
    socket.on("data", (chunk) => {
      for (const frame of this.decoder.push(chunk)) this.frames.push(frame);
      this.flush();
    });
    socket.on("close", () => {
      this.closed = true;
      this.flush();
    });
    socket.on("error", () => {});
  }

  private flush() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  static async open(options: { port: number; host: string } | { path: string }): Promise<RawPeer> {
    const socket = netConnect(options as never);
    await new Promise<void>((ok, fail) => socket.once("connect", ok).once("error", fail));
    const peer = new RawPeer(socket);
    const hello = parseHandshake(await peer.nextFrame());
    assert.equal(hello.type, "id");
    peer.serverId = hello.id;
    peer.send(encodeHandshake({ type: "client-id", id: "test-client" }));
    return peer;
  }

  send(body: Uint8Array) {
    this.socket.write(encodeFrame(body));
  }

  async nextFrame(timeoutMs = 5000): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.closed) throw new Error("connection closed");
      if (Date.now() > deadline) throw new Error("no frame within the timeout");
      await new Promise<void>((ok) => {
        this.waiters.push(ok);
        setTimeout(ok, 50);
      });
    }
    return this.frames.shift()!;
  }

  async nextPacket(timeoutMs?: number): Promise<Packet> {
    return decodePacket(await this.nextFrame(timeoutMs));
  }

  /** Sends a request and returns its answer (other packets before it are kept in `other`). */
  async request(type: Packet["type"], data: unknown, other: Packet[] = []): Promise<Packet> {
    const id = this.nextId++;
    this.send(encodePacket(requestPacket(id, type, data)));
    for (;;) {
      const packet = await this.nextPacket();
      if (packet.id === id && packet.impulse === 0 && packet.type === type) return packet;
      other.push(packet);
    }
  }

  call(service: string, method: string, ...args: unknown[]) {
    return this.request(PacketType.CALL, [service, method, ...args]);
  }

  close() {
    this.socket.destroy();
  }
}


describe("netron served by the runtime's workers", () => {
  let server: TitanServer;
  let tcp: { host: string; port: number };
  let unixPath: string;
  let lines: string[] = [];

  before(async () => {
    unixPath = join(mkdtempSync(join(tmpdir(), "titan-netron-sock-")), "app.sock");
    server = await startServer({
      buildDir: writeBuild(),
      config: { netron: { listen: ["tcp://127.0.0.1:0", `unix://${unixPath}`, "ws://127.0.0.1:0/netron"], auth: { secret: SECRET } } },
      log: (line) => lines.push(line),
    });
    const address = /^tcp:\/\/(.+):(\d+)$/.exec(server.netron!.addresses[0]!)!;
    tcp = { host: address[1]!, port: Number(address[2]) };
  });

  after(async () => {
    await server?.close();
  });

  test("reports its addresses, services and server id", () => {
    assert.equal(server.netron!.addresses.length, 3);
    assert.match(server.netron!.addresses[0]!, /^tcp:\/\/127\.0\.0\.1:[1-9]\d*$/);
    assert.match(server.netron!.addresses[2]!, /^ws:\/\/127\.0\.0\.1:[1-9]\d*\/netron$/);
    assert.deepEqual(
      server.netron!.services.map((s) => `${s.name}@${s.version}`),
      ["calculator@1.0.0", "calculator@2.0.0", "vault@1.0.0"],
    );
    assert.ok(lines.some((line) => line.includes("netron listening on tcp://127.0.0.1:")), lines.join("\n"));
  });

  test("handshake, PING, query_interface and CALL over tcp", async () => {
    const peer = await RawPeer.open(tcp);
    try {
      assert.equal(peer.serverId, server.netron!.serverId);
      const pong = await peer.request(PacketType.PING, "hello");
      assert.equal(pong.data, "hello");
      const definition = (await peer.request(PacketType.TASK, ["query_interface", "calculator@1.0.0"])).data as Definition;
      assert.ok(definition instanceof Definition);
      assert.equal(definition.peerId, server.netron!.serverId);
      const meta = definition.meta as { name: string; version: string; methods: Record<string, { type: string; arguments: unknown[] }> };
      assert.equal(meta.name, "calculator");
      assert.equal(meta.version, "1.0.0");
      assert.deepEqual(Object.keys(meta.methods).sort(), ["add", "announce", "count", "fail", "failing", "forever", "instance", "peer", "thread", "whoami"]);
      assert.equal(meta.methods.count!.type, "stream");
      assert.equal(meta.methods.add!.arguments.length, 2);
      assert.equal((await peer.call(definition.id, "add", 2, 3)).data, 5);
      assert.equal((await peer.call("calculator@1.0.0", "add", 2, 3)).data, 5);
      // A bare name is the newest version.
      assert.equal((await peer.call("calculator", "add", 2, 3)).data, 50);
      const newest = (await peer.request(PacketType.TASK, ["query_interface", "calculator"])).data as Definition;
      assert.equal((newest.meta as { version: string }).version, "2.0.0");
    } finally {
      peer.close();
    }
  });

  test("GET reads declared properties (constants and getters run as the caller); SET is refused as read-only", async () => {
    const peer = await RawPeer.open(tcp);
    try {
      const definition = (await peer.request(PacketType.TASK, ["query_interface", "calculator@1.0.0"])).data as Definition;
      assert.deepEqual((definition.meta as { properties: unknown }).properties, {
        precision: { type: "number", readonly: true },
        caller: { type: "unknown", readonly: true },
        broken: { type: "unknown", readonly: true },
      });
      assert.equal((await peer.request(PacketType.GET, [definition.id, "precision"])).data, 12);
      assert.equal((await peer.request(PacketType.GET, ["calculator@1.0.0", "caller"])).data, "anonymous");
      const token = signTestJwt({ sub: "reader-1" }, SECRET);
      await peer.request(PacketType.TASK, ["authenticate", { token }]);
      assert.equal((await peer.request(PacketType.GET, ["calculator@1.0.0", "caller"])).data, "reader-1");
      const broken = await peer.request(PacketType.GET, ["calculator@1.0.0", "broken"]);
      assert.equal(broken.error, true);
      assert.match((broken.data as TitanError).message, /getter broke/);
      const missing = (await peer.request(PacketType.GET, ["calculator@1.0.0", "add"])).data as TitanError;
      assert.equal(missing.code, 404, "a method is not a property");
      assert.deepEqual((missing.details as { properties: string[] }).properties, ["precision", "caller", "broken"]);
      const set = await peer.request(PacketType.SET, ["calculator@1.0.0", "precision", 3]);
      assert.equal(set.error, true);
      assert.equal((set.data as TitanError).code, 403);
      assert.match((set.data as TitanError).message, /read-only: each worker isolate holds its own copy/);
      assert.equal(((await peer.request(PacketType.SET, ["calculator@1.0.0", "nope", 3])).data as TitanError).code, 404);
      assert.equal((await peer.request(PacketType.GET, ["calculator@1.0.0", "precision"])).data, 12, "unchanged");
    } finally {
      peer.close();
    }
  });

  test("the same over unix and ws", async () => {
    const unixPeer = await RawPeer.open({ path: unixPath });
    try {
      assert.equal((await unixPeer.call("calculator@1.0.0", "add", 40, 2)).data, 42);
    } finally {
      unixPeer.close();
    }
    const { WebSocket } = await import("ws");
    const ws = new WebSocket(server.netron!.addresses[2]!);
    ws.binaryType = "nodebuffer";
    const messages: Buffer[] = [];
    const next = () =>
      new Promise<Buffer>((ok, fail) => {
        const take = () => (messages.length ? ok(messages.shift()!) : setTimeout(take, 10));
        ws.once("error", fail);
        take();
      });
    ws.on("message", (data: Buffer) => messages.push(data));
    await new Promise((ok) => ws.once("open", ok));
    assert.equal(parseHandshake(await next()).type, "id");
    ws.send(encodeHandshake({ type: "client-id", id: "ws-client" }));
    ws.send(encodePacket(requestPacket(9, PacketType.CALL, ["calculator@1.0.0", "add", 1, 2])));
    const answer = decodePacket(await next());
    assert.deepEqual([answer.id, answer.impulse, answer.data], [9, 0, 3]);
    ws.close();
  });

  test("contracts: bad input is a 422 with the issues; unknown service and method are 404", async () => {
    const peer = await RawPeer.open(tcp);
    try {
      const bad = await peer.call("calculator@1.0.0", "add", "2", 3);
      assert.equal(bad.error, true);
      const error = bad.data as TitanError;
      assert.ok(error instanceof TitanError);
      assert.equal(error.code, 422);
      assert.match(error.message, /invalid input for calculator@1\.0\.0\.add: 0: /);
      assert.deepEqual((error.details as { issues: { path: unknown[] }[] }).issues[0]!.path, [0]);
      const missingService = (await peer.call("nope@1.0.0", "add")).data as TitanError;
      assert.equal(missingService.code, 404);
      assert.match(missingService.message, /Service 'nope@1\.0\.0' not found/);
      const missingMethod = (await peer.call("calculator@1.0.0", "divide", 1, 2)).data as TitanError;
      assert.equal(missingMethod.code, 404);
      assert.match(missingMethod.message, /has no method "divide"/);
      const thrown = (await peer.call("calculator@1.0.0", "fail")).data as TitanError;
      assert.deepEqual([thrown.code, thrown.message, (thrown.details as { why: string }).why], [409, "conflict!", "test"]);
      // Inherited properties are not methods.
      const proto = (await peer.call("calculator@1.0.0", "toString")).data as TitanError;
      assert.equal(proto.code, 404);
      // The connection still serves.
      assert.equal((await peer.call("calculator@1.0.0", "add", 1, 1)).data, 2);
    } finally {
      peer.close();
    }
  });

  test("a generator method streams: a StreamReference, indexed chunks, EOS", async () => {
    const peer = await RawPeer.open(tcp);
    try {
      const early: Packet[] = [];
      const answer = await peer.request(PacketType.CALL, ["calculator@1.0.0", "count", 200], early);
      const reference = answer.data as StreamReference;
      assert.ok(reference instanceof StreamReference);
      const chunks: Packet[] = [...early];
      while (!chunks.some((p) => p.eos)) chunks.push(await peer.nextPacket());
      const data = chunks.filter((p) => !p.eos).map((p) => p.data);
      assert.deepEqual(data, Array.from({ length: 200 }, (_, i) => i));
      assert.ok(chunks.every((p) => p.type === PacketType.STREAM && p.stream!.id === reference.streamId && p.impulse === 1));
      assert.deepEqual(chunks.map((p) => p.stream!.index), Array.from({ length: 201 }, (_, i) => i));
      const failing = await peer.request(PacketType.CALL, ["calculator@1.0.0", "failing"]);
      const failingId = (failing.data as StreamReference).streamId;
      const rest: Packet[] = [];
      while (!rest.some((p) => p.type === PacketType.STREAM_ERROR)) rest.push(await peer.nextPacket());
      const streamError = rest.find((p) => p.type === PacketType.STREAM_ERROR)!;
      assert.deepEqual(streamError.data, { streamId: failingId, message: "generator broke" });
    } finally {
      peer.close();
    }
  });

  test("an endless stream stops on STREAM_CLOSE and the worker keeps serving", async () => {
    const peer = await RawPeer.open(tcp);
    try {
      const answer = await peer.request(PacketType.CALL, ["calculator@1.0.0", "forever"]);
      const { streamId } = answer.data as StreamReference;
      let seen = 0;
      while (seen < 500) if ((await peer.nextPacket()).type === PacketType.STREAM) seen++;
      peer.send(encodePacket(requestPacket(77, PacketType.STREAM_CLOSE, { streamId, reason: "cancelled" })));
      // Chunks written before the close may still arrive; the call after them is answered, and
      // then the connection goes quiet.
      assert.equal((await peer.call("calculator@1.0.0", "add", 2, 2)).data, 4);
      await assert.rejects(peer.nextFrame(300), /no frame within the timeout/, "the stream kept producing after STREAM_CLOSE");
    } finally {
      peer.close();
    }
  });

  test("events: subscribers on any worker get emit tasks; unsubscribe stops them", async () => {
    // Subscribers on both worker threads (the kernel spreads accepts; `thread()` says where each landed).
    const subscribers = [await RawPeer.open({ path: unixPath })];
    const threads = new Set([(await subscribers[0]!.call("calculator@1.0.0", "thread")).data]);
    while (threads.size < 2 && subscribers.length < 32) {
      const peer = await RawPeer.open(tcp);
      subscribers.push(peer);
      threads.add((await peer.call("calculator@1.0.0", "thread")).data);
    }
    assert.equal(threads.size, 2, "subscribers on both workers");
    const emitter = await RawPeer.open(tcp);
    try {
      for (const peer of subscribers) assert.equal((await peer.request(PacketType.TASK, ["subscribe", "user.created"])).data, undefined);
      const reached = (await emitter.call("calculator@1.0.0", "announce", "ada")).data as number;
      assert.equal(reached, 2, "both workers got the event");
      for (const peer of subscribers) {
        const event = await peer.nextPacket();
        assert.deepEqual([event.type, event.impulse, event.data], [PacketType.TASK, 1, ["emit", "user.created", { name: "ada" }]]);
      }
      await subscribers[0]!.request(PacketType.TASK, ["unsubscribe", "user.created"]);
      await emitter.call("calculator@1.0.0", "announce", "bob");
      for (const peer of subscribers.slice(1)) assert.deepEqual((await peer.nextPacket()).data, ["emit", "user.created", { name: "bob" }]);
      await assert.rejects(subscribers[0]!.nextFrame(300), /no frame within the timeout/);
    } finally {
      for (const peer of [...subscribers, emitter]) peer.close();
    }
  });

  test("authenticate with a JWT gates auth services; a bad token is refused", async () => {
    const peer = await RawPeer.open(tcp);
    try {
      const denied = (await peer.call("vault@1.0.0", "open")).data as TitanError;
      assert.equal(denied.code, 401);
      const refused = (await peer.request(PacketType.TASK, ["authenticate", { token: "not.a.jwt" }])).data as { success: boolean; error: string };
      assert.equal(refused.success, false);
      assert.ok(refused.error.length > 0);
      const token = signTestJwt({ sub: "user-7", roles: ["admin"] }, SECRET);
      const ok = (await peer.request(PacketType.TASK, ["authenticate", { token }])).data as { success: boolean; context: { userId: string; roles: string[] } };
      assert.equal(ok.success, true);
      assert.deepEqual([ok.context.userId, ok.context.roles], ["user-7", ["admin"]]);
      assert.equal((await peer.call("vault@1.0.0", "open")).data, "opened");
      assert.equal((await peer.call("calculator@1.0.0", "whoami")).data, "user-7");
      assert.equal((await peer.request(PacketType.TASK, ["unref_service", "whatever"])).data, undefined);
    } finally {
      peer.close();
    }
  });

  test("bad input: garbage is dropped, unknown tasks and properties are errors, an oversized frame closes only that connection", async () => {
    const peer = await RawPeer.open(tcp);
    const bystander = await RawPeer.open(tcp);
    try {
      // Undecodable packets are dropped; the connection keeps serving.
      peer.send(Uint8Array.from([0, 0, 0, 1, 0x43, 0xc1]));
      assert.equal((await peer.call("calculator@1.0.0", "add", 3, 4)).data, 7);
      // Unknown tasks and properties answer errors.
      assert.equal(((await peer.request(PacketType.TASK, ["reboot"])).data as TitanError).code, 404);
      assert.equal(((await peer.request(PacketType.GET, ["calculator@1.0.0", "x"])).data as TitanError).code, 404);
      assert.equal(((await peer.request(PacketType.GET, ["calculator@1.0.0", { not: "a name" }])).data as TitanError).code, 404);
      // A length prefix over 16 MiB closes that connection.
      peer.socket.write(Uint8Array.from([0x01, 0x00, 0x00, 0x01, 0, 0, 0]));
      await assert.rejects(peer.nextFrame(3000), /connection closed/);
      assert.equal((await bystander.call("calculator@1.0.0", "add", 1, 2)).data, 3);
    } finally {
      peer.close();
      bystander.close();
    }
  });

  test("an unknown packet type gets an error answer with its id", async () => {
    const peer = await RawPeer.open(tcp);
    try {
      peer.send(Uint8Array.from([0, 0, 0, 42, 0x40 | 9, 0xc0]));
      const frame = await peer.nextFrame();
      assert.deepEqual([...frame.subarray(0, 4)], [0, 0, 0, 42]);
      assert.equal(frame[4]! & 0x0f, 9);
      assert.equal(frame[4]! & 0x80, 0x80, "error bit");
      assert.equal(frame[4]! & 0x40, 0, "a response");
    } finally {
      peer.close();
    }
  });

  test("POST /netron/invoke on the HTTP port", async () => {
    const invoke = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${server.url}/netron/invoke`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
    const ok = await invoke({ id: "r1", service: "calculator@1.0.0", method: "add", input: [2, 3] });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { id: "r1", success: true, data: 5 });
    const streamed = await invoke({ id: "r2", service: "calculator@1.0.0", method: "count", input: 3 });
    assert.deepEqual(await streamed.json(), { id: "r2", success: true, data: [0, 1, 2] });
    const bad = await invoke({ id: "r3", service: "calculator@1.0.0", method: "add", input: ["x", 1] });
    assert.equal(bad.status, 422);
    const badBody = (await bad.json()) as { success: boolean; error: { code: string; details: { issues: unknown[] } } };
    assert.equal(badBody.success, false);
    assert.equal(badBody.error.code, "422");
    assert.ok(badBody.error.details.issues.length > 0);
    assert.equal((await invoke({ id: "r4", service: "vault@1.0.0", method: "open" })).status, 401);
    const token = signTestJwt({ sub: "u1" }, SECRET);
    const opened = await invoke({ id: "r5", service: "vault@1.0.0", method: "open" }, { authorization: `Bearer ${token}` });
    assert.deepEqual(await opened.json(), { id: "r5", success: true, data: "opened" });
    assert.equal((await invoke({ id: "r6", service: "vault@1.0.0", method: "open" }, { authorization: "Bearer nope" })).status, 401);
    assert.equal((await invoke([1, 2])).status, 400);
    // Actions still answer next to it.
    assert.deepEqual(await (await fetch(`${server.url}/ping`)).json(), { pong: true });
  });
});
