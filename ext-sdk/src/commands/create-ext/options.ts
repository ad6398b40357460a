// `titan create ext` options: the command-line definition and the complete, validated options the
// implementation runs with.

import { Command } from "commander";

/** The template kinds, in the order they are offered (one folder each in ext-templates/). */
export const EXTENSION_KINDS = ["native", "transport", "napi", "neon"] as const;
export const DEFAULT_KIND = "native";

/** What `runCreateExt` needs; nothing left to ask. */
export interface CreateExtOptions {
  /** The extension's name: the crate's and the npm package's (`my-db`). */
  name: string;
  /** The template folder to render (`native`, `transport`, ...). */
  kind: string;
  /** `t.<namespace>` (a JS identifier). */
  namespace: string;
  /** One line. */
  description: string;
  /** Target directory, absolute or relative to `cwd`; must not exist or be empty. */
  dir: string;
  cwd?: string | undefined;
  /** Values for placeholders the template declares beyond the standard ones. */
  placeholders?: Record<string, string | boolean> | undefined;
}

/** The flags as typed; unset ones are asked for (interactive) or defaulted. */
export interface CreateExtFlags {
  kind?: string;
  namespace?: string;
  description?: string;
  dir?: string;
  yes?: boolean;
}

/** `titan create`: a parent for what can be created (`ext` today). */
export function createCommand(): Command {
  return new Command("create").description("create something new from a template (see `titan create ext`)");
}

export function createExtCommand(): Command {
  return new Command("ext")
    .description("create a native extension project (Rust crate + titan.json + tests) from a template")
    .argument("<name>", "the extension's name: its crate and npm package name, e.g. my-db")
    .option("--kind <kind>", `the template: ${EXTENSION_KINDS.join(" | ")} (default ${DEFAULT_KIND})`)
    .option("--namespace <name>", "the JS identifier of its API, t.<namespace> (default: the name in camelCase, my-db → myDb)")
    .option("--description <text>", "one line describing it")
    .option("--dir <path>", "where to create it (default ./<name>); must not exist or be empty")
    .option("-y, --yes", "accept the default for everything not given as a flag")
    .addHelpText(
      "after",
      "\nWithout a terminal, or with CI=true, nothing is asked: unset flags take their defaults." +
        "\nThe templates are ext-templates/<kind>/ in cargo-generate's format: `cargo generate --path ext-templates/native` works too.",
    );
}
