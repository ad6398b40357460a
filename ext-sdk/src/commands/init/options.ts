// `titan init` options: the command-line definition and the complete, validated options the
// implementation runs with.

import { Command, Option } from "commander";

export const LANGUAGES = ["ts", "js"] as const;
export type Language = (typeof LANGUAGES)[number];
export const DEFAULT_LANGUAGE: Language = "ts";
export const DEFAULT_APP_DIR = "my-titan-app";

/** What `runInit` needs; nothing left to ask. */
export interface InitOptions {
  /** Target directory, absolute or relative to `cwd`. */
  dir: string;
  /** npm package name; defaults to the directory's name. */
  name?: string | undefined;
  lang: Language;
  /** Run `npm install` in the new app. */
  install: boolean;
  cwd?: string;
}

/** The flags as typed; unset ones are asked for (interactive) or defaulted. */
export interface InitFlags {
  lang?: Language;
  name?: string;
  yes?: boolean;
  install?: boolean;
}

export function initCommand(): Command {
  return new Command("init")
    .description("create a new Titan app")
    .argument("[dir]", `directory to create (default when not asked: ${DEFAULT_APP_DIR})`)
    .addOption(new Option("--lang <lang>", "language of the app").choices(LANGUAGES))
    .option("--name <name>", "npm package name (default: the directory's name)")
    .option("-y, --yes", "accept the default for everything not given as a flag")
    .option("--install", "run `npm install` in the new app")
    .option("--no-install", "do not run `npm install` (the default unless you answer yes when asked)")
    .addHelpText(
      "after",
      "\nWithout a terminal, or with CI=true, nothing is asked: unset flags take their defaults (TypeScript, no install).",
    );
}
