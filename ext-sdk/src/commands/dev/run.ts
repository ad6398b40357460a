// `titan dev` implementation: a DevSession builds the app into .titan/build, serves it, watches
// app/ and titan.config.json, and on each change rebuilds and hot-reloads the runtime. While the
// app has type or build errors the server answers 503 with them, and recovers by itself. The
// app's registered extensions that have sources (a Cargo.toml) are watched too: a saved change
// rebuilds the extension (`titan build ext`), then the app, and the runtime swaps it in.

import chokidar, { type FSWatcher } from "chokidar";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { BuildError, CliError } from "../../errors.js";
import { CONFIG_FILE_NAME, loadConfig, type LoadedConfig } from "../../config/load.js";
import { resolveConfig } from "../../config/resolve.js";
import { createStagingDir, replaceWithStaging } from "../../build/build-dir.js";
import { writeEmptyBuild } from "../../build/manifest.js";
import { buildApp, type BuildResult } from "../../build/pipeline.js";
import { TypeChecker } from "../../build/typecheck.js";
import { listeningLine, printError, serverUrl } from "../../cli/output.js";
import { paint, useColor } from "../../cli/terminal.js";
import { loadRuntimeHost } from "../../runtime/host.js";
import type { ResolvedConfig, RuntimeHost, TitanServer, UnavailableReason } from "../../runtime/contract.js";
import { formatMs } from "../../util/format.js";
import type { DevCommandOptions } from "./options.js";
import { existsSync } from "node:fs";
import { runBuildExt } from "../build-ext/run.js";

/** What the dev build's directory is, relative to the app. */
export const DEV_BUILD_DIR = path.join(".titan", "build");

/** Starts `titan dev`; resolves once the server listens (even when the first build failed). */
export async function runDev(options: DevCommandOptions, log: (line: string) => void = console.log): Promise<DevSession> {
  const session = new DevSession(options, log, await loadRuntimeHost());
  await session.start();
  return session;
}

