// Errors the CLI and the build API report to people: a message, what to do next, and optional detail lines.

/** An error whose message is meant for the user; the CLI prints it as `error: <message>` plus the hint, no stack. */
export class CliError extends Error {
  /** What to do next, e.g. "run `titan build` first". */
  readonly hint: string | undefined;
  /** Extra lines printed under the message (one per problem), already formatted for a terminal. */
  readonly details: readonly string[];

  constructor(message: string, options: { hint?: string; details?: readonly string[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CliError";
    this.hint = options.hint;
    this.details = options.details ?? [];
  }
}

/** Why a build was refused; `titan dev` turns it into the runtime's 503 body. */
export type BuildFailureCode = "type_errors" | "build_error";

/** A failed build: type errors or a bundling/route/action problem, with the diagnostics in plain text. */
export class BuildError extends CliError {
  readonly code: BuildFailureCode;
  /** One plain-text entry per diagnostic (no colors), as served in dev's 503 response. */
  readonly diagnostics: readonly string[];
  /** The diagnostics as printed on the terminal: code frames, colored when the terminal supports it. */
  readonly report: string;

  constructor(
    code: BuildFailureCode,
    message: string,
    options: { diagnostics: readonly string[]; report?: string; hint?: string; cause?: unknown },
  ) {
    super(message, { hint: options.hint, cause: options.cause });
    this.name = "BuildError";
    this.code = code;
    this.diagnostics = options.diagnostics;
    this.report = options.report ?? options.diagnostics.join("\n\n");
  }
}
