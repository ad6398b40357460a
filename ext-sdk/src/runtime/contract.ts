// The interface between the CLI and the runtime (@titan/core): the build format, and the host API
// the CLI drives. The types come from core-runtime/js/types.ts, the one definition of the contract.

export type { BuildManifest, ExtensionSpec, HttpMethod, ReplySpec, ResolvedConfig, RouteSpec, StartOptions as StartServerOptions, TitanServer } from "@titan/core";
import type { StartOptions, TitanServer } from "@titan/core";

/** The only build format this CLI writes and `titan start` accepts. */
export const BUILD_FORMAT = 1;
export const MANIFEST_FILE_NAME = "titan.build.json";
export const BUNDLE_FILE_NAME = "actions.mjs";

/** Why the server refuses requests in dev; served as `503 {"error": ...}`. */
export interface UnavailableReason {
  code: string;
  message: string;
  [key: string]: unknown;
}

export interface RuntimeHost {
  startServer(options: StartOptions): Promise<TitanServer>;
}
