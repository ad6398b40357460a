// The contract between the build pipeline (the `titan` CLI) and the runtime host.
// A build directory (`.titan/build` in dev, `dist/` for `titan build`) holds `titan.build.json`
// (a BuildManifest) and the bundle it names; the host needs nothing else from the app.

/** One route as the CLI's route DSL (`t.get(path).action(name)`, `.reply(value)`) records it. */
export type RouteSpec =
  | { method: HttpMethod; path: string; action: string }
  | { method: HttpMethod; path: string; reply: ReplySpec };

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS";

/** A constant response, serialized once at build time and answered by the Rust core without JS. */
export interface ReplySpec {
  status: number;
  contentType: string;
  body: string;
}

/** Settings the runtime runs with, after the CLI validated `titan.config.json` and applied overrides. */
export interface ResolvedConfig {
  host: string;
  port: number;
  /** Worker isolates, each its own server. */
  workers: number;
  /** Largest request body accepted, in bytes; larger ones get 413. */
  bodyLimit: number;
  /** Milliseconds an action may run before its isolate is terminated and the client gets 504. */
  actionTimeout: number;
  /** Milliseconds graceful shutdown waits for in-flight requests before terminating workers. */
  shutdownTimeout: number;
  /** `t.db`: the SQLite file, relative to the app's data directory (default `.titan/app.db`). */
  db?: { path?: string };
  /** Netron RPC: where to listen, how to authenticate peers, where to register for discovery. */
  netron?: NetronConfig;
}

export interface NetronConfig {
  /** `tcp://host:port`, `unix:///path`, `ws://host:port[/path]`, or a scheme an extension provides (`tls://`). */
  listen?: string[];
  /** Peers authenticate with a JWT checked by t.jwt: the shared secret (HS*) or public key (RS256). */
  auth?: { secret?: string; secretEnv?: string; algorithms?: string[]; issuer?: string; audience?: string };
  /** Register the app's services in Redis so clients can `discover()` them. */
  discovery?: { redis: string; ttl?: number; prefix?: string; advertise?: string[] };
}

/** An extension the app registered (`extensions` in titan.config.json), resolved by the build:
 * the runtime loads `library` once per process (a Node-API addon: once per worker isolate) and
 * binds its functions as `t.<namespace>`. */
export interface ExtensionSpec {
  name: string;
  namespace: string;
  /** `native`: built with titan-ext (the ABI). `classic`: Titan Planet's plain C functions.
   * `napi`: a Node-API addon (napi-rs, neon), loaded in each worker, its exports bound as is. */
  kind: "native" | "classic" | "napi";
  /** Absolute path of the built library (for `napi`, the `.node` addon). */
  library: string;
  /** `napi` only: a hash of the addon's content, so a rebuilt addon is a different spec. */
  addonHash?: string;
  /** Absolute path of the optional JS entry, run with `t` in scope after the natives are bound. */
  entry: string | null;
  /** The `config` object given to the extension's init. */
  config: unknown;
  /** Classic only: the `titan.json` text, whose `native.functions` describe the C functions. */
  manifest?: string;
}

/** `titan.build.json`, written by `titan build` / `titan dev`, read by `startServer`. */
export interface BuildManifest {
  format: 1;
  /** Bundle file, relative to the build directory: an ES module exporting `actions`. */
  bundle: string;
  routes: RouteSpec[];
  /** Names of every action the bundle exports, for error messages and checks. */
  actions: string[];
  config: ResolvedConfig;
  /** Registered native extensions, in the order the config lists them. */
  extensions?: ExtensionSpec[];
  /** Netron services the bundle exports (`name@version`), when there are any. */
  services?: { name: string; version: string }[];
}
