// What an action returns, turned into the (status, headers, body) triple the core writes:
// `t.response.*` builders, and the rules for plain return values.

export interface TitanResponseInit {
  status?: number;
  headers?: Record<string, string>;
}

export interface TitanResponse {
  readonly __titanResponse: true;
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string | Uint8Array;
}

/** status, content type, other headers as `[name, value, ...]`, body: the arguments of
 * `workerRespondAndNext`. The content type travels on its own so the common response needs
 * no header array at all. */
export type WireResponse = [status: number, contentType: string | null, headers: string[] | null, body: string | Uint8Array | null];

const JSON_TYPE = "application/json";

function build(defaultType: string, body: string | Uint8Array, init: TitanResponseInit | undefined, status = 200): TitanResponse {
  const headers: Record<string, string> = { "content-type": defaultType };
  for (const [name, value] of Object.entries(init?.headers ?? {})) headers[name.toLowerCase()] = String(value);
  return { __titanResponse: true, status: init?.status ?? status, headers, body };
}

export const responses = {
  json: (data: unknown, init?: TitanResponseInit) => build(JSON_TYPE, stringify(data), init),
  text: (text: string, init?: TitanResponseInit) => build("text/plain; charset=utf-8", String(text), init),
  html: (html: string, init?: TitanResponseInit) => build("text/html; charset=utf-8", String(html), init),
  redirect(location: string, init?: TitanResponseInit): TitanResponse {
    const status = init?.status ?? 302;
    if (status < 300 || status > 399) {
      throw new TypeError(`t.response.redirect: status ${status} is not a redirect (use 301, 302, 303, 307 or 308)`);
    }
    const response = build("text/plain; charset=utf-8", "", init, status);
    response.headers.location = String(location);
    return response;
  },
};

function stringify(data: unknown): string {
  const text = JSON.stringify(data);
  // JSON.stringify(undefined) is undefined: send JSON null rather than an empty, invalid body.
  return text === undefined ? "null" : text;
}

export function isTitanResponse(value: unknown): value is TitanResponse {
  return typeof value === "object" && value !== null && (value as TitanResponse).__titanResponse === true;
}

/** Thrown when an action's return value cannot be sent; the message tells the author the fix. */
export class ActionResultError extends Error {}

/** A plain object/array/number/boolean/null is JSON 200; strings are text; bytes are bytes. */
export function toWire(result: unknown, actionName: string): WireResponse {
  if (isTitanResponse(result)) {
    return [result.status, null, flatten(result.headers), result.body];
  }
  if (result === undefined) return [204, null, null, null];
  if (typeof result === "string") return [200, "text/plain; charset=utf-8", null, result];
  if (result instanceof Uint8Array) return [200, "application/octet-stream", null, result];
  if (typeof result === "object" && result !== null && typeof (result as PromiseLike<unknown>).then === "function") {
    throw new ActionResultError(
      `action "${actionName}" returned a Promise: actions run synchronously, so remove \`async\`/\`await\` (t.fetch, t.db and extensions are synchronous)`,
    );
  }
  let body: string;
  try {
    body = stringify(result);
  } catch (err) {
    throw new ActionResultError(`action "${actionName}" returned a value that is not JSON: ${(err as Error).message}`);
  }
  return [200, JSON_TYPE, null, body];
}

function flatten(headers: Record<string, string>): string[] {
  const flat: string[] = [];
  for (const [name, value] of Object.entries(headers)) flat.push(name, String(value));
  return flat;
}

/** The JSON error body, the same shape the Rust core uses for its own errors. */
export function errorWire(status: number, code: string, message: string, requestId: string, extra?: Record<string, unknown>): WireResponse {
  const body = JSON.stringify({ error: { status, code, message, requestId, ...extra } });
  return [status, JSON_TYPE, null, body];
}
