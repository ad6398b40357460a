// The worker bootstrap: one V8 isolate that is its own server. After loading the app's bundle it
// enters a synchronous loop (native `workerNext` → action → native `workerRespondAndNext`) and
// never returns to its event loop until the core says the worker is done.

import { parentPort, workerData } from "node:worker_threads";
import { pathToFileURL } from "node:url";
import process from "node:process";
import { loadNative } from "./native.js";
import { bindExtensions, type BoundExtension } from "./extensions.js";
import { installEngines } from "./engines.js";
import { clock32 } from "./clock.js";
import { BodyKind, Slot, TitanRequest, pairsToFields, type RawRequest } from "./request.js";
import { createLogger, parseLogLevel, type LogContext } from "./log.js";
import { ActionResultError, errorWire, responses, toWire, type WireResponse } from "./response.js";
import { installGlobals } from "./isolate.js";
import { ServiceRegistry, type ServiceDefinition } from "./netron/services.js";
import { NetronDispatcher, type NetronReply, type RawNetronJob } from "./netron/dispatcher.js";
import { NETRON_INVOKE_ACTION } from "./netron/invoke.js";

export interface WorkerData {
  serverId: number;
  slot: number;
  bundlePath: string;
  routesJson: string;
  extensions: BoundExtension[];
  /** The built-in engines (t.fetch, t.jwt, t.password, t.db), loaded by the host. */
  engines: BoundExtension[];
  bodyLimit: number;
  dev: boolean;
  /** [0]: when the current action started (`clock32`, 0 = idle); read by the host's watchdog.
   * [1], [2]: Node-API addon calls in progress, and the host's request to stop them (addons.ts). */
  busy: SharedArrayBuffer;
  epoch: number;
  /** Present when the server has Netron sockets or the app has services. */
  netron?: { serverId: string; auth?: { secret: string; algorithms?: string[]; issuer?: string; audience?: string } };
}

export type WorkerMessage =
  | { type: "ready"; services: { name: string; version: string }[] }
  | { type: "failed"; message: string; stack?: string };

type Action = (req: unknown) => unknown;

const data = workerData as WorkerData;
const port = parentPort!;
process.setSourceMapsEnabled(true);

const logContext: LogContext = { base: { worker: data.slot } };
const log = createLogger(logContext, parseLogLevel(process.env.TITAN_LOG_LEVEL, data.dev ? "debug" : "info"));

async function loadBundle(): Promise<{ actions: Record<string, Action>; services: ServiceDefinition[] }> {
  const bundle = (await import(pathToFileURL(data.bundlePath).href)) as { actions?: Record<string, Action>; services?: ServiceDefinition[] };
  if (!bundle.actions || typeof bundle.actions !== "object") {
    throw new Error(`${data.bundlePath} exports no \`actions\`: rebuild the app (titan build)`);
  }
  return { actions: bundle.actions, services: Array.isArray(bundle.services) ? bundle.services : [] };
}

/** Verifies peers' JWTs with the built-in t.jwt, as configured in `netron.auth`. */
function tokenVerifier(t: Record<string, unknown>): ((token: string) => Record<string, unknown>) | undefined {
  const auth = data.netron?.auth;
  if (!auth) return undefined;
  const jwt = t.jwt as { verify(token: string, key: string, options?: unknown): Record<string, unknown> };
  const options = { algorithms: auth.algorithms ?? ["HS256"], issuer: auth.issuer, audience: auth.audience };
  return (token) => jwt.verify(token, auth.secret, options);
}

function parseBody(raw: RawRequest): { body: unknown } | { error: WireResponse } {
  const text = raw[Slot.BodyText] as string | null;
  switch (raw[Slot.BodyKind] as BodyKind) {
    case BodyKind.Json:
      try {
        return { body: JSON.parse(text ?? "") };
      } catch (err) {
        return { error: errorWire(400, "bad_json", `the request body is not valid JSON: ${(err as Error).message}`, raw[Slot.Id] as string) };
      }
    case BodyKind.Form:
      return { body: pairsToFields((raw[Slot.Form] as string[] | null) ?? []) };
    case BodyKind.Text:
      return { body: text ?? "" };
    case BodyKind.Binary:
      return { body: raw[Slot.BodyBytes] ?? new Uint8Array() };
    default:
      return { body: null };
  }
}

