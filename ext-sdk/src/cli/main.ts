#!/usr/bin/env node
// The `titan` command: wires each command's options, prompts and implementation together and
// reports errors as `error: <message>` plus a hint, exit code 1.

import { Command } from "commander";
import { CLI_VERSION } from "../package-info.js";
import { printError } from "./output.js";
import { closeOnSignals } from "./shutdown.js";
import { isInteractive, paint } from "./terminal.js";
import { initCommand, type InitFlags } from "../commands/init/options.js";
import { resolveInitOptions } from "../commands/init/prompts.js";
import { runInit } from "../commands/init/run.js";
import { buildCommand, type BuildCommandOptions } from "../commands/build/options.js";
import { runBuild } from "../commands/build/run.js";
import { buildExtCommand, type BuildExtOptions } from "../commands/build-ext/options.js";
import { runBuildExt } from "../commands/build-ext/run.js";
import { devCommand } from "../commands/dev/options.js";
import { runDev } from "../commands/dev/run.js";
import { startCommand } from "../commands/start/options.js";
import { runStart } from "../commands/start/run.js";
import { extCommand } from "../commands/ext/options.js";
import { runExtAdd, runExtList, runExtRemove } from "../commands/ext/run.js";
import { doctorCommand, type DoctorOptions } from "../commands/doctor/options.js";
import { runDoctor } from "../commands/doctor/run.js";
import { displayPath } from "../util/format.js";

const log = (line: string): void => console.log(line);

const program = new Command("titan")
  .description("Titan: JS/TS actions in synchronous V8 isolates, driven by a Rust core")
  .version(CLI_VERSION, "-v, --version", "print the version")
  .showHelpAfterError("(run with --help for usage)");

program.addCommand(
  initCommand().action(async (dir: string | undefined, flags: InitFlags) => {
    const options = await resolveInitOptions(dir, flags, {
      interactive: isInteractive(),
      cwd: process.cwd(),
      note: (line) => log(paint.dim(line)),
    });
    const result = await runInit(options, log);
    const where = displayPath(process.cwd(), result.dir);
    log(`${paint.green("created")} ${result.name} in ${where}/ (${options.lang === "ts" ? "TypeScript" : "JavaScript"})`);
    log("\nnext steps:");
    if (where !== ".") log(`  cd ${where}`);
    if (!result.installed) log("  npm install");
    log("  npm run dev        # serves on http://localhost:3000, reloads on save");
  }),
);

program.addCommand(
  devCommand().action(async (flags: { cwd: string; port?: number }) => {
    const session = await runDev({ cwd: flags.cwd, portFlag: flags.port }, log);
    closeOnSignals(() => session.close(), log);
  }),
);

// Options after a subcommand belong to it: `titan build ext --cwd <dir>` is the extension's
// directory, not `titan build --cwd`.
program.enablePositionalOptions();
program.addCommand(
  buildCommand()
    .action(async (flags: BuildCommandOptions) => {
      await runBuild(flags, log);
    })
    .addCommand(
      buildExtCommand().action(async (flags: BuildExtOptions) => {
        await runBuildExt(flags, log);
      }),
    ),
);

program.addCommand(
  startCommand().action(async (dir: string, flags: { cwd: string; port?: number }) => {
    const server = await runStart({ cwd: flags.cwd, dir, portFlag: flags.port }, log);
    closeOnSignals(() => server.close(), log);
  }),
);

program.addCommand(
  extCommand({
    add: async (extPath, flags) => {
      await runExtAdd({ cwd: flags.cwd, path: extPath, config: flags.config }, log);
    },
    list: async (flags) => {
      await runExtList(flags, log);
    },
    remove: async (target, flags) => {
      await runExtRemove({ cwd: flags.cwd, target }, log);
    },
  }),
);

program.addCommand(
  doctorCommand().action(async (flags: DoctorOptions) => {
    const result = await runDoctor(flags, log);
    if (result.broken) process.exitCode = 1;
  }),
);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Ctrl-C inside a prompt is a choice, not a failure worth a stack.
  if (error instanceof Error && error.name === "ExitPromptError") process.exit(130);
  printError(error);
  process.exitCode = 1;
}
