// `titan init` questions: turns the flags into complete InitOptions, asking only what the flags
// leave open, and only on an interactive terminal without --yes (otherwise defaults apply).

import { confirm, input, select } from "@inquirer/prompts";
import path from "node:path";
import { DEFAULT_APP_DIR, DEFAULT_LANGUAGE, type InitFlags, type InitOptions, type Language } from "./options.js";
import { packageNameProblem } from "./run.js";

export async function resolveInitOptions(
  dirArgument: string | undefined,
  flags: InitFlags,
  context: { interactive: boolean; cwd: string; note: (line: string) => void },
): Promise<InitOptions> {
  const ask = context.interactive && !flags.yes;
  const usingDefault = (what: string, flag: string): void => {
    if (!flags.yes) context.note(`${what} (default; ${flag})`);
  };

  let dir = dirArgument;
  if (dir === undefined) {
    if (ask) {
      dir = await input({
        message: "Project directory:",
        default: DEFAULT_APP_DIR,
        validate: (value) => (flags.name ? true : packageNameProblem(path.basename(path.resolve(context.cwd, value))) ?? true),
      });
    } else {
      dir = DEFAULT_APP_DIR;
      usingDefault(`directory: ${DEFAULT_APP_DIR}`, "pass a directory: titan init <dir>");
    }
  }

  let lang: Language | undefined = flags.lang;
  if (lang === undefined) {
    if (ask) {
      lang = await select<Language>({
        message: "Language:",
        choices: [
          { name: "TypeScript", value: "ts", description: "type-checked strictly on every build" },
          { name: "JavaScript", value: "js" },
        ],
        default: DEFAULT_LANGUAGE,
      });
    } else {
      lang = DEFAULT_LANGUAGE;
      usingDefault(`language: ${lang === "ts" ? "TypeScript" : "JavaScript"}`, "--lang js|ts to choose");
    }
  }

  let install = flags.install;
  if (install === undefined) {
    install = ask ? await confirm({ message: "Install dependencies now (npm install)?", default: true }) : false;
  }

  return { dir, name: flags.name, lang, install, cwd: context.cwd };
}
