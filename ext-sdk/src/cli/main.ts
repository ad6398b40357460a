#!/usr/bin/env node
// The `titan` command: wires each command's options, prompts and implementation together and
// reports errors as `error: <message>` plus a hint, exit code 1.

import { Command } from "commander";
import { CLI_VERSION } from "../package-info.js";
import { printError } from "./output.js";
import { closeOnSignals } from "./shutdown.js";
import { isInteractive, paint } from "./terminal.js";
import { initCommand, type InitFlags } from "../commands/init/options.js";
import { createCommand, createExtCommand, type CreateExtFlags } from "../commands/create-ext/options.js";
import { buildCommand, type BuildCommandOptions } from "../commands/build/options.js";
import { buildExtCommand, type BuildExtOptions } from "../commands/build-ext/options.js";
import { devCommand } from "../commands/dev/options.js";
import { startCommand } from "../commands/start/options.js";
import { extCommand } from "../commands/ext/options.js";
import { doctorCommand, type DoctorOptions } from "../commands/doctor/options.js";
import { displayPath } from "../util/format.js";
import { runExtCommand, type RunExtOptions } from "../commands/run-ext/options.js";
import { testExtCommand, type TestExtOptions } from "../commands/test-ext/options.js";

const log = (line: string): void => console.log(line);
// Each command's implementation is imported when it runs: `titan --help` or `titan test ext` does
// not pay for loading TypeScript, esbuild, the prompts and the template engine.

const program = new Command("titan")
  .description("Titan: JS/TS actions in synchronous V8 isolates, driven by a Rust core")
  .version(CLI_VERSION, "-v, --version", "print the version")
  .showHelpAfterError("(run with --help for usage)");

program.addCommand(
  initCommand().action(async (dir: string | undefined, flags: InitFlags) => {
    const { resolveInitOptions } = await import("../commands/init/prompts.js");
    const options = await resolveInitOptions(dir, flags, {
      interactive: isInteractive(),
      cwd: process.cwd(),
      note: (line) => log(paint.dim(line)),
    });
    const { runInit } = await import("../commands/init/run.js");
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
  createCommand().addCommand(
    createExtCommand().action(async (name: string, flags: CreateExtFlags) => {
      const { resolveCreateExtOptions } = await import("../commands/create-ext/prompts.js");
      const options = await resolveCreateExtOptions(name, flags, {
        interactive: isInteractive(),
        cwd: process.cwd(),
        note: (line) => log(paint.dim(line)),
      });
      const { runCreateExt, createExtReport } = await import("../commands/create-ext/run.js");
      const result = await runCreateExt(options, (line) => log(paint.yellow(line)));
      const [headline = "", ...rest] = createExtReport(result, process.cwd());
      log(headline.replace(/^created/, paint.green("created")));
      for (const line of rest) log(line);
    }),
  ),
);

program.addCommand(
  devCommand().action(async (flags: { cwd: string; port?: number }) => {
    const { runDev } = await import("../commands/dev/run.js");
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
      const { runBuild } = await import("../commands/build/run.js");
      await runBuild(flags, log);
    })
    .addCommand(
      buildExtCommand().action(async (flags: BuildExtOptions) => {
        const { runBuildExt } = await import("../commands/build-ext/run.js");
        await runBuildExt(flags, log);
      }),
    ),
);

program.addCommand(
  startCommand().action(async (dir: string, flags: { cwd: string; port?: number }) => {
    const { runStart } = await import("../commands/start/run.js");
    const server = await runStart({ cwd: flags.cwd, dir, portFlag: flags.port }, log);
    closeOnSignals(() => server.close(), log);
  }),
);

program.addCommand(
  extCommand({
    add: async (extPath, flags) => {
      const { runExtAdd } = await import("../commands/ext/run.js");
      await runExtAdd({ cwd: flags.cwd, path: extPath, config: flags.config }, log);
    },
    list: async (flags) => {
      const { runExtList } = await import("../commands/ext/run.js");
      await runExtList(flags, log);
    },
    remove: async (target, flags) => {
      const { runExtRemove } = await import("../commands/ext/run.js");
      await runExtRemove({ cwd: flags.cwd, target }, log);
    },
  }),
);

program.addCommand(
  new Command("run").description("run something in a development harness").addCommand(
    runExtCommand().action(async (flags: RunExtOptions) => {
      const { runRunExt } = await import("../commands/run-ext/run.js");
      const session = await runRunExt(flags, log);
      if (flags.watch || flags.serve !== undefined) closeOnSignals(() => session.close(), log);
      await session.done;
      if (!session.passed) process.exitCode = 1;
    }),
  ),
);

program.addCommand(
  new Command("test").description("run tests").addCommand(
    testExtCommand().action(async (flags: TestExtOptions) => {
      const { runTestExt } = await import("../commands/test-ext/run.js");
      const run = await runTestExt(flags, log);
      if (!run.passed) process.exitCode = 1;
    }),
  ),
);

program.addCommand(
  doctorCommand().action(async (flags: DoctorOptions) => {
    const { runDoctor } = await import("../commands/doctor/run.js");
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
