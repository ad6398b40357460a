// How the CLI prints errors and the `listening on` line (which tests and scripts parse).

import { BuildError, CliError } from "../errors.js";
import { paintErr } from "./terminal.js";

/** Prints any error the way the CLI reports it: `error: <message>`, details, then the hint. No stack unless TITAN_DEBUG=1. */
export function printError(error: unknown): void {
  const debug = process.env.TITAN_DEBUG === "1";
  const lines: string[] = [];
  if (error instanceof CliError) {
    if (error instanceof BuildError && error.report.trim() !== "") lines.push(error.report.trimEnd(), "");
    lines.push(`${paintErr.red("error:")} ${error.message}`);
    lines.push(...error.details.map((detail) => `  ${detail}`));
    if (error.hint) lines.push(paintErr.dim(`hint: ${error.hint}`));
    if (debug && error.stack) lines.push(error.stack);
  } else {
    const message = error instanceof Error ? error.message : String(error);
    lines.push(`${paintErr.red("error:")} ${message}`);
    if (debug && error instanceof Error && error.stack) lines.push(error.stack);
    else lines.push(paintErr.dim("hint: this looks like a bug in titan; rerun with TITAN_DEBUG=1 to see the stack, and report it"));
  }
  process.stderr.write(`${lines.join("\n")}\n`);
}

/** `http://HOST:PORT` with IPv6 hosts in brackets. */
export function serverUrl(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** The line `titan dev` and `titan start` print once the port is bound; tests parse it for the real port. */
export function listeningLine(host: string, port: number): string {
  return `listening on ${serverUrl(host, port)}`;
}
