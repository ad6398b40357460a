// Loads the runtime host (@titan/core) on demand, so `titan init` and `titan build` work even
// where the native runtime is not built.

import { CliError } from "../errors.js";
import type { RuntimeHost } from "./contract.js";

const RUNTIME_PACKAGE = "@titan/core";

export async function loadRuntimeHost(): Promise<RuntimeHost> {
  let module: Partial<RuntimeHost>;
  try {
    // A variable specifier keeps TypeScript from requiring the runtime's declarations at compile time.
    const specifier: string = RUNTIME_PACKAGE;
    module = (await import(specifier)) as Partial<RuntimeHost>;
  } catch (error) {
    throw new CliError(`cannot load the Titan runtime (${RUNTIME_PACKAGE}): ${(error as Error).message}`, {
      hint: "build it with `npm run build` at the root of the Titan repository, then try again",
      cause: error,
    });
  }
  if (typeof module.startServer !== "function") {
    throw new CliError(`${RUNTIME_PACKAGE} does not export startServer()`, {
      hint: "the runtime and the CLI are out of step: rebuild both with `npm run build` at the repository root",
    });
  }
  const { startServer } = module as RuntimeHost;
  return {
    async startServer(options) {
      try {
        return await startServer(options);
      } catch (error) {
        throw asCliError(error);
      }
    },
  };
}

/** The host's own errors (TitanHostError: port in use, bad build, ...) carry a hint; keep it. */
function asCliError(error: unknown): unknown {
  if (error instanceof Error && error.name === "TitanHostError") {
    const hint = (error as Error & { hint?: unknown }).hint;
    return new CliError(error.message, { hint: typeof hint === "string" ? hint : undefined, cause: error });
  }
  return error;
}
