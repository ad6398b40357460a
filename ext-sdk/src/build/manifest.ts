// Reading and writing the files of a build directory: titan.build.json (the runtime's contract),
// plus the CLI's own build-info.json and the copy of titan.config.json.

import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { CliError } from "../errors.js";
import { parseConfigText } from "../config/load.js";
import { CONFIG_FILE_NAME } from "../config/load.js";
import type { TitanConfig } from "../config/schema.js";
import {
  BUILD_FORMAT,
  BUNDLE_FILE_NAME,
  MANIFEST_FILE_NAME,
  type BuildManifest,
  type ResolvedConfig,
} from "../runtime/contract.js";

/** What the CLI keeps about a build beside the manifest (the runtime does not read it). */
export interface BuildInfo {
  cliVersion: string;
  builtAt: string;
  /** The message given to `t.start(port, message)`, printed when the server starts. */
  startMessage?: string;
}
export const BUILD_INFO_FILE_NAME = "build-info.json";

export function writeJson(file: string, value: unknown): void {
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** Reads and checks a build directory's manifest; errors say how to make a valid one. */
export function readBuildManifest(buildDir: string): BuildManifest {
  const file = path.join(buildDir, MANIFEST_FILE_NAME);
  let manifest: Partial<BuildManifest>;
  try {
    manifest = JSON.parse(readFileSync(file, "utf8")) as Partial<BuildManifest>;
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    throw new CliError(missing ? `no Titan build in ${buildDir} (${MANIFEST_FILE_NAME} is missing)` : `cannot read ${file}: ${(error as Error).message}`, {
      hint: "run `titan build` first, or pass the build directory: `titan start <dir>`",
    });
  }
  if (manifest.format !== BUILD_FORMAT) {
    throw new CliError(`${file} has build format ${String(manifest.format)}; this CLI reads format ${BUILD_FORMAT}`, {
      hint: "rebuild the app with this CLI: `titan build`",
    });
  }
  return manifest as BuildManifest;
}

export function readBuildInfo(buildDir: string): BuildInfo | undefined {
  try {
    return JSON.parse(readFileSync(path.join(buildDir, BUILD_INFO_FILE_NAME), "utf8")) as BuildInfo;
  } catch {
    return undefined;
  }
}

/** The app config copied into a build, or undefined when the app had none (or it is unreadable). */
export function readBuildAppConfig(buildDir: string): TitanConfig | undefined {
  let text: string;
  try {
    text = readFileSync(path.join(buildDir, CONFIG_FILE_NAME), "utf8");
  } catch {
    return undefined;
  }
  return parseConfigText(text, path.join(buildDir, CONFIG_FILE_NAME));
}

/** A build with no routes and no actions: what `titan dev` serves (as unavailable) when the first build fails. */
export function writeEmptyBuild(buildDir: string, config: ResolvedConfig): void {
  writeFileSync(path.join(buildDir, BUNDLE_FILE_NAME), "export const actions = {};\n");
  const manifest: BuildManifest = { format: BUILD_FORMAT, bundle: BUNDLE_FILE_NAME, routes: [], actions: [], config };
  writeJson(path.join(buildDir, MANIFEST_FILE_NAME), manifest);
}
