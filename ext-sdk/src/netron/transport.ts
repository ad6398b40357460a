// Opens a Netron connection over tcp, unix, tls or ws and runs the id handshake: the rest of the
// client sees one shape, a transport that sends and receives whole frames (one packet each).

import net from "node:net";
import tls from "node:tls";
import WebSocket from "ws";
import type { NetronAddress } from "./address.js";
import { encodeFrame, encodeHandshake, FrameDecoder, isJsonText, NetronDecodeError, parseHandshake } from "./codec.js";
import { ErrorCode, NetronClientError } from "./errors.js";

/** TLS settings for `tls://` and `wss://`, passed to node:tls (TLS 1.3 is the minimum). */
export interface TlsOptions {
  /** The CA certificate(s) that signed the server's certificate (PEM), when it is not a public CA. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** The client certificate (PEM), for servers that require mutual TLS. */
  cert?: string | Buffer | Array<string | Buffer>;
  /** The client certificate's private key (PEM). */
  key?: string | Buffer | Array<string | Buffer>;
  /** The passphrase of `key`, if it is encrypted. */
  passphrase?: string;
  /** The name to check the server's certificate against (and send as SNI); defaults to the host. */
  servername?: string;
  /** Refuse servers whose certificate does not verify (default true; false only for local experiments). */
  rejectUnauthorized?: boolean;
}

/** What opening a connection needs. */
export interface TransportOptions {
  connectTimeout: number;
  handshakeTimeout: number;
  maxFrameLength: number;
  clientId: string;
  tls?: TlsOptions;
}

/** Receives a transport's frames and its end (`error` says why, unless this side closed it). */
export interface TransportListener {
  onFrame(body: Uint8Array): void;
  onClose(error: NetronClientError | undefined): void;
}

/**
 * A connection that moves whole frames. Frames (and the close) that arrive while nobody listens are
 * kept and handed to the next listener, so none is lost between the handshake and the Peer.
 */
export interface FrameTransport {
  readonly kind: "tcp" | "unix" | "tls" | "ws";
  /** Sends one frame; throws a NetronClientError if the connection is already closed. */
  send(body: Uint8Array): void;
  /** Closes gracefully (FIN / WebSocket close 1000); resolves once the connection is gone. */
  close(): Promise<void>;
  /** Closes at once. */
  destroy(): void;
  /** Delivers what was kept, then everything that arrives, to `listener`; `undefined` keeps them again. */
  listen(listener: TransportListener | undefined): void;
}

/** An open connection whose handshake is done, kept quiet until its owner listens. */
export interface Session {
  transport: FrameTransport;
  serverId: string;
}

/** How long `close()` waits for the peer to acknowledge before destroying the socket. */
const CLOSE_GRACE_MS = 1000;

/** Opens a connection to `address` and completes Netron's id handshake. */
export async function openSession(address: NetronAddress, options: TransportOptions): Promise<Session> {
  const transport = await openTransport(address, options);
  return handshake(transport, address, options);
}

function lostConnection(address: NetronAddress, detail: string, cause?: unknown): NetronClientError {
  return new NetronClientError("connection-lost", ErrorCode.SERVICE_UNAVAILABLE, `the connection to ${address.text} was lost: ${detail}`, {
    details: { address: address.text },
    cause,
  });
}

function frameTooLarge(address: NetronAddress, cause: Error): NetronClientError {
  return new NetronClientError("frame-too-large", ErrorCode.PAYLOAD_TOO_LARGE, `${address.text} sent a frame over the size limit, so the connection was closed: ${cause.message}`, {
    details: { address: address.text },
    cause,
  });
}

function closedError(address: NetronAddress): NetronClientError {
  return new NetronClientError("connection-lost", ErrorCode.SERVICE_UNAVAILABLE, `the connection to ${address.text} is closed`, { details: { address: address.text } });
}

