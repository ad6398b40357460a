// A small Netron server for the client's tests, written with the codec: it does what
// /work/briefs/s3-netron-contract.md says Titan's runtime does (handshake, PING, query_interface,
// CALL, generator streams, subscribe/emit, authenticate) for a calculator service, over tcp, unix,
// tls, ws and wss, and can be stopped, restarted and told to misbehave.

import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { WebSocketServer, type WebSocket } from "ws";
import {
  decodePacket,
  DEFAULT_MAX_FRAME_LENGTH,
  Definition,
  encodeFrame,
  encodeHandshake,
  encodePacket,
  errorResponseTo,
  FrameDecoder,
  isJsonText,
  type Packet,
  PacketType,
  parseHandshake,
  requestPacket,
  responseTo,
  StreamReference,
  TitanError,
} from "../codec.js";
import { calculatorService } from "./calculator.js";

export type TestTransport = "tcp" | "unix" | "tls" | "ws" | "wss";

export interface TestServerOptions {
  transport: TestTransport;
  /** tcp, tls, ws, wss: the port (default: a free one, kept across restarts). */
  port?: number;
  /** unix: the socket path (default: a fresh one in the temp dir); ws/wss: the URL path (default "/netron"). */
  path?: string;
  /** tls and wss: the server's certificate and key (PEM); `ca` + `requestCert` ask for a client certificate. */
  tls?: { cert: string; key: string; ca?: string; requestCert?: boolean };
  /** The one token `authenticate` accepts (default "secret-token"). */
  token?: string;
  /** How the server opens a connection: "id" (Netron's), or a misbehaviour. */
  handshake?: "id" | "none" | "garbage" | "client-id";
  /** Send a generator's STREAM packets (and EOS) before the CALL answer, as Netron may. */
  streamBeforeAnswer?: boolean;
}

/** Methods run with `this` = the connection they were called on (only `secure` uses it). */
type Method = (this: { connection: TestConnection }, ...args: any[]) => unknown;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const secure: Record<string, Method> = {
  whoami() {
    const { connection } = this;
    if (!connection.auth) throw new TitanError({ code: 401, message: "secure@1.0.0 needs an authenticated caller: authenticate with a token first" });
    return connection.auth;
  },
};

const services: Record<string, { name: string; version: string; methods: Record<string, Method> }> = {
  "calculator@1.0.0": calculatorService as { name: string; version: string; methods: Record<string, Method> },
  "secure@1.0.0": { name: "secure", version: "1.0.0", methods: secure },
};
const defIds = new Map(Object.keys(services).map((key) => [key, randomUUID()]));

function resolveService(ref: unknown): { key: string; defId: string } {
  for (const [key, defId] of defIds) {
    if (ref === key || ref === defId || ref === key.split("@")[0]) return { key, defId };
  }
  throw new TitanError({ code: 404, message: `Service '${String(ref)}' not found`, details: { serviceName: ref } });
}

function isIterator(value: unknown): value is AsyncIterator<unknown> | Iterator<unknown> {
  return typeof value === "object" && value !== null && typeof (value as Iterator<unknown>).next === "function";
}

/** One client connection, whatever the transport. */
export class TestConnection {
  clientId: string | undefined;
  auth: Record<string, unknown> | undefined;
  readonly subscriptions = new Set<string>();
  private readonly streams = new Map<number, { stopped: boolean }>();
  private nextStreamId = 0;
  private nextPacketId = 0;
  private readonly acks = new Map<number, () => void>();

