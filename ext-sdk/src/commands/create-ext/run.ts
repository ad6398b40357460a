// `titan create ext` implementation: checks the name, namespace and target directory, then renders
// ext-templates/<kind>/ into it. No prompts, so code and tests can call it directly.

import { existsSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { CliError } from "../../errors.js";
import { CLI_VERSION, PACKAGE_ROOT } from "../../package-info.js";
import { displayPath } from "../../util/format.js";
import { crateNameOf, extensionNameProblem, namespaceProblem, suggestExtensionName } from "./names.js";
import type { CreateExtOptions } from "./options.js";
import { renderTemplate, type TemplateValues } from "./render.js";
import { findTemplate, type TemplateManifest } from "./templates.js";

/** The placeholders every template gets (the template contract in ext-templates/README.md). */
export const STANDARD_PLACEHOLDERS: ReadonlySet<string> = new Set(["project-name", "crate_name", "namespace", "description", "titan_ext_dep", "titan_version"]);

export interface CreateExtResult {
  dir: string;
  name: string;
  kind: string;
  namespace: string;
  /** Files written, relative to `dir`, sorted. */
  files: string[];
}

/** Refuses a name that is not both a valid crate name and a valid npm package name. */
export function assertExtensionName(name: string): void {
  const problem = extensionNameProblem(name);
  if (problem) {
    throw new CliError(problem, { hint: `try \`titan create ext ${suggestExtensionName(name)}\`: lowercase letters, digits and '-', starting with a letter` });
  }
}

export function assertNamespace(namespace: string): void {
  const problem = namespaceProblem(namespace);
  if (problem) throw new CliError(`--namespace: ${problem}`, { hint: "pass another one, e.g. --namespace myDb" });
}

/** Why a description cannot go into Cargo.toml and the JSON files as is, or undefined. */
export function descriptionProblem(description: string): string | undefined {
  if (/[\u0000-\u001f\u007f]/.test(description)) return "it must be one line (no line breaks or control characters)";
  if (/["\\]/.test(description)) return "it cannot contain '\"' or '\\' (it is written into Cargo.toml and JSON as is)";
  return undefined;
}

/** The titan-ext crate that ships with this CLI: what generated extensions build against. */
export function titanExtCrateDir(): string {
  return path.join(PACKAGE_ROOT, "crates", "titan-ext");
}

/** `{{titan_ext_dep}}`: the TOML value of the titan-ext dependency (JSON string escapes are valid TOML basic strings). */
export function titanExtDependency(): string {
  return `{ path = ${JSON.stringify(titanExtCrateDir())} }`;
}

/**
 * `{{titan_version}}`: the devDependency spec of the `titan` package. From a registry install,
 * the CLI's own version range; from a checkout of the repository, a `file:` link to it (as
 * `titan init` writes), since that version is not published.
 */
export function titanPackageSpec(): string {
  const root = PACKAGE_ROOT.replace(/[\\/]$/, "");
  return root.split(/[\\/]/).includes("node_modules") ? `^${CLI_VERSION}` : `file:${root}`;
}

/** Existing and not empty (a fresh `git init` counts as empty) is refused with the brief's wording. */
function assertUsableTarget(dir: string, shownAs: string): boolean {
  if (!existsSync(dir)) return false;
  if (!statSync(dir).isDirectory()) {
    throw new CliError(`${shownAs} already exists and is not a directory`, { hint: "choose another name or --dir, or remove it" });
  }
  if (readdirSync(dir).some((entry) => entry !== ".git")) {
    throw new CliError(`${shownAs} already exists and is not empty: choose another name or --dir, or remove it`, {
      hint: `e.g. \`titan create ext <name> --dir <new-dir>\``,
    });
  }
  return true;
}

/** The values of the template's own placeholders: given ones, else their defaults; a missing one is an error. */
function templateOnlyValues(template: TemplateManifest, given: Record<string, string | boolean>): TemplateValues {
  const values: TemplateValues = {};
  for (const [name, placeholder] of Object.entries(template.placeholders)) {
    if (STANDARD_PLACEHOLDERS.has(name)) continue;
    const value = given[name] ?? placeholder.default;
    if (value === undefined) {
      throw new CliError(`the ${path.basename(template.dir)} template needs a value for "${name}"${placeholder.prompt ? ` (${placeholder.prompt})` : ""}`, {
        hint: "run `titan create ext` in a terminal to be asked, or give the placeholder a default in the template's cargo-generate.toml",
      });
    }
    if (typeof value === "string" && placeholder.regex && !new RegExp(placeholder.regex).test(value)) {
      throw new CliError(`"${value}" is not a valid ${name}: it must match ${placeholder.regex}`, { hint: `give ${name} a value that matches` });
    }
    values[name] = value;
  }
  return values;
}

export async function runCreateExt(options: CreateExtOptions, log: (line: string) => void = () => {}): Promise<CreateExtResult> {
  const cwd = options.cwd ?? process.cwd();
  assertExtensionName(options.name);
  assertNamespace(options.namespace);
  const descriptionIssue = descriptionProblem(options.description);
  if (descriptionIssue) throw new CliError(`--description: ${descriptionIssue}`, { hint: "pass a one-line description in quotes" });
  const template = findTemplate(options.kind);
  const dir = path.resolve(cwd, options.dir);
  const targetExists = assertUsableTarget(dir, displayPath(cwd, dir));

  if (!existsSync(titanExtCrateDir())) {
    log(`note: the titan-ext crate is not next to this CLI (${titanExtCrateDir()}); point titan-ext in the new Cargo.toml at a copy of it`);
  }
  const values: TemplateValues = {
    ...templateOnlyValues(template, options.placeholders ?? {}),
    "project-name": options.name,
    crate_name: crateNameOf(options.name),
    namespace: options.namespace,
    description: options.description,
    titan_ext_dep: titanExtDependency(),
    titan_version: titanPackageSpec(),
    // cargo-generate's other built-ins that do not need git or a prompt.
    crate_type: "lib",
    is_init: false,
    within_cargo_project: false,
  };

  // Rendered into a staging folder beside the target, then moved: a template error leaves nothing behind.
  const staging = path.join(path.dirname(dir), `.${path.basename(dir)}.titan-create-${process.pid}`);
  let files: string[];
  try {
    files = renderTemplate(template.dir, staging, values, template.ignore);
    if (targetExists) {
      for (const entry of readdirSync(staging)) renameSync(path.join(staging, entry), path.join(dir, entry));
    } else {
      renameSync(staging, dir);
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return { dir, name: options.name, kind: options.kind, namespace: options.namespace, files };
}

/** What to do next, as printed after creating (`cd`, install, test), then the files written. */
export function createExtReport(result: CreateExtResult, cwd: string): string[] {
  const where = displayPath(cwd, result.dir);
  const lines = [`created ${result.name} (${result.kind} extension, t.${result.namespace}) in ${where}/`, "", "next steps:"];
  if (where !== ".") lines.push(`  cd ${where}`);
  lines.push(
    "  npm install          # the titan CLI and test harness the tests import (titan/harness)",
    "  npx titan test ext   # builds the extension and runs tests/*.test.js in a real worker isolate",
    "  cargo test           # the Rust unit tests alone: needs no npm install",
    "",
    `files (${result.files.length}):`,
    ...result.files.map((file) => `  ${file}`),
  );
  return lines;
}
