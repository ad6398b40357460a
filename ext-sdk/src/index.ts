// The `titan` package's programmatic API: the app config schema and loader, the build pipeline,
// and the errors they throw. The CLI (src/cli/main.ts) is built on the same functions.

export { CliError, BuildError, type BuildFailureCode } from "./errors.js";
export { CLI_VERSION } from "./package-info.js";

export { titanConfigSchema, configJsonSchema, CONFIG_FIELDS, toBytes, type TitanConfig } from "./config/schema.js";
export { loadConfig, parseConfigText, CONFIG_FILE_NAME, type LoadedConfig } from "./config/load.js";
export { resolveConfig, resolveStartOverrides, parsePort, defaultWorkers, type PortSources } from "./config/resolve.js";

export { buildApp, type BuildAppOptions, type BuildResult } from "./build/pipeline.js";
export { TypeChecker, type TypeCheckResult } from "./build/typecheck.js";
export { findActionFiles, type ActionFile } from "./build/actions.js";
export { checkRoutePath, validateRoutes, ROUTE_METHODS, PARAM_TYPES } from "./build/routes.js";
export { readBuildManifest, readBuildInfo, type BuildInfo } from "./build/manifest.js";

export type {
  BuildManifest,
  HttpMethod,
  ReplySpec,
  ResolvedConfig,
  RouteSpec,
  TitanServer,
  StartServerOptions,
} from "./runtime/contract.js";
