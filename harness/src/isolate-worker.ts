// The harness isolate: a worker thread prepared exactly like a server worker (same globals, the
// built-in engines, the extension bound as `t.<namespace>` with its JS entry run), that answers
// the harness's requests instead of HTTP requests.

import { parentPort, workerData } from "node:worker_threads";
import { runInThisContext } from "node:vm";
import { inspect } from "node:util";
import process from "node:process";
import { bindExtensions, createLogger, installEngines, installGlobals, loadNative, parseLogLevel } from "@titan/core/embed";
import { Flag, type IsolateData, type IsolateReply, type IsolateRequest, type IsolateStatus } from "./protocol.js";

const data = workerData as IsolateData;
const flag = new Int32Array(data.flag);
process.setSourceMapsEnabled(true);

// A worker that dies mid-call must not leave the main thread waiting for its reply.
process.on("exit", () => {
  Atomics.store(flag, 0, Flag.Exited);
  Atomics.notify(flag, 0);
});

const log = createLogger({ base: { worker: data.slot, harness: true } }, parseLogLevel(data.logLevel, "info"));

function evaluate(code: string): unknown {
  return runInThisContext(code, { filename: "harness-eval.js" });
}

/** The object an expression like `t.mydb.g` is completing on, and the properties it has. */
function completions(expression: string): string[] {
  const match = /^([\w$.]*?)\.?([\w$]*)$/.exec(expression);
  if (!match) return [];
  const [, owner = "", partial = ""] = match;
  if (owner === "") {
    return Object.getOwnPropertyNames(globalThis).filter((name) => name.startsWith(partial));
  }
  let target: unknown;
  try {
    target = evaluate(owner);
  } catch {
    return [];
  }
  if (target === null || target === undefined) return [];
  const names = new Set<string>();
  for (let object: object | null = Object(target); object && object !== Object.prototype; object = Object.getPrototypeOf(object)) {
    for (const name of Object.getOwnPropertyNames(object)) names.add(name);
  }
  return [...names].filter((name) => name.startsWith(partial) && name !== "constructor").map((name) => `${owner}.${name}`).sort();
}

function answer(t: Record<string, unknown>, request: IsolateRequest): unknown {
  switch (request.op) {
    case "call": {
      const namespace = t[data.namespace] as Record<string, unknown> | undefined;
      const fn = namespace?.[request.fn];
      if (typeof fn !== "function") {
        const known = Object.keys(namespace ?? {}).join(", ") || "none";
        throw new TypeError(`t.${data.namespace}.${request.fn} is not a function (t.${data.namespace} has: ${known})`);
      }
      return (fn as (...args: unknown[]) => unknown).apply(namespace, request.args);
    }
    case "eval":
      return evaluate(request.code);
    case "inspect":
      return inspect(evaluate(request.code), { colors: request.colors, depth: 4 });
    case "complete":
      return completions(request.expression);
    case "rebind": {
      bindExtensions(native, [request.extension], data.slot, t);
      const bound = t[data.namespace] as Record<string, unknown>;
      return Object.keys(bound).filter((name) => typeof bound[name] === "function");
    }
  }
}

function reply(message: IsolateReply) {
  try {
    data.port.postMessage(message);
  } catch (err) {
    // A function, a symbol, a class instance with private state: structured clone refuses it.
    data.port.postMessage({
      ok: false,
      error: { name: "DataCloneError", message: `the result cannot leave the isolate (${(err as Error).message}); return plain data (objects, arrays, strings, numbers, bigints, bytes)` },
    } satisfies IsolateReply);
  }
  Atomics.store(flag, 0, Flag.Replied);
  Atomics.notify(flag, 0);
}

const native = loadNative();
try {
  const t = installGlobals(log);
  installEngines(native, data.engines, data.slot, t);
  bindExtensions(native, [data.extension], data.slot, t);
  data.port.on("message", (request: IsolateRequest) => {
    try {
      reply({ ok: true, value: answer(t, request) });
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      reply({ ok: false, error: { name: error.name, message: error.message, stack: error.stack } });
    }
  });
  const bound = (t[data.namespace] ?? {}) as Record<string, unknown>;
  const functions = Object.keys(bound).filter((name) => typeof bound[name] === "function");
  parentPort!.postMessage({ type: "ready", functions } satisfies IsolateStatus);
} catch (err) {
  const error = err as Error;
  parentPort!.postMessage({ type: "failed", message: error.message, stack: error.stack } satisfies IsolateStatus);
}
