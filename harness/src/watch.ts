// `titan run ext --watch`: on every save, rebuild the extension, swap the new build into the
// running isolate (in place for native code), then re-run the tests; each step's time printed.
// A build or load that fails leaves the previous build serving.

import path from "node:path";
import { performance } from "node:perf_hooks";
import { watch, type FSWatcher } from "chokidar";
import type { ExtensionSpec } from "@titan/core/embed";
import type { HarnessIsolate, SwapResult } from "./isolate.js";

export interface WatchOptions {
  /** The extension's directory. */
  dir: string;
  isolate: HarnessIsolate;
  /** Builds the extension (incremental) and resolves its spec. */
  build: () => Promise<ExtensionSpec>;
  /** Runs the extension's tests; resolves whether they passed. */
  runTests?: () => Promise<boolean>;
  /** Called after each successful swap (e.g. to reload an HTTP server onto the new build). */
  afterSwap?: (spec: ExtensionSpec) => Promise<void>;
  log: (line: string) => void;
  /** Quiet period after the last change before rebuilding (default 80 ms). */
  debounceMs?: number;
}

export interface CycleReport {
  ok: boolean;
  buildMs?: number;
  swap?: SwapResult;
  testsPassed?: boolean;
  error?: string;
}

/** Files that change the build, as opposed to tests only. */
function isTestFile(dir: string, file: string): boolean {
  return path.relative(dir, file).split(path.sep)[0] === "tests";
}

const IGNORED = /(^|[/\\])(target|native|node_modules|\.git|\.titan)([/\\]|$)|index\.d\.ts$/;

export interface ExtensionWatcher {
  /** Resolves once the watcher is watching. */
  ready: Promise<void>;
  /** Every finished cycle, in order. */
  cycles: CycleReport[];
  /** Resolves with the next finished cycle. */
  nextCycle(): Promise<CycleReport>;
  close(): Promise<void>;
}

export function watchExtension(options: WatchOptions): ExtensionWatcher {
  const { dir, isolate, log } = options;
  const cycles: CycleReport[] = [];
  const waiting: ((report: CycleReport) => void)[] = [];
  let timer: NodeJS.Timeout | undefined;
  let pending = new Set<string>();
  let running: Promise<void> = Promise.resolve();

  async function cycle(changed: string[]): Promise<CycleReport> {
    const codeChanged = changed.some((file) => !isTestFile(dir, file));
    const report: CycleReport = { ok: true };
    if (codeChanged) {
      const started = performance.now();
      let spec: ExtensionSpec;
      try {
        spec = await options.build();
      } catch (err) {
        log(`✖ build failed, the previous build keeps running: ${(err as Error).message}`);
        return { ok: false, error: (err as Error).message };
      }
      report.buildMs = performance.now() - started;
      try {
        report.swap = await isolate.swap(spec);
        await options.afterSwap?.(spec);
      } catch (err) {
        log(`✖ the new build did not load, the previous build keeps running: ${(err as Error).message}`);
        return { ok: false, buildMs: report.buildMs, error: (err as Error).message };
      }
      const how = report.swap.mode === "in-place" ? "swapped in place" : "isolate restarted";
      log(`↻ rebuilt in ${Math.round(report.buildMs)} ms, ${how} in ${report.swap.swapMs.toFixed(1)} ms`);
    }
    if (options.runTests) {
      report.testsPassed = await options.runTests();
      report.ok = report.testsPassed;
    }
    return report;
  }

  function schedule(file: string) {
    pending.add(path.resolve(dir, file));
    clearTimeout(timer);
    timer = setTimeout(() => {
      const changed = [...pending];
      pending = new Set();
      running = running.then(async () => {
        const report = await cycle(changed);
        cycles.push(report);
        waiting.splice(0).forEach((resolve) => resolve(report));
      });
    }, options.debounceMs ?? 80);
  }

  const watcher: FSWatcher = watch(dir, { ignored: (file) => IGNORED.test(path.relative(dir, file)), ignoreInitial: true });
  watcher.on("add", schedule).on("change", schedule).on("unlink", schedule);
  const ready = new Promise<void>((resolve) => watcher.once("ready", () => resolve()));

  return {
    ready,
    cycles,
    nextCycle: () => new Promise((resolve) => waiting.push(resolve)),
    async close() {
      clearTimeout(timer);
      await watcher.close();
      await running;
    },
  };
}
