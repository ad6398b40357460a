// Runs a command in a real pseudo-terminal (util-linux `script`), for tests of interactive
// prompts and the REPL: the child sees a TTY on stdin and stdout; tests type into it.

import { spawn, type ChildProcess } from "node:child_process";

/** `script` needs the whole command as one shell string. */
function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r/g;

export class PtyProcess {
  readonly child: ChildProcess;
  /** Everything the child printed, ANSI escapes and carriage returns removed. */
  output = "";
  readonly exited: Promise<number | null>;

  constructor(command: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; columns?: number }) {
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env, TERM: "xterm-256color", COLUMNS: String(options.columns ?? 200) };
    delete env.CI;
    this.child = spawn("script", ["-qfec", command.map(shellQuote).join(" "), "/dev/null"], { cwd: options.cwd, env, stdio: ["pipe", "pipe", "pipe"] });
    const collect = (chunk: Buffer) => (this.output += chunk.toString().replace(ANSI, ""));
    this.child.stdout!.on("data", collect);
    this.child.stderr!.on("data", collect);
    this.exited = new Promise((resolve) => this.child.once("close", (code) => resolve(code)));
  }

  type(text: string): void {
    this.child.stdin!.write(text);
  }

  /** Resolves once the output after `from` matches. */
  async waitFor(pattern: RegExp, options: { from?: number; timeoutMs?: number } = {}): Promise<RegExpMatchArray> {
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    for (;;) {
      const match = this.output.slice(options.from ?? 0).match(pattern);
      if (match) return match;
      if (this.child.exitCode !== null) throw new Error(`the command exited before printing ${pattern}; output:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; output:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  mark(): number {
    return this.output.length;
  }

  kill(): void {
    this.child.kill("SIGKILL");
  }
}
