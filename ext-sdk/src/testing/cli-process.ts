// Test helpers that drive the real `titan` command (ext-sdk/bin/titan.js → dist/cli/main.js) as a child
// process, non-interactively, and wait for what it prints.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { get as httpGet } from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const EXT_SDK = fileURLToPath(new URL("../../", import.meta.url));
export const REPO_ROOT = path.resolve(EXT_SDK, "..");
/** What a user runs: the committed launcher, which loads the compiled CLI. */
export const CLI_PATH = path.join(EXT_SDK, "bin", "titan.js");
const COMPILED_CLI = path.join(EXT_SDK, "dist", "cli", "main.js");

/** Why the runtime-backed tests cannot run here, or false when they can. */
/** Fails (never skips) when the runtime is not built: a skipped end-to-end suite would hide a broken build. */
export function assertRuntimeBuilt(): void {
  const needed = [path.join(REPO_ROOT, "core-runtime", "dist", "index.js"), path.join(REPO_ROOT, "core-runtime", "native", "index.cjs")];
  const missing = needed.filter((file) => !existsSync(file));
  if (missing.length > 0) throw new Error(`the runtime is not built (missing ${missing.join(", ")}); run \`npm run build\``);
}

export function assertCliBuilt(): void {
  if (!existsSync(COMPILED_CLI)) throw new Error(`${COMPILED_CLI} is missing: build the CLI first (npm run build)`);
}

/** A GET on a new connection (no keep-alive pool), so whichever worker is idle accepts it: a
 * pooled connection may belong to a worker that is busy. Resolves with the status. */
export function getOnNewConnection(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    httpGet(url, { agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    }).on("error", reject);
  });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `titan-${prefix}-`));
}

/** Environment of every CLI child: never interactive, no colors, PORT from the parent never leaks in. */
function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: "true", NO_COLOR: "1", ...extra };
  if (!("PORT" in extra)) delete env.PORT;
  if (!("TITAN_DEBUG" in extra)) delete env.TITAN_DEBUG;
  return env;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion. */
export function runCli(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<CliRun> {
  assertCliBuilt();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], { cwd: options.cwd, env: childEnv(options.env), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`titan ${args.join(" ")} did not finish in ${options.timeoutMs ?? 60_000} ms\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A long-running CLI (dev, start) whose output tests wait on. Always `stop()` it in `after`. */
export class CliProcess {
  readonly child: ChildProcess;
  /** stdout and stderr, interleaved as they arrive. */
  output = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private listeners = new Set<() => void>();

  constructor(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) {
    assertCliBuilt();
    this.child = spawn(process.execPath, [CLI_PATH, ...args], { cwd: options.cwd, env: childEnv(options.env), stdio: ["ignore", "pipe", "pipe"] });
    const collect = (chunk: Buffer): void => {
      this.output += chunk.toString();
      for (const listener of this.listeners) listener();
    };
    this.child.stdout!.on("data", collect);
    this.child.stderr!.on("data", collect);
    this.exited = new Promise((resolve) => this.child.once("exit", (code, signal) => resolve({ code, signal })));
  }

  /** A position in the output; pass it to waitFor to see only what comes after it. */
  mark(): number {
    return this.output.length;
  }

  /** Resolves with the first match of `pattern` in the output after `from`. */
  waitFor(pattern: RegExp, options: { from?: number; timeoutMs?: number } = {}): Promise<RegExpMatchArray> {
    const from = options.from ?? 0;
    const timeoutMs = options.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const match = this.output.slice(from).match(pattern);
        if (!match) return false;
        cleanup();
        resolve(match);
        return true;
      };
      const onExit = (): void => {
        if (check()) return;
        cleanup();
        reject(new Error(`the CLI exited before printing ${pattern}; output:\n${this.output}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern}; output:\n${this.output}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        this.child.off("exit", onExit);
      };
      const listener = (): void => void check();
      if (check()) return;
      this.listeners.add(listener);
      this.child.once("exit", onExit);
    });
  }

  /** Waits for `listening on http://HOST:PORT` and returns a base URL on 127.0.0.1 with that port. */
  async listening(options: { from?: number; timeoutMs?: number } = {}): Promise<string> {
    const match = await this.waitFor(/listening on http:\/\/(\S+):(\d+)/, options);
    return `http://127.0.0.1:${match[2]}`;
  }

  /** Sends SIGKILL if the process still runs, and waits for it to be gone. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
    await this.exited;
  }
}
