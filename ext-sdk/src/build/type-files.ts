// The declaration files an app carries so it type-checks without installing anything:
// titan-env.d.ts (the runtime globals, owned by @titan/core) and titan-routes.d.ts (the route DSL,
// owned by this CLI). init writes them; dev and build rewrite them when the CLI's copy differs.

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { CliError } from "../errors.js";
import { PACKAGE_ROOT } from "../package-info.js";

export const ENV_TYPES_FILE = "titan-env.d.ts";
export const ROUTES_TYPES_FILE = "titan-routes.d.ts";

export const TEMPLATES_DIR = path.join(PACKAGE_ROOT, "templates");

/** @titan/core's types/titan-env.d.ts, resolved through the package's `exports`. */
export function runtimeEnvTypesPath(): string {
  try {
    return createRequire(import.meta.url).resolve(`@titan/core/types/${ENV_TYPES_FILE}`);
  } catch (error) {
    throw new CliError(`cannot find ${ENV_TYPES_FILE} of the Titan runtime (@titan/core)`, {
      hint: "reinstall the CLI (`npm install` at the root of the Titan repository)",
      cause: error,
    });
  }
}

/** The contents each type file should have. */
export function typeFileContents(): Record<string, string> {
  return {
    [ENV_TYPES_FILE]: readFileSync(runtimeEnvTypesPath(), "utf8"),
    [ROUTES_TYPES_FILE]: readFileSync(path.join(TEMPLATES_DIR, ROUTES_TYPES_FILE), "utf8"),
  };
}

/**
 * Rewrites the app's type files whose content differs from the CLI's; returns the names written.
 * titan-env.d.ts is kept in every app; titan-routes.d.ts only in TypeScript apps (those with a tsconfig.json).
 */
export function syncTypeFiles(appDir: string): string[] {
  const contents = typeFileContents();
  const isTypeScriptApp = existsSync(path.join(appDir, "tsconfig.json"));
  const written: string[] = [];
  for (const [name, content] of Object.entries(contents)) {
    if (name === ROUTES_TYPES_FILE && !isTypeScriptApp) continue;
    const file = path.join(appDir, name);
    let current: string | undefined;
    try {
      current = readFileSync(file, "utf8");
    } catch {
      current = undefined;
    }
    if (current !== content) {
      writeFileSync(file, content);
      written.push(name);
    }
  }
  return written;
}