const TLS_ERROR = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|HOSTNAME|ALTNAME/;

/**
 * The server ended the TLS handshake with an alert: under TLS 1.3 a server that refuses the
 * client's certificate says so only after the client's side of the handshake is done, so this
 * arrives as the connection's end. An error that says what the server wants, or undefined when
 * `error` is no alert.
 */
function tlsRefused(address: NetronAddress, error: unknown): NetronClientError | undefined {
  const { reason, code } = (error ?? {}) as { reason?: unknown; code?: unknown };
  // node:tls (OpenSSL) puts the alert in `reason` ("tlsv13 alert certificate required") and `code`.
  const alert =
    (typeof reason === "string" ? /\balert (.+)$/.exec(reason)?.[1] : undefined) ??
    (typeof code === "string" ? /_ALERT_(\w+)$/.exec(code)?.[1]?.toLowerCase().replace(/_/g, " ") : undefined);
  if (!alert) return undefined;
  let detail: string;
  if (alert === "certificate required") {
    detail = "it requires a client certificate (mutual TLS). Pass tls.cert and tls.key: a certificate signed by a CA the server trusts (its clientCa) and its key";
  } else if (/unknown ca|bad certificate|certificate unknown|unsupported certificate|certificate expired|certificate revoked|access denied/.test(alert)) {
    detail = "it does not accept the client certificate in tls.cert. Use one signed by a CA the server trusts (its clientCa), valid now and issued for client authentication";
  } else {
    detail = "check that the server speaks TLS 1.3 and that tls.servername (or the host) is a name it serves";
  }
  return new NetronClientError("connection-failed", ErrorCode.SERVICE_UNAVAILABLE, `could not connect to ${address.text}: the server refused the TLS connection (alert "${alert}"): ${detail}`, {
    details: { address: address.text, tlsAlert: alert },
    cause: error,
  });
}

/** Turns a failure to open the transport into an error that says what to check. */
function connectFailure(address: NetronAddress, error: NodeJS.ErrnoException): NetronClientError {
  const refused = tlsRefused(address, error);
  if (refused) return refused;
  const code = error.code ?? "";
  const target = address.kind === "unix" ? address.path : address.kind === "ws" ? address.url : `${address.host}:${address.port}`;
  let detail: string;
  if (code === "ECONNREFUSED") {
    detail = `connection refused (${code}): nothing accepts connections at ${target}. Check that the Titan server is running and that its Netron listen addresses include ${address.text}`;
  } else if (code === "ENOENT" && address.kind === "unix") {
    detail = `there is no socket file at ${address.path} (${code}). Check that the server is running and listening on ${address.text}, and the path`;
  } else if (code === "EACCES" || code === "EPERM") {
    detail = `permission denied opening ${target} (${code}): check the socket file's permissions`;
  } else if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
    detail = `the host could not be resolved (${code} for ${error.message.split(" ").pop()}): check the host name`;
  } else if (code === "EHOSTUNREACH" || code === "ENETUNREACH") {
    detail = `the host is unreachable (${code}): check the address and the network`;
  } else if (code === "ECONNRESET" || code === "EPIPE") {
    detail = `the server reset the connection while it was being set up (${code}); check that ${address.text} is a Netron endpoint of the right kind (tcp, tls and ws are not interchangeable)`;
  } else if (TLS_ERROR.test(code) || /certificate|ssl|tls/i.test(error.message)) {
    detail =
      `the TLS handshake failed (${code || "TLS"}: ${error.message}). Pass the CA that signed the server's certificate as tls.ca, ` +
      `check that tls.servername (or the host) matches the certificate, that the server speaks TLS 1.3, and for mutual TLS pass tls.cert and tls.key`;
  } else if (/Unexpected server response: (\d+)/.test(error.message)) {
    const status = /Unexpected server response: (\d+)/.exec(error.message)![1];
    detail = `the server answered the WebSocket upgrade with HTTP ${status}; check the path in ${address.text} (it must be the path the Netron ws listener is mounted on)`;
  } else {
    detail = `${error.message}${code ? ` (${code})` : ""}`;
  }
  return new NetronClientError("connection-failed", ErrorCode.SERVICE_UNAVAILABLE, `could not connect to ${address.text}: ${detail}`, {
    details: { address: address.text, code: code || undefined },
    cause: error,
  });
}

