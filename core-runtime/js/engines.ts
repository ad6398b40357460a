// The built-in engines as actions use them: `t.fetch`, `t.jwt`, `t.password`, `t.db`. Each is a
// native extension on the same ABI as any user extension (core-runtime/engines/*), linked into
// the core; this module is their JS entry, turning the natives into a friendlier API. A worker
// attaches to an engine on first use, so only workers that touch `t.db` open a connection.

import type { Native } from "./native.js";
import { attachExtension, type BoundExtension } from "./extensions.js";

export const ENGINE_NAMES = ["fetch", "jwt", "password", "db"] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

type Natives = Record<string, (...args: unknown[]) => unknown>;

/** What `t.fetch` returns. */
export interface FetchResult {
  status: number;
  ok: boolean;
  headers: Record<string, string>;
  body: string;
  text(): string;
  json(): unknown;
}

export interface FetchInit {
  method?: string;
  headers?: Record<string, string>;
  /** A string, or any JSON value (sent as JSON with its content type). */
  body?: unknown;
  /** Milliseconds. */
  timeout?: number;
}

function fetchOptions(init: FetchInit | undefined): Record<string, unknown> | null {
  if (!init) return null;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(init.headers ?? {})) headers[name.toLowerCase()] = String(value);
  let body = init.body;
  if (body !== undefined && body !== null && typeof body !== "string") {
    body = JSON.stringify(body);
    headers["content-type"] ??= "application/json";
  }
  return { method: init.method, headers, body: body ?? null, timeout: init.timeout };
}

/** SQL parameters: bytes and BigInts cross as tagged JSON, as the db engine reads them. */
function sqlParam(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === "bigint") return { $bigint: value.toString() };
  if (value instanceof Uint8Array) return { $base64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
  if (value instanceof Date) return value.toISOString();
  return value;
}

/** Row values: the db engine tags what JSON cannot hold. */
function sqlValue(value: unknown): unknown {
  if (value !== null && typeof value === "object") {
    if ("$bigint" in value) return BigInt((value as { $bigint: string }).$bigint);
    if ("$base64" in value) return new Uint8Array(Buffer.from((value as { $base64: string }).$base64, "base64"));
  }
  return value;
}

function reviveRows(rows: unknown): Record<string, unknown>[] {
  const list = rows as Record<string, unknown>[];
  for (const row of list) for (const key in row) row[key] = sqlValue(row[key]);
  return list;
}

/** Installs `t.fetch`, `t.jwt`, `t.password` and `t.db` for this worker. */
export function installEngines(native: Native, engines: readonly BoundExtension[], workerId: number, t: Record<string, unknown>) {
  const attached = new Map<string, Natives>();
  const engine = (name: EngineName): Natives => {
    let natives = attached.get(name);
    if (!natives) {
      const bound = engines.find((e) => e.name === name);
      if (!bound) throw new Error(`the built-in engine t.${name} is not loaded in this runtime`);
      natives = attachExtension(native, bound, workerId);
      attached.set(name, natives);
    }
    return natives;
  };

  t.fetch = (url: string, init?: FetchInit): FetchResult => {
    const response = engine("fetch").request!(url, fetchOptions(init)) as { status: number; headers: Record<string, string>; body: string };
    return {
      ...response,
      ok: response.status >= 200 && response.status < 300,
      text: () => response.body,
      json: () => JSON.parse(response.body),
    };
  };

  t.jwt = {
    sign: (payload: unknown, key: string, options?: unknown) => engine("jwt").sign!(payload, key, options ?? null),
    verify: (token: string, key: string, options?: unknown) => engine("jwt").verify!(token, key, options ?? null),
  };

  t.password = {
    hash: (password: string) => engine("password").hash!(password),
    verify: (password: string, hash: string) => engine("password").verify!(password, hash),
  };

  const db = {
    query: (sql: string, params: unknown[] = []) => reviveRows(engine("db").query!(sql, params.map(sqlParam))),
    exec: (sql: string, params: unknown[] = []) => engine("db").exec!(sql, params.map(sqlParam)),
    execBatch: (sql: string) => engine("db").execBatch!(sql),
    /** Runs `fn` in a transaction on this worker's connection: committed when it returns,
     * rolled back when it throws (and the error rethrown). */
    transaction<R>(fn: () => R): R {
      const natives = engine("db");
      if (natives.inTransaction!()) {
        throw new Error("t.db.transaction: already inside a transaction (nested transactions are not supported)");
      }
      natives.begin!();
      try {
        const result = fn();
        if (result !== null && typeof result === "object" && typeof (result as unknown as PromiseLike<unknown>).then === "function") {
          throw new Error("t.db.transaction: the function returned a Promise; transactions are synchronous, remove async/await");
        }
        natives.commit!();
        return result;
      } catch (err) {
        if (natives.inTransaction!()) natives.rollback!();
        throw err;
      }
    },
  };
  t.db = db;
}
