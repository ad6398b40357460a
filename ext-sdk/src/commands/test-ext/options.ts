// `titan test ext` options.

import { Command } from "commander";

export interface TestExtOptions {
  /** The extension's directory. */
  cwd: string;
  /** Only tests whose name matches (node --test-name-pattern). */
  grep?: string;
}

export function testExtCommand(): Command {
  return new Command("ext")
    .description("build the extension, then run its tests (tests/*.test.{js,ts}) once against a real isolate; exit code for CI")
    .option("--cwd <dir>", "the extension's directory", ".")
    .option("--grep <pattern>", "only tests whose name matches");
}
