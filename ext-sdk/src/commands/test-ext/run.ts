// `titan test ext`: build (incremental), then the extension's node:test files, once.

import path from "node:path";
import { paint } from "../../cli/terminal.js";
import { CliError } from "../../errors.js";
import { buildAndResolve } from "../../harness/index.js";
import { describeEmptyFiles, findTests, runTests, type TestRun } from "../../harness/test-runner.js";
import { displayPath, formatMs } from "../../util/format.js";
import type { TestExtOptions } from "./options.js";

/** The extension's test files, or an error saying where they go. */
export function requireTests(extDir: string): string[] {
  const files = findTests(extDir);
  if (files.length === 0) {
    throw new CliError(`no tests in ${displayPath(process.cwd(), path.join(extDir, "tests"))}/`, {
      hint: 'add tests/<name>.test.js using `import { loadExtension } from "titan/harness"` (every template has one)',
    });
  }
  return files;
}

export async function runTestExt(options: TestExtOptions, log: (line: string) => void): Promise<TestRun> {
  const extDir = path.resolve(options.cwd);
  const files = requireTests(extDir);
  const started = performance.now();
  await buildAndResolve(extDir, { build: true, log });
  const buildMs = performance.now() - started;
  const run = await runTests({ extDir, files, ...(options.grep ? { namePattern: options.grep } : {}) });
  if (!options.grep) for (const line of describeEmptyFiles(extDir, run.emptyFiles)) log(paint.red(`✖ ${line}`));
  const verdict = run.passed ? paint.green("✔ tests passed") : paint.red("✖ tests failed");
  log(`${verdict} (${files.length} file${files.length === 1 ? "" : "s"}; build ${formatMs(buildMs)}, tests ${formatMs(run.ms)})`);
  return run;
}
