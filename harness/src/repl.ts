// `titan run ext --repl`: a REPL whose input is evaluated inside the harness isolate, with `t.*`
// and `t.<namespace>` bound, tab completion on their properties, and `.reload` to rebuild and
// swap the extension without leaving.

import repl from "node:repl";
import type { HarnessIsolate } from "./isolate.js";

export interface ReplOptions {
  isolate: HarnessIsolate;
  /** Rebuilds the extension and swaps it in; returns the line to print. */
  reload: () => Promise<string>;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  /** Colored results (default: when output is a TTY). */
  colors?: boolean;
}

/** Whether the REPL should wait for more lines: the code is an unfinished statement. */
function isIncomplete(error: Error): boolean {
  return error.name === "SyntaxError" && /Unexpected end of input|missing \) after argument list|Unterminated template/.test(error.message);
}

export function startRepl(options: ReplOptions): Promise<void> {
  const { isolate } = options;
  const output = options.output ?? process.stdout;
  const colors = options.colors ?? Boolean((output as NodeJS.WriteStream).isTTY);
  output.write(`t.${isolate.namespace} is bound (${isolate.functions.join(", ")}); t.* engines too. .reload rebuilds and swaps, .exit leaves.\n`);
  const server = repl.start({
    prompt: `t.${isolate.namespace}> `,
    input: options.input ?? process.stdin,
    output,
    terminal: Boolean((output as NodeJS.WriteStream).isTTY),
    ignoreUndefined: true,
    // Results come back already formatted by util.inspect inside the isolate.
    writer: (text: unknown) => String(text),
    eval(code, _context, _file, done) {
      if (code.trim() === "") return done(null, undefined);
      try {
        done(null, isolate.inspect(code, colors));
      } catch (err) {
        const error = err as Error;
        if (isIncomplete(error)) return done(new repl.Recoverable(error), undefined);
        done(error, undefined);
      }
    },
    completer(line: string) {
      const expression = /[\w$.]*$/.exec(line)?.[0] ?? "";
      try {
        return [isolate.complete(expression), expression];
      } catch {
        return [[], expression];
      }
    },
  });
  server.defineCommand("reload", {
    help: "Rebuild the extension and swap it into this isolate",
    action() {
      this.clearBufferedCommand();
      options.reload().then(
        (line) => {
          output.write(`${line}\n`);
          this.displayPrompt();
        },
        (err: Error) => {
          output.write(`reload failed, the previous build keeps running: ${err.message}\n`);
          this.displayPrompt();
        },
      );
    },
  });
  return new Promise((resolve) => server.on("exit", () => resolve()));
}
