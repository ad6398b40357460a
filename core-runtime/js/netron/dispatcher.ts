// The worker's side of Netron: turns the jobs the core queues for this isolate (request packets,
// "stream may continue", "connection closed") into the frames to write back, and answers Netron's
// HTTP JSON invocation. Connections are pinned to the worker that accepted them, so their state
// (authentication, open streams) lives here without locks.

import {
  FrameBatch,
  PacketType,
  StreamReference,
  TitanError,
  decodePacket,
  encodePacket,
  errorResponseTo,
  responseTo,
  type Packet,
} from "./codec.js";
import { X509Certificate } from "node:crypto";
import { asTitanError, checkOutput, invoke, readProperty, withCaller, writeProperty, type CallerContext, type ContractSchema, type PeerIdentity, type ServiceRegistry } from "./services.js";

/** How the core hands a Netron job to JS: `[kind, connection, payload]`. */
export const enum NetronJobKind {
  Packet = 1,
  Continue = 2,
  Closed = 3,
  /** Who the peer proved to be in its transport's handshake (payload: a JSON object's text). */
  Peer = 4,
}
export type RawNetronJob = [NetronJobKind, number, Uint8Array | number[] | string | null];

/** What to write back for one job. */
export interface NetronReply {
  /** The packets to write, each behind its u32 BE length (see `FrameBatch`); a view, valid until the next job. */
  frames: Uint8Array;
  /** Streams to run another turn of once these frames are written. */
  continueStreams: number[] | null;
}

/** Checks a bearer token; returns its claims or throws with the reason. */
export type TokenVerifier = (token: string) => Record<string, unknown>;

export interface DispatcherOptions {
  serverId: string;
  verifyToken?: TokenVerifier;
  /** Chunks a stream produces per turn before yielding the worker to other jobs. */
  streamBatch?: number;
  /** Bytes a stream produces per turn, at most (checked after each chunk). */
  streamBatchBytes?: number;
  onError?: (message: string, error: unknown) => void;
}

interface OpenStream {
  iterator: Iterator<unknown>;
  output?: ContractSchema;
  where: string;
  index: number;
}

interface ConnectionState {
  caller: CallerContext;
  streams: Map<number, OpenStream>;
  nextStreamId: number;
}

export class NetronDispatcher {
  private readonly connections = new Map<number, ConnectionState>();
  private nextPacketId = 0;
  /** The answers to the job being handled: one buffer, reused for every job. */
  private readonly out = new FrameBatch();
  private readonly streamBatch: number;
  private readonly streamBatchBytes: number;

  constructor(
    readonly registry: ServiceRegistry,
    private readonly options: DispatcherOptions,
  ) {
    this.streamBatch = options.streamBatch ?? 64;
    this.streamBatchBytes = options.streamBatchBytes ?? 256 * 1024;
  }

  /** Open streams on all connections (for tests and diagnostics). */
  get openStreams(): number {
    let count = 0;
    for (const state of this.connections.values()) count += state.streams.size;
    return count;
  }

  handle(job: RawNetronJob): NetronReply {
    const [kind, connection, payload] = job;
    this.out.clear();
    let continueStreams: number[] | null = null;
    switch (kind) {
      case NetronJobKind.Packet:
        continueStreams = this.handlePacket(connection, payload as Uint8Array);
        break;
      case NetronJobKind.Continue:
        continueStreams = this.continueStreams(connection, payload as number[]);
        break;
      case NetronJobKind.Closed:
        this.close(connection);
        break;
      case NetronJobKind.Peer:
        this.state(connection).caller.peer = peerIdentity(payload as string, this.options.onError);
        break;
    }
    return { frames: this.out.bytes(), continueStreams };
  }

  /** The TASK `emit` packet subscribers of `event` receive. */
  emitPacket(event: string, args: unknown[]): Uint8Array {
    return encodePacket({ id: this.packetId(), type: PacketType.TASK, impulse: 1, error: false, eos: false, live: false, data: ["emit", event, ...args] });
  }

  private state(connection: number): ConnectionState {
    let state = this.connections.get(connection);
    if (!state) {
      state = { caller: { transport: "netron" }, streams: new Map(), nextStreamId: 0 };
      this.connections.set(connection, state);
    }
    return state;
  }

  private close(connection: number): void {
    const state = this.connections.get(connection);
    if (!state) return;
    this.connections.delete(connection);
    for (const stream of state.streams.values()) stopIterator(stream.iterator);
  }

  private packetId(): number {
    this.nextPacketId = (this.nextPacketId + 1) >>> 0 || 1;
    return this.nextPacketId;
  }

