// Build step: writes the JSON Schemas editors use for completion, generated from the zod schemas:
// ext-sdk/schema/titan.config.schema.json (an app's config) and ext-sdk/schema/titan.schema.json
// (an extension's titan.json). Run after `tsc -b` (see the `build` script in ext-sdk/package.json).

import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { manifestJsonSchema } from "../extensions/manifest-json-schema.js";
import { configJsonSchema } from "./schema.js";

mkdirSync(fileURLToPath(new URL("../../schema/", import.meta.url)), { recursive: true });
for (const [file, schema] of [
  ["titan.config.schema.json", configJsonSchema()],
  ["titan.schema.json", manifestJsonSchema()],
] as const) {
  const target = fileURLToPath(new URL(`../../schema/${file}`, import.meta.url));
  writeFileSync(target, `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`wrote ${target}`);
}
