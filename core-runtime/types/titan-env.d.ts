// Globals Titan provides to actions and services. `titan init`, `titan dev` and `titan build` copy this file
// into an app as `titan-env.d.ts`, so TypeScript apps type-check without installing anything.
// Do not edit the copy: it is rewritten when the runtime's API changes.

export {};

declare global {
  /** The request an action receives. */
  interface TitanRequest {
    /** Unique per request; also sent back as `x-request-id` and carried by `t.log` lines. */
    readonly id: string;
    readonly method: string;
    readonly path: string;
    /** Route parameters; `:id<number>` / `:id<int>` arrive as numbers. */
    readonly params: Record<string, string | number>;
    /** Decoded query string; a repeated key becomes an array. */
    readonly query: Record<string, string | string[]>;
    /** Lower-cased header names. */
    readonly headers: Record<string, string>;
    /** Parsed by content type: JSON → value, urlencoded → object, text/* → string, other → Uint8Array, none → null. */
    readonly body: any;
    /** The body as UTF-8 text, or null when there is none. */
    readonly rawBody: string | null;
  }

  interface TitanResponseInit {
    status?: number;
    headers?: Record<string, string>;
  }

  /** A response built by `t.response.*`; returning anything else sends it as JSON with status 200. */
  interface TitanResponse {
    readonly __titanResponse: true;
    readonly status: number;
    readonly headers: Record<string, string>;
    readonly body: string | Uint8Array;
  }

  type TitanAction<R = unknown> = (req: TitanRequest) => R;

  /** Marks a function as an action. Actions run synchronously: no promises, no event loop. */
  function defineAction<R>(action: (req: TitanRequest) => R): TitanAction<R>;

  /** A contract schema: zod (≥ 3.24), or any Standard Schema library. */
  interface TitanContractSchema {
    readonly "~standard": { validate(value: unknown): unknown };
  }

  /** A Netron service, exported from a module under app/services/. */
  interface TitanServiceDefinition {
    /** Letters, digits, ".", "_" and "-"; clients ask for "name" (newest) or "name@version". */
    name: string;
    /** Semver, e.g. "1.0.0". */
    version: string;
    description?: string;
    /** Checked on every call: `input` (a tuple checks the argument list; anything else the single
     * argument) and `output` (for a generator, each yielded value). Violations answer 422. */
    contract?: Record<string, { input?: TitanContractSchema; output?: TitanContractSchema }>;
    /** Only these are callable. Synchronous; a generator method streams what it yields. */
    methods: Record<string, (...args: any[]) => unknown>;
    /** Read-only values peers read with Netron's GET: constants, or getters computed per read (as
     * the caller, like methods). Every worker holds its own copy of a service, so peers cannot set them. */
    properties?: Record<string, unknown>;
    /** Calls need a peer authenticated with a JWT (netron.auth in titan.config.json). */
    auth?: boolean;
  }

  /** Declares a Netron service; checked when a worker loads it. */
  function defineService<const S extends TitanServiceDefinition>(service: S): S;

  /** Who called the service method running now. */
  interface TitanNetronCaller {
    transport: "netron" | "http";
    auth?: { userId?: unknown; roles?: unknown; claims: Record<string, unknown> };
    /** What the connection's transport proved about the peer: with tls-transport and `clientCa`,
     * the verified client certificate (`subject`, `issuer`, `subjectAltName`, `fingerprint256`,
     * `serialNumber`, `validTo`, and `certificate` as hex DER). */
    peer?: {
      transport?: string;
      subject?: string;
      issuer?: string;
      subjectAltName?: string;
      fingerprint256?: string;
      serialNumber?: string;
      validTo?: string;
      certificate?: string;
      [field: string]: unknown;
    };
  }

  interface TitanNetron {
    /** Sends an event to every Netron peer subscribed to it (on any worker). */
    emit(event: string, ...args: unknown[]): number;
    /** The caller of the service method running now, or undefined outside one. */
    caller(): TitanNetronCaller | undefined;
    /** Throw one to answer with a Netron error code (404, 409, 422, ...) and details. */
    TitanError: new (options: { code: number; message: string; details?: unknown }) => Error & { code: unknown; details: unknown };
  }

  type TitanLogFields = Record<string, unknown>;
  interface TitanLogger {
    /** `t.log(...args)`: an info line, as in Titan Planet. */
    (...args: unknown[]): void;
    debug(message: string, fields?: TitanLogFields): void;
    info(message: string, fields?: TitanLogFields): void;
    warn(message: string, fields?: TitanLogFields): void;
    error(message: string, fields?: TitanLogFields): void;
  }

  interface TitanResponses {
    json(data: unknown, init?: TitanResponseInit): TitanResponse;
    text(text: string, init?: TitanResponseInit): TitanResponse;
    html(html: string, init?: TitanResponseInit): TitanResponse;
    /** 302 unless `init.status` says otherwise (301, 303, 307, 308). */
    redirect(location: string, init?: TitanResponseInit): TitanResponse;
  }

  interface TitanFetchInit {
    method?: string;
    headers?: Record<string, string>;
    /** A string, or any JSON value (sent as JSON with its content type). */
    body?: unknown;
    /** Milliseconds (default 30000). */
    timeout?: number;
  }

  /** A response of `t.fetch`; non-2xx statuses are responses, network errors throw. */
  interface TitanFetchResponse {
    status: number;
    ok: boolean;
    /** Lower-cased names. */
    headers: Record<string, string>;
    body: string;
    text(): string;
    json(): any;
  }

  type TitanJwtAlgorithm = "HS256" | "HS384" | "HS512" | "RS256";

  interface TitanJwt {
    /** Signs claims; `key` is the secret (HS*) or a PEM private key (RS256). */
    sign(payload: Record<string, unknown>, key: string, options?: { algorithm?: TitanJwtAlgorithm; expiresIn?: number; issuer?: string; audience?: string; subject?: string; keyId?: string }): string;
    /** Verifies and returns the claims; throws on a bad signature, expiry or disallowed algorithm. */
    verify(token: string, key: string, options?: { algorithms?: TitanJwtAlgorithm[]; issuer?: string; audience?: string; leeway?: number }): Record<string, any>;
  }

  interface TitanPassword {
    /** An argon2id hash (PHC string). */
    hash(password: string): string;
    /** Checks a password against an argon2 or bcrypt hash. */
    verify(password: string, hash: string): boolean;
  }

  type TitanSqlValue = null | boolean | number | bigint | string | Uint8Array;

  interface TitanDb {
    /** Rows as objects; INTEGER beyond 2^53 arrives as bigint, BLOB as Uint8Array. */
    query<Row = Record<string, TitanSqlValue>>(sql: string, params?: unknown[]): Row[];
    exec(sql: string, params?: unknown[]): { changes: number; lastInsertRowid: number };
    /** Several statements, no parameters (migrations). */
    execBatch(sql: string): void;
    /** Commits when `fn` returns, rolls back when it throws. */
    transaction<R>(fn: () => R): R;
  }

  /** The `t` namespace: built-in engines and registered extensions. */
  interface TitanNamespace {
    log: TitanLogger;
    response: TitanResponses;
    /** Synchronous HTTP client. */
    fetch(url: string, init?: TitanFetchInit): TitanFetchResponse;
    jwt: TitanJwt;
    password: TitanPassword;
    /** SQLite (`db.path` in titan.config.json, default `.titan/app.db`), one connection per worker. */
    db: TitanDb;
    /** Netron RPC from actions and services: events, the caller, errors. */
    netron: TitanNetron;
  }

  var t: TitanNamespace;

  /** In actions, `console.*` writes the same structured lines as `t.log` (declared here because
   * apps compile without DOM or Node types; compatible with both if an app adds them). */
  interface Console {
    log(...data: any[]): void;
    info(...data: any[]): void;
    debug(...data: any[]): void;
    warn(...data: any[]): void;
    error(...data: any[]): void;
  }
  var console: Console;
}