  /** Answers one request packet into `out`; returns the streams it opened that want another turn. */
  private handlePacket(connection: number, body: Uint8Array): number[] | null {
    let packet: Packet;
    try {
      packet = decodePacket(body);
    } catch (error) {
      // The core decoded it already; only a codec disagreement lands here.
      this.options.onError?.("a netron packet the core accepted did not decode in JS", error);
      return null;
    }
    const state = this.state(connection);
    try {
      switch (packet.type) {
        case PacketType.CALL:
          return this.call(state, packet);
        case PacketType.TASK:
          this.out.add(responseTo(packet, this.task(state, packet)));
          return null;
        case PacketType.GET: {
          const [ref, name] = Array.isArray(packet.data) ? packet.data : [];
          this.out.add(responseTo(packet, readProperty(this.registry.resolve(ref), name, state.caller)));
          return null;
        }
        case PacketType.SET: {
          const [ref, name] = Array.isArray(packet.data) ? packet.data : [];
          return writeProperty(this.registry.resolve(ref), name);
        }
        case PacketType.STREAM_CLOSE: {
          const streamId = Number((packet.data as { streamId?: unknown } | null)?.streamId);
          const stream = state.streams.get(streamId);
          if (stream) {
            state.streams.delete(streamId);
            stopIterator(stream.iterator);
          }
          return null;
        }
        case PacketType.STREAM_ERROR:
          return null;
        default:
          throw new TitanError({ code: 400, message: `packet type ${packet.type} is not a request Titan serves` });
      }
    } catch (error) {
      this.out.add(errorResponseTo(packet, asTitanError(error, "netron")));
      return null;
    }
  }

  private call(state: ConnectionState, packet: Packet): number[] | null {
    if (!Array.isArray(packet.data) || packet.data.length < 2) {
      throw new TitanError({ code: 400, message: "a CALL carries [service, method, ...args]" });
    }
    const [ref, method, ...args] = packet.data as unknown[];
    const service = this.registry.resolve(ref);
    const outcome = invoke(service, method, args, state.caller);
    if (outcome.kind === "value") {
      this.out.add(responseTo(packet, outcome.value));
      return null;
    }
    state.nextStreamId = (state.nextStreamId + 1) >>> 0 || 1;
    const streamId = state.nextStreamId;
    state.streams.set(streamId, { iterator: outcome.iterator, output: outcome.output, where: outcome.where, index: 0 });
    this.out.add(responseTo(packet, new StreamReference(streamId, "writable", true, this.options.serverId)));
    return this.produce(state, streamId) ? [streamId] : null;
  }

  private continueStreams(connection: number, streamIds: number[]): number[] | null {
    const state = this.connections.get(connection);
    if (!state) return null;
    const more = streamIds.filter((streamId) => this.produce(state, streamId));
    return more.length ? more : null;
  }

  /** Runs one turn of a stream into `out`: up to `streamBatch` chunks, then EOS, an error, or
   * "continue". Returns whether the stream wants another turn. */
  private produce(state: ConnectionState, streamId: number): boolean {
    const stream = state.streams.get(streamId);
    if (!stream) return false;
    let bytes = 0;
    const chunk = (data: unknown, eos: boolean): number =>
      this.out.add({ id: this.packetId(), type: PacketType.STREAM, impulse: 1, error: false, eos, live: true, stream: { id: streamId, index: stream.index++ }, data });
    try {
      for (let produced = 0; produced < this.streamBatch && bytes < this.streamBatchBytes; produced++) {
        const step = withCaller(state.caller, () => stream.iterator.next());
        if (step.done) {
          state.streams.delete(streamId);
          chunk(null, true);
          return false;
        }
        bytes += chunk(checkOutput(stream.output, step.value, stream.where), false);
      }
      return true;
    } catch (error) {
      state.streams.delete(streamId);
      stopIterator(stream.iterator);
      const message = asTitanError(error, stream.where).message;
      this.out.add({ id: this.packetId(), type: PacketType.STREAM_ERROR, impulse: 1, error: false, eos: false, live: false, data: { streamId, message } });
      return false;
    }
  }

  private task(state: ConnectionState, packet: Packet): unknown {
    const [name, ...args] = Array.isArray(packet.data) ? (packet.data as unknown[]) : [];
    switch (name) {
      case "query_interface":
        return this.registry.definitionFor(args[0], this.options.serverId);
      case "authenticate":
        return this.authenticate(state, args[0]);
      case "unref_service":
      case "emit":
        return undefined;
      default:
        throw new TitanError({ code: 404, message: `unknown task ${JSON.stringify(name)}: Titan serves query_interface, subscribe, unsubscribe, authenticate, unref_service` });
    }
  }

