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

