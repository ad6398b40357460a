// The Netron client: `connect(address)` gives a Peer that calls services (typed proxies, streams),
// subscribes to events, authenticates, and reconnects with backoff after a drop, restoring its
// authentication and subscriptions before anything else is sent.

import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { parseAddress, type NetronAddress } from "./address.js";
import {
  decodePacket,
  DEFAULT_MAX_FRAME_LENGTH,
  Definition,
  encodePacket,
  errorResponseTo,
  NetronEncodeError,
  type Packet,
  PacketType,
  type PacketTypeId,
  requestPacket,
  responseTo,
  StreamReference,
  TitanError,
} from "./codec.js";
import { asRemoteError, ErrorCode, NetronClientError, summarize } from "./errors.js";
import { createRemote, qualifiedName, remoteCall, type Remote, type RemoteCall, type RemoteOf, type ServiceDefinitionLike } from "./remote.js";
import { RemoteStream } from "./stream.js";
import { clampTimer, openSession, type FrameTransport, type Session, type TlsOptions, type TransportOptions } from "./transport.js";

/** Backoff between reconnection attempts: `minDelay * factor^n`, capped at `maxDelay`, minus jitter. */
export interface ReconnectOptions {
  /** Attempts before giving up (default Infinity). */
  retries?: number;
  /** The first delay, in ms (default 100). */
  minDelay?: number;
  /** The longest delay, in ms (default 5000). */
  maxDelay?: number;
  /** How much each delay grows (default 2). */
  factor?: number;
  /** 0..1: each delay is shortened by up to this fraction, at random, so clients don't reconnect in lockstep (default 0.5). */
  jitter?: number;
}

/** Options of {@link connect}. */
export interface ConnectOptions {
  /** How long a call waits for its answer, in ms, including any wait for a reconnection (default 30000). */
  timeout?: number;
  /** How long opening the connection (TCP, TLS, WebSocket upgrade) may take, in ms (default 10000). */
  connectTimeout?: number;
  /** How long to wait for the server's Netron id message once connected, in ms (default 10000). */
  handshakeTimeout?: number;
  /** Reconnect after a drop (the default, with the defaults of {@link ReconnectOptions}), or `false`. */
  reconnect?: ReconnectOptions | false;
  /** Authenticate right after connecting, and again after every reconnection before anything else. */
  auth?: AuthCredentials;
  /** For `tls://` and `wss://`. */
  tls?: TlsOptions;
  /** The largest frame sent or accepted, in bytes (default 16 MiB, Netron's limit; keep it equal on both sides). */
  maxFrameLength?: number;
  /** The most chunks a stream keeps waiting for its consumer before it is cancelled (default 1024). */
  streamBuffer?: number;
  /** This client's peer id, sent in the handshake (default: a random UUID). */
  clientId?: string;
}

/** Options of one call or of a proxy's calls. */
export interface CallOptions {
  /** Overrides the peer's `timeout` (ms). */
  timeout?: number;
}

/** What `authenticate` sends. */
export interface AuthCredentials {
  token: string;
}

/** The server's answer to `authenticate`. */
export interface AuthResult {
  success: boolean;
  /** On success: who the server now takes this connection for. */
  context?: { userId?: unknown; roles?: unknown; [claim: string]: unknown };
  /** On failure: why. */
  error?: string;
}

/** A handler of a server event: gets the event's arguments. */
export type EventHandler = (...args: any[]) => unknown;

/** The peer's lifecycle events. `error` is only emitted when someone listens (it never crashes the process). */
export interface PeerEvents {
  /** The connection dropped; `willReconnect` says whether reconnection starts. */
  disconnect: [info: { error: NetronClientError; willReconnect: boolean }];
  /** A reconnection attempt is about to start after `delay` ms. */
  reconnecting: [info: { attempt: number; delay: number; error: Error }];
  /** The connection is back (authentication and subscriptions restored). */
  reconnect: [info: { attempts: number; serverId: string }];
  /** The peer is closed for good: by `close()` (no error) or because reconnection gave up or is off. */
  close: [error?: NetronClientError];
  /** Something went wrong that no call can report: an undecodable packet, a throwing event handler, a refused re-authentication. */
  error: [error: Error];
}

/** `open`: calls go out; `reconnecting`: calls wait (up to their timeout); `closed`: calls fail. */
export type PeerState = "open" | "reconnecting" | "closed";

const DEFAULTS = {
  timeout: 30_000,
  connectTimeout: 10_000,
  handshakeTimeout: 10_000,
  streamBuffer: 1024,
};

const RECONNECT_DEFAULTS: Required<ReconnectOptions> = { retries: Infinity, minDelay: 100, maxDelay: 5000, factor: 2, jitter: 0.5 };

/** Streams that arrived before their CALL answer, kept at most this many at once. */
const MAX_UNCLAIMED_STREAMS = 256;
/** Stream ids remembered after their end, so late packets for them are dropped instead of starting a new stream. */
const FINISHED_STREAM_MEMORY = 4096;

