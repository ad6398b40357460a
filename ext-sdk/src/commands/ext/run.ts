// `titan ext add|list|remove` implementation: edits `extensions` in titan.config.json, keeping the
// rest of the file byte for byte, and reports what each registered extension is and whether it works.

import { existsSync, readFileSync, realpathSync } from "node:fs";
import path from "node:path";
import { paint } from "../../cli/terminal.js";
import { CONFIG_FILE_NAME } from "../../config/load.js";
import { CliError } from "../../errors.js";
import { inspectExtension, type ExtensionReport } from "../../extensions/inspect.js";
import { parseExtensionManifest } from "../../extensions/manifest.js";
import { displayPath } from "../../util/format.js";
import { runBuildExt } from "../build-ext/run.js";
import { editJson, readConfigForEdit, removeArrayElement, writeConfigAtomically } from "./config-file.js";
import type { ExtAddOptions, ExtListOptions, ExtRemoveOptions } from "./options.js";

type Log = (line: string) => void;

export interface ExtAddResult {
  file: string;
  created: boolean;
  entry: { path: string; config?: unknown };
  extension: ExtensionReport;
  /** Whether the extension was built first (it was not built yet). */
  built: boolean;
}

/** `extensions[].path` as it is written: forward slashes, no `./` or trailing slash. */
export function normalizeEntryPath(given: string): string {
  const slashed = given.replace(/\\/g, "/");
  const normalized = path.posix.normalize(slashed).replace(/\/+$/, "");
  return normalized === "" ? "." : normalized;
}

function samePath(a: string, b: string): boolean {
  const real = (p: string) => (existsSync(p) ? realpathSync(p) : path.resolve(p));
  return real(a) === real(b);
}

export async function runExtAdd(options: ExtAddOptions, log: Log = console.log): Promise<ExtAddResult> {
  const appDir = path.resolve(options.cwd);
  const entryPath = normalizeEntryPath(options.path);
  const dir = path.resolve(appDir, entryPath);
  if (!existsSync(dir)) {
    throw new CliError(`extension directory ${dir} does not exist`, {
      hint: `give the extension's directory relative to the app (${displayPath(process.cwd(), appDir)}), e.g. \`titan ext add ../mydb\``,
    });
  }
  const manifestFile = path.join(dir, "titan.json");
  if (!existsSync(manifestFile)) {
    throw new CliError(`${dir} is not a Titan extension: it has no titan.json`, {
      hint: "point at the extension's directory (the one holding its titan.json)",
    });
  }
  const manifest = parseExtensionManifest(readFileSync(manifestFile, "utf8"), manifestFile);

  let config: unknown;
  if (options.config !== undefined) {
    try {
      config = JSON.parse(options.config);
    } catch (error) {
      throw new CliError(`--config is not valid JSON: ${(error as Error).message}`, { hint: `quote it for the shell, e.g. --config '{"url":"sqlite://app.db"}'` });
    }
  }

  let current = readConfigForEdit(appDir);
  let extension = inspectExtension(appDir, entryPath, { abiCheck: false });
  const refuseDuplicates = (): void => {
    for (const [index, existing] of (current.config.extensions ?? []).entries()) {
      const other = inspectExtension(appDir, existing.path, { abiCheck: false });
      if (samePath(other.dir, dir)) {
        throw new CliError(`${entryPath} is already registered (extensions[${index}]: "${existing.path}")`, {
          hint: `to change its config, remove it first: \`titan ext remove ${existing.path}\``,
        });
      }
      if (other.namespace !== null && other.namespace === extension.namespace) {
        throw new CliError(`the namespace t.${extension.namespace} of ${manifest.manifest.name} is taken by extensions[${index}] ("${existing.path}", ${other.name})`, {
          hint: `set a distinct "namespace" in ${manifestFile}, or \`titan ext remove ${existing.path}\``,
        });
      }
    }
  };
  refuseDuplicates();

  // An extension that is not built yet (a fresh `titan create ext`) is built here, with cargo's
  // progress, before the config is touched: a failed build leaves the config as it was. The
  // config is read again afterwards, so an edit made during a long build is neither lost nor,
  // if it broke the file, overwritten.
  let built = false;
  if (!extension.built && manifest.form !== "classic" && existsSync(path.join(dir, "Cargo.toml"))) {
    log(`${extension.name ?? entryPath} is not built yet: building it (titan build ext --cwd ${displayPath(process.cwd(), dir)})`);
    await runBuildExt({ cwd: dir, release: false }, log);
    built = true;
    extension = inspectExtension(appDir, entryPath, { abiCheck: false });
    current = readConfigForEdit(appDir);
    refuseDuplicates();
  }

  const entry: { path: string; config?: unknown } = config === undefined ? { path: entryPath } : { path: entryPath, config };
  const entries = current.config.extensions ?? [];
  const text =
    current.config.extensions === undefined
      ? editJson(current.text, ["extensions"], [entry])
      : editJson(current.text, ["extensions", entries.length], entry, { insert: true });
  writeConfigAtomically(current.file, text);

  const where = displayPath(process.cwd(), current.file);
  log(`${paint.green("added")} ${extension.name} (t.${extension.namespace}, ${extension.kind}) to ${where}${current.exists ? "" : " (created)"}`);
  if (!extension.built && extension.problem) {
    log(`${paint.yellow("note:")} ${extension.problem.message}`);
    log(`  → ${extension.problem.hint}`);
  }
  return { file: current.file, created: !current.exists, entry, extension, built };
}

