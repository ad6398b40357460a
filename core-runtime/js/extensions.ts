// Native extensions as actions see them: `t.<namespace>.<function>(...)`. Shared by the worker
// bootstrap and the extension benchmark, so the benchmark times exactly what actions run.

import { readFileSync } from "node:fs";
import { runInThisContext } from "node:vm";
import type { Native } from "./native.js";

/** An extension as a worker binds it. */
export interface BoundExtension {
  /** Process-wide id from `extLoad`. */
  id: number;
  name: string;
  namespace: string;
  entry: string | null;
  functions: { name: string; arity: number }[];
}

/** A JS function per native function, with the declared arity so calls pass exactly that many
 * (extra arguments are dropped, as JS does; missing ones arrive as null). */
export function nativeCaller(native: Native, handle: number, index: number, arity: number): (...args: unknown[]) => unknown {
  const call = native.extCall as (handle: number, index: number, ...args: unknown[]) => unknown;
  switch (arity) {
    case 0: return () => call(handle, index);
    case 1: return (a) => call(handle, index, a);
    case 2: return (a, b) => call(handle, index, a, b);
    case 3: return (a, b, c) => call(handle, index, a, b, c);
    case 4: return (a, b, c, d) => call(handle, index, a, b, c, d);
    default: return arity <= 8 ? (...args) => call(handle, index, ...args.slice(0, arity)) : (...args) => native.extCallArray(handle, index, args);
  }
}

/** Attaches this worker to each extension (its `worker_init` runs here) and returns
 * `{ <function>: caller }` for it. */
export function attachExtension(native: Native, extension: BoundExtension, workerId: number): Record<string, (...args: unknown[]) => unknown> {
  const handle = native.extAttach(extension.id, workerId);
  const namespace: Record<string, (...args: unknown[]) => unknown> = {};
  extension.functions.forEach((fn, index) => (namespace[fn.name] = nativeCaller(native, handle, index, fn.arity)));
  return namespace;
}

/** Binds every registered extension as `t.<namespace>`, then runs their JS entries (Titan
 * Planet style: a plain script with `t` in scope) so they can wrap the natives. */
export function bindExtensions(native: Native, extensions: readonly BoundExtension[], workerId: number, t: Record<string, unknown>) {
  for (const extension of extensions) t[extension.namespace] = attachExtension(native, extension, workerId);
  for (const extension of extensions) {
    if (!extension.entry) continue;
    const source = readFileSync(extension.entry, "utf8");
    const run = runInThisContext(`(function (t) {${source}\n})`, { filename: extension.entry }) as (t: unknown) => void;
    run(t);
  }
}
