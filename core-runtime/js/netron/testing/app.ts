// A Titan app with Netron services for end-to-end tests of the runtime and of the client: the
// bundle (the build's `actions.mjs`) is written as source, so the tests need no build step.

import { createHmac } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { BuildManifest, ResolvedConfig } from "../../types.js";

const zodUrl = pathToFileURL(createRequire(import.meta.url).resolve("zod")).href;

/** `calculator@1.0.0`: a contract, streams, errors, events, the caller, which process/thread answers, and properties. */
export const CALCULATOR_SERVICE = `defineService({
  name: "calculator", version: "1.0.0",
  contract: { add: { input: z.tuple([z.number(), z.number()]), output: z.number() } },
  methods: {
    add(a, b) { return a + b; },
    *count(n) { for (let i = 0; i < n; i++) yield i; },
    *forever() { let i = 0; for (;;) yield i++; },
    *failing() { yield 1; throw new Error("generator broke"); },
    fail() { throw new t.netron.TitanError({ code: 409, message: "conflict!", details: { why: "test" } }); },
    announce(name) { return t.netron.emit("user.created", { name }); },
    whoami() { return t.netron.caller()?.auth?.userId ?? null; },
    instance() { return process.env.TITAN_TEST_INSTANCE ?? "in-process"; },
    thread() { return threadId; },
    peer() {
      const peer = t.netron.caller()?.peer;
      return peer ? { transport: peer.transport, subject: peer.subject, issuer: peer.issuer, fingerprint256: peer.fingerprint256 } : null;
    },
  },
  properties: {
    precision: 12,
    get caller() { return t.netron.caller()?.auth?.userId ?? "anonymous"; },
    get broken() { throw new Error("getter broke"); },
  },
})`;

/** The calculator's declared properties, as a typed client reads them. */
export interface CalculatorProperties {
  precision: number;
  caller: string;
  broken: never;
}

/** What the calculator looks like to a typed client. */
export interface Calculator {
  add(a: number, b: number): number;
  count(n: number): Generator<number>;
  forever(): Generator<number>;
  failing(): Generator<number>;
  fail(): never;
  announce(name: string): number;
  whoami(): string | null;
  instance(): string;
  thread(): number;
  /** What the connection's transport proved about the caller (tls-transport with clientCa). */
  peer(): { transport: string; subject: string; issuer: string; fingerprint256: string } | null;
}

const CONFIG: ResolvedConfig = { host: "127.0.0.1", port: 0, workers: 2, bodyLimit: 1 << 20, actionTimeout: 5000, shutdownTimeout: 3000 };

/** Writes a build directory whose bundle exports `actions` (source of an object literal's body)
 * and `services` (source of each service); `z` (zod) and `threadId` are in scope. */
export function writeServiceBuild(options: { services: string[]; actions?: string; routes?: BuildManifest["routes"] }): string {
  const dir = mkdtempSync(join(tmpdir(), "titan-netron-app-"));
  const bundle = `import { z } from ${JSON.stringify(zodUrl)};
import { threadId } from "node:worker_threads";
export const actions = { ${options.actions ?? ""} };
export const services = [${options.services.join(",\n")}];
`;
  writeFileSync(join(dir, "actions.mjs"), bundle);
  const routes = options.routes ?? [];
  const manifest: BuildManifest = { format: 1, bundle: "actions.mjs", routes, actions: routes.flatMap((r) => ("action" in r ? [r.action] : [])), config: CONFIG };
  writeFileSync(join(dir, "titan.build.json"), JSON.stringify(manifest));
  return dir;
}

/** An HS256 JWT made with node:crypto, so tests do not trust the engine they check. */
export function signTestJwt(claims: Record<string, unknown>, secret: string): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const body = `${part({ alg: "HS256", typ: "JWT" })}.${part({ ...claims, exp: Math.floor(Date.now() / 1000) + 600 })}`;
  return `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
}