function connectTimedOut(address: NetronAddress, timeout: number): NetronClientError {
  return new NetronClientError(
    "connect-timeout",
    ErrorCode.REQUEST_TIMEOUT,
    `could not connect to ${address.text} within ${timeout} ms: the host did not answer. Check the address and that no firewall drops the packets, or raise connectTimeout`,
    { details: { address: address.text, timeout } },
  );
}

function openTransport(address: NetronAddress, options: TransportOptions): Promise<FrameTransport> {
  return address.kind === "ws" ? openWebSocket(address, options) : openSocket(address, options);
}

function openSocket(address: Exclude<NetronAddress, { kind: "ws" }>, options: TransportOptions): Promise<FrameTransport> {
  return new Promise((resolve, reject) => {
    let socket: net.Socket;
    const readyEvent = address.kind === "tls" ? "secureConnect" : "connect";
    if (address.kind === "tls") {
      const settings = options.tls ?? {};
      socket = tls.connect({
        host: address.host,
        port: address.port,
        minVersion: "TLSv1.3",
        ca: settings.ca,
        cert: settings.cert,
        key: settings.key,
        passphrase: settings.passphrase,
        // SNI cannot carry an IP address; node checks the certificate against the host either way.
        servername: settings.servername ?? (net.isIP(address.host) ? undefined : address.host),
        rejectUnauthorized: settings.rejectUnauthorized ?? true,
      });
    } else if (address.kind === "unix") {
      socket = net.connect({ path: address.path });
    } else {
      socket = net.connect({ host: address.host, port: address.port });
    }
    const timer = setTimeout(() => {
      cleanup();
      socket.destroy();
      reject(connectTimedOut(address, options.connectTimeout));
    }, clampTimer(options.connectTimeout));
    const onError = (error: Error): void => {
      cleanup();
      socket.destroy();
      reject(connectFailure(address, error));
    };
    const onReady = (): void => {
      cleanup();
      if (address.kind !== "unix") {
        // RPC answers are small and latency-bound: don't let Nagle hold them back.
        socket.setNoDelay(true);
        socket.setKeepAlive(true, 30_000);
      }
      resolve(new SocketTransport(address.kind, socket, address, options.maxFrameLength));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off("error", onError);
      socket.off(readyEvent, onReady);
    };
    socket.once("error", onError);
    socket.once(readyEvent, onReady);
  });
}

/** Hands frames and the close to the listener, or keeps them until there is one. */
abstract class ListenedTransport {
  private listener: TransportListener | undefined;
  private readonly kept: Uint8Array[] = [];
  private end: { error: NetronClientError | undefined } | undefined;
  /** Set by close()/destroy(): no frame is delivered after it and the close carries no error. */
  protected closedLocally = false;

  listen(listener: TransportListener | undefined): void {
    this.listener = listener;
    while (listener && this.listener === listener && this.kept.length > 0 && !this.closedLocally) listener.onFrame(this.kept.shift()!);
    if (listener && this.listener === listener && this.end) {
      const { error } = this.end;
      this.end = undefined;
      listener.onClose(error);
    }
  }

  protected frame(body: Uint8Array): void {
    if (this.closedLocally) return;
    if (this.listener) this.listener.onFrame(body);
    else this.kept.push(body);
  }

  protected ended(error: NetronClientError | undefined): void {
    const closeError = this.closedLocally ? undefined : error;
    if (this.listener) this.listener.onClose(closeError);
    else this.end = { error: closeError };
  }
}

