// Native extensions as actions see them: `t.<namespace>.<function>(...)`. Shared by the worker
// bootstrap and the extension benchmark, so the benchmark times exactly what actions run.

import { readFileSync } from "node:fs";
import { runInThisContext } from "node:vm";
import type { Native } from "./native.js";
import { guardAddon, loadAddon } from "./addons.js";

/** An extension as a worker binds it. */
export interface BoundExtension {
  /** Process-wide id from `extLoad`. */
  id: number;
  name: string;
  namespace: string;
  entry: string | null;
  /** `classic`: Titan Planet's format, whose entry gets `t` only (its scripts may declare any name). */
  kind?: "native" | "napi" | "classic";
  /** The extension's `config` from titan.config.json (JSON), which its entry receives. */
  config?: unknown;
  functions: { name: string; arity: number }[];
  /** Kind `napi`: the staged Node-API addon each worker loads into its isolate (the core has no part in it). */
  addon?: string;
}

/** Attaches this worker to an extension (its `worker_init` runs here) and returns
 * `{ <function>: fn }`: each one a native function, so a call is a single Node-API callback
 * carrying only its own arguments (extra ones are ignored, missing ones arrive as null). */
export function attachExtension(native: Native, extension: BoundExtension, workerId: number): Record<string, (...args: unknown[]) => unknown> {
  const handle = native.extAttach(extension.id, workerId);
  return native.extBind(handle);
}

/** Binds every registered extension as `t.<namespace>` (a Node-API addon: its exports), then runs
 * their JS entries (Titan Planet style: a plain script with `t` in scope, and for Titan's own
 * kinds `extension`: its name, namespace and config) so they can wrap the natives.
 * With `addonFlags` (shared with the host), calls into Node-API addons are guarded (addons.ts). */
export function bindExtensions(native: Native, extensions: readonly BoundExtension[], workerId: number, t: Record<string, unknown>, addonFlags?: Int32Array) {
  for (const extension of extensions) {
    if (!extension.addon) {
      t[extension.namespace] = attachExtension(native, extension, workerId);
      continue;
    }
    const exports = loadAddon({ ...extension, addon: extension.addon });
    t[extension.namespace] = addonFlags ? guardAddon(exports, addonFlags) : exports;
  }
  for (const extension of extensions) {
    if (!extension.entry) continue;
    const source = readFileSync(extension.entry, "utf8");
    if (extension.kind === "classic") {
      const run = runInThisContext(`(function (t) {${source}\n})`, { filename: extension.entry }) as (t: unknown) => void;
      run(t);
      continue;
    }
    // Titan's own entries also see `extension`: { name, namespace, config }. That is how a
    // Node-API addon, which has no init, gets the config the app gives it.
    const run = runInThisContext(`(function (t, extension) {${source}\n})`, { filename: extension.entry }) as (t: unknown, extension: unknown) => void;
    run(t, Object.freeze({ name: extension.name, namespace: extension.namespace, config: extension.config ?? null }));
  }
}
