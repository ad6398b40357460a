#!/usr/bin/env node
// The `titan` command. A committed launcher rather than the compiled file itself, so npm can link
// the command before the first build has produced ext-sdk/dist.
import { existsSync } from "node:fs";

const main = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(main)) {
  process.stderr.write("error: the titan CLI is not built yet\n  → run `npm install` (or `npm run build`) at the root of the Titan repository\n");
  process.exit(1);
}
await import(main.href);
