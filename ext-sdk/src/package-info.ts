// Where this package lives and which version it is; both `src/` and `dist/` modules sit one level
// below the package root, so the same relative URLs work from tests and from the built CLI.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** ext-sdk/, with a trailing separator. */
export const PACKAGE_ROOT = fileURLToPath(new URL("../", import.meta.url));

export const CLI_VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;