/** tcp, unix and tls: every frame is a u32 BE length and the body. */
class SocketTransport extends ListenedTransport implements FrameTransport {
  private readonly decoder: FrameDecoder;
  private failure: NetronClientError | undefined;
  private readonly gone: Promise<void>;

  constructor(
    readonly kind: "tcp" | "unix" | "tls",
    private readonly socket: net.Socket,
    private readonly address: NetronAddress,
    maxFrameLength: number,
  ) {
    super();
    this.decoder = new FrameDecoder(maxFrameLength);
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("error", (error: Error) => {
      this.failure ??= lostConnection(address, error.message, error);
    });
    this.gone = new Promise((resolve) =>
      socket.once("close", () => {
        resolve();
        this.ended(this.failure ?? lostConnection(address, "the server closed it"));
      }),
    );
  }

  private receive(chunk: Buffer): void {
    let frames: Uint8Array[];
    let failed: Error | undefined;
    try {
      frames = this.decoder.push(chunk);
    } catch (error) {
      // Whole frames that came before the oversized one are still answers to deliver.
      frames = error instanceof NetronDecodeError ? error.framesBefore : [];
      failed = error as Error;
    }
    for (const frame of frames) {
      if (this.socket.destroyed) return;
      this.frame(frame);
    }
    if (failed) {
      this.failure ??= frameTooLarge(this.address, failed);
      this.socket.destroy();
    }
  }

  send(body: Uint8Array): void {
    if (this.closedLocally || this.socket.destroyed || !this.socket.writable) throw closedError(this.address);
    this.socket.write(encodeFrame(body));
  }

  close(): Promise<void> {
    if (!this.closedLocally) {
      this.closedLocally = true;
      this.socket.end();
      setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
    }
    return this.gone;
  }

  destroy(): void {
    this.closedLocally = true;
    this.socket.destroy();
  }
}

function openWebSocket(address: Extract<NetronAddress, { kind: "ws" }>, options: TransportOptions): Promise<FrameTransport> {
  return new Promise((resolve, reject) => {
    const settings = options.tls ?? {};
    const socket = new WebSocket(address.url, {
      maxPayload: options.maxFrameLength,
      handshakeTimeout: clampTimer(options.connectTimeout),
      perMessageDeflate: false,
      ...(address.secure
        ? {
            minVersion: "TLSv1.3" as const,
            ca: settings.ca,
            cert: settings.cert,
            key: settings.key,
            passphrase: settings.passphrase,
            servername: settings.servername,
            rejectUnauthorized: settings.rejectUnauthorized ?? true,
          }
        : {}),
    });
    socket.binaryType = "nodebuffer";
    const onError = (error: Error): void => {
      cleanup();
      socket.terminate();
      reject(/timed out/i.test(error.message) ? connectTimedOut(address, options.connectTimeout) : connectFailure(address, error));
    };
    const onOpen = (): void => {
      cleanup();
      resolve(new WebSocketTransport(socket, address));
    };
    const cleanup = (): void => {
      socket.off("error", onError);
      socket.off("open", onOpen);
    };
    socket.on("error", onError);
    socket.on("open", onOpen);
  });
}

/** ws: every frame is one binary WebSocket message. */
class WebSocketTransport extends ListenedTransport implements FrameTransport {
  readonly kind = "ws" as const;
  private failure: NetronClientError | undefined;
  private readonly gone: Promise<void>;