/** The registered extensions, each inspected (manifest, library, ABI check). */
export async function runExtList(options: ExtListOptions, log: Log = console.log): Promise<ExtensionReport[]> {
  const appDir = path.resolve(options.cwd);
  const current = readConfigForEdit(appDir);
  const reports = (current.config.extensions ?? []).map((entry) => inspectExtension(appDir, entry.path));
  if (options.json) {
    log(JSON.stringify(reports, null, 2));
    return reports;
  }
  if (reports.length === 0) {
    log(`no extensions registered in ${displayPath(process.cwd(), current.file)}`);
    log(paint.dim("add one with `titan ext add <path>`"));
    return reports;
  }
  for (const report of reports) {
    const abi =
      report.abi.status === "ok" ? paint.green("ABI ok") : report.abi.status === "failed" ? paint.red("ABI check failed") : paint.dim(`ABI ${report.abi.reason}`);
    const built = report.built ? "built" : paint.yellow("not built");
    const title = report.name === null ? paint.red("(unreadable)") : `${paint.bold(`t.${report.namespace}`)} ${report.name}`;
    log(`${title}  ${report.path}  ${report.kind ?? "?"}, ${built}, ${abi}`);
    if (report.problem) log(`  ${paint.red("✗")} ${report.problem.message}\n    → ${report.problem.hint}`);
  }
  return reports;
}

/** Removes the entry matching a name, namespace or path. */
export async function runExtRemove(options: ExtRemoveOptions, log: Log = console.log): Promise<{ file: string; removed: string }> {
  const appDir = path.resolve(options.cwd);
  const current = readConfigForEdit(appDir);
  const entries = current.config.extensions ?? [];
  const target = options.target;
  const reports = entries.map((entry) => inspectExtension(appDir, entry.path, { abiCheck: false }));
  const targetDir = path.resolve(appDir, normalizeEntryPath(target));
  const matches = reports
    .map((report, index) => ({ report, index }))
    .filter(({ report }) =>
      report.path === target ||
      normalizeEntryPath(report.path) === normalizeEntryPath(target) ||
      report.name === target ||
      report.namespace === target ||
      samePath(report.dir, targetDir),
    );
  if (matches.length === 0) {
    const registered = reports.map((r) => `${r.path}${r.name ? ` (${r.name}, t.${r.namespace})` : ""}`);
    throw new CliError(
      entries.length === 0 ? `no extension matches "${target}": ${CONFIG_FILE_NAME} registers none` : `no registered extension matches "${target}"`,
      {
        details: registered.length > 0 ? ["registered:", ...registered.map((line) => `  ${line}`)] : [],
        hint: entries.length === 0 ? "nothing to remove; add one with `titan ext add <path>`" : "give one of the registered names, namespaces or paths above",
      },
    );
  }
  if (matches.length > 1) {
    throw new CliError(`"${target}" matches ${matches.length} extensions: ${matches.map(({ report }) => report.path).join(", ")}`, {
      hint: "give its path instead",
    });
  }
  const { report, index } = matches[0]!;
  writeConfigAtomically(current.file, removeArrayElement(current.text, ["extensions"], index));
  log(`${paint.green("removed")} ${report.name ?? report.path} (${report.path}) from ${displayPath(process.cwd(), current.file)}`);
  return { file: current.file, removed: report.path };
}
