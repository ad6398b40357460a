// Packing step (`prepack` / `postpack` in ext-sdk/package.json): the published `titan` package has
// no repository around it, so `titan create ext` reads a copy of the repository's ext-templates/
// from <package>/templates/ext/, written here before packing and removed after.
// Usage: node dist/commands/create-ext/pack-templates.js [--clean]

import { cpSync, existsSync, rmSync } from "node:fs";
import path from "node:path";
import { PACKAGE_ROOT } from "../../package-info.js";
import { availableKinds } from "./templates.js";

const source = path.resolve(PACKAGE_ROOT, "..", "ext-templates");
const target = path.join(PACKAGE_ROOT, "templates", "ext");

rmSync(target, { recursive: true, force: true });
if (process.argv.includes("--clean")) {
  console.log(`removed ${target}`);
} else {
  if (!existsSync(source)) {
    console.error(`error: ${source} does not exist: pack the titan package from a checkout of the Titan repository`);
    process.exit(1);
  }
  const kinds = availableKinds(source);
  for (const kind of kinds) cpSync(path.join(source, kind), path.join(target, kind), { recursive: true });
  console.log(`copied the ${kinds.join(", ")} templates to ${target}`);
}
