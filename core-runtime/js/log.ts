// Structured JSON log lines, written synchronously: a worker never returns to its event loop
// while serving, so anything asynchronous (process.stdout in a worker) could sit unflushed.

import { writeSync } from "node:fs";
import { format } from "node:util";

export type LogLevel = "debug" | "info" | "warn" | "error";
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function parseLogLevel(value: string | undefined, fallback: LogLevel): LogLevel {
  return value && value in LEVELS ? (value as LogLevel) : fallback;
}

/** Writes all of `text` to `fd`, waiting out EAGAIN when the fd is a full non-blocking pipe. */
export function writeFully(fd: number, text: string): void {
  let buffer = Buffer.from(text);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (buffer.length > 0) {
    try {
      const written = writeSync(fd, buffer);
      buffer = buffer.subarray(written);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") return; // stdout gone: drop the line
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

export interface LogContext {
  /** Fields every line carries (worker slot, ...). */
  base: Record<string, unknown>;
  /** The request being served, if any. */
  requestId?: string | undefined;
}

export function createLogger(context: LogContext, minLevel: LogLevel, fd = 1) {
  const write = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[level] < LEVELS[minLevel]) return;
    const line: Record<string, unknown> = { time: new Date().toISOString(), level, msg, ...context.base };
    if (context.requestId !== undefined) line.requestId = context.requestId;
    if (fields) Object.assign(line, serializable(fields));
    writeFully(fd, JSON.stringify(line) + "\n");
  };
  const log = ((...args: unknown[]) => write("info", format(...args))) as ((...args: unknown[]) => void) & {
    debug(msg: string, fields?: Record<string, unknown>): void;
    info(msg: string, fields?: Record<string, unknown>): void;
    warn(msg: string, fields?: Record<string, unknown>): void;
    error(msg: string, fields?: Record<string, unknown>): void;
  };
  for (const level of Object.keys(LEVELS) as LogLevel[]) {
    log[level] = (msg: string, fields?: Record<string, unknown>) => write(level, String(msg), fields);
  }
  return log;
}

/** Errors become `{ name, message, stack }` instead of `{}`. */
function serializable(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value;
  }
  return out;
}