/** Connects to a Netron server (`tcp://`, `unix://`, `ws://`, `wss://`, `tls://`) and completes the handshake. */
export async function connect(address: string, options: ConnectOptions = {}): Promise<Peer> {
  const settings = checkOptions(options);
  const parsed = parseAddress(address);
  const session = await openSession(parsed, settings.transport);
  const peer = new Peer(parsed, settings, session);
  if (options.auth) {
    let result: AuthResult;
    try {
      result = await peer.authenticate(options.auth);
    } catch (error) {
      await peer.close();
      throw error;
    }
    if (!result.success) {
      await peer.close();
      throw new NetronClientError("auth-failed", ErrorCode.UNAUTHORIZED, `${address} refused the auth token: ${result.error ?? "no reason given"}`, {
        details: { address },
      });
    }
  }
  return peer;
}

/** The delay before reconnection attempt `attempt` (0-based). */
export function backoffDelay(attempt: number, options: Required<ReconnectOptions>, random: () => number = Math.random): number {
  const base = Math.min(options.maxDelay, options.minDelay * options.factor ** attempt);
  return Math.round(base * (1 - options.jitter * random()));
}

interface Settings {
  timeout: number;
  streamBuffer: number;
  reconnect: Required<ReconnectOptions> | false;
  transport: TransportOptions;
}

