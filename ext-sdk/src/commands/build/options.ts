// `titan build` options.

import { Command } from "commander";

export const DEFAULT_OUT_DIR = "dist";

export interface BuildCommandOptions {
  /** The app's root. */
  cwd: string;
  /** Output directory, relative to `cwd` or absolute. */
  out: string;
}

export function buildCommand(): Command {
  return new Command("build")
    .description("type-check and bundle the app into a self-contained directory for `titan start`")
    .option("--out <dir>", "output directory", DEFAULT_OUT_DIR)
    .option("--cwd <dir>", "the app's directory", ".")
    // `titan build ext --cwd <dir>`: options after the subcommand belong to it, not to `build`.
    .enablePositionalOptions();
}