  private authenticate(state: ConnectionState, credentials: unknown): unknown {
    const token = (credentials as { token?: unknown } | null)?.token;
    if (!this.options.verifyToken) {
      throw new TitanError({ code: 503, message: "Authentication not configured: set netron.auth in titan.config.json", details: { hint: "netron.auth.secret (or secretEnv) verifies tokens with t.jwt" } });
    }
    if (typeof token !== "string" || token.length === 0) {
      return { success: false, error: "authenticate with { token }: Titan verifies JWTs (netron.auth)" };
    }
    try {
      const claims = this.options.verifyToken(token);
      state.caller = { ...state.caller, auth: authOf(claims) };
      return { success: true, context: { userId: claims.sub, roles: claims.roles ?? [], ...claims } };
    } catch (error) {
      state.caller = { transport: "netron", peer: state.caller.peer };
      return { success: false, error: (error as Error).message };
    }
  }

  /** Netron's HTTP JSON invocation (`POST /netron/invoke`): `{ id, service, method, input }`. */
  invokeHttp(body: unknown, authorization: string | undefined): { status: number; body: Record<string, unknown> } {
    const message = (body ?? {}) as { id?: unknown; service?: unknown; method?: unknown; input?: unknown };
    const id = typeof message.id === "string" ? message.id : null;
    try {
      if (typeof body !== "object" || body === null || Array.isArray(body)) {
        throw new TitanError({ code: 400, message: 'the body must be a JSON object { "id", "service", "method", "input" }' });
      }
      let caller: CallerContext = { transport: "http" };
      const bearer = /^Bearer\s+(.+)$/i.exec(authorization ?? "")?.[1];
      if (bearer) {
        if (!this.options.verifyToken) throw new TitanError({ code: 503, message: "Authentication not configured: set netron.auth in titan.config.json" });
        try {
          caller = { transport: "http", auth: authOf(this.options.verifyToken(bearer)) };
        } catch (error) {
          throw new TitanError({ code: 401, message: `the bearer token was refused: ${(error as Error).message}` });
        }
      }
      const service = this.registry.resolve(message.service);
      const args = Array.isArray(message.input) ? message.input : message.input === undefined ? [] : [message.input];
      const outcome = invoke(service, message.method, args, caller);
      let data: unknown;
      if (outcome.kind === "value") {
        data = outcome.value;
      } else {
        // HTTP has no streams here: collect the generator, bounded, as Netron's HTTP server does.
        const items: unknown[] = [];
        for (;;) {
          const step = withCaller(caller, () => outcome.iterator.next());
          if (step.done) break;
          items.push(checkOutput(outcome.output, step.value, outcome.where));
          if (items.length > HTTP_STREAM_LIMIT) {
            stopIterator(outcome.iterator);
            throw new TitanError({ code: 413, message: `${outcome.where} streams more than ${HTTP_STREAM_LIMIT} items: call it over a Netron connection to stream` });
          }
        }
        data = items;
      }
      return { status: 200, body: { id, success: true, data: toJson(data) } };
    } catch (error) {
      const titan = asTitanError(error, "netron.invoke");
      const code = typeof titan.code === "number" ? titan.code : 500;
      return { status: code >= 400 && code < 600 ? code : 500, body: { id, success: false, error: { code: String(code), message: titan.message, details: titan.details } } };
    }
  }
}

const HTTP_STREAM_LIMIT = 10_000;

/** The transport's identity JSON, with its certificate (hex DER) decoded for services. */
function peerIdentity(json: string, onError: DispatcherOptions["onError"]): PeerIdentity {
  let peer: PeerIdentity;
  try {
    peer = JSON.parse(json) as PeerIdentity;
  } catch (error) {
    onError?.("a transport's peer identity is not JSON", error);
    return {};
  }
  if (typeof peer.certificate === "string") {
    try {
      const cert = new X509Certificate(Buffer.from(peer.certificate, "hex"));
      Object.assign(peer, {
        subject: cert.subject,
        issuer: cert.issuer,
        subjectAltName: cert.subjectAltName,
        fingerprint256: cert.fingerprint256,
        serialNumber: cert.serialNumber,
        validTo: cert.validTo,
      });
    } catch (error) {
      onError?.("a transport's peer certificate did not parse", error);
    }
  }
  return peer;
}

function authOf(claims: Record<string, unknown>): NonNullable<CallerContext["auth"]> {
  return { userId: claims.sub, roles: claims.roles, claims };
}

function stopIterator(iterator: Iterator<unknown>): void {
  try {
    iterator.return?.();
  } catch {
    // A generator whose `finally` throws while being stopped: nobody is left to tell.
  }
}

/** JSON can't hold undefined, bigint, Map or Set: give the HTTP caller their nearest JSON forms. */
function toJson(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value === undefined ? null : value, (_key, v) => {
      if (typeof v === "bigint") return v.toString();
      if (v instanceof Map) return Object.fromEntries(v);
      if (v instanceof Set) return [...v];
      return v;
    }),
  );
}