function checkOptions(options: ConnectOptions): Settings {
  if (options === null || typeof options !== "object") throw new TypeError(`connect(address, options): options must be an object, got ${summarize(options)}`);
  const duration = (name: string, value: unknown, fallback: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !(value > 0)) throw new TypeError(`connect(): ${name} must be a number of milliseconds > 0 (Infinity for none), got ${summarize(value)}`);
    return value;
  };
  const count = (name: string, value: unknown, fallback: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1) throw new TypeError(`connect(): ${name} must be a whole number >= 1, got ${summarize(value)}`);
    return value;
  };
  let reconnect: Settings["reconnect"] = false;
  if (options.reconnect !== false) {
    const given = options.reconnect ?? {};
    if (typeof given !== "object" || given === null) throw new TypeError(`connect(): reconnect must be false or an object { retries, minDelay, maxDelay, factor, jitter }, got ${summarize(given)}`);
    reconnect = { ...RECONNECT_DEFAULTS, ...stripUndefined(given) };
    const { retries, minDelay, maxDelay, factor, jitter } = reconnect;
    if (typeof retries !== "number" || !(retries >= 0) || (retries !== Infinity && !Number.isInteger(retries))) {
      throw new TypeError(`connect(): reconnect.retries must be a whole number >= 0 or Infinity, got ${summarize(retries)}`);
    }
    if (typeof minDelay !== "number" || !(minDelay >= 0) || !Number.isFinite(minDelay)) throw new TypeError(`connect(): reconnect.minDelay must be milliseconds >= 0, got ${summarize(minDelay)}`);
    if (typeof maxDelay !== "number" || !(maxDelay >= minDelay) || !Number.isFinite(maxDelay)) {
      throw new TypeError(`connect(): reconnect.maxDelay must be milliseconds >= minDelay (${minDelay}), got ${summarize(maxDelay)}`);
    }
    if (typeof factor !== "number" || !(factor >= 1)) throw new TypeError(`connect(): reconnect.factor must be a number >= 1, got ${summarize(factor)}`);
    if (typeof jitter !== "number" || !(jitter >= 0 && jitter <= 1)) throw new TypeError(`connect(): reconnect.jitter must be a fraction from 0 to 1, got ${summarize(jitter)}`);
  }
  if (options.auth !== undefined) checkCredentials(options.auth, "connect(): auth");
  if (options.clientId !== undefined && (typeof options.clientId !== "string" || options.clientId === "")) {
    throw new TypeError(`connect(): clientId must be a non-empty string, got ${summarize(options.clientId)}`);
  }
  return {
    timeout: duration("timeout", options.timeout, DEFAULTS.timeout),
    streamBuffer: count("streamBuffer", options.streamBuffer, DEFAULTS.streamBuffer),
    reconnect,
    transport: {
      connectTimeout: duration("connectTimeout", options.connectTimeout, DEFAULTS.connectTimeout),
      handshakeTimeout: duration("handshakeTimeout", options.handshakeTimeout, DEFAULTS.handshakeTimeout),
      maxFrameLength: count("maxFrameLength", options.maxFrameLength, DEFAULT_MAX_FRAME_LENGTH),
      clientId: options.clientId ?? randomUUID(),
      tls: options.tls,
    },
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function checkCredentials(credentials: unknown, where: string): asserts credentials is AuthCredentials {
  const token = (credentials as { token?: unknown } | null)?.token;
  if (typeof token !== "string" || token === "") throw new TypeError(`${where} must be { token: "<non-empty string>" }, got ${summarize(credentials)}`);
}

/** A call's time: its whole timeout (for messages) and when it runs out, across waiting, lookups and the answer. */
interface Budget {
  readonly timeout: number;
  readonly deadline: number;
}

function budgetOf(timeout: number): Budget {
  return { timeout, deadline: performance.now() + timeout };
}

/** What is left of a budget, in ms; Infinity for none. */
function remaining(budget: Budget): number {
  return Math.max(1, budget.deadline - performance.now());
}

/** A request sent and not answered yet. */
interface PendingRequest {
  id: number;
  what: string;
  resolve: (data: unknown) => void;
  reject: (error: unknown) => void;
  timer: NodeJS.Timeout | undefined;
}

/** A caller waiting for the connection to come back. */
interface OpenWaiter {
  resolve: () => void;
  reject: (error: unknown) => void;
  timer: NodeJS.Timeout | undefined;
}

interface StreamEntry {
  stream: RemoteStream;
  /** The CALL answer naming this stream has arrived. */
  claimed: boolean;
  what: string;
  /** For unclaimed streams: cancels them if no answer claims them in time. */
  timer: NodeJS.Timeout | undefined;
}

/** A connection to one Netron server. Create it with {@link connect}. */
export class Peer extends EventEmitter<PeerEvents> {
  /** This client's peer id (kept across reconnections). */
  readonly id: string;
  /** The address connected to, as given. */
  readonly address: string;
  private currentServerId: string;
  private currentState: PeerState = "open";
  private transport: FrameTransport | undefined;
  private closeError: NetronClientError | undefined;
  private closing: Promise<void> | undefined;
  private nextRequestId = 0;
  private readonly pending = new Map<number, PendingRequest>();
  private readonly openWaiters = new Set<OpenWaiter>();
  private readonly streams = new Map<number, StreamEntry>();
  private readonly finishedStreams = new Set<number>();
  /** Event handlers, by event name: what the user asked for; survives reconnections. */
  private readonly handlers = new Map<string, Set<EventHandler>>();
  /** The events the current connection is subscribed to on the server (the promise of the subscribe task). */
  private readonly serverSubscriptions = new Map<string, Promise<void>>();
  /** query_interface answers, by the name asked for; cleared with each connection. */
  private readonly definitions = new Map<string, Promise<Definition>>();
  private credentials: AuthCredentials | undefined;
  private reconnectSleep: { timer: NodeJS.Timeout; wake: (proceed: boolean) => void } | undefined;
  private dropped = 0;

  /** @internal Use {@link connect}. */
  constructor(
    private readonly target: NetronAddress,
    private readonly settings: Settings,
    session: Session,
  ) {
    super();
    this.id = settings.transport.clientId;
    this.address = target.text;
    this.currentServerId = session.serverId;
    this.attach(session);
  }

  /** The server's peer id (it changes when a reconnection reaches a restarted server). */
  get serverId(): string {
    return this.currentServerId;
  }

  /** Whether calls go out now, wait for a reconnection, or fail. */
  get state(): PeerState {
    return this.currentState;
  }

  /** Packets from the server that could not be decoded and were dropped (each also reported as an `error` event). */
  get droppedPackets(): number {
    return this.dropped;
  }

  /**
   * A typed proxy for a service, by name (`"calculator@1.0.0"`, or `"calculator"` for the newest
   * version) or by its definition object (`defineService`'s result). Checks that the service exists
   * (404 otherwise). After a reconnection the proxy keeps working: it resolves the name again.
   */
  queryInterface<T = unknown>(name: string, options?: CallOptions): Promise<Remote<T>>;
  queryInterface<S extends ServiceDefinitionLike>(service: S, options?: CallOptions): Promise<RemoteOf<S>>;
  async queryInterface(service: string | ServiceDefinitionLike, options: CallOptions = {}): Promise<unknown> {
    const name = typeof service === "string" ? service : qualifiedName(service);
    if (name === "") throw new TypeError(`queryInterface(name): the name is empty; use "service@version" or "service"`);
    const timeout = this.timeoutOf(options);
    const definition = await this.definition(name, budgetOf(timeout));
    const declared = (definition.meta as { properties?: unknown } | null)?.properties;
    const properties = {
      names: new Set(declared && typeof declared === "object" ? Object.keys(declared) : []),
      read: (property: string) => this.request(PacketType.GET, [definition.id, property], `${name}.${property}`, budgetOf(timeout)),
    };
    return createRemote(name, (method, args) => this.callThroughDefinition(name, method, args, budgetOf(timeout)), properties);
  }

  /** Reads a service's property (Netron's GET); `service` as in {@link call}. */
  get(service: string, property: string, options: CallOptions = {}): Promise<unknown> {
    if (typeof service !== "string" || service === "") throw new TypeError(`get(service, property): service must be a non-empty string such as "calculator@1.0.0", got ${summarize(service)}`);
    if (typeof property !== "string" || property === "") throw new TypeError(`get(service, property): property must be a non-empty string, got ${summarize(property)}`);
    return this.request(PacketType.GET, [service, property], `${service}.${property}`, budgetOf(this.timeoutOf(options)));
  }

  /** Calls `service.method(...args)`; `service` is `name@version`, a bare name (newest version) or a definition id. */
  call(service: string, method: string, ...args: unknown[]): RemoteCall<unknown, unknown> {
    return this.invoke(service, method, args);
  }

  /** {@link call} with options (a per-call timeout). */
  invoke(service: string, method: string, args: readonly unknown[] = [], options: CallOptions = {}): RemoteCall<unknown, unknown> {
    if (typeof service !== "string" || service === "") throw new TypeError(`call(service, method): service must be a non-empty string such as "calculator@1.0.0", got ${summarize(service)}`);
    if (typeof method !== "string" || method === "") throw new TypeError(`call(service, method): method must be a non-empty string, got ${summarize(method)}`);
    if (!Array.isArray(args)) throw new TypeError(`invoke(service, method, args): args must be an array, got ${summarize(args)}`);
    const what = `${service}.${method}`;
    return remoteCall(this.request(PacketType.CALL, [service, method, ...args], what, budgetOf(this.timeoutOf(options))), what);
  }

  /** Sends `{ token }` to the server's `authenticate` task; on success it is re-sent after every reconnection. */
  async authenticate(credentials: AuthCredentials, options: CallOptions = {}): Promise<AuthResult> {
    checkCredentials(credentials, "authenticate(credentials)");
    const result = await this.authenticateOnServer(credentials, budgetOf(this.timeoutOf(options)), false);
    // The server forgets a connection's identity when a new token is refused; so does this peer.
    this.credentials = result.success ? { token: credentials.token } : undefined;
    return result;
  }

  /** Round trip to the server; resolves with the time it took, in ms. */
  async ping(options: CallOptions = {}): Promise<number> {
    const started = performance.now();
    await this.request(PacketType.PING, Date.now(), "ping", budgetOf(this.timeoutOf(options)));
    return performance.now() - started;
  }

  /**
   * Calls `handler(...args)` for every `event` the server emits. The first handler of an event
   * subscribes on the server; subscriptions are renewed after every reconnection.
   */
  async subscribe(event: string, handler: EventHandler): Promise<void> {
    if (typeof event !== "string" || event === "") throw new TypeError(`subscribe(event, handler): event must be a non-empty string, got ${summarize(event)}`);
    if (typeof handler !== "function") throw new TypeError(`subscribe(${JSON.stringify(event)}, handler): handler must be a function, got ${summarize(handler)}`);
    let handlers = this.handlers.get(event);
    if (!handlers) this.handlers.set(event, (handlers = new Set()));
    if (handlers.has(handler)) return;
    handlers.add(handler);
    try {
      await this.subscribeOnServer(event, budgetOf(this.settings.timeout), false);
    } catch (error) {
      handlers.delete(handler);
      if (handlers.size === 0) this.handlers.delete(event);
      throw error;
    }
  }

  /** Removes a handler; the last one of an event unsubscribes on the server. */
  async unsubscribe(event: string, handler: EventHandler): Promise<void> {
    const handlers = this.handlers.get(event);
    if (!handlers?.delete(handler) || handlers.size > 0) return;
    this.handlers.delete(event);
    if (!this.serverSubscriptions.delete(event) || this.currentState !== "open") return;
    await this.exchange(PacketType.TASK, ["unsubscribe", event], `unsubscribe ${JSON.stringify(event)}`, budgetOf(this.settings.timeout));
  }

  /** Closes the connection for good: pending and waiting calls reject (503, reason "closed"), streams end. */
  async close(): Promise<void> {
    if (this.currentState !== "closed") {
      const transport = this.transport;
      this.transport = undefined;
      this.shutdown(new NetronClientError("closed", ErrorCode.SERVICE_UNAVAILABLE, `the connection to ${this.address} was closed by the client (peer.close())`, { details: { address: this.address } }));
      this.closing = (transport?.close() ?? Promise.resolve()).then(() => {
        this.notify("close");
      });
    }
    await this.closing;
  }

  // ---------------------------------------------------------------------------------------------
  // Requests.

  private timeoutOf(options: CallOptions): number {
    const timeout = options?.timeout;
    if (timeout === undefined) return this.settings.timeout;
    if (typeof timeout !== "number" || !(timeout > 0)) throw new TypeError(`timeout must be a number of milliseconds > 0 (Infinity for none), got ${summarize(timeout)}`);
    return timeout;
  }

  /** Sends a request once the peer is open (waiting for a reconnection if need be), within its budget in all. */
  private async request(type: PacketTypeId, data: unknown, what: string, budget: Budget): Promise<unknown> {
    if (this.currentState !== "open") await this.waitForOpen(what, budget);
    return this.exchange(type, data, what, budget);
  }

  /** Sends a request on the current connection now and waits for its answer. */
  private exchange(type: PacketTypeId, data: unknown, what: string, budget: Budget): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const transport = this.transport;
      if (!transport) {
        reject(this.closeError ?? new NetronClientError("connection-lost", ErrorCode.SERVICE_UNAVAILABLE, `${what} was not sent: the connection to ${this.address} is down`));
        return;
      }
      const id = this.allocateRequestId();
      let bytes: Uint8Array;
      try {
        bytes = encodePacket(requestPacket(id, type, data));
      } catch (error) {
        reject(error instanceof NetronEncodeError ? new NetronEncodeError(`cannot send ${what}: ${error.message}`) : error);
        return;
      }
      const limit = this.settings.transport.maxFrameLength;
      if (bytes.length > limit) {
        reject(
          new NetronClientError(
            "frame-too-large",
            ErrorCode.PAYLOAD_TOO_LARGE,
            `${what} was not sent: its arguments encode to ${bytes.length} bytes, over the frame limit of ${limit} bytes. Send less per call (split the data, or stream it)`,
            { details: { size: bytes.length, limit } },
          ),
        );
        return;
      }
      const request: PendingRequest = { id, what, resolve, reject, timer: undefined };
      const { timeout } = budget;
      if (Number.isFinite(timeout)) {
        request.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(
            new NetronClientError(
              "timeout",
              ErrorCode.REQUEST_TIMEOUT,
              `${what} timed out after ${timeout} ms without an answer from ${this.address}; it may still be running on the server. ` +
                `Raise the timeout (connect() or queryInterface() option) if it is expected to take longer`,
              { details: { address: this.address, requestId: id, timeout } },
            ),
          );
        }, clampTimer(remaining(budget)));
      }
      this.pending.set(id, request);
      try {
        transport.send(bytes);
      } catch {
        // The transport closed under us; its close handler rejects everything pending, this included.
      }
    });
  }

  private allocateRequestId(): number {
    // Ids stay below 2^31 so that a packet never starts with the byte of a JSON handshake ("{" or "[").
    do this.nextRequestId = this.nextRequestId >= 0x7fffffff ? 1 : this.nextRequestId + 1;
    while (this.pending.has(this.nextRequestId));
    return this.nextRequestId;
  }

  private waitForOpen(what: string, budget: Budget): Promise<void> {
    if (this.currentState === "open") return Promise.resolve();
    if (this.currentState === "closed") return Promise.reject(this.closeError);
    return new Promise((resolve, reject) => {
      const waiter: OpenWaiter = { resolve, reject, timer: undefined };
      const { timeout } = budget;
      if (Number.isFinite(timeout)) {
        waiter.timer = setTimeout(() => {
          this.openWaiters.delete(waiter);
          reject(
            new NetronClientError(
              "timeout",
              ErrorCode.REQUEST_TIMEOUT,
              `${what} timed out after ${timeout} ms waiting for the connection to ${this.address} to come back (reconnecting); it was never sent`,
              { details: { address: this.address, timeout } },
            ),
          );
        }, clampTimer(remaining(budget)));
      }
      this.openWaiters.add(waiter);
    });
  }

  /** query_interface, once per name and connection. */
  private definition(name: string, budget: Budget): Promise<Definition> {
    let lookup = this.definitions.get(name);
    if (!lookup) {
      const what = `query_interface ${JSON.stringify(name)}`;
      lookup = this.request(PacketType.TASK, ["query_interface", name], what, budget).then((data) => {
        if (!(data instanceof Definition)) {
          throw new NetronClientError("protocol", ErrorCode.INTERNAL_ERROR, `${what}: the server answered ${summarize(data)}, not a service Definition`);
        }
        return data;
      });
      this.definitions.set(name, lookup);
      const forget = (): void => {
        if (this.definitions.get(name) === lookup) this.definitions.delete(name);
      };
      lookup.catch(forget);
    }
    return lookup;
  }

  private callThroughDefinition(name: string, method: string, args: unknown[], budget: Budget): RemoteCall<unknown, unknown> {
    let what = `${name}.${method}`;
    const answer = (async () => {
      const definition = await this.definition(name, budget);
      const meta = definition.meta as { name?: unknown; version?: unknown; methods?: unknown } | null;
      if (typeof meta?.name === "string" && typeof meta.version === "string") what = `${meta.name}@${meta.version}.${method}`;
      const methods = meta?.methods;
      if (methods && typeof methods === "object" && !Object.hasOwn(methods, method)) {
        const known = Object.keys(methods);
        throw new TitanError({
          code: ErrorCode.NOT_FOUND,
          message: `${what}: the service has no method ${JSON.stringify(method)}; its methods are ${known.join(", ") || "(none)"}`,
          details: { service: name, method, methods: known },
        });
      }
      return this.request(PacketType.CALL, [definition.id, method, ...args], what, budget);
    })();
    return remoteCall(answer, what);
  }

  private async authenticateOnServer(credentials: AuthCredentials, budget: Budget, restoring: boolean): Promise<AuthResult> {
    const what = "authenticate";
    const data = [what, { token: credentials.token }];
    const answer = restoring ? await this.exchange(PacketType.TASK, data, what, budget) : await this.request(PacketType.TASK, data, what, budget);
    const result = answer as Partial<AuthResult> | null;
    if (typeof result !== "object" || result === null || typeof result.success !== "boolean") {
      throw new NetronClientError("protocol", ErrorCode.INTERNAL_ERROR, `authenticate: the server answered ${summarize(answer)}, not { success, context?, error? }`);
    }
    return result as AuthResult;
  }

  private subscribeOnServer(event: string, budget: Budget, restoring: boolean): Promise<void> {
    const existing = this.serverSubscriptions.get(event);
    if (existing) return existing;
    const what = `subscribe ${JSON.stringify(event)}`;
    if (!restoring && this.currentState !== "open") {
      // Once reopened, the restore has most likely subscribed it already: then that is reused.
      return this.waitForOpen(what, budget).then(() => this.subscribeOnServer(event, budget, false));
    }
    const subscribed = this.exchange(PacketType.TASK, ["subscribe", event], what, budget).then(() => {});
    this.serverSubscriptions.set(event, subscribed);
    subscribed.catch(() => {
      if (this.serverSubscriptions.get(event) === subscribed) this.serverSubscriptions.delete(event);
    });
    return subscribed;
  }

  // ---------------------------------------------------------------------------------------------
  // Incoming packets.

  private attach(session: Session): void {
    const { transport } = session;
    this.transport = transport;
    this.currentServerId = session.serverId;
    transport.listen({
      onFrame: (body) => {
        if (this.transport === transport) this.receive(body);
      },
      onClose: (error) => this.transportClosed(transport, error),
    });
  }

  private receive(body: Uint8Array): void {
    let packet: Packet;
    try {
      packet = decodePacket(body, { maxPacketLength: this.settings.transport.maxFrameLength });
    } catch (error) {
      this.dropped += 1;
      this.report(
        new NetronClientError("protocol", ErrorCode.INTERNAL_ERROR, `dropped a packet from ${this.address} that does not decode (${this.dropped} so far): ${(error as Error).message}`, {
          cause: error,
        }),
      );
      return;
    }
    if (packet.impulse === 0) {
      this.answer(packet);
      return;
    }
    switch (packet.type) {
      case PacketType.PING:
        this.reply(responseTo(packet, packet.data));
        return;
      case PacketType.TASK:
        this.serverTask(packet);
        return;
      case PacketType.STREAM:
        this.streamChunk(packet);
        return;
      case PacketType.STREAM_ERROR: {
        const { streamId, message } = (packet.data ?? {}) as { streamId?: unknown; message?: unknown };
        const entry = this.streamEntry(Number(streamId));
        entry?.stream.fail(
          new TitanError({
            code: ErrorCode.INTERNAL_ERROR,
            message: `${entry.what || `stream ${String(streamId)}`} failed on the server: ${typeof message === "string" ? message : summarize(message)}`,
            details: { streamId },
          }),
        );
        return;
      }
      case PacketType.STREAM_CLOSE: {
        const { streamId, reason } = (packet.data ?? {}) as { streamId?: unknown; reason?: unknown };
        const entry = this.streams.get(Number(streamId));
        entry?.stream.fail(
          new NetronClientError("closed", ErrorCode.SERVICE_UNAVAILABLE, `${entry.what || `stream ${String(streamId)}`} was closed by the server before its end (${String(reason)})`, {
            details: { streamId, reason },
          }),
        );
        return;
      }
      default:
        // GET, SET, CALL: this client exposes nothing.
        this.reply(
          errorResponseTo(packet, new TitanError({ code: ErrorCode.NOT_IMPLEMENTED, message: `this titan/netron client (peer ${this.id}) exposes no services, so it cannot answer packet type ${packet.type}` })),
        );
    }
  }

  private reply(packet: Packet): void {
    try {
      this.transport?.send(encodePacket(packet));
    } catch (error) {
      if (!(error instanceof NetronClientError)) this.report(error as Error);
    }
  }

  private answer(packet: Packet): void {
    const request = this.pending.get(packet.id);
    // Late answers (after a timeout) and answers to fire-and-forget packets have no one waiting.
    if (!request) return;
    this.pending.delete(packet.id);
    clearTimeout(request.timer);
    if (packet.error) {
      request.reject(asRemoteError(packet.data, request.what));
    } else if (packet.data instanceof StreamReference) {
      // Claimed now, not in a later microtask: its STREAM packets may be next in the same read.
      try {
        request.resolve(this.claimStream(packet.data.streamId, request.what));
      } catch (error) {
        request.reject(error);
      }
    } else {
      request.resolve(packet.data);
    }
  }

  private serverTask(packet: Packet): void {
    const [task, event, ...args] = Array.isArray(packet.data) ? (packet.data as unknown[]) : [];
    if (task !== "emit" || typeof event !== "string") {
      this.reply(errorResponseTo(packet, new TitanError({ code: ErrorCode.NOT_FOUND, message: `task ${summarize(task)} is not one a titan/netron client runs (it runs "emit")` })));
      return;
    }
    this.reply(responseTo(packet, undefined));
    for (const handler of [...(this.handlers.get(event) ?? [])]) {
      const failed = (error: unknown): void =>
        this.report(new Error(`a handler of the ${JSON.stringify(event)} event threw: ${(error as Error)?.message ?? String(error)}`, { cause: error }));
      try {
        const result = handler(...args);
        if (result instanceof Promise) result.catch(failed);
      } catch (error) {
        failed(error);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Streams.

  private streamEntry(streamId: number, create = true): StreamEntry | undefined {
    const existing = this.streams.get(streamId);
    if (existing || !create || this.finishedStreams.has(streamId) || !Number.isInteger(streamId)) return existing;
    let unclaimed = 0;
    for (const entry of this.streams.values()) if (!entry.claimed) unclaimed += 1;
    if (unclaimed >= MAX_UNCLAIMED_STREAMS) {
      this.sendStreamClose(streamId, "stream-limit-reached");
      this.rememberFinished(streamId);
      return undefined;
    }
    const entry: StreamEntry = { stream: undefined as unknown as RemoteStream, claimed: false, what: "", timer: undefined };
    entry.stream = new RemoteStream(streamId, {
      limit: this.settings.streamBuffer,
      what: () => entry.what,
      sendClose: (reason) => this.sendStreamClose(streamId, reason),
      settled: () => {
        if (entry.claimed) this.forgetStream(streamId);
      },
    });
    // A stream whose CALL answer never comes (the call timed out, say) is cancelled, not kept forever.
    if (Number.isFinite(this.settings.timeout)) {
      entry.timer = setTimeout(() => {
        entry.stream.cancel("unclaimed");
        this.forgetStream(streamId);
      }, clampTimer(this.settings.timeout));
      entry.timer.unref();
    }
    this.streams.set(streamId, entry);
    return entry;
  }

  private streamChunk(packet: Packet): void {
    const position = packet.stream!;
    this.streamEntry(position.id)?.stream.push(position.index, packet.data, packet.eos);
  }

  private claimStream(streamId: number, what: string): RemoteStream {
    const entry = this.streamEntry(streamId);
    if (!entry || entry.claimed) {
      throw new NetronClientError("protocol", ErrorCode.INTERNAL_ERROR, `${what}: the server answered with stream ${streamId}, which is ${entry ? "already taken by another call" : "finished or over the limit"}`);
    }
    entry.claimed = true;
    entry.what = what;
    clearTimeout(entry.timer);
    if (entry.stream.finished) this.forgetStream(streamId);
    return entry.stream;
  }

  private forgetStream(streamId: number): void {
    const entry = this.streams.get(streamId);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.streams.delete(streamId);
    this.rememberFinished(streamId);
  }

  private rememberFinished(streamId: number): void {
    this.finishedStreams.add(streamId);
    if (this.finishedStreams.size > FINISHED_STREAM_MEMORY) this.finishedStreams.delete(this.finishedStreams.values().next().value!);
  }

  private sendStreamClose(streamId: number, reason: string): void {
    // Not a request anyone waits on: Titan's server stops the generator and answers nothing.
    if (this.transport) this.reply(requestPacket(this.allocateRequestId(), PacketType.STREAM_CLOSE, { streamId, reason }));
  }

  // ---------------------------------------------------------------------------------------------
  // Connection loss and reconnection.

  private transportClosed(transport: FrameTransport, error: NetronClientError | undefined): void {
    if (this.transport !== transport) return;
    this.transport = undefined;
    const cause = error ?? new NetronClientError("connection-lost", ErrorCode.SERVICE_UNAVAILABLE, `the connection to ${this.address} was closed`);
    for (const request of this.pending.values()) {
      clearTimeout(request.timer);
      request.reject(
        new NetronClientError(
          "connection-lost",
          ErrorCode.SERVICE_UNAVAILABLE,
          `${request.what} failed: ${cause.message}. Its answer never arrived, so it may or may not have run on the server; retry it only if running it twice is safe`,
          { details: { address: this.address, requestId: request.id }, cause },
        ),
      );
    }
    this.pending.clear();
    this.dropConnectionState(cause);
    // During a reconnection's restore, the reconnect loop sees the failed restore and tries again.
    if (this.currentState !== "open") return;
    if (this.settings.reconnect) {
      this.currentState = "reconnecting";
      this.notify("disconnect", { error: cause, willReconnect: true });
      void this.reconnect(this.settings.reconnect, cause);
    } else {
      this.notify("disconnect", { error: cause, willReconnect: false });
      this.shutdown(new NetronClientError("closed", ErrorCode.SERVICE_UNAVAILABLE, `${cause.message}; reconnect is off, so the peer is closed`, { details: { address: this.address }, cause }));
      this.notify("close", this.closeError);
    }
  }

  /** Forgets what belonged to the connection that is gone: its streams, subscriptions and definitions. */
  private dropConnectionState(cause: Error): void {
    for (const entry of this.streams.values()) {
      clearTimeout(entry.timer);
      entry.stream.fail(
        new NetronClientError("connection-lost", ErrorCode.SERVICE_UNAVAILABLE, `${entry.what || `stream ${entry.stream.id}`} ended early: ${cause.message}`, { cause }),
      );
    }
    this.streams.clear();
    this.finishedStreams.clear();
    this.serverSubscriptions.clear();
    this.definitions.clear();
  }

  private async reconnect(options: Required<ReconnectOptions>, cause: Error): Promise<void> {
    let lastError = cause;
    for (let attempt = 1; this.currentState === "reconnecting"; attempt++) {
      if (attempt > options.retries) {
        this.shutdown(
          new NetronClientError(
            "reconnect-failed",
            ErrorCode.SERVICE_UNAVAILABLE,
            `gave up reconnecting to ${this.address} after ${options.retries} attempt(s); the last error: ${lastError.message}`,
            { details: { address: this.address, attempts: options.retries }, cause: lastError },
          ),
        );
        this.notify("close", this.closeError);
        return;
      }
      const delay = backoffDelay(attempt - 1, options);
      this.notify("reconnecting", { attempt, delay, error: lastError });
      if (!(await this.sleep(delay))) return;
      let session: Session;
      try {
        session = await openSession(this.target, this.settings.transport);
      } catch (error) {
        lastError = error as Error;
        continue;
      }
      if (this.currentState !== "reconnecting") {
        session.transport.destroy();
        return;
      }
      this.attach(session);
      try {
        await this.restore();
      } catch (error) {
        lastError = error as Error;
        session.transport.destroy();
        continue;
      }
      if (this.transport !== session.transport || this.currentState !== "reconnecting") continue;
      this.currentState = "open";
      this.notify("reconnect", { attempts: attempt, serverId: this.currentServerId });
      for (const waiter of this.openWaiters) {
        clearTimeout(waiter.timer);
        waiter.resolve();
      }
      this.openWaiters.clear();
      return;
    }
  }

  /** Resolves true after `ms`, or false at once if the peer is closed meanwhile. */
  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.reconnectSleep = undefined;
        resolve(this.currentState === "reconnecting");
      }, ms);
      this.reconnectSleep = { timer, wake: resolve };
    });
  }

  /** On a new connection, before any waiting call: authentication first, then the subscriptions. */
  private async restore(): Promise<void> {
    const budget = budgetOf(this.settings.timeout);
    if (this.credentials) {
      const result = await this.authenticateOnServer(this.credentials, budget, true);
      if (!result.success) {
        this.credentials = undefined;
        this.report(
          new NetronClientError("auth-failed", ErrorCode.UNAUTHORIZED, `re-authenticating with ${this.address} after a reconnection was refused: ${result.error ?? "no reason given"}; calls now run unauthenticated`),
        );
      }
    }
    const attempted = new Set<string>();
    // Handlers added while this runs are subscribed too, before the peer reopens.
    for (let missing = this.unsubscribedEvents(attempted); missing.length > 0; missing = this.unsubscribedEvents(attempted)) {
      await Promise.all(
        missing.map(async (event) => {
          attempted.add(event);
          try {
            await this.subscribeOnServer(event, budget, true);
          } catch (error) {
            if (error instanceof NetronClientError && error.reason === "connection-lost") throw error;
            this.report(new Error(`re-subscribing to ${JSON.stringify(event)} after a reconnection failed: ${(error as Error).message}`, { cause: error }));
          }
        }),
      );
    }
  }

  private unsubscribedEvents(attempted: Set<string>): string[] {
    return [...this.handlers.keys()].filter((event) => !attempted.has(event) && !this.serverSubscriptions.has(event));
  }

  /** The peer is closed for good: everything waiting fails with `error`. */
  private shutdown(error: NetronClientError): void {
    this.currentState = "closed";
    this.closeError = error;
    if (this.reconnectSleep) {
      clearTimeout(this.reconnectSleep.timer);
      this.reconnectSleep.wake(false);
      this.reconnectSleep = undefined;
    }
    for (const request of this.pending.values()) {
      clearTimeout(request.timer);
      request.reject(error);
    }
    this.pending.clear();
    for (const waiter of this.openWaiters) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.openWaiters.clear();
    this.dropConnectionState(error);
    const transport = this.transport;
    this.transport = undefined;
    transport?.destroy();
  }

  private report(error: Error): void {
    if (this.listenerCount("error") > 0) this.emit("error", error);
  }

  /** Emits a lifecycle event; a listener that throws is reported, and cannot derail the connection's state. */
  private notify<K extends "disconnect" | "reconnecting" | "reconnect" | "close">(event: K, ...args: PeerEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: PeerEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      this.report(new Error(`a ${event} listener threw: ${(error as Error)?.message ?? String(error)}`, { cause: error }));
    }
  }
}
