// @titan/harness: one real worker isolate with one extension, for its tests, a REPL, an HTTP
// endpoint and in-place hot swap. The `titan` CLI builds extensions and drives this
// (`titan run ext`, `titan test ext`); extension tests use it through `titan/harness`.

export { HarnessIsolate, HarnessError, type IsolateOptions, type SwapResult } from "./isolate.js";
export { startRepl, type ReplOptions } from "./repl.js";
export { serveExtension, serveNetron, writeNetronBuild, writeServeBuild, type NetronServeOptions, type ServeOptions } from "./serve.js";
export { watchExtension, type WatchOptions, type CycleReport, type ExtensionWatcher } from "./watch.js";
