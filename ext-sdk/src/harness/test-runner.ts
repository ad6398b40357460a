// Runs an extension's tests (tests/**/*.test.{js,mjs,ts,mts}) with node:test in a child process,
// against the build just made (TITAN_HARNESS_NO_BUILD=1), with `titan/harness` resolvable even
// without an npm install, and TypeScript tests run through tsx.

import { spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { NO_BUILD_ENV } from "./index.js";

const TEST_FILE = /\.test\.(js|mjs|cjs|ts|mts)$/;

export function findTests(extDir: string): string[] {
  const dir = path.join(extDir, "tests");
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  const walk = (current: string) => {
    for (const name of readdirSync(current).sort()) {
      const full = path.join(current, name);
      if (name === "node_modules") continue;
      if (statSync(full).isDirectory()) walk(full);
      else if (TEST_FILE.test(name)) found.push(full);
    }
  };
  walk(dir);
  return found;
}

export interface TestRun {
  passed: boolean;
  files: number;
  ms: number;
}

export interface RunTestsOptions {
  extDir: string;
  files: string[];
  /** Where node:test's report goes (default: this process's stdout). */
  stdout?: NodeJS.WritableStream;
  /** Passed to node's --test-name-pattern. */
  namePattern?: string;
}

export function runTests(options: RunTestsOptions): Promise<TestRun> {
  const started = performance.now();
  const args = ["--import", pathToFileURL(fileURLToPath(new URL("./resolve-titan.js", import.meta.url))).href];
  if (options.files.some((file) => /\.m?ts$/.test(file))) {
    args.push("--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm")).href);
  }
  args.push("--test", "--test-reporter=spec", "--test-concurrency=1");
  if (options.namePattern) args.push("--test-name-pattern", options.namePattern);
  args.push(...options.files);
  const env: NodeJS.ProcessEnv = { ...process.env, [NO_BUILD_ENV]: "1" };
  // Set when this process itself runs under node --test: the child would think it is a subtest
  // file and report in the parent's wire format instead of running its own tests.
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, args, {
    cwd: options.extDir,
    env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  child.stdout.pipe(options.stdout ?? process.stdout, { end: false });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ passed: code === 0, files: options.files.length, ms: performance.now() - started }));
  });
}
