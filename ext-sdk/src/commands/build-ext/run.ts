// `titan build ext` implementation: checks titan.json and the titan-ext version, runs cargo,
// copies the library to native/<platform>/, records it in titan.json, checks the library's ABI
// and writes index.d.ts from the functions it declares. Node-API addons (kind `napi`) take
// their own path (addon.ts).

import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { runtimeEnvTypesPath } from "../../build/type-files.js";
import { paint } from "../../cli/terminal.js";
import { loadCoreAddon } from "../../extensions/inspect.js";
import { CliError } from "../../errors.js";
import { parseExtensionManifest, PLATFORM_KEY } from "../../extensions/manifest.js";
import { displayPath, formatBytes, formatMs } from "../../util/format.js";
import { cargoBuild, checkTitanExtVersion, expectedTitanExtVersion, readExtensionCrate } from "./cargo.js";
import { copyLibrary, ignoreNativeDir, nativeLibraryPath, updateManifestLibrary } from "./files.js";
import type { BuildExtOptions } from "./options.js";
import { runBuildAddon } from "./addon.js";
import { generateTypes, typeCheckTypes, type NativeFunction } from "./types.js";

export const TYPES_FILE = "index.d.ts";

export interface BuildExtResult {
  extDir: string;
  name: string;
  namespace: string;
  /** The copied library, absolute. */
  library: string;
  functions: string[];
  /** Whether titan.json was rewritten to point at the library. */
  manifestUpdated: boolean;
  typesFile: string;
  totalMs: number;
}

interface ExtensionInfo {
  name: string;
  version: string;
  sdkVersion: string;
  functions: NativeFunction[];
}

/** The core addon's `extInspect`: the ABI checks and declared functions, without running init. */
function inspect(library: string): ExtensionInfo {
  const core = loadCoreAddon();
  if (!core.ok) {
    throw new CliError(`cannot load the Titan runtime's native addon (@titan/core/native): ${core.error}`, {
      hint: "build it: `npm install` at the root of the Titan repository",
    });
  }
  try {
    return core.addon.extInspect(library);
  } catch (error) {
    throw new CliError((error as Error).message, { cause: error });
  }
}

function readManifest(extDir: string) {
  const file = path.join(extDir, "titan.json");
  if (!existsSync(file)) {
    const hint = !existsSync(extDir)
      ? `${extDir} does not exist: pass the extension's directory with --cwd <dir>`
      : existsSync(path.join(extDir, "Cargo.toml"))
        ? 'add a titan.json, e.g. { "name": "<crate>", "native": { "library": "native/<platform>/lib<crate>.so" } } (see core-runtime/docs/abi.md)'
        : "run it in a native extension's directory (one with titan.json and Cargo.toml), or pass --cwd <dir>";
    throw new CliError(`${file} does not exist: ${displayPath(process.cwd(), extDir)} is not a Titan extension`, { hint });
  }
  const text = readFileSync(file, "utf8");
  const parsed = parseExtensionManifest(text, file);
  if (parsed.form === "classic") {
    throw new CliError(`${file} is a classic Titan Planet manifest (native.path + native.functions); \`titan build ext\` builds titan-ext extensions only`, {
      hint: "build a classic extension's library with its own toolchain and point native.path at it; or port it to titan-ext (\"native\": { \"library\": ... }, see core-runtime/docs/abi.md)",
    });
  }
  return { file, text, parsed };
}

export async function runBuildExt(options: BuildExtOptions, log: (line: string) => void = console.log): Promise<BuildExtResult> {
  const started = performance.now();
  const extDir = path.resolve(options.cwd);
  const { file, text, parsed } = readManifest(extDir);
  if (parsed.form === "napi") return runBuildAddon(options, { file, text, manifest: parsed.manifest }, log);
  const manifest = parsed.manifest;
  const namespace = manifest.namespace ?? manifest.name.replace(/-/g, "_");

  const crate = await readExtensionCrate(extDir);
  checkTitanExtVersion(crate, extDir, expectedTitanExtVersion());

  log(paint.dim(`building ${manifest.name} (${options.release ? "release" : "debug"}) ...`));
  const built = await cargoBuild(crate, extDir, options.release);

  const relative = nativeLibraryPath(built);
  const library = copyLibrary(built, extDir, relative);
  const info = inspect(library);
  if (ignoreNativeDir(extDir)) log(paint.dim("added native/ to .gitignore"));

  const updated = updateManifestLibrary(text, manifest, extDir, relative);
  if (updated !== null) writeFileSync(file, updated);

  const typesFile = path.join(extDir, TYPES_FILE);
  const types = generateTypes({ extension: manifest.name, namespace, description: manifest.description, functions: info.functions });
  const previous = existsSync(typesFile) ? readFileSync(typesFile, "utf8") : null;
  if (previous !== types) writeFileSync(typesFile, types);
  // The author's declarations for what the JS entry adds (titan.json `types`) are checked with it.
  const extraTypes = manifest.types ? [path.resolve(extDir, manifest.types)] : [];
  for (const extra of extraTypes) {
    if (!existsSync(extra)) {
      throw new CliError(`extension ${manifest.name}: its types file ${extra} does not exist`, { hint: 'fix "types" in its titan.json, or remove it' });
    }
  }
  typeCheckTypes(typesFile, runtimeEnvTypesPath(), extraTypes);

  const result: BuildExtResult = {
    extDir,
    name: manifest.name,
    namespace,
    library,
    functions: info.functions.map((fn) => fn.name),
    manifestUpdated: updated !== null,
    typesFile,
    totalMs: performance.now() - started,
  };
  log(summary(result, info));
  return result;
}

function summary(result: BuildExtResult, info: ExtensionInfo): string {
  const { extDir } = result;
  const lines = [
    `${paint.green("built")} ${result.name} ${info.version} (titan-ext ${info.sdkVersion}) in ${formatMs(result.totalMs)}`,
    `  library    ${displayPath(extDir, result.library)} ${formatBytes(statSync(result.library).size)}`,
    `  functions  ${result.functions.length}${result.functions.length > 0 ? `: ${result.functions.map((fn) => `t.${result.namespace}.${fn}`).join(", ")}` : ""}`,
    `  types      ${displayPath(extDir, result.typesFile)}`,
  ];
  if (result.manifestUpdated) lines.push(`  titan.json native.library.${PLATFORM_KEY} → ${displayPath(extDir, result.library)}`);
  return lines.join("\n");
}
