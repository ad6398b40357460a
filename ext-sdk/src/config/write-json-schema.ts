// Build step: writes the config's JSON Schema to ext-sdk/schema/titan.config.schema.json.
// Run after `tsc -b` (see the `build` script in ext-sdk/package.json).

import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { configJsonSchema } from "./schema.js";

const target = fileURLToPath(new URL("../../schema/titan.config.schema.json", import.meta.url));
mkdirSync(fileURLToPath(new URL("../../schema/", import.meta.url)), { recursive: true });
writeFileSync(target, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
console.log(`wrote ${target}`);
