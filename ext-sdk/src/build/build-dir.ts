// Writes a build directory without ever leaving it half-written: everything goes to a sibling
// staging folder that then replaces the old directory by rename.

import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { CliError } from "../errors.js";
import { MANIFEST_FILE_NAME } from "../runtime/contract.js";

/** A fresh, empty staging folder beside `outDir` (same filesystem, so the final rename is atomic). */
export function createStagingDir(outDir: string): string {
  assertReplaceable(outDir);
  mkdirSync(path.dirname(outDir), { recursive: true });
  const staging = path.join(path.dirname(outDir), `.${path.basename(outDir)}.staging-${randomBytes(4).toString("hex")}`);
  mkdirSync(staging);
  return staging;
}

/** Puts `staging` in place of `outDir`. */
export function replaceWithStaging(staging: string, outDir: string): void {
  if (!existsSync(outDir)) {
    renameSync(staging, outDir);
    return;
  }
  const retired = `${staging}.old`;
  renameSync(outDir, retired);
  renameSync(staging, outDir);
  rmSync(retired, { recursive: true, force: true });
}

export function discardStaging(staging: string): void {
  rmSync(staging, { recursive: true, force: true });
}

/** Refuses to replace a folder that is not a Titan build, so `--out src` cannot wipe sources. */
function assertReplaceable(outDir: string): void {
  if (!existsSync(outDir)) return;
  const entries = readdirSync(outDir);
  if (entries.length === 0 || entries.includes(MANIFEST_FILE_NAME)) return;
  throw new CliError(`refusing to replace ${outDir}: it is not empty and holds no ${MANIFEST_FILE_NAME}`, {
    hint: "choose another --out directory, or empty this one if it is safe to",
  });
}
