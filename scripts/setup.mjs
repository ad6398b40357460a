#!/usr/bin/env node
// Set-up, run by `npm install` (prepare) and `npm run build`: builds the Rust core addon
// (release, with cargo's progress) and compiles the TypeScript packages. Incremental: a second
// run with nothing changed takes seconds.

import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "node_modules", ".bin", name);

function step(title, command, args, options = {}) {
  const started = Date.now();
  process.stderr.write(`\n▸ ${title}\n`);
  const result = spawnSync(command, args, { stdio: "inherit", cwd: root, ...options });
  if (result.error?.code === "ENOENT") {
    fail(`\`${command}\` was not found.`, command === "cargo"
      ? "Install the Rust toolchain (https://rustup.rs), then run `npm install` again."
      : "Run `npm install` at the repository root first.");
  }
  if (result.status !== 0) fail(`${title} failed (exit ${result.status}).`, "Fix the error above, then run `npm run build`.");
  process.stderr.write(`  done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

function fail(message, hint) {
  process.stderr.write(`\nerror: ${message}\n  → ${hint}\n`);
  process.exit(1);
}

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 17)) {
  fail(`Node ${process.versions.node} is too old.`, "Titan needs Node ≥ 20.17 (napi-rs's CLI needs it too).");
}

step("Building the Rust core (napi-rs addon, release; the first build takes a few minutes)", bin("napi"), [
  "build", "--platform", "--release",
  "--manifest-path", "crates/titan-node/Cargo.toml",
  "--output-dir", "native", "--js", "index.cjs", "--dts", "index.d.cts",
], { cwd: join(root, "core-runtime") });
step("Compiling the TypeScript packages (core-runtime, ext-sdk)", bin("tsc"), ["-b"]);
step("Building the example extensions (examples-ext/*, release)", process.execPath, [
  "ext-sdk/bin/titan.js", "build", "ext", "--release", "--cwd", "examples-ext/markdown",
]);
step("Writing the JSON Schemas of titan.config.json and titan.json (editor completion)", process.execPath, ["ext-sdk/dist/config/write-json-schema.js"]);
process.stderr.write("\n✔ Titan is built. `npm start` serves the example app; `npm test` runs every test.\n");
