// `titan run ext` options.

import { Command } from "commander";
import { portOption } from "../start/options.js";

export interface RunExtOptions {
  /** The extension's directory. */
  cwd: string;
  /** Rebuild, hot-swap and re-run the tests on every save. */
  watch: boolean;
  /** A REPL inside the isolate (tests are not run). */
  repl: boolean;
  /** Also serve the extension over HTTP; the port (default 3100). */
  serve?: number | true;
  /** Run the tests (default true; off with --no-test, and with --repl). */
  test: boolean;
  /** The extension's config, as JSON (as an app would give it in titan.config.json). */
  config?: string;
  /** A transport extension: serve a Netron service on this address, in its scheme. */
  netron?: string;
}

export function runExtCommand(): Command {
  return new Command("ext")
    .description("build the extension, boot it in a real worker isolate, run its tests; --watch hot-swaps on save, --repl evaluates in the isolate, --serve adds an HTTP endpoint")
    .option("--cwd <dir>", "the extension's directory", ".")
    .option("-w, --watch", "on every save: rebuild, swap the new build in place, re-run the tests", false)
    .option("--repl", "a REPL evaluated inside the isolate, with t.* bound (.reload rebuilds and swaps)", false)
    .option("--serve [port]", "also serve it over HTTP (GET /, POST /call/:fn with a JSON array of arguments)", portOption)
    .option("--no-test", "do not run the tests")
    .option("--config <json>", "the extension's config as JSON, e.g. '{\"file\":\"kv.sqlite\"}'")
    .option("--netron <address>", "a transport extension: serve a test Netron service (harness@1.0.0: echo, count, peer) on this address, e.g. tls://127.0.0.1:7443");
}
