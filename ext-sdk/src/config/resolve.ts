// Turns a validated config into the ResolvedConfig the runtime runs with, applying defaults and
// the precedence `--port` > PORT > titan.config.json > `t.start(port)` > 3000.

import os from "node:os";
import type { ResolvedConfig } from "../runtime/contract.js";
import { CliError } from "../errors.js";
import { toBytes, type TitanConfig } from "./schema.js";

export const DEFAULT_PORT = 3000;
export const DEFAULT_HOST = "0.0.0.0";
export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const DEFAULT_ACTION_TIMEOUT = 30_000;
export const DEFAULT_SHUTDOWN_TIMEOUT = 10_000;

export interface PortSources {
  /** `--port`, already parsed. */
  portFlag?: number | undefined;
  /** Environment to read PORT from; defaults to process.env. */
  env?: NodeJS.ProcessEnv | undefined;
  /** The port given to `t.start(port)` in app/app.js, if any. */
  startPort?: number | undefined;
}

export function resolveConfig(config: TitanConfig, sources: PortSources = {}): ResolvedConfig {
  const envPort = portFromEnv(sources.env ?? process.env);
  return {
    host: config.host ?? DEFAULT_HOST,
    port: sources.portFlag ?? envPort ?? config.port ?? sources.startPort ?? DEFAULT_PORT,
    workers: config.workers ?? defaultWorkers(),
    bodyLimit: config.bodyLimit === undefined ? DEFAULT_BODY_LIMIT : toBytes(config.bodyLimit),
    actionTimeout: config.actionTimeout ?? DEFAULT_ACTION_TIMEOUT,
    shutdownTimeout: config.shutdownTimeout ?? DEFAULT_SHUTDOWN_TIMEOUT,
    ...(config.db ? { db: config.db } : {}),
    ...(config.netron ? { netron: config.netron } : {}),
  };
}

/**
 * What `titan start` overrides in a build's config: the port from `--port`/PORT, and `workers`
 * when the app's config left it unset (the default is this machine's parallelism, not the build machine's).
 */
export function resolveStartOverrides(
  appConfig: TitanConfig,
  sources: Pick<PortSources, "portFlag" | "env">,
): Partial<ResolvedConfig> {
  const overrides: Partial<ResolvedConfig> = {};
  const port = sources.portFlag ?? portFromEnv(sources.env ?? process.env);
  if (port !== undefined) overrides.port = port;
  if (appConfig.workers === undefined) overrides.workers = defaultWorkers();
  return overrides;
}

export function defaultWorkers(): number {
  return Math.max(1, Math.min(256, os.availableParallelism()));
}

/** Parses a port given as text (`--port`, PORT); `source` names it in the error. */
export function parsePort(text: string, source: string): number {
  const trimmed = text.trim();
  const port = Number(trimmed);
  if (!/^\d+$/.test(trimmed) || port > 65535) {
    throw new CliError(`${source} is ${JSON.stringify(text)}, expected an integer from 0 to 65535`, {
      hint: "use 0 to let the system pick a free port",
    });
  }
  return port;
}

function portFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const value = env.PORT;
  if (value === undefined || value.trim() === "") return undefined;
  return parsePort(value, "the PORT environment variable");
}
