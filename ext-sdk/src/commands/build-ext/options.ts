// `titan build ext` options.

import { Command } from "commander";

export interface BuildExtOptions {
  /** The extension's directory (the one with titan.json and Cargo.toml). */
  cwd: string;
  /** `cargo build --release` instead of a debug build. */
  release: boolean;
}

export function buildExtCommand(): Command {
  return new Command("ext")
    .description("build a native extension (titan-ext): cargo build, copy the library to native/<platform>/, write index.d.ts")
    .option("--cwd <dir>", "the extension's directory", ".")
    .option("--release", "build with optimizations (cargo build --release)", false);
}
