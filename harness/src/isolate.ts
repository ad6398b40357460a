// The harness's one worker isolate, seen from the main thread: boots it with the built-in engines
// and one extension, makes synchronous calls into it, swaps the extension's code in place.

import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import { performance } from "node:perf_hooks";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadEngines, loadExtensions, loadNative, type BoundExtension, type ExtensionSpec, type Native } from "@titan/core/embed";
import { Flag, type IsolateData, type IsolateReply, type IsolateRequest, type IsolateStatus } from "./protocol.js";

const WORKER_FILE = new URL("./isolate-worker.js", import.meta.url);
/** Worker ids of harness isolates start here, so they never collide with a server's slots. */
const FIRST_SLOT = 1000;
let nextSlot = FIRST_SLOT;

export interface IsolateOptions {
  /** The extension, resolved from its titan.json (library path, namespace, entry, config). */
  extension: ExtensionSpec;
  /** The app data directory the engines and extensions see (`t.db`'s file lives here). */
  dataDir: string;
  /** A call that has not returned after this long stops the isolate (default 30 s). */
  callTimeoutMs?: number;
  /** Log level inside the isolate (default "info", or TITAN_LOG_LEVEL). */
  logLevel?: string;
}

/** How an extension's new build was put into service. */
export interface SwapResult {
  /** `in-place`: the native library was swapped under the same isolate; `restart`: a new isolate. */
  mode: "in-place" | "restart";
  /** From the new library being loaded to the isolate being able to call it. */
  swapMs: number;
}

export class HarnessError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(hint ? `${message}\n  hint: ${hint}` : message);
    this.name = "HarnessError";
  }
}

let copiesDir: string | undefined;
let copies = 0;

/** A copy of `library` under a name no library was loaded from before; removed at exit. */
function uniqueCopy(library: string): string {
  if (!copiesDir) {
    const dir = mkdtempSync(path.join(tmpdir(), "titan-harness-lib-"));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    copiesDir = dir;
  }
  const copy = path.join(copiesDir, `${++copies}-${path.basename(library)}`);
  copyFileSync(library, copy);
  return copy;
}

export class HarnessIsolate {
  private worker!: Worker;
  private port!: MessagePort;
  private flag!: Int32Array;
  private engines: BoundExtension[] = [];
  private bound!: BoundExtension;
  private state: "running" | "stopped" = "stopped";
  private loaded = false;
  private boundFunctions: string[] = [];
  private readonly slot = nextSlot++;
  private readonly native: Native = loadNative();

  private constructor(private spec: ExtensionSpec, private readonly options: IsolateOptions) {}

  /** Loads the engines and the extension in this process, then boots the isolate. */
  static async start(options: IsolateOptions): Promise<HarnessIsolate> {
    const isolate = new HarnessIsolate(options.extension, options);
    await isolate.boot();
    return isolate;
  }

  get namespace(): string {
    return this.spec.namespace;
  }

  get extension(): ExtensionSpec {
    return this.spec;
  }

  /** The functions `t.<namespace>` has in the isolate (the natives or addon exports, plus what its JS entry added). */
  get functions(): string[] {
    return this.boundFunctions;
  }

  private async boot(): Promise<void> {
    this.engines = loadEngines(this.native, { db: undefined }, this.options.dataDir);
    try {
      [this.bound] = loadExtensions(this.native, [this.spec], this.options.dataDir) as [BoundExtension];
    } catch (err) {
      for (const engine of this.engines) this.native.extRelease(engine.id);
      throw err;
    }
    this.loaded = true;
    await this.startWorker();
  }

  private async startWorker(): Promise<void> {
    const { port1, port2 } = new MessageChannel();
    const flag = new SharedArrayBuffer(4);
    const data: IsolateData = {
      slot: this.slot,
      namespace: this.spec.namespace,
      engines: this.engines,
      extension: this.bound,
      flag,
      port: port2,
      logLevel: this.options.logLevel ?? process.env.TITAN_LOG_LEVEL ?? "info",
    };
    const worker = new Worker(WORKER_FILE, { workerData: data, transferList: [port2] });
    const status = await new Promise<IsolateStatus>((resolve) => {
      worker.once("message", resolve);
      worker.once("error", (err) => resolve({ type: "failed", message: err.message, stack: err.stack }));
      worker.once("exit", (code) => resolve({ type: "failed", message: `the isolate exited with code ${code} while starting` }));
    });
    worker.removeAllListeners();
    if (status.type === "failed") {
      await worker.terminate();
      port1.close();
      throw new HarnessError(`the extension ${this.spec.name} could not start in an isolate: ${status.message}`, "fix the error above (its JS entry or worker_init), then run again");
    }
    this.boundFunctions = status.functions;
    // The isolate stays alive on its port; it must not keep a test process alive by itself.
    worker.unref();
    this.worker = worker;
    this.port = port1;
    this.flag = new Int32Array(flag);
    this.state = "running";
  }

