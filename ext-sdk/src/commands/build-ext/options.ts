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
    .description("build an extension: a native one (titan-ext, cargo) or a Node-API addon (napi-rs or neon); copy it to native/<platform>/, record it in titan.json, write index.d.ts")
    .option("--cwd <dir>", "the extension's directory", ".")
    .option("--release", "build with optimizations (cargo build --release)", false);
}
