// Loads the Rust core (the napi-rs addon built into ../native). Every worker isolate loads it
// again; the addon keeps servers in a process-wide registry so they all reach the same socket.

import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type * as NativeModule from "../native/index.cjs";

export type Native = typeof NativeModule;

const bindingPath = fileURLToPath(new URL("../native/index.cjs", import.meta.url));

export function loadNative(): Native {
  if (!existsSync(bindingPath)) {
    throw new Error(
      `Titan's Rust core is not built (${bindingPath} is missing). Run \`npm install\` (or \`npm run build\`) at the repository root.`,
    );
  }
  return createRequire(import.meta.url)(bindingPath) as Native;
}
