// Node-API addons (extensions of kind `napi`, built with napi-rs or neon) in worker isolates.
// Node maps one image per file path and never unloads it, so new code needs a new path: the main
// thread stages each build once under a name derived from its content, and every worker of a
// generation loads that copy into its own isolate (RESEARCH.md, "Node-API addons and worker_threads").
// Calls into an addon are guarded so the host never terminates an isolate in the middle of one.

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";

/** Where staged addons live: one directory per user (mode 0700), so no other account can plant code there. */
export function addonStageDir(): string {
  const uid = process.getuid?.();
  return path.join(tmpdir(), uid === undefined ? "titan-addons" : `titan-addons-${uid}`);
}

function ensurePrivateDir(dir: string) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const uid = process.getuid?.();
  const owner = statSync(dir).uid;
  if (uid !== undefined && owner !== uid) {
    throw new Error(`the addon staging directory ${dir} belongs to another user (uid ${owner}); remove it or set TMPDIR to a private directory`);
  }
}

/**
 * Copies the addon at `file` to `<stageDir>/<name>-<content hash>.node` and returns that path.
 * The same build is copied once (its name already exists); a rebuild gets a new name, so workers
 * that load it get its new code while older workers keep the image they mapped.
 */
export function stageAddon(name: string, file: string, stageDir = addonStageDir()): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new Error(`its addon ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 16);
  ensurePrivateDir(stageDir);
  const staged = path.join(stageDir, `${name.replace(/[^\w.-]/g, "_")}-${hash}.node`);
  if (existsSync(staged)) return staged;
  // Written whole under a temporary name, then renamed: a worker never sees a partial file.
  const temp = `${staged}.${process.pid}.tmp`;
  writeFileSync(temp, bytes, { mode: 0o700 });
  renameSync(temp, staged);
  return staged;
}

/** Loads a staged addon into this isolate (registration runs once per isolate) and returns its exports. */
export function loadAddon(extension: { name: string; namespace: string; addon: string }): Record<string, unknown> {
  const module = { exports: {} as Record<string, unknown> };
  try {
    process.dlopen(module, extension.addon);
  } catch (err) {
    const message = (err as Error).message;
    // A legacy (NAN / V8 API) addon registers once per process and cannot load in a worker thread.
    const hint = /did not self-register|not context-aware|cannot be loaded in a worker/i.test(message)
      ? "only context-aware Node-API addons load in worker threads: build it with napi-rs or neon"
      : "rebuild it for this Node.js and platform with `titan build ext`";
    throw new Error(`extension ${extension.name} (t.${extension.namespace}): the Node-API addon ${extension.addon} could not be loaded: ${message}; ${hint}`);
  }
  return module.exports;
}

// Why the guard: once `worker.terminate()` begins, every Node-API call that needs JS fails with
// napi_pending_exception. An addon that then throws (or unwraps such a status) panics inside a
// Node-API callback, which cannot unwind: the whole process aborts. Measured here: neon 1.1.2
// (`cx.throw_error`, any build) and napi-rs 3.4 (debug builds: "Throw error failed, status:
// [PendingException]") both abort when a worker is terminated while an addon call is throwing.
// So the host asks first and terminates only once no addon call is in progress; a call that
// starts after the request waits, in JS, for the termination.

/** Slots of the Int32Array a worker shares with the host (slot 0 is the watchdog's busy-since). */
export const ADDON_CALLS = 1;
export const STOP_REQUESTED = 2;
/** Size of that shared buffer, in bytes. */
export const WORKER_FLAGS_BYTES = 3 * Int32Array.BYTES_PER_ELEMENT;

/** Waits, in JS (where termination can land), for the termination the host asked for. */
function awaitTermination(flags: Int32Array): never {
  for (;;) Atomics.wait(flags, STOP_REQUESTED, 1, 100);
}

function guardFunction<F extends (...args: never[]) => unknown>(fn: F, flags: Int32Array): F {
  // The order matters (a Dekker handshake with `stopAddonCalls`): count the call first, then
  // look for a stop request; the host sets the request first, then looks at the count.
  return function guarded(this: unknown, ...args: unknown[]) {
    Atomics.add(flags, ADDON_CALLS, 1);
    if (Atomics.load(flags, STOP_REQUESTED) !== 0) {
      Atomics.sub(flags, ADDON_CALLS, 1);
      awaitTermination(flags);
    }
    try {
      return Reflect.apply(fn, this, args);
    } finally {
      Atomics.sub(flags, ADDON_CALLS, 1);
    }
  } as unknown as F;
}

/** A class: its constructor behind a Proxy (instanceof still works), its prototype's methods and accessors patched in place. */
function guardClass(constructor: new (...args: unknown[]) => unknown, flags: Int32Array) {
  const prototype = constructor.prototype as Record<string, unknown>;
  for (const [key, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(prototype))) {
    if (key === "constructor" || !descriptor.configurable) continue;
    if (typeof descriptor.value === "function") descriptor.value = guardFunction(descriptor.value as () => unknown, flags);
    if (descriptor.get) descriptor.get = guardFunction(descriptor.get, flags);
    if (descriptor.set) descriptor.set = guardFunction(descriptor.set, flags);
    Object.defineProperty(prototype, key, descriptor);
  }
  guardProperties(constructor as unknown as Record<string, unknown>, flags, new Set(["prototype", "length", "name"]));
  const construct = guardFunction((args: unknown[], newTarget: unknown) => Reflect.construct(constructor, args, newTarget as never), flags);
  return new Proxy(constructor, { construct: (_target, args, newTarget) => construct(args, newTarget) as object });
}

/** A native class has methods on its prototype; a plain function's prototype holds only `constructor`. */
function isClass(fn: { prototype?: unknown }): boolean {
  return typeof fn.prototype === "object" && fn.prototype !== null && Object.getOwnPropertyNames(fn.prototype).some((key) => key !== "constructor");
}

function guardProperties(target: Record<string, unknown>, flags: Int32Array, skip: Set<string> = new Set(), seen = new Set<object>()) {
  if (seen.has(target)) return;
  seen.add(target);
  for (const [key, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(target))) {
    if (skip.has(key) || !("value" in descriptor) || !descriptor.writable) continue;
    const value = descriptor.value as unknown;
    if (typeof value === "function") {
      target[key] = isClass(value) ? guardClass(value as new (...args: unknown[]) => unknown, flags) : guardFunction(value as () => unknown, flags);
    } else if (typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
      // Namespaces (napi-rs `#[napi] mod`) are plain objects of functions.
      guardProperties(value as Record<string, unknown>, flags, new Set(), seen);
    }
  }
}

/** Guards every function, class and namespace an addon exports (in place) and returns the exports. */
export function guardAddon<T extends Record<string, unknown>>(exports: T, flags: Int32Array): T {
  guardProperties(exports, flags);
  return exports;
}

/**
 * The host's side: asks the worker to make no more addon calls and resolves once none is in
 * progress (or after `maxWaitMs`, when a call never returns: terminating would block on it too).
 */
export async function stopAddonCalls(flags: Int32Array, maxWaitMs = 5000): Promise<void> {
  Atomics.store(flags, STOP_REQUESTED, 1);
  const deadline = performance.now() + maxWaitMs;
  while (Atomics.load(flags, ADDON_CALLS) !== 0 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
