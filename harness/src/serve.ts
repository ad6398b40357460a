// `titan run ext --serve`: the extension behind a real Titan HTTP server (one worker), for curl;
// `--netron ADDRESS`: a transport extension carrying a Netron service, for a real client.
//   GET  /            → { extension, namespace, functions }
//   POST /call/:fn    → body: a JSON array of arguments; answers { result } or 500 { error }
// The server is Titan's own (core-runtime's startServer) on a build generated here.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startServer, type BuildManifest, type ExtensionSpec, type TitanServer } from "@titan/core";

export interface ServeOptions {
  extension: ExtensionSpec;
  functions: string[];
  host?: string;
  port?: number;
  dataDir: string;
  log?: (line: string) => void;
}

function actionsSource(namespace: string, name: string, functions: string[]): string {
  return `export const actions = {
  describe: defineAction(() => ({ extension: ${JSON.stringify(name)}, namespace: ${JSON.stringify(namespace)}, functions: Object.keys(t[${JSON.stringify(namespace)}]) })),
  call: defineAction((req) => {
    const fn = t[${JSON.stringify(namespace)}][req.params.fn];
    if (typeof fn !== "function") {
      return t.response.json({ error: "t.${namespace}." + req.params.fn + " is not a function", functions: ${JSON.stringify(functions)} }, { status: 404 });
    }
    const args = req.body === null || req.body === undefined || req.body === "" ? [] : req.body;
    if (!Array.isArray(args)) return t.response.json({ error: "send the arguments as a JSON array, e.g. [\\"k\\", 1]" }, { status: 400 });
    try {
      const result = fn(...args);
      return { result: typeof result === "bigint" ? String(result) : result instanceof Uint8Array ? Array.from(result) : result };
    } catch (err) {
      return t.response.json({ error: err.message }, { status: 500 });
    }
  }),
};
`;
}

/** Writes a one-extension build into a fresh directory; returns the directory. */
export function writeServeBuild(options: ServeOptions): string {
  const dir = mkdtempSync(path.join(tmpdir(), "titan-harness-serve-"));
  writeFileSync(path.join(dir, "actions.mjs"), actionsSource(options.extension.namespace, options.extension.name, options.functions));
  const manifest: BuildManifest = {
    format: 1,
    bundle: "actions.mjs",
    routes: [
      { method: "GET", path: "/", action: "describe" },
      { method: "POST", path: "/call/:fn", action: "call" },
    ],
    actions: ["describe", "call"],
    config: { host: options.host ?? "127.0.0.1", port: options.port ?? 3100, workers: 1, bodyLimit: 1 << 20, actionTimeout: 30_000, shutdownTimeout: 2000 },
    extensions: [options.extension],
  };
  writeFileSync(path.join(dir, "titan.build.json"), JSON.stringify(manifest, null, 2));
  return dir;
}

export function serveExtension(options: ServeOptions): Promise<{ server: TitanServer; buildDir: string }> {
  return serveBuild(writeServeBuild(options), options);
}

/** Titan's own server on a build written here. */
async function serveBuild(buildDir: string, options: { dataDir: string; log?: (line: string) => void }): Promise<{ server: TitanServer; buildDir: string }> {
  const server = await startServer({ buildDir, dataDir: options.dataDir, dev: true, ...(options.log ? { log: options.log } : {}) });
  return { server, buildDir };
}

/** `titan run ext --netron ADDRESS`: a transport extension carrying Netron, for a real client. */
export interface NetronServeOptions {
  extension: ExtensionSpec;
  /** The listen address, in the extension's scheme: `tls://127.0.0.1:7443`. */
  listen: string;
  dataDir: string;
  log?: (line: string) => void;
}

/** A service to call through the transport: what came in goes back out, a stream, and who the
 * transport says the peer is. */
const HARNESS_SERVICE = `defineService({
  name: "harness", version: "1.0.0",
  methods: {
    echo(value) { return value; },
    *count(n) { for (let i = 0; i < n; i++) yield i; },
    peer() { return t.netron.caller()?.peer ?? null; },
  },
})`;

/** Writes a build that serves the `harness` service on `listen`, with the extension loaded. */
export function writeNetronBuild(options: NetronServeOptions): string {
  const dir = mkdtempSync(path.join(tmpdir(), "titan-harness-netron-"));
  writeFileSync(path.join(dir, "actions.mjs"), `export const actions = {};\nexport const services = [${HARNESS_SERVICE}];\n`);
  const manifest: BuildManifest = {
    format: 1,
    bundle: "actions.mjs",
    routes: [],
    actions: [],
    config: { host: "127.0.0.1", port: 0, workers: 1, bodyLimit: 1 << 20, actionTimeout: 30_000, shutdownTimeout: 2000, netron: { listen: [options.listen] } },
    extensions: [options.extension],
    services: [{ name: "harness", version: "1.0.0" }],
  };
  writeFileSync(path.join(dir, "titan.build.json"), JSON.stringify(manifest, null, 2));
  return dir;
}

export function serveNetron(options: NetronServeOptions): Promise<{ server: TitanServer; buildDir: string }> {
  return serveBuild(writeNetronBuild(options), options);
}
