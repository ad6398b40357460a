// `titan init` implementation: writes a new app from templates/app/, with no prompts, so code
// and tests can call it directly.

import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import validatePackageName from "validate-npm-package-name";
import { CliError } from "../../errors.js";
import { CONFIG_FILE_NAME } from "../../config/load.js";
import { writeJson } from "../../build/manifest.js";
import { ENV_TYPES_FILE, EXTENSIONS_TYPES_FILE, extensionTypesContent, ROUTES_TYPES_FILE, TEMPLATES_DIR, typeFileContents } from "../../build/type-files.js";
import { PACKAGE_ROOT } from "../../package-info.js";
import type { InitOptions } from "./options.js";

/** Where init points `$schema` in titan.config.json: the schema shipped in the installed `titan` package. */
export const CONFIG_SCHEMA_REFERENCE = "./node_modules/titan/schema/titan.config.schema.json";

export interface InitResult {
  dir: string;
  name: string;
  /** Files written, relative to `dir`. */
  files: string[];
  installed: boolean;
}

/** Why `name` is not a valid name for a new npm package, or undefined when it is. */
export function packageNameProblem(name: string): string | undefined {
  const verdict = validatePackageName(name);
  if (verdict.validForNewPackages) return undefined;
  const reasons = [...(verdict.errors ?? []), ...(verdict.warnings ?? [])];
  return `"${name}" is not a valid npm package name: ${reasons.join("; ")}`;
}

export async function runInit(options: InitOptions, log: (line: string) => void = () => {}): Promise<InitResult> {
  const dir = path.resolve(options.cwd ?? process.cwd(), options.dir);
  const name = options.name ?? path.basename(dir);
  const nameProblem = packageNameProblem(name);
  if (nameProblem) {
    throw new CliError(nameProblem, {
      hint: "use lowercase letters, digits, '-' and '_' (e.g. my-app), or pass the package name with --name",
    });
  }
  assertEmptyTarget(dir, options.dir);

  mkdirSync(dir, { recursive: true });
  cpSync(path.join(TEMPLATES_DIR, "app", "shared"), dir, { recursive: true });
  cpSync(path.join(TEMPLATES_DIR, "app", options.lang), dir, { recursive: true });
  // npm drops .gitignore files from published packages, so the template keeps it as _gitignore.
  renameSync(path.join(dir, "_gitignore"), path.join(dir, ".gitignore"));

  writeJson(path.join(dir, "package.json"), {
    name,
    private: true,
    type: "module",
    scripts: { dev: "titan dev", build: "titan build", start: "titan start" },
    dependencies: { titan: `file:${PACKAGE_ROOT.replace(/[\\/]$/, "")}` },
  });
  writeJson(path.join(dir, CONFIG_FILE_NAME), { $schema: CONFIG_SCHEMA_REFERENCE, port: 3000 });
  const typeFiles = typeFileContents();
  writeFileSync(path.join(dir, ENV_TYPES_FILE), typeFiles[ENV_TYPES_FILE]!);
  if (options.lang === "ts") writeFileSync(path.join(dir, ROUTES_TYPES_FILE), typeFiles[ROUTES_TYPES_FILE]!);
  writeFileSync(path.join(dir, EXTENSIONS_TYPES_FILE), extensionTypesContent(dir, []));

  if (options.install) {
    log("installing dependencies (npm install)...");
    await npmInstall(dir);
  }
  return { dir, name, files: listFiles(dir), installed: options.install };
}

function assertEmptyTarget(dir: string, shownAs: string): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) {
    throw new CliError(`${shownAs} exists and is not a directory`, { hint: "choose another name: titan init <dir>" });
  }
  // A fresh `git init` is as good as empty.
  const entries = readdirSync(dir).filter((entry) => entry !== ".git");
  if (entries.length > 0) {
    const shown = entries.slice(0, 5).join(", ") + (entries.length > 5 ? ", ..." : "");
    throw new CliError(`${shownAs} is not empty (it has ${shown})`, {
      hint: "choose a new directory: titan init <dir>, or empty this one first",
    });
  }
}

function npmInstall(dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const child = spawn(npm, ["install"], { cwd: dir, stdio: "inherit" });
    const failed = (reason: string): void =>
      reject(new CliError(`npm install failed in ${dir}: ${reason}`, { hint: `the app is created; run \`npm install\` in ${dir} yourself` }));
    child.once("error", (error) => failed(error.message));
    child.once("exit", (code, signal) => (code === 0 ? resolve() : failed(signal ? `killed by ${signal}` : `exit code ${code}`)));
  });
}

function listFiles(root: string): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === "node_modules" || entry.name === ".git") continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.push(path.relative(root, full).split(path.sep).join("/"));
    }
  };
  walk(root);
  return files.sort();
}
