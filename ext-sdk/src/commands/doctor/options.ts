// `titan doctor` options.

import { Command } from "commander";

export interface DoctorOptions {
  /** The app's root (its config and extensions are checked when it has a titan.config.json). */
  cwd: string;
  json?: boolean | undefined;
}

export function doctorCommand(): Command {
  return new Command("doctor")
    .description("check the toolchain, the Titan core and the app's extensions; exit code 1 when something is broken")
    .option("--json", "print JSON")
    .option("--cwd <dir>", "the app's directory", ".");
}
