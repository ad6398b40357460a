// What every Titan isolate has before any app or extension code runs: the `t` namespace with
// `t.log` and `t.response`, `defineAction`, and console routed to the structured log. Shared by
// the server's workers and the extension harness, so both isolates look the same to an extension.

import { responses } from "./response.js";
import type { createLogger } from "./log.js";
import { defineService, runningCaller } from "./netron/services.js";
import { TitanError } from "./netron/codec.js";

/** What `t.netron` does in this isolate; the worker plugs in the server's event fan-out. */
export interface NetronBinding {
  emit(event: string, args: unknown[]): number;
}

const noServer: NetronBinding = {
  emit: () => 0,
};

export function installGlobals(log: ReturnType<typeof createLogger>, netron: NetronBinding = noServer): Record<string, unknown> {
  const g = globalThis as Record<string, unknown>;
  const t: Record<string, unknown> = {
    log,
    response: responses,
    netron: Object.freeze({
      /** Sends an event to every Netron peer subscribed to it; returns how many workers it reached. */
      emit: (event: string, ...args: unknown[]) => {
        if (typeof event !== "string" || event.length === 0) throw new TypeError("t.netron.emit(event, ...args): event must be a non-empty string");
        return netron.emit(event, args);
      },
      /** The caller of the service method running now (its authentication), or undefined. */
      caller: runningCaller,
      TitanError,
    }),
  };
  g.defineService = defineService;
  g.t = t;
  g.defineAction = (action: unknown) => {
    if (typeof action !== "function") {
      throw new TypeError(`defineAction expects a function (req) => response, got ${typeof action}`);
    }
    return action;
  };
  // console.* from actions become structured lines carrying the request id, written synchronously.
  console.log = console.info = (...args: unknown[]) => log(...args);
  console.debug = (...args: unknown[]) => log.debug(args.map(String).join(" "));
  console.warn = (...args: unknown[]) => log.warn(args.map(String).join(" "));
  console.error = (...args: unknown[]) => log.error(args.map(String).join(" "));
  return t;
}
