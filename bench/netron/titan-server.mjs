// Server A for `npm run bench:netron`: Titan's runtime serving one Netron service, `bench@1.0.0`,
// whose `noop()` returns 1, from its worker isolates on a loopback tcp socket. The build is
// written to a temporary directory (a bundle and titan.build.json), as `titan build` would.
//
// Usage: node bench/netron/titan-server.mjs [--workers N]   (default 1)
// Prints `listening on tcp://127.0.0.1:PORT` once every worker serves.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const CORE_INDEX = join(ROOT, "core-runtime/dist/index.js");

// `defineService` is one of the isolate's globals; the bundle needs `actions` even without routes.
const BUNDLE = `export const actions = {};
export const services = [
  defineService({ name: "bench", version: "1.0.0", methods: { noop() { return 1; } } }),
];
`;

const { values } = parseArgs({ options: { workers: { type: "string", default: "1" } } });
const workers = Number(values.workers);
if (!Number.isInteger(workers) || workers < 1) {
  console.error(`titan-server: --workers must be an integer ≥ 1, got ${JSON.stringify(values.workers)}`);
  process.exit(2);
}
if (!existsSync(CORE_INDEX)) {
  console.error("titan-server: core-runtime/dist is missing: run `npm run build` at the repo root (it builds the core addon and core-runtime/dist).");
  process.exit(2);
}
const { startServer } = await import(pathToFileURL(CORE_INDEX).href);

const buildDir = mkdtempSync(join(os.tmpdir(), "titan-bench-netron-"));
writeFileSync(join(buildDir, "actions.mjs"), BUNDLE);
const config = { host: "127.0.0.1", port: 0, workers, bodyLimit: 1 << 20, actionTimeout: 5000, shutdownTimeout: 2000 };
writeFileSync(join(buildDir, "titan.build.json"), JSON.stringify({
  format: 1, bundle: "actions.mjs", routes: [], actions: [], config, services: [{ name: "bench", version: "1.0.0" }],
}));

let server;
try {
  server = await startServer({
    buildDir,
    config: { netron: { listen: ["tcp://127.0.0.1:0"] } },
    log: (line) => process.stderr.write(`${line}\n`),
  });
} catch (error) {
  rmSync(buildDir, { recursive: true, force: true });
  console.error(`titan-server: the runtime did not start: ${error.message}${error.hint ? ` (${error.hint})` : ""}`);
  process.exit(1);
}
const address = server.netron?.addresses.find((a) => a.startsWith("tcp://"));
if (!address) {
  console.error(`titan-server: the runtime reports no tcp Netron address (got ${JSON.stringify(server.netron?.addresses ?? null)}): is Netron built into this core? Run \`npm run build\`.`);
  await server.close();
  process.exit(1);
}
console.log(`listening on ${address} (${workers} worker${workers === 1 ? "" : "s"})`);

let closing = false;
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    if (closing) return;
    closing = true;
    server.close().finally(() => {
      rmSync(buildDir, { recursive: true, force: true });
      process.exit(0);
    });
  });
}
