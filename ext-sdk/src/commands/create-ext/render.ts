// Renders a cargo-generate template folder into a new directory with a real Liquid engine
// (liquidjs), as cargo-generate would: every text file's content and every path segment is a
// Liquid template, a `.liquid` suffix is stripped, cargo-generate.toml and its `ignore` list are
// skipped, and binary files are copied byte for byte.

import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Liquid } from "liquidjs";
import { CliError } from "../../errors.js";
import { TEMPLATE_MANIFEST } from "./templates.js";

/** Values for the template's placeholders. Names may contain '-' (`project-name`). */
export type TemplateValues = Record<string, string | boolean>;

// liquidjs reads `project-name` as one identifier, as Shopify Liquid and cargo-generate's
// liquid-rust do, so `{{project-name}}` needs no special handling (the test checks it).
// Strict: a placeholder the values do not define is an error, never an empty string.
const engine = new Liquid({ strictVariables: true, strictFilters: true, cache: false });

/** A file is text when it has no NUL byte and is valid UTF-8; anything else is copied as is. */
function isText(bytes: Buffer): boolean {
  if (bytes.includes(0)) return false;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function renderText(source: string, values: TemplateValues, where: string): string {
  try {
    return engine.parseAndRenderSync(source, values) as string;
  } catch (error) {
    const message = (error as Error).message.split("\n")[0];
    throw new CliError(`template ${where}: ${message}`, {
      hint: /undefined variable/.test(message ?? "")
        ? `the template uses a placeholder with no value: declare it in ${TEMPLATE_MANIFEST} [placeholders] with a default`
        : "fix the template's Liquid syntax (only {{ placeholder }} substitution is needed)",
    });
  }
}

function isIgnored(relative: string, ignore: readonly string[]): boolean {
  return ignore.some((entry) => relative === entry || relative.startsWith(`${entry}/`));
}

/**
 * Writes the rendered template into `targetDir` (created if needed; files in it are never
 * overwritten) and returns the files written, relative to it, with '/' separators, sorted.
 */
export function renderTemplate(templateDir: string, targetDir: string, values: TemplateValues, ignore: readonly string[] = []): string[] {
  const written = new Map<string, string>();
  const walk = (sourceDir: string, relativeDir: string, targetRelative: string): void => {
    for (const entry of readdirSync(sourceDir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const relative = relativeDir === "" ? entry.name : `${relativeDir}/${entry.name}`;
      if (entry.name === ".git" || relative === TEMPLATE_MANIFEST || isIgnored(relative, ignore)) continue;
      const source = path.join(sourceDir, entry.name);
      let name = renderText(entry.name, values, `${relative} (its name)`);
      if (entry.isFile() && name.endsWith(".liquid")) name = name.slice(0, -".liquid".length);
      if (name === "" || name === "." || name === ".." || /[\\/]/.test(name)) {
        throw new CliError(`template ${relative}: its name renders to "${name}", which is not a file name`, { hint: "check the placeholder values (the name may only use letters, digits, '-' and '_')" });
      }
      const target = targetRelative === "" ? name : `${targetRelative}/${name}`;
      if (entry.isDirectory()) {
        walk(source, relative, target);
        continue;
      }
      if (!entry.isFile()) continue; // symlinks and special files are not part of a template
      const earlier = written.get(target);
      if (earlier !== undefined) {
        throw new CliError(`template files ${earlier} and ${relative} both render to ${target}`, { hint: "rename one of them in the template" });
      }
      written.set(target, relative);
      const destination = path.join(targetDir, ...target.split("/"));
      mkdirSync(path.dirname(destination), { recursive: true });
      const bytes = readFileSync(source);
      if (isText(bytes)) writeFileSync(destination, renderText(bytes.toString("utf8"), values, relative), { flag: "wx" });
      else copyFileSync(source, destination, 1 /* COPYFILE_EXCL */);
      // Keep the executable bits of scripts.
      chmodSync(destination, statSync(source).mode & 0o777);
    }
  };
  mkdirSync(targetDir, { recursive: true });
  walk(templateDir, "", "");
  return [...written.keys()].sort();
}