export class DevSession {
  readonly appDir: string;
  readonly buildDir: string;
  private readonly configFile: string;
  private readonly typeChecker: TypeChecker;
  private readonly color: boolean;
  private server: TitanServer | null = null;
  /** The config the running server was started with; the host keeps it across reloads, so any change needs a restart. */
  private serverConfig: ResolvedConfig | null = null;
  /** Last valid config; used while the file is broken. */
  private config: LoadedConfig = { file: null, config: {} };
  private configEverValid = false;
  private watcher: FSWatcher | null = null;
  private extensionWatcher: FSWatcher | null = null;
  /** The extension source directories `extensionWatcher` watches (follows the config). */
  private watchedExtensionDirs: string[] = [];
  /** Extension directories whose sources changed, rebuilt before the next app build. */
  private pendingExtensions = new Set<string>();
  private pendingChanges = new Set<string>();
  private debounceTimer: NodeJS.Timeout | null = null;
  private rebuilding: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly options: DevCommandOptions,
    private readonly log: (line: string) => void,
    private readonly host: RuntimeHost,
  ) {
    this.appDir = path.resolve(options.cwd);
    this.buildDir = path.join(this.appDir, DEV_BUILD_DIR);
    this.configFile = path.join(this.appDir, CONFIG_FILE_NAME);
    this.typeChecker = new TypeChecker(this.appDir);
    this.color = options.color ?? useColor(process.stderr);
  }

  get url(): string | undefined {
    return this.server ? serverUrl(this.server.host, this.server.port) : undefined;
  }

  async start(): Promise<void> {
    this.reloadConfigFile();
    const started = performance.now();
    const outcome = await this.build();
    if (outcome.ok) {
      this.log(`${paint.green("built")} in ${formatMs(performance.now() - started)}`);
    } else {
      // Serve anyway, so the port is up and answers with the errors until they are fixed.
      this.writeEmptyBuild();
    }
    await this.startServer(outcome.ok ? outcome.result.manifest.config : this.fallbackConfig());
    this.settle(outcome);
    this.announceListening();
    if (outcome.ok && outcome.result.startMessage) this.log(outcome.result.startMessage);
    this.watch();
  }

  /** Stops watching and closes the server gracefully. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    await this.watcher?.close();
    await this.extensionWatcher?.close();
    await this.rebuilding;
    await this.server?.close();
    this.server = null;
  }

  private watch(): void {
    const watched = new Set([path.join(this.appDir, "app"), this.configFile, path.join(this.appDir, "tsconfig.json")]);
    this.watcher = chokidar.watch(this.appDir, {
      ignoreInitial: true,
      // Watch only app/, the config and tsconfig.json: never descend into node_modules, dist or .titan.
      ignored: (file) => {
        if (file === this.appDir) return false;
        const [top] = path.relative(this.appDir, file).split(path.sep);
        return !watched.has(path.join(this.appDir, top ?? ""));
      },
    });
    this.watcher.on("all", (_event, file) => this.onChange(file));
    this.watcher.on("error", (error) => this.log(paint.yellow(`file watcher: ${String(error)}`)));
    this.watchExtensions();
  }

  /** The registered extensions built from sources here (a Cargo.toml next to their titan.json). */
  private extensionSourceDirs(): string[] {
    const entries = this.config.config.extensions ?? [];
    return entries.map((entry) => path.resolve(this.appDir, entry.path)).filter((dir) => existsSync(path.join(dir, "Cargo.toml")) && existsSync(path.join(dir, "titan.json")));
  }

  /** Watches the registered extensions' sources; again after a config change that registers
   * or drops one, so an extension added while `titan dev` runs is rebuilt on save too. */
  private watchExtensions(): void {
    if (this.closed) return;
    const dirs = this.extensionSourceDirs();
    if (dirs.join("\n") === this.watchedExtensionDirs.join("\n")) return;
    const previous = this.extensionWatcher;
    this.extensionWatcher = null;
    this.watchedExtensionDirs = dirs;
    void previous?.close();
    if (dirs.length === 0) return;
    const outputs = /(^|[/\\])(target|native|node_modules|\.titan|\.git)([/\\]|$)|index\.d\.ts$|titan\.json$/;
    this.extensionWatcher = chokidar.watch(dirs, {
      ignoreInitial: true,
      // titan.json is rewritten by the build itself (the library path): not a source.
      ignored: (file) => outputs.test(file),
    });
    this.extensionWatcher.on("all", (_event, file) => {
      const dir = dirs.find((candidate) => file.startsWith(candidate + path.sep));
      if (!dir) return;
      this.pendingExtensions.add(dir);
      this.onChange(file);
    });
    this.extensionWatcher.on("error", (error) => this.log(paint.yellow(`extension watcher: ${String(error)}`)));
    this.log(paint.dim(`watching extension sources: ${dirs.map((dir) => path.relative(this.appDir, dir) || ".").join(", ")}`));
  }

  /** Rebuilds the extensions whose sources changed; false (after printing why) when one failed,
   * in which case the running build, with the previous library, keeps serving. */
  private async rebuildExtensions(): Promise<boolean> {
    const dirs = [...this.pendingExtensions];
    this.pendingExtensions.clear();
    for (const dir of dirs) {
      try {
        const result = await runBuildExt({ cwd: dir, release: false }, (line) => this.log(paint.dim(line)));
        this.log(`${paint.green("rebuilt")} extension ${result.name} in ${formatMs(result.totalMs)}`);
      } catch (error) {
        printError(error);
        this.log(paint.yellow(`extension ${path.basename(dir)} did not build: the previous build keeps serving`));
        return false;
      }
    }
    return true;
  }

  private onChange(file: string): void {
    if (this.closed) return;
    this.pendingChanges.add(file);
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = null;
      void this.rebuildWhenIdle();
    }, this.options.debounceMs ?? 50);
  }

  /** One rebuild at a time; changes that arrive meanwhile are rebuilt right after. */
  private async rebuildWhenIdle(): Promise<void> {
    if (this.rebuilding) return;
    while (this.pendingChanges.size > 0 && !this.closed) {
      const changes = this.pendingChanges;
      this.pendingChanges = new Set();
      this.rebuilding = this.rebuild(changes).catch((error: unknown) => printError(error));
      await this.rebuilding;
      this.rebuilding = null;
    }
  }

  private async rebuild(changes: Set<string>): Promise<void> {
    const started = performance.now();
    if (this.pendingExtensions.size > 0 && !(await this.rebuildExtensions())) return;
    if (changes.has(this.configFile)) {
      if (this.reloadConfigFile()) this.watchExtensions();
      // A broken config keeps the running server as it is; the error is printed above.
      else if (changes.size === 1) return;
    }
    const outcome = await this.build();
    const buildMs = performance.now() - started;
    if (outcome.ok) {
      const next = outcome.result.manifest.config;
      if (!this.server || this.needsRestart(next)) {
        if (this.server) {
          this.log(paint.cyan("config changed: restarting the server"));
          await this.server.close();
          this.server = null;
        }
        // If this fails (port taken...), the error is printed and the next good build tries again.
        await this.startServer(next);
        this.settle(outcome);
        this.announceListening();
        return;
      } else {
        const swap = await this.server.reload(this.buildDir);
        this.settle(outcome);
        this.log(
          `${paint.green("reloaded")} in ${formatMs(performance.now() - started)} (build ${formatMs(buildMs)}, ` +
            (swap.kept ? `same code: the workers kept serving, ${formatMs(swap.ms)})` : `swap ${formatMs(swap.ms)})`),
        );
        return;
      }
    }
    this.settle(outcome);
  }

  /** Gates the server on a failed build, then prints why: in that order, so whoever reads the
   * errors already finds the server refusing requests. */
  private settle(outcome: { ok: true } | { ok: false; error: CliError }): void {
    this.applyAvailability(outcome);
    if (!outcome.ok) {
      printError(outcome.error);
      this.log(paint.yellow("the server answers 503 with these errors until they are fixed"));
    }
  }

  /** Re-reads titan.config.json; false (after printing why) when it is invalid. */
  private reloadConfigFile(): boolean {
    try {
      this.config = loadConfig(this.appDir);
      this.configEverValid = true;
      return true;
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      printError(error);
      this.log(paint.yellow(this.server ? "keeping the running server; fix the config and save" : "fix the config and save"));
      return false;
    }
  }

  private async build(): Promise<{ ok: true; result: BuildResult } | { ok: false; error: CliError }> {
    try {
      const result = await buildApp({
        appDir: this.appDir,
        outDir: this.buildDir,
        typeChecker: this.typeChecker,
        color: this.color,
        portFlag: this.options.portFlag,
        env: this.options.env,
        config: this.config,
      });
      for (const file of result.typeFilesWritten) this.log(paint.dim(`updated ${file}`));
      return { ok: true, result };
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      return { ok: false, error };
    }
  }

  /** The server refuses requests while the build is broken, or while the config has never been valid. */
  private applyAvailability(outcome: { ok: true } | { ok: false; error: CliError }): void {
    if (!this.server) return;
    let reason: UnavailableReason | null = null;
    if (!outcome.ok) {
      const error = outcome.error;
      const diagnostics = error instanceof BuildError ? [...error.diagnostics] : [error.message, ...error.details];
      reason = { code: error instanceof BuildError ? error.code : "build_error", message: error.message, diagnostics };
    } else if (!this.configEverValid) {
      reason = { code: "build_error", message: `${CONFIG_FILE_NAME} is invalid`, diagnostics: [] };
    }
    this.server.setUnavailable(reason);
  }

  private async startServer(config: ResolvedConfig): Promise<void> {
    this.server = await this.host.startServer({ buildDir: this.buildDir, dev: true, log: this.log, dataDir: this.appDir });
    this.serverConfig = config;
  }

  /** Printed once the server is gated or open as the build says, so a client that waits for this
   * line never sees the in-between state. */
  private announceListening(): void {
    if (this.server) this.log(listeningLine(this.server.host, this.server.port));
  }

  private needsRestart(next: ResolvedConfig): boolean {
    const current = this.serverConfig;
    if (!current) return true;
    return (Object.keys(next) as (keyof ResolvedConfig)[]).some((key) => current[key] !== next[key]);
  }

  /** The config of the empty build served when the first build fails. */
  private fallbackConfig(): ResolvedConfig {
    return resolveConfig(this.config.config, { portFlag: this.options.portFlag, env: this.options.env });
  }

  private writeEmptyBuild(): void {
    const staging = createStagingDir(this.buildDir);
    writeEmptyBuild(staging, this.fallbackConfig());
    replaceWithStaging(staging, this.buildDir);
  }
}
