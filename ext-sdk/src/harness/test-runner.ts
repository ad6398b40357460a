// Runs an extension's tests (tests/**/*.test.{js,mjs,ts,mts}) with node:test in a child process,
// against the build just made (TITAN_HARNESS_NO_BUILD=1), with `titan/harness` resolvable even
// without an npm install, and TypeScript tests run through tsx.

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
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
  /** Test files that ran no test (without a name pattern, this fails the run). */
  emptyFiles: string[];
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
  // Two reporters: the readable one, and one that counts each file's tests for the check below.
  const counts = path.join(mkdtempSync(path.join(tmpdir(), "titan-test-counts-")), "counts.json");
  const countReporter = pathToFileURL(fileURLToPath(new URL("./count-reporter.js", import.meta.url))).href;
  args.push("--test", "--test-reporter=spec", "--test-reporter-destination=stdout", `--test-reporter=${countReporter}`, `--test-reporter-destination=${counts}`, "--test-concurrency=1");
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
    child.on("close", (code) => {
      const emptyFiles = filesWithoutTests(options.files, counts);
      const passed = code === 0 && (options.namePattern !== undefined || emptyFiles.length === 0);
      resolve({ passed, files: options.files.length, ms: performance.now() - started, emptyFiles });
    });
  });
}

/** The files the count reporter saw no test in (all of them when it wrote nothing: a crash). */
function filesWithoutTests(files: string[], countsFile: string): string[] {
  let counts: Record<string, number> = {};
  try {
    counts = JSON.parse(readFileSync(countsFile, "utf8")) as Record<string, number>;
  } catch {
    // No report: node stopped before the end; the exit code already says the run failed.
  } finally {
    rmSync(path.dirname(countsFile), { recursive: true, force: true });
  }
  return files.filter((file) => !(counts[path.resolve(file)]! > 0));
}

/** One line per test file that ran no test, saying what to check. */
export function describeEmptyFiles(extDir: string, files: string[]): string[] {
  return files.map((file) => `${path.relative(extDir, file)} ran no tests: register them with test() or it() from node:test (a file that only loads the extension checks nothing)`);
}