  constructor(
    private readonly server: TestNetronServer,
    /** Writes one frame (framed on sockets, one message on ws). */
    readonly sendFrame: (body: Uint8Array) => void,
    /** Writes bytes as they are (on ws: one binary message). */
    readonly sendRaw: (bytes: Uint8Array) => void,
    readonly destroy: () => void,
  ) {
    const mode = server.options.handshake ?? "id";
    if (mode === "id") sendFrame(encodeHandshake({ type: "id", id: server.serverId }));
    else if (mode === "garbage") sendFrame(new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01]));
    else if (mode === "client-id") sendFrame(encodeHandshake({ type: "client-id", id: "not-a-server" }));
  }

  receive(body: Uint8Array): void {
    if (this.clientId === undefined && isJsonText(body)) {
      const handshake = parseHandshake(body);
      this.clientId = handshake.id;
      this.server.record(`connect ${handshake.id}`);
      return;
    }
    let packet: Packet;
    try {
      packet = decodePacket(body);
    } catch {
      this.server.record("dropped");
      return;
    }
    void this.handle(packet);
  }

  private send(packet: Packet): void {
    this.sendFrame(encodePacket(packet));
  }

  private packetId(): number {
    this.nextPacketId = (this.nextPacketId + 1) >>> 0 || 1;
    return this.nextPacketId;
  }

  /** Sends the TASK emit request and resolves when the client answers (false after 2 s). */
  emit(event: string, args: unknown[]): Promise<boolean> {
    const id = this.packetId();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.acks.delete(id);
        resolve(false);
      }, 2000);
      this.acks.set(id, () => {
        clearTimeout(timer);
        resolve(true);
      });
      this.send(requestPacket(id, PacketType.TASK, ["emit", event, ...args]));
    });
  }

  private async handle(packet: Packet): Promise<void> {
    if (packet.impulse === 0) {
      this.acks.get(packet.id)?.();
      this.acks.delete(packet.id);
      return;
    }
    try {
      switch (packet.type) {
        case PacketType.PING:
          this.send(responseTo(packet, packet.data));
          return;
        case PacketType.TASK:
          this.send(responseTo(packet, this.task(packet.data as unknown[])));
          return;
        case PacketType.CALL:
          await this.call(packet);
          return;
        case PacketType.STREAM_CLOSE: {
          const { streamId, reason } = packet.data as { streamId: number; reason: string };
          this.server.record(`stream-close ${streamId} ${reason}`);
          const stream = this.streams.get(streamId);
          if (stream) stream.stopped = true;
          return;
        }
        default:
          throw new TitanError({ code: 404, message: `packet type ${packet.type} is not served here` });
      }
    } catch (error) {
      const titan = error instanceof TitanError ? error : new TitanError({ code: 500, message: (error as Error).message });
      this.send(errorResponseTo(packet, titan));
    }
  }

  private task(data: unknown[]): unknown {
    const [name, arg] = data;
    this.server.record(`task ${String(name)}${typeof arg === "string" ? ` ${arg}` : ""}`);
    switch (name) {
      case "query_interface": {
        const { key, defId } = resolveService(arg);
        const service = services[key]!;
        const methods = Object.fromEntries(Object.keys(service.methods).map((method) => [method, { type: "unknown", arguments: [] }]));
        return new Definition(defId, "", this.server.serverId, { name: service.name, version: service.version, properties: {}, methods });
      }
      case "subscribe":
        this.subscriptions.add(arg as string);
        return undefined;
      case "unsubscribe":
        this.subscriptions.delete(arg as string);
        return undefined;
      case "authenticate": {
        const token = (arg as { token?: unknown } | null)?.token;
        if (token !== (this.server.options.token ?? "secret-token")) {
          this.auth = undefined;
          return { success: false, error: "invalid token" };
        }
        this.auth = { userId: "user-1", roles: ["admin"], sub: "user-1" };
        return { success: true, context: this.auth };
      }
      case "unref_service":
        return undefined;
      default:
        throw new TitanError({ code: 404, message: `unknown task ${JSON.stringify(name)}` });
    }
  }

  private async call(packet: Packet): Promise<void> {
    const [ref, method, ...args] = packet.data as unknown[];
    const { key } = resolveService(ref);
    this.server.record(`call ${key}.${String(method)}`);
    const implementation = services[key]!.methods[method as string];
    if (!implementation) throw new TitanError({ code: 404, message: `${key} has no method ${JSON.stringify(method)}` });
    const result = await implementation.apply({ connection: this }, args);
    if (!isIterator(result)) {
      this.send(responseTo(packet, result));
      return;
    }
    this.nextStreamId += 1;
    const streamId = this.nextStreamId;
    const answer = () => this.send(responseTo(packet, new StreamReference(streamId, "writable", true, this.server.serverId)));
    const early = this.server.options.streamBeforeAnswer ?? false;
    if (!early) answer();
    await this.stream(streamId, result);
    if (early) answer();
  }

  private async stream(streamId: number, iterator: AsyncIterator<unknown> | Iterator<unknown>): Promise<void> {
    const state = { stopped: false };
    this.streams.set(streamId, state);
    const chunk = (index: number, data: unknown, eos: boolean): Packet => ({
      id: this.packetId(),
      type: PacketType.STREAM,
      impulse: 1,
      error: false,
      eos,
      live: true,
      stream: { id: streamId, index },
      data,
    });
    let index = 0;
    try {
      for (;;) {
        // Let a STREAM_CLOSE from the client in between chunks, as the real server does between batches.
        await new Promise((resolve) => setImmediate(resolve));
        if (state.stopped) {
          await iterator.return?.();
          this.server.record(`stream-stopped ${streamId} after ${index}`);
          return;
        }
        const step = await iterator.next();
        if (step.done) break;
        this.send(chunk(index++, step.value, false));
      }
      this.send(chunk(index, null, true));
      this.server.record(`stream-done ${streamId} ${index}`);
    } catch (error) {
      this.send({ ...requestPacket(this.packetId(), PacketType.STREAM_ERROR, { streamId, message: (error as Error).message }) });
      this.server.record(`stream-error ${streamId}`);
    } finally {
      this.streams.delete(streamId);
    }
  }
}

