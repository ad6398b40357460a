// `titan run ext`: build (incremental), boot the harness isolate, run the tests; optionally keep
// going with --watch (rebuild, swap in place, re-run), --repl, --serve.

import path from "node:path";
import { performance } from "node:perf_hooks";
import { HarnessIsolate, serveExtension, serveNetron, startRepl, watchExtension, type ExtensionWatcher } from "@titan/harness";
import { paint } from "../../cli/terminal.js";
import { CliError } from "../../errors.js";
import { buildAndResolve } from "../../harness/index.js";
import { describeEmptyFiles, findTests, runTests } from "../../harness/test-runner.js";
import { formatMs } from "../../util/format.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import type { RunExtOptions } from "./options.js";

export interface RunExtSession {
  isolate: HarnessIsolate;
  watcher?: ExtensionWatcher;
  url?: string;
  /** Whether the first test run passed (true when no tests ran). */
  passed: boolean;
  /** Resolves when the session ends by itself (the REPL exited); never for --watch/--serve. */
  done: Promise<void>;
  close(): Promise<void>;
}

function parseConfig(text: string | undefined): unknown {
  if (text === undefined) return null;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(`--config is not valid JSON: ${(error as Error).message}`, { hint: `quote it for the shell, e.g. --config '{"file":"kv.sqlite"}'` });
  }
}

export async function runRunExt(options: RunExtOptions, log: (line: string) => void): Promise<RunExtSession> {
  const extDir = path.resolve(options.cwd);
  const config = parseConfig(options.config);
  if (options.netron !== undefined && (options.watch || options.repl || options.serve !== undefined)) {
    throw new CliError("--netron runs on its own: not with --watch, --repl or --serve", { hint: "run `titan run ext --netron <address>` alone; restart it after a rebuild" });
  }
  const build = () => buildAndResolve(extDir, { config, build: true, log: (line) => log(paint.dim(line)) });

  const buildStarted = performance.now();
  const spec = await buildAndResolve(extDir, { config, build: true, log });
  const buildMs = performance.now() - buildStarted;

  const bootStarted = performance.now();
  const dataDir = mkdtempSync(path.join(tmpdir(), "titan-run-ext-"));
  const isolate = await HarnessIsolate.start({ extension: spec, dataDir });
  log(`${paint.green("ready")} t.${spec.namespace} in a worker isolate (build ${formatMs(buildMs)}, boot ${formatMs(performance.now() - bootStarted)}); data dir ${dataDir}`);

  const testFiles = options.test && !options.repl ? findTests(extDir) : [];
  const test = async () => {
    if (testFiles.length === 0) return true;
    const run = await runTests({ extDir, files: testFiles });
    for (const line of describeEmptyFiles(extDir, run.emptyFiles)) log(paint.red(`✖ ${line}`));
    log(run.passed ? paint.green(`✔ tests passed (${formatMs(run.ms)})`) : paint.red(`✖ tests failed (${formatMs(run.ms)})`));
    return run.passed;
  };
  if (options.test && !options.repl && testFiles.length === 0) log(paint.yellow("no tests in tests/ (add tests/<name>.test.js)"));
  const passed = await test();

  if (options.netron !== undefined) {
    // A transport's scheme can be registered once per process: the test isolate lets go of the
    // extension before the server loads it.
    await isolate.close();
    const netron = await serveNetron({ extension: spec, listen: options.netron, dataDir, log: (line) => log(paint.dim(line)) });
    const addresses = netron.server.netron?.addresses.join(", ") ?? options.netron;
    log(`${paint.green("serving")} harness@1.0.0 (echo, count, peer) over ${addresses}: connect with titan/netron's connect("${addresses.split(", ")[0]}")`);
    const close = async () => {
      await netron.server.close();
      rmSync(dataDir, { recursive: true, force: true });
    };
    return { isolate, url: addresses, passed, done: new Promise(() => {}), close };
  }

  let server: Awaited<ReturnType<typeof serveExtension>> | undefined;
  if (options.serve !== undefined && isolate.functions.length === 0) {
    await isolate.close();
    throw new CliError(`${spec.name} has no t.${spec.namespace} functions for --serve to call over HTTP`, {
      hint: "a transport extension serves Netron: `titan run ext --netron <scheme>://127.0.0.1:<port>` with its config",
    });
  }
  if (options.serve !== undefined) {
    server = await serveExtension({ extension: spec, functions: isolate.functions, dataDir, ...(options.serve === true ? {} : { port: options.serve }), log: (line) => log(paint.dim(line)) });
    log(`${paint.green("serving")} ${server.server.url}  (GET /  ·  POST /call/<fn> with a JSON array of arguments)`);
  }

  let watcher: ExtensionWatcher | undefined;
  if (options.watch) {
    watcher = watchExtension({
      dir: extDir,
      isolate,
      build,
      log,
      ...(testFiles.length > 0 ? { runTests: test } : {}),
      ...(server ? { afterSwap: async () => void (await server!.server.reload(server!.buildDir)) } : {}),
    });
    await watcher.ready;
    log(paint.dim(`watching ${extDir} (src, Cargo.toml, titan.json, entry, tests)`));
  }

  const close = async () => {
    await watcher?.close();
    await server?.server.close();
    await isolate.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  let done: Promise<void> = new Promise(() => {});
  if (options.repl) {
    done = startRepl({
      isolate,
      async reload() {
        const started = performance.now();
        const next = await build();
        const built = performance.now() - started;
        const swap = await isolate.swap(next);
        return `rebuilt in ${formatMs(built)}, ${swap.mode === "in-place" ? "swapped in place" : "isolate restarted"} in ${swap.swapMs.toFixed(1)} ms`;
      },
    }).then(close);
  } else if (!options.watch && options.serve === undefined) {
    await close();
    done = Promise.resolve();
  }
  return { isolate, ...(watcher ? { watcher } : {}), ...(server ? { url: server.server.url } : {}), passed, done, close };
}