  private request(request: IsolateRequest, what: string): unknown {
    if (this.state !== "running") throw new HarnessError(`${what}: the isolate is stopped`, "restart() boots a new one");
    Atomics.store(this.flag, 0, Flag.Waiting);
    this.port.postMessage(request);
    const timeout = this.options.callTimeoutMs ?? 30_000;
    const waited = Atomics.wait(this.flag, 0, Flag.Waiting, timeout);
    const message = receiveMessageOnPort(this.port)?.message as IsolateReply | undefined;
    if (!message) {
      this.state = "stopped";
      void this.worker.terminate();
      if (waited === "timed-out") {
        throw new HarnessError(`${what} did not return within ${timeout} ms; the isolate was stopped`, "look for an endless loop or a blocking wait in the extension; restart() boots a new isolate");
      }
      throw new HarnessError(`${what}: the isolate exited during the call`, "the extension ended the worker (process.exit?) — see its output above");
    }
    if (message.ok) return message.value;
    const error = new Error(message.error.message);
    error.name = message.error.name;
    if (message.error.stack) error.stack = message.error.stack;
    throw error;
  }

  /** `t.<namespace>[fn](...args)` in the isolate; its result, or its exception rethrown. */
  call(fn: string, ...args: unknown[]): unknown {
    return this.request({ op: "call", fn, args }, `t.${this.spec.namespace}.${fn}()`);
  }

  /** Evaluates JS in the isolate (`t` in scope) and returns the result. */
  eval(code: string): unknown {
    return this.request({ op: "eval", code }, "eval");
  }

  /** Evaluates JS in the isolate and returns the result formatted by util.inspect (for the REPL). */
  inspect(code: string, colors = false): string {
    return this.request({ op: "inspect", code, colors }, "eval") as string;
  }

  /** Property completions for an expression such as `t.mydb.g` (for the REPL). */
  complete(expression: string): string[] {
    return this.request({ op: "complete", expression }, "complete") as string[];
  }

  /**
   * Puts a new build of the extension into service. A native extension is swapped in place by
   * the core's `extReload` (its function table replaced under the running isolate, calls in
   * flight finish on the old library); a Node-API addon, or any extension of a stopped isolate,
   * gets a new isolate on the new build.
   * A build that fails to load leaves the old one serving, and the error says why.
   */
  async swap(next: ExtensionSpec): Promise<SwapResult> {
    const started = performance.now();
    if (next.kind === "native" && this.spec.kind === "native" && this.state === "running") {
      const info = this.native.extReload(this.bound.id, next.library, this.options.dataDir);
      this.bound = { ...this.bound, id: info.id, functions: info.functions.map((f) => ({ name: f.name, arity: f.arity })) };
      this.spec = next;
      this.boundFunctions = this.request({ op: "rebind", extension: this.bound }, "rebind") as string[];
      return { mode: "in-place", swapMs: performance.now() - started };
    }
    // A native library must be opened from a path never opened before: dlopen of a path that is
    // still open returns the image already loaded, i.e. the old code.
    const fresh = next.kind === "native" ? { ...next, library: uniqueCopy(next.library) } : next;
    const [loaded] = loadExtensions(this.native, [fresh], this.options.dataDir) as [BoundExtension];
    const previous = this.bound;
    await this.stopWorker();
    this.native.extRelease(previous.id);
    this.bound = loaded;
    this.spec = next;
    await this.startWorker();
    return { mode: "restart", swapMs: performance.now() - started };
  }

  /** Stops the isolate and boots a fresh one, with the extension loaded anew (its unload, then
   * init, run): what a process restart looks like to the extension. */
  async restart(): Promise<void> {
    await this.stopWorker();
    this.release();
    await this.boot();
  }

  async close(): Promise<void> {
    await this.stopWorker();
    this.release();
  }

  private async stopWorker(): Promise<void> {
    if (this.state === "stopped" && !this.worker) return;
    this.state = "stopped";
    this.port?.close();
    await this.worker?.terminate();
  }

  /** Lets the core unload what this isolate used (once: close() after restart() is fine). */
  private release() {
    if (!this.loaded) return;
    this.loaded = false;
    for (const extension of [...this.engines, this.bound]) this.native.extRelease(extension.id);
    this.engines = [];
  }
}
