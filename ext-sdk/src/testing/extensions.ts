// Test fixtures for extension commands: a copy of examples-ext/markdown's manifest pointing at
// the library the repo's set-up built. Fails (never skips) when that library is missing.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "./cli-process.js";

/** The markdown example's built library: where `titan build ext` puts it, else the cargo target dir. */
export function markdownLibrary(): string {
  const candidates = [
    path.join(REPO_ROOT, "examples-ext", "markdown", "native", "linux-x64", "libmarkdown.so"),
    path.join(REPO_ROOT, "target", "release", "libmarkdown.so"),
  ];
  const found = candidates.find((file) => existsSync(file));
  if (!found) throw new Error(`the markdown example is not built (looked for ${candidates.join(", ")}); run \`npm run build\` at the repo root`);
  return found;
}

/** A copy of examples-ext/markdown's manifest in `dir`, its library pointed at the real build. */
export function markdownExtension(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, "examples-ext", "markdown", "titan.json"), "utf8")) as Record<string, unknown>;
  delete manifest.entry; // the JS wrapper is not copied; the functions are bound directly
  manifest.native = { library: markdownLibrary() };
  writeFileSync(path.join(dir, "titan.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return dir;
}


/** A minimal native extension crate of its own (empty [workspace]) in `dir`: `t.<name>` with the
 * given Rust functions; builds share the repo's target dir so dependencies compile once. */
export function writeCrateExtension(dir: string, name: string, functions: string, functionNames: string[]): string {
  mkdirSync(path.join(dir, "src"), { recursive: true });
  const titanExt = path.join(REPO_ROOT, "ext-sdk", "crates", "titan-ext");
  writeFileSync(
    path.join(dir, "Cargo.toml"),
    `[package]\nname = "${name}"\nversion = "0.1.0"\nedition = "2024"\npublish = false\n\n[lib]\ncrate-type = ["cdylib"]\n\n` +
      `[dependencies]\ntitan-ext = { path = ${JSON.stringify(titanExt)} }\n\n[workspace]\n\n[profile.dev]\ndebug = "line-tables-only"\n`,
  );
  writeCrateFunctions(dir, functions, functionNames);
  writeFileSync(path.join(dir, "titan.json"), `${JSON.stringify({ name, namespace: name, native: { library: {} } }, null, 2)}\n`);
  return dir;
}

/** Rewrites the crate's src/lib.rs with these functions. */
export function writeCrateFunctions(dir: string, functions: string, functionNames: string[]): void {
  writeFileSync(path.join(dir, "src", "lib.rs"), `//! A test extension.\nuse titan_ext::function;\n\n${functions}\n\ntitan_ext::extension! { functions: [${functionNames.join(", ")}] }\n`);
}

/** The env a test sets so fixture crates build in the repo's target dir (deps compile once). */
export const SHARED_TARGET_DIR = path.join(REPO_ROOT, "target");
