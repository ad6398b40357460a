// `titan start` options.

import { Command, InvalidArgumentError } from "commander";
import { CliError } from "../../errors.js";
import { parsePort } from "../../config/resolve.js";

export interface StartCommandOptions {
  /** The app's root; `dir` is relative to it. */
  cwd: string;
  /** The build directory to serve. */
  dir: string;
  portFlag?: number | undefined;
  env?: NodeJS.ProcessEnv;
}

/** commander parser for `--port`, shared by `titan start` and `titan dev`. */
export function portOption(value: string): number {
  try {
    return parsePort(value, "--port");
  } catch (error) {
    throw new InvalidArgumentError(error instanceof CliError ? "expected an integer from 0 to 65535" : String(error));
  }
}

export function startCommand(): Command {
  return new Command("start")
    .description("serve a build made by `titan build`")
    .argument("[dir]", "build directory", "dist")
    .option("--port <port>", "port to listen on (overrides PORT and the build's config); 0 picks a free one", portOption)
    .option("--cwd <dir>", "the app's directory", ".");
}
