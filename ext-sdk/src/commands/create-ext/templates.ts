// Where `titan create ext` finds its templates and what each declares in its cargo-generate.toml
// (`[template]` description and ignore list, `[placeholders]`), read with a real TOML parser.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseToml } from "smol-toml";
import { CliError } from "../../errors.js";
import { PACKAGE_ROOT } from "../../package-info.js";
import { EXTENSION_KINDS } from "./options.js";

export const TEMPLATE_MANIFEST = "cargo-generate.toml";

/**
 * The folder holding one template per kind. In a checkout of the Titan repository that is the
 * repository's own `ext-templates/`, so an edited template is used at once; the published npm
 * package has no repository around it and carries a copy in `templates/ext/` (written by
 * `pack-templates.ts` before packing). The checkout is preferred so a stale copy never wins.
 */
export function templatesRoot(): string {
  const checkout = path.resolve(PACKAGE_ROOT, "..", "ext-templates");
  if (existsSync(path.join(checkout, "native", TEMPLATE_MANIFEST))) return checkout;
  return path.join(PACKAGE_ROOT, "templates", "ext");
}

/** The kinds with a template here: the known ones first, in their order, then any other folder. */
export function availableKinds(root: string = templatesRoot()): string[] {
  if (!existsSync(root)) return [];
  const present = readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(root, entry.name, TEMPLATE_MANIFEST)))
    .map((entry) => entry.name);
  const known: readonly string[] = EXTENSION_KINDS;
  return [...known.filter((kind) => present.includes(kind)), ...present.filter((kind) => !known.includes(kind)).sort()];
}

/** One `[placeholders]` entry, as cargo-generate documents it. */
export interface TemplatePlaceholder {
  type: "string" | "bool";
  prompt?: string | undefined;
  default?: string | boolean | undefined;
  choices?: string[] | undefined;
  regex?: string | undefined;
}

export interface TemplateManifest {
  dir: string;
  description: string | undefined;
  /** Paths relative to the template (files or folders) that are not copied. */
  ignore: string[];
  placeholders: Record<string, TemplatePlaceholder>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Reads `<dir>/cargo-generate.toml`; a malformed one is a CliError naming the file and the field. */
export function readTemplateManifest(dir: string): TemplateManifest {
  const file = path.join(dir, TEMPLATE_MANIFEST);
  const problem = (what: string) => new CliError(`${file}: ${what}`, { hint: "fix the template's cargo-generate.toml (cargo-generate's format: [template] and [placeholders])" });
  let raw: Record<string, unknown>;
  try {
    raw = parseToml(readFileSync(file, "utf8"));
  } catch (error) {
    throw problem(`not valid TOML: ${(error as Error).message.split("\n")[0]}`);
  }
  const template = raw.template ?? {};
  if (!isRecord(template)) throw problem("[template] must be a table");
  const description = template.description;
  if (description !== undefined && typeof description !== "string") throw problem("[template] description must be a string");
  const ignore = template.ignore ?? [];
  if (!Array.isArray(ignore) || !ignore.every((entry) => typeof entry === "string")) throw problem("[template] ignore must be a list of paths");

  const placeholders: Record<string, TemplatePlaceholder> = {};
  const declared = raw.placeholders ?? {};
  if (!isRecord(declared)) throw problem("[placeholders] must be a table");
  for (const [name, value] of Object.entries(declared)) {
    if (!isRecord(value)) throw problem(`placeholder ${name} must be a table ({ type = "string", prompt = "..." })`);
    const type = value.type ?? "string";
    if (type !== "string" && type !== "bool") throw problem(`placeholder ${name}: type must be "string" or "bool"`);
    const choices = value.choices;
    if (choices !== undefined && !(Array.isArray(choices) && choices.every((choice) => typeof choice === "string"))) {
      throw problem(`placeholder ${name}: choices must be a list of strings`);
    }
    placeholders[name] = {
      type,
      prompt: typeof value.prompt === "string" ? value.prompt : undefined,
      default: typeof value.default === "string" || typeof value.default === "boolean" ? value.default : undefined,
      choices: choices as string[] | undefined,
      regex: typeof value.regex === "string" ? value.regex : undefined,
    };
  }
  return { dir, description, ignore: ignore.map((entry: string) => entry.replace(/\\/g, "/").replace(/^\.\//, "").replace(/\/+$/, "")), placeholders };
}

/** The template for `kind`, or a CliError listing the kinds there are. */
export function findTemplate(kind: string, root: string = templatesRoot()): TemplateManifest {
  const dir = path.join(root, kind);
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(kind) || !existsSync(path.join(dir, TEMPLATE_MANIFEST))) {
    const kinds = availableKinds(root);
    throw new CliError(`there is no "${kind}" extension template (in ${root})`, {
      hint: kinds.length > 0 ? `choose one of: ${kinds.join(", ")} (--kind <kind>)` : "this titan installation has no templates: reinstall the titan package",
    });
  }
  return readTemplateManifest(dir);
}
