// The calculator service the test server serves, shaped as `defineService` returns a definition
// ({ name, version, methods }), so tests can type their proxies with `RemoteOf<typeof calculatorService>`.

import { TitanError } from "../codec.js";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function issue(path: number, expected: string, value: unknown) {
  return { code: "invalid_type", expected, received: typeof value, path: [path], message: `Expected ${expected}, received ${typeof value}` };
}

export const calculatorService = {
  name: "calculator",
  version: "1.0.0",
  methods: {
    /** 422 with zod-like `details.issues` when an argument is not a number, as a contract would. */
    add(a: number, b: number): number {
      const issues = [typeof a === "number" ? null : issue(0, "number", a), typeof b === "number" ? null : issue(1, "number", b)].filter(Boolean);
      if (issues.length > 0) {
        throw new TitanError({ code: 422, message: "invalid input for calculator@1.0.0.add", details: { service: "calculator@1.0.0", method: "add", issues } });
      }
      return a + b;
    },
    /** Streams 1..n. */
    *count(n: number): Generator<number> {
      for (let i = 1; i <= n; i++) yield i;
    },
    /** Streams 1..n, one every `ms`: slow enough to cancel midway. */
    async *ticks(n: number, ms: number): AsyncGenerator<number> {
      for (let i = 1; i <= n; i++) {
        yield i;
        await sleep(ms);
      }
    },
    /** Streams 1..n, then throws. */
    *brokenCount(n: number): Generator<number> {
      for (let i = 1; i <= n; i++) yield i;
      throw new Error(`count broke after ${n}`);
    },
    fail(): never {
      throw new TitanError({ code: 500, message: "calculator.fail always fails", details: { hint: "by design" } });
    },
    async slow(ms: number, value: string): Promise<string> {
      await sleep(ms);
      return value;
    },
    echo(value: unknown): unknown {
      return value;
    },
    /** A binary answer of `size` bytes, sent whatever its size. */
    big(size: number): Uint8Array {
      return new Uint8Array(size);
    },
    /** An array answer: awaitable, and iterable with for await. */
    range(n: number): number[] {
      return Array.from({ length: n }, (_, i) => i);
    },
  },
};
