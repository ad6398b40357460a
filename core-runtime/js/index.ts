// @titan/core: the runtime host the `titan` CLI drives. See ../docs/architecture.md.

export { startServer, readBuild, TitanHostError, type StartOptions, type TitanServer } from "./host.js";
export type { BuildManifest, ExtensionSpec, ReplySpec, ResolvedConfig, RouteSpec, HttpMethod } from "./types.js";
export { responses, toWire, type TitanResponse, type TitanResponseInit } from "./response.js";

import { fileURLToPath } from "node:url";
/** The globals declaration file apps copy as `titan-env.d.ts`. */
export const titanEnvTypesPath = fileURLToPath(new URL("../types/titan-env.d.ts", import.meta.url));