  constructor(
    private readonly socket: WebSocket,
    private readonly address: NetronAddress,
  ) {
    super();
    socket.on("message", (data: Buffer) => this.frame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
    socket.on("error", (error: Error & { code?: string }) => {
      this.failure ??=
        error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH" ? frameTooLarge(address, error) : lostConnection(address, error.message, error);
    });
    this.gone = new Promise((resolve) =>
      socket.once("close", (code: number, reason: Buffer) => {
        resolve();
        const why = reason.length > 0 ? `: ${reason.toString("utf8")}` : "";
        this.ended(this.failure ?? lostConnection(address, `the server closed the WebSocket (code ${code}${why})`));
      }),
    );
  }

  send(body: Uint8Array): void {
    if (this.closedLocally || this.socket.readyState !== WebSocket.OPEN) throw closedError(this.address);
    this.socket.send(body, { binary: true });
  }

  close(): Promise<void> {
    if (!this.closedLocally) {
      this.closedLocally = true;
      this.socket.close(1000, "client closed");
      setTimeout(() => this.socket.terminate(), CLOSE_GRACE_MS).unref();
    }
    return this.gone;
  }

  destroy(): void {
    this.closedLocally = true;
    this.socket.terminate();
  }
}

/** Waits for the server's `{"type":"id"}` message and answers with the client's id. */
function handshake(transport: FrameTransport, address: NetronAddress, options: TransportOptions): Promise<Session> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: NetronClientError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      transport.listen(undefined);
      transport.destroy();
      reject(error);
    };
    const timer = setTimeout(
      () =>
        fail(
          new NetronClientError(
            "handshake-timeout",
            ErrorCode.REQUEST_TIMEOUT,
            `${address.text} accepted the connection but sent no Netron handshake within ${options.handshakeTimeout} ms; ` +
              `check that the address is a Netron endpoint (not plain HTTP or another protocol)` +
              // A tls:// listener waits for the client's TLS hello, so a plain client hears nothing.
              (transport.kind === "tcp" ? ` and that it is not a tls:// one (then connect with tls://)` : "") +
              `, or raise handshakeTimeout`,
            { details: { address: address.text, timeout: options.handshakeTimeout } },
          ),
        ),
      clampTimer(options.handshakeTimeout),
    );
    const notNetron = (reason: string, cause?: unknown): NetronClientError =>
      new NetronClientError("handshake-failed", ErrorCode.INTERNAL_ERROR, `${address.text} is not speaking Netron: ${reason}`, {
        details: { address: address.text },
        cause,
      });
    const onClose = (error: NetronClientError | undefined): void => {
      const refused = transport.kind === "tls" ? tlsRefused(address, error?.cause) : undefined;
      if (refused) return fail(refused);
      fail(
        new NetronClientError(
          "connection-failed",
          ErrorCode.SERVICE_UNAVAILABLE,
          `${address.text} closed the connection before the Netron handshake${error ? ` (${error.message})` : ""}; check that it is a Netron endpoint and that the server accepts more connections`,
          { details: { address: address.text }, cause: error },
        ),
      );
    };
    const onFrame = (body: Uint8Array): void => {
      if (settled) return;
      if (!isJsonText(body)) {
        const head = Buffer.from(body.subarray(0, 16)).toString("hex");
        fail(notNetron(`its first message (${body.length} bytes, starting ${head}) is not the JSON id message {"type":"id","id":"..."}`));
        return;
      }
      let message;
      try {
        message = parseHandshake(body);
      } catch (error) {
        fail(notNetron((error as Error).message, error));
        return;
      }
      if (message.type !== "id") {
        fail(notNetron(`it sent a client's {"type":"client-id"} message, so it is a client, not a server`));
        return;
      }
      try {
        transport.send(encodeHandshake({ type: "client-id", id: options.clientId }));
      } catch (error) {
        fail(error as NetronClientError);
        return;
      }
      settled = true;
      clearTimeout(timer);
      // Frames right behind the id wait for the Peer.
      transport.listen(undefined);
      resolve({ transport, serverId: message.id });
    };
    transport.listen({ onFrame, onClose });
  });
}

/** setTimeout fires at once for delays past 2^31-1 ms; such timeouts mean "practically never". */
export function clampTimer(ms: number): number {
  return Math.min(Math.max(0, ms), 0x7fffffff);
}
