// For programs that embed Titan's isolates without its HTTP server (the extension harness):
// loading the core, the engines and extensions on the main thread, and preparing an isolate the
// way a server worker is prepared. `@titan/core/embed`.

export { loadNative, type Native } from "./native.js";
export { loadEngines, loadExtensions, TitanHostError } from "./host.js";
export { installGlobals } from "./isolate.js";
export { installEngines, ENGINE_NAMES } from "./engines.js";
export { bindExtensions, attachExtension, type BoundExtension } from "./extensions.js";
export { createLogger, parseLogLevel, type LogContext, type LogLevel } from "./log.js";
export type { ExtensionSpec, ResolvedConfig } from "./types.js";
