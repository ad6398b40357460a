// `titan/harness`: what an extension's node:test files import. `loadExtension(dir)` builds the
// extension (incremental debug build, unless `titan test ext` just built it) and boots one real
// worker isolate with it bound as `t.<namespace>`; calls into it are synchronous.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { HarnessIsolate, type SwapResult } from "@titan/harness";
import type { ExtensionSpec } from "../runtime/contract.js";
import { resolveExtensions } from "../extensions/manifest.js";
import { runBuildExt } from "../commands/build-ext/run.js";

/** Set by `titan test ext` and `titan run ext`, which build before running the tests. */
export const NO_BUILD_ENV = "TITAN_HARNESS_NO_BUILD";

export interface LoadExtensionOptions {
  /** The extension's config, as an app gives it in titan.config.json (`extensions[].config`). */
  config?: unknown;
  /** The app data directory the extension and `t.db` see. Default: a fresh temporary directory. */
  dataDir?: string;
  /** Build before loading (default: true, unless TITAN_HARNESS_NO_BUILD=1). */
  build?: boolean;
  /** A call that has not returned after this many ms stops the isolate (default 30000). */
  callTimeoutMs?: number;
}

export interface HarnessExtension {
  readonly name: string;
  readonly namespace: string;
  readonly dataDir: string;
  /** The functions the native library exports. */
  readonly functions: string[];
  /** `t.<namespace>[fn](...args)` in the isolate: its result, or its exception rethrown. */
  call(fn: string, ...args: unknown[]): unknown;
  /** Evaluates JS in the isolate (`t` in scope) and returns the result. */
  eval(code: string): unknown;
  /** Rebuilds the extension and swaps the new build in (in place for native code). */
  reload(): Promise<SwapResult & { buildMs: number }>;
  /** A fresh isolate with the extension loaded anew (unload, then init), on the same data dir. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

function directoryOf(dir: string | URL): string {
  return path.resolve(dir instanceof URL ? fileURLToPath(dir) : dir);
}

/** Builds the extension in `dir` (unless told not to) and resolves what the runtime loads. */
export async function buildAndResolve(dir: string, options: { config?: unknown; build: boolean; log?: (line: string) => void }): Promise<ExtensionSpec> {
  if (options.build) await runBuildExt({ cwd: dir, release: false }, options.log ?? ((line) => process.stderr.write(`${line}\n`)));
  const [spec] = resolveExtensions(dir, [{ path: ".", config: options.config ?? null }]);
  return spec!;
}

export async function loadExtension(dir: string | URL, options: LoadExtensionOptions = {}): Promise<HarnessExtension> {
  const extDir = directoryOf(dir);
  const build = options.build ?? process.env[NO_BUILD_ENV] !== "1";
  // A data dir the harness made is its own to delete; one the caller gave is theirs.
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), "titan-harness-data-"));
  const spec = await buildAndResolve(extDir, { config: options.config, build });
  const isolate = await HarnessIsolate.start({ extension: spec, dataDir, ...(options.callTimeoutMs ? { callTimeoutMs: options.callTimeoutMs } : {}) });
  return {
    name: spec.name,
    namespace: spec.namespace,
    dataDir,
    get functions() {
      return isolate.functions;
    },
    call: (fn, ...args) => isolate.call(fn, ...args),
    eval: (code) => isolate.eval(code),
    async reload() {
      const started = performance.now();
      const next = await buildAndResolve(extDir, { config: options.config, build: true });
      const buildMs = performance.now() - started;
      return { ...(await isolate.swap(next)), buildMs };
    },
    restart: () => isolate.restart(),
    async close() {
      await isolate.close();
      if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