/** The test server. `log` records what it received, in order, for assertions. */
export class TestNetronServer {
  serverId = randomUUID();
  readonly log: string[] = [];
  readonly connections = new Set<TestConnection>();
  private port: number | undefined;
  private readonly path: string;
  private closeListener: (() => Promise<void>) | undefined;

  private constructor(readonly options: TestServerOptions) {
    this.port = options.port;
    this.path = options.path ?? (options.transport === "unix" ? join(tmpdir(), `titan-netron-${randomUUID()}.sock`) : "/netron");
  }

  static async start(options: TestServerOptions): Promise<TestNetronServer> {
    const server = new TestNetronServer(options);
    await server.listen();
    return server;
  }

  /** The address clients connect to. */
  get address(): string {
    switch (this.options.transport) {
      case "unix":
        return `unix://${this.path}`;
      case "ws":
      case "wss":
        return `${this.options.transport}://127.0.0.1:${this.port}${this.path}`;
      default:
        return `${this.options.transport}://127.0.0.1:${this.port}`;
    }
  }

  record(entry: string): void {
    this.log.push(entry);
  }

  /** Resolves once an entry of the log matches, or throws after `timeout` ms. */
  async waitForLog(match: (entry: string) => boolean, timeout = 3000): Promise<string> {
    const until = Date.now() + timeout;
    for (;;) {
      const found = this.log.find(match);
      if (found !== undefined) return found;
      if (Date.now() > until) throw new Error(`the test server's log has no matching entry after ${timeout} ms; log:\n${this.log.join("\n")}`);
      await sleep(5);
    }
  }

  /** Sends `emit` to every connection subscribed to `event`; resolves with how many clients acknowledged. */
  async emit(event: string, ...args: unknown[]): Promise<number> {
    const acks = await Promise.all([...this.connections].filter((c) => c.subscriptions.has(event)).map((c) => c.emit(event, args)));
    return acks.filter(Boolean).length;
  }

  /** Writes bytes as they are to every connection (after the handshake): for garbage and bad frames. */
  sendRaw(bytes: Uint8Array): void {
    for (const connection of this.connections) connection.sendRaw(bytes);
  }

