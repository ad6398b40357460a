// `titan dev` options.

import { Command } from "commander";
import { portOption } from "../start/options.js";

export interface DevCommandOptions {
  /** The app's root. */
  cwd: string;
  portFlag?: number | undefined;
  env?: NodeJS.ProcessEnv;
  /** Color in printed diagnostics. */
  color?: boolean;
  /** Milliseconds of quiet after a file change before rebuilding (editors write in bursts). */
  debounceMs?: number;
}

export function devCommand(): Command {
  return new Command("dev")
    .description("build into .titan/build, serve it, and rebuild + reload on every save")
    .option("--port <port>", "port to listen on (overrides PORT and titan.config.json); 0 picks a free one", portOption)
    .option("--cwd <dir>", "the app's directory", ".");
}
