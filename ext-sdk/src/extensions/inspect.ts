// What the CLI knows about one registered extension without loading it into a runtime: its
// manifest, whether its library is built, and whether that library passes the core's ABI check
// (`extInspect`, which opens the library and runs the handshake but not its init).

import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { CliError } from "../errors.js";
import { addonFor, libraryFor, parseExtensionManifest } from "./manifest.js";

/** The part of the core addon (`@titan/core/native`) the CLI uses outside a running server. */
export interface CoreAddon {
  extAbiVersion(): number;
  extInspect(libraryPath: string): { name: string; version: string; sdkVersion: string; functions: { name: string; arity: number; signature: string }[] };
}

export type AddonLoad = { ok: true; addon: CoreAddon; file: string } | { ok: false; error: string };

let cachedAddon: AddonLoad | undefined;

/** Loads the Rust core's Node-API addon once; never throws (the failure is reported instead). */
export function loadCoreAddon(): AddonLoad {
  if (cachedAddon) return cachedAddon;
  const require = createRequire(import.meta.url);
  try {
    const file = require.resolve("@titan/core/native");
    cachedAddon = { ok: true, addon: require(file) as CoreAddon, file };
  } catch (error) {
    cachedAddon = { ok: false, error: error instanceof Error ? error.message.split("\n")[0]! : String(error) };
  }
  return cachedAddon;
}

export type AbiCheck =
  | { status: "ok"; version: string; sdkVersion: string; functions: string[] }
  | { status: "failed"; error: string }
  | { status: "skipped"; reason: string };

export interface ExtensionReport {
  /** `extensions[].path` as written in the config. */
  path: string;
  /** The extension's directory, absolute. */
  dir: string;
  /** null when the manifest could not be read. */
  name: string | null;
  namespace: string | null;
  kind: "native" | "classic" | "napi" | null;
  /** The library for this platform, absolute; null when the manifest names none. */
  library: string | null;
  built: boolean;
  abi: AbiCheck;
  /** Why the extension cannot be used, with what to do, or null when it is healthy. */
  problem: { message: string; hint: string } | null;
}

/** Reads one extension's manifest and checks its library; never throws. */
export function inspectExtension(appDir: string, entryPath: string, options: { abiCheck?: boolean } = {}): ExtensionReport {
  const dir = path.resolve(appDir, entryPath);
  const report: ExtensionReport = { path: entryPath, dir, name: null, namespace: null, kind: null, library: null, built: false, abi: { status: "skipped", reason: "no library" }, problem: null };
  const file = path.join(dir, "titan.json");
  if (!existsSync(dir)) {
    report.problem = { message: `extension ${entryPath}: directory ${dir} does not exist`, hint: `fix its \`path\` in titan.config.json (resolved from ${appDir}), or \`titan ext remove ${entryPath}\`` };
    return report;
  }
  if (!existsSync(file)) {
    report.problem = { message: `extension ${entryPath}: ${file} does not exist`, hint: "point `path` at the extension's directory (the one holding its titan.json)" };
    return report;
  }
  try {
    const parsed = parseExtensionManifest(readFileSync(file, "utf8"), file);
    report.name = parsed.manifest.name;
    if (parsed.form === "classic") {
      report.kind = "classic";
      report.namespace = parsed.manifest.name;
      report.library = path.resolve(dir, parsed.manifest.native.path);
    } else if (parsed.form === "napi") {
      report.kind = "napi";
      report.namespace = parsed.manifest.namespace ?? parsed.manifest.name.replace(/-/g, "_");
      report.library = path.resolve(dir, addonFor(parsed.manifest, file));
    } else {
      report.kind = "native";
      report.namespace = parsed.manifest.namespace ?? parsed.manifest.name.replace(/-/g, "_");
      report.library = path.resolve(dir, libraryFor(parsed.manifest, file));
    }
  } catch (error) {
    const cli = error instanceof CliError ? error : new CliError(String(error));
    report.problem = { message: cli.details.length > 0 ? `${cli.message}: ${cli.details.join("; ")}` : cli.message, hint: cli.hint ?? "fix its titan.json" };
    return report;
  }
  report.built = existsSync(report.library);
  if (!report.built) {
    report.abi = { status: "skipped", reason: "not built" };
    report.problem = { message: `extension ${report.name}: its library ${report.library} is not built`, hint: buildHint(dir, report.kind) };
    return report;
  }
  if (report.kind === "classic" || report.kind === "napi") {
    report.abi = { status: "skipped", reason: `${report.kind === "napi" ? "Node-API addons" : "classic extensions"} have no Titan ABI handshake` };
    return report;
  }
  if (options.abiCheck === false) {
    report.abi = { status: "skipped", reason: "not checked" };
    return report;
  }
  const core = loadCoreAddon();
  if (!core.ok) {
    report.abi = { status: "skipped", reason: `the core addon does not load: ${core.error}` };
    return report;
  }
  try {
    const info = core.addon.extInspect(report.library);
    report.abi = { status: "ok", version: info.version, sdkVersion: info.sdkVersion, functions: info.functions.map((f) => f.name) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    report.abi = { status: "failed", error: message };
    report.problem = { message: `extension ${report.name}: ${message}`, hint: `rebuild it against this Titan: ${buildCommandFor(dir)}` };
  }
  return report;
}

/** `titan build ext --cwd <dir>`, with the directory as the user would type it from the app. */
export function buildCommandFor(extDir: string): string {
  const relative = path.relative(process.cwd(), extDir).split(path.sep).join("/") || ".";
  return `\`titan build ext --cwd ${relative}\``;
}

function buildHint(extDir: string, kind: ExtensionReport["kind"]): string {
  if (kind === "napi") return `build it: ${buildCommandFor(extDir)}`;
  return kind === "classic" ? `build it with its own build steps (in ${extDir})` : `build it: ${buildCommandFor(extDir)} (or \`cargo build --release\` in ${extDir})`;
}