  /** Writes one frame (length-prefixed on sockets, a message on ws) to every connection. */
  sendFrame(body: Uint8Array): void {
    for (const connection of this.connections) connection.sendFrame(body);
  }

  /** Cuts every connection, keeping the listener (a network drop). */
  dropConnections(): void {
    for (const connection of this.connections) connection.destroy();
  }

  /** Stops listening and cuts every connection (a crash). */
  async stop(): Promise<void> {
    const close = this.closeListener;
    this.closeListener = undefined;
    this.dropConnections();
    await close?.();
  }

  /** Starts again on the same address, as a new server process would (a new server id). */
  async restart(): Promise<void> {
    await this.stop();
    this.serverId = randomUUID();
    await this.listen();
  }

  private accept(sendFrame: (body: Uint8Array) => void, sendRaw: (bytes: Uint8Array) => void, destroy: () => void): TestConnection {
    const connection = new TestConnection(this, sendFrame, sendRaw, destroy);
    this.connections.add(connection);
    return connection;
  }

  private async listen(): Promise<void> {
    const { transport } = this.options;
    if (transport === "ws" || transport === "wss") {
      await this.listenWebSocket(transport === "wss");
      return;
    }
    const onSocket = (socket: net.Socket): void => {
      const decoder = new FrameDecoder(DEFAULT_MAX_FRAME_LENGTH);
      const connection = this.accept(
        (body) => socket.write(encodeFrame(body)),
        (bytes) => socket.write(bytes),
        () => socket.destroy(),
      );
      socket.on("data", (chunk) => {
        try {
          for (const frame of decoder.push(chunk)) connection.receive(frame);
        } catch {
          this.record("oversized");
          socket.destroy();
        }
      });
      socket.on("error", () => {});
      socket.on("close", () => this.connections.delete(connection));
    };
    let server: net.Server;
    if (transport === "tls") {
      const settings = this.options.tls;
      if (!settings) throw new Error("the tls test server needs options.tls { cert, key }");
      server = tls.createServer(
        { cert: settings.cert, key: settings.key, ca: settings.ca, requestCert: settings.requestCert ?? false, rejectUnauthorized: settings.requestCert ?? false, minVersion: "TLSv1.3" },
        onSocket,
      );
      server.on("tlsClientError", () => this.record("tls-client-error"));
    } else {
      server = net.createServer(onSocket);
    }
    if (transport === "unix") rmSync(this.path, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      if (transport === "unix") server.listen(this.path, resolve);
      else server.listen(this.port ?? 0, "127.0.0.1", resolve);
    });
    if (transport !== "unix") this.port = (server.address() as net.AddressInfo).port;
    this.closeListener = () => new Promise((resolve) => server.close(() => resolve()));
  }

  private async listenWebSocket(secure: boolean): Promise<void> {
    const settings = this.options.tls;
    if (secure && !settings) throw new Error("the wss test server needs options.tls { cert, key }");
    const httpServer = secure ? https.createServer({ cert: settings!.cert, key: settings!.key, minVersion: "TLSv1.3" }) : http.createServer();
    const wss = new WebSocketServer({ server: httpServer, path: this.path, maxPayload: DEFAULT_MAX_FRAME_LENGTH });
    wss.on("connection", (socket: WebSocket) => {
      const connection = this.accept(
        (body) => socket.send(body, { binary: true }),
        (bytes) => socket.send(bytes, { binary: true }),
        () => socket.terminate(),
      );
      socket.on("message", (data: Buffer) => connection.receive(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
      socket.on("error", () => {});
      socket.on("close", () => this.connections.delete(connection));
    });
    await new Promise<void>((resolve, reject) => {
      httpServer.once("error", reject);
      httpServer.listen(this.port ?? 0, "127.0.0.1", resolve);
    });
    this.port = (httpServer.address() as net.AddressInfo).port;
    this.closeListener = async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    };
  }
}
