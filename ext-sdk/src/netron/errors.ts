// The errors the Netron client raises itself (bad address, refused connection, timeout, lost
// connection, ...): TitanErrors with Netron's HTTP-like codes, so one `catch` handles them and the
// server's errors alike (`e.code === 408`), plus a `reason` that says which case it is.

import { TitanError } from "./codec.js";

/** Netron's numeric error codes (HTTP-like), the ones this client and Titan's server use. */
export const ErrorCode = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  REQUEST_TIMEOUT: 408,
  PAYLOAD_TOO_LARGE: 413,
  UNPROCESSABLE_ENTITY: 422,
  TOO_MANY_REQUESTS: 429,
  INTERNAL_ERROR: 500,
  NOT_IMPLEMENTED: 501,
  SERVICE_UNAVAILABLE: 503,
} as const;

/** Which client-side failure a {@link NetronClientError} reports. */
export type ClientErrorReason =
  /** The address string is not one of the accepted forms (400). */
  | "bad-address"
  /** The transport could not be opened: refused, no such socket file, DNS, TLS (503). */
  | "connection-failed"
  /** Opening the transport took longer than `connectTimeout` (408). */
  | "connect-timeout"
  /** The server accepted the connection but sent no Netron id message within `handshakeTimeout` (408). */
  | "handshake-timeout"
  /** The server's first message was not Netron's id handshake: not a Netron endpoint (500). */
  | "handshake-failed"
  /** A frame over `maxFrameLength`, sent or received (413). */
  | "frame-too-large"
  /** The connection dropped while a call was in flight: it may or may not have run (503). */
  | "connection-lost"
  /** The peer was closed with `close()`, or the connection dropped with reconnection off (503). */
  | "closed"
  /** Reconnection gave up after `reconnect.retries` attempts (503). */
  | "reconnect-failed"
  /** No answer within the call's timeout (408). */
  | "timeout"
  /** A stream's consumer fell further behind than `streamBuffer` chunks (429). */
  | "stream-overflow"
  /** `auth` was refused when connecting or reconnecting (401). */
  | "auth-failed"
  /** The server sent something this client cannot use (undecodable packet, bad answer shape) (500). */
  | "protocol";

/** A failure detected by the client. `details.reason` (and `reason`) says which one. */
export class NetronClientError extends TitanError {
  readonly reason: ClientErrorReason;

  constructor(reason: ClientErrorReason, code: number, message: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super({ code, message, details: { reason, ...options.details }, cause: options.cause });
    this.name = "NetronClientError";
    this.reason = reason;
  }
}

/**
 * The error a failed answer carries, as a TitanError. Titan's server always sends a TitanError; a
 * plain Error or any other value from another Netron peer is wrapped (code 500) with the original as
 * `cause`, so callers can always read `code`, `message` and `details`.
 */
export function asRemoteError(data: unknown, what: string): TitanError {
  if (data instanceof TitanError) return data;
  if (data instanceof Error) return new TitanError({ code: ErrorCode.INTERNAL_ERROR, message: data.message, cause: data });
  return new TitanError({
    code: ErrorCode.INTERNAL_ERROR,
    message: `${what} failed on the server, which answered with ${summarize(data)} instead of a TitanError`,
    details: { data },
  });
}

/** A short description of a value for error messages (never the whole value). */
export function summarize(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value !== "object") return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return `a ${(value as object).constructor?.name ?? "object"}`;
}
