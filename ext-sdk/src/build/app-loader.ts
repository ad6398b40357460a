// Runs the app's code once at build time, in a throwaway worker thread: the route module with `t`
// as the route recorder, then the actions bundle with stand-ins for the runtime globals, to learn
// which exports are actions. A fresh worker per build keeps the CLI's own globals and module cache
// clean across `titan dev` rebuilds, and lets a module that never finishes loading be stopped.

import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { ROUTE_METHODS, type RecordedApp } from "./routes.js";

export interface LoadedApp {
  recorded: RecordedApp;
  actionNames: string[];
  /** Netron services the bundle exports (app/services/). */
  services: { name: string; version: string }[];
}

/** A module threw while loading; `stack` is source-mapped to the user's files. */
export interface ModuleLoadFailure {
  phase: "routes" | "actions";
  name: string;
  message: string;
  stack: string;
}

export type AppLoadResult = { ok: true; app: LoadedApp } | { ok: false; failure: ModuleLoadFailure };

interface WorkerInput {
  routesUrl: string;
  actionsUrl: string;
  methods: readonly string[];
}

/**
 * The worker's program. It is plain JavaScript in a string (run with `eval: true`) so it works the
 * same from the compiled CLI and from TypeScript tests, which cannot start a worker on a .ts file.
 */
const WORKER_SOURCE = String.raw`
const { workerData, parentPort } = require("node:worker_threads");
process.setSourceMapsEnabled(true);
const { routesUrl, actionsUrl, methods } = workerData;

// "file:///app/app.ts:4:1" → "/app/app.ts:4:1": the first frame outside the recorder.
function callSite(skipAbove) {
  const holder = {};
  Error.captureStackTrace(holder, skipAbove);
  const frame = String(holder.stack).split("\n").slice(1).find((line) => line.includes(":")) || "";
  const match = /\(?((?:file:\/\/)?\/[^()]*?:\d+:\d+)\)?\s*$/.exec(frame.trim());
  return match ? decodeURI(match[1].replace(/^file:\/\//, "")) : "unknown location";
}

function failure(phase, error) {
  const isError = error instanceof Error;
  return {
    phase,
    name: isError ? error.name : "Error",
    message: isError ? error.message : String(error),
    stack: isError && error.stack ? error.stack : String(error),
  };
}

// Build-time stand-in for the runtime's t: any property access or call yields another stand-in,
// so module-level code like "const log = t.log" loads; t.* does its real work only in actions.
function runtimeStandIn() {
  const handler = {
    get(_target, key) {
      if (key === Symbol.toPrimitive) return () => "";
      if (key === "then") return undefined; // not a thenable
      return proxy;
    },
    apply() { return proxy; },
    construct() { return proxy; },
  };
  const proxy = new Proxy(function titanBuildTimeStandIn() {}, handler);
  return proxy;
}

async function main() {
  const recorded = { routes: [], start: null };
  const routeTable = {};
  for (const method of methods) {
    routeTable[method] = function declareRoute(path) {
      const route = { method, path, at: callSite(declareRoute), targets: [] };
      recorded.routes.push(route);
      const builder = {
        action(name) {
          route.targets.push({ kind: "action", name });
          return builder;
        },
        reply(value) {
          // Serialize here, where the value lives; routes.ts decides what the reply becomes.
          const target = { kind: "reply", valueType: value === null ? "null" : typeof value };
          if (typeof value === "string") target.text = value;
          else {
            try { target.json = JSON.stringify(value); } catch (error) { target.jsonError = String(error && error.message || error); }
          }
          route.targets.push(target);
          return builder;
        },
      };
      return builder;
    };
  }
  routeTable.start = function start(port, message) {
    recorded.start = { port, message: message === undefined ? undefined : String(message), at: callSite(start) };
  };

  globalThis.t = routeTable;
  try {
    await import(routesUrl);
  } catch (error) {
    return { ok: false, failure: failure("routes", error) };
  }

  globalThis.t = runtimeStandIn();
  globalThis.defineAction = function defineAction(action) {
    if (typeof action !== "function") throw new TypeError("defineAction() expects a function, got " + typeof action);
    return action;
  };
  // The runtime's defineService checks the definition when a worker loads it; here it only passes it on.
  globalThis.defineService = function defineService(service) {
    return service;
  };
  let bundle;
  try {
    bundle = await import(actionsUrl);
  } catch (error) {
    return { ok: false, failure: failure("actions", error) };
  }
  const actionNames = Object.keys(bundle.actions || {}).filter((name) => typeof bundle.actions[name] === "function");
  const services = (bundle.services || []).map((service) => ({ name: service.name, version: service.version }));
  return { ok: true, app: { recorded, actionNames, services } };
}

main().then(
  (result) => parentPort.postMessage(result),
  (error) => parentPort.postMessage({ ok: false, failure: failure("routes", error) }),
);
`;

/** Evaluates the route module and the actions bundle; rejects only if the worker itself fails or times out. */
export function loadApp(options: { routesFile: string; actionsFile: string; timeoutMs?: number }): Promise<AppLoadResult> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const input: WorkerInput = {
    routesUrl: pathToFileURL(options.routesFile).href,
    actionsUrl: pathToFileURL(options.actionsFile).href,
    methods: ROUTE_METHODS,
  };
  return new Promise((resolve, reject) => {
    // No execArgv: a test runner's loader flags (e.g. tsx) must not leak into the app's evaluation.
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: input, execArgv: [] });
    let settled = false;
    const finish = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      outcome();
    };
    const timer = setTimeout(
      () =>
        finish(() =>
          resolve({
            ok: false,
            failure: {
              phase: "routes",
              name: "Timeout",
              message: `loading the app did not finish within ${timeoutMs / 1000} s (an endless loop in module-level code?)`,
              stack: "",
            },
          }),
        ),
      timeoutMs,
    );
    worker.once("message", (result: AppLoadResult) => finish(() => resolve(result)));
    worker.once("error", (error) => finish(() => reject(error)));
    worker.once("exit", (code) =>
      finish(() => reject(new Error(`the app loader exited with code ${code} before reporting (process.exit() at module level?)`))),
    );
  });
}