function run(actions: Record<string, Action>, raw: RawRequest): WireResponse {
  const name = raw[Slot.Action] as string;
  const action = actions[name];
  if (!action) {
    return errorWire(500, "unknown_action", `action "${name}" is not in this build`, raw[Slot.Id] as string);
  }
  const parsed = parseBody(raw);
  if ("error" in parsed) return parsed.error;
  const req = new TitanRequest(raw, parsed.body);
  try {
    return toWire(action(req), name);
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    log.error(`action "${name}" threw: ${error.message}`, { action: name, error });
    const hint = err instanceof ActionResultError || data.dev;
    return errorWire(500, "internal_error", hint ? error.message : "internal server error", req.id, data.dev ? { stack: error.stack } : undefined);
  }
}

/** Bytes cross as a Buffer view over the same memory (no copy on the JS side). */
function asNativeBody(body: string | Uint8Array | null): string | Buffer | null {
  if (body === null || typeof body === "string" || Buffer.isBuffer(body)) return body;
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

let netron: NetronDispatcher | undefined;
const NO_REPLY: NetronReply = { frames: new Uint8Array(0), continueStreams: null };

/** `POST /netron/invoke`, Netron's HTTP JSON invocation, as an action. */
const netronInvokeAction: Action = (req) => {
  const request = req as TitanRequest;
  const { status, body } = netron!.invokeHttp(request.body, request.headers.authorization);
  return responses.json(body, { status });
};

function serve(actions: Record<string, Action>, native: ReturnType<typeof loadNative>) {
  const busy = new Int32Array(data.busy);
  let request = native.workerNext();
  while (request !== null) {
    if (typeof request[0] === "number") {
      // A Netron job: `[kind, connection, payload]`.
      const job = request as unknown as RawNetronJob;
      Atomics.store(busy, 0, clock32(data.epoch));
      let reply: NetronReply = NO_REPLY;
      try {
        if (netron) reply = netron.handle(job);
      } catch (err) {
        log.error(`netron job failed: ${(err as Error).message}`, { error: err as Error });
      }
      Atomics.store(busy, 0, 0);
      request = native.workerNetronReplyAndNext(job[1], reply.frames, reply.continueStreams ?? undefined);
      continue;
    }
    logContext.requestId = request[Slot.Id] as string;
    Atomics.store(busy, 0, clock32(data.epoch));
    const [status, contentType, headers, body] = run(actions, request);
    Atomics.store(busy, 0, 0);
    logContext.requestId = undefined;
    try {
      request = native.workerRespondAndNext(status, contentType, headers, asNativeBody(body));
    } catch (err) {
      // The response was refused (bad status or header); the core already answered 500.
      log.error((err as Error).message);
      request = native.workerNext();
    }
  }
}

try {
  const native = loadNative();
  const t = installGlobals(log, {
    emit: (event, args) => (netron ? native.workerNetronEmit(event, netron.emitPacket(event, args)) : 0),
  });
  installEngines(native, data.engines, data.slot, t);
  bindExtensions(native, data.extensions, data.slot, t, new Int32Array(data.busy));
  const { actions, services } = await loadBundle();
  const registry = new ServiceRegistry(services);
  if (data.netron || registry.size > 0) {
    netron = new NetronDispatcher(registry, {
      serverId: data.netron?.serverId ?? "",
      verifyToken: tokenVerifier(t),
      onError: (message, error) => log.error(message, { error: error as Error }),
    });
    // The host routes POST /netron/invoke to this internal action when there are services.
    actions[NETRON_INVOKE_ACTION] = netronInvokeAction;
  }
  native.workerStart(data.serverId, data.slot, data.routesJson, { bodyLimit: data.bodyLimit });
  port.postMessage({ type: "ready", services: registry.list() } satisfies WorkerMessage);
  serve(actions, native);
  port.close();
} catch (err) {
  const error = err as Error;
  port.postMessage({ type: "failed", message: error.message, stack: error.stack } satisfies WorkerMessage);
  port.close();
}
