// The messages between the harness (main thread) and its isolate (a worker thread). Requests go
// over a MessagePort; the main thread then blocks on a shared flag until the isolate has posted
// the reply, and reads it with `receiveMessageOnPort`: that is what makes `ext.call` synchronous.

import type { MessagePort } from "node:worker_threads";
import type { BoundExtension } from "@titan/core/embed";

export type IsolateRequest =
  | { op: "call"; fn: string; args: unknown[] }
  | { op: "eval"; code: string }
  | { op: "inspect"; code: string; colors: boolean }
  | { op: "complete"; expression: string }
  | { op: "rebind"; extension: BoundExtension };

export type IsolateReply = { ok: true; value: unknown } | { ok: false; error: { name: string; message: string; stack?: string } };

/** The shared flag: the isolate sets it once its reply is posted (or it is exiting). */
export const enum Flag {
  Waiting = 0,
  Replied = 1,
  Exited = 2,
}

export interface IsolateData {
  slot: number;
  namespace: string;
  engines: BoundExtension[];
  extension: BoundExtension;
  flag: SharedArrayBuffer;
  port: MessagePort;
  logLevel: string;
}

export type IsolateStatus = { type: "ready"; functions: string[] } | { type: "failed"; message: string; stack?: string };
