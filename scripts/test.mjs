#!/usr/bin/env node
// `npm test`: every test. Rebuilds what changed (scripts/setup.mjs), runs the Rust tests
// (cargo test, no Node needed), then every `*.test.ts` / `*.test.mjs` with node:test, then each
// example extension's own tests with `titan test ext`.

import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const SEARCHED = ["core-runtime/js", "ext-sdk/src", "harness", "examples-ext", "bench"];
const SKIPPED = new Set(["node_modules", "dist", "target", ".titan"]);

function run(title, command, args) {
  process.stderr.write(`\n▸ ${title}\n`);
  const result = spawnSync(command, args, { stdio: "inherit", cwd: root });
  if (result.status !== 0) {
    process.stderr.write(`\n✘ ${title} failed (exit ${result.status ?? result.signal}).\n`);
    process.exit(result.status || 1);
  }
}

function findTests(dir, found = []) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (SKIPPED.has(entry.name)) continue;
    // An extension's own tests/ run once, below, the way its author runs them (titan test ext).
    if (entry.isDirectory() && entry.name === "tests" && existsSync(join(dir, "titan.json"))) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) findTests(path, found);
    else if (/\.test\.(ts|mts|mjs)$/.test(entry.name)) found.push(relative(root, path));
  }
  return found;
}

run("Building (incremental)", process.execPath, [join(root, "scripts/setup.mjs")]);
run("Type-checking the tests (tsx runs them without checking)", process.execPath, [
  join(root, "node_modules/typescript/bin/tsc"), "-p", "core-runtime/tsconfig.test.json",
]);
run("Type-checking the CLI's tests", process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "ext-sdk/tsconfig.test.json"]);
run("Type-checking the harness's tests", process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "harness/tsconfig.test.json"]);
run("Rust tests (cargo test --workspace)", "cargo", ["test", "--workspace"]);
const files = SEARCHED.flatMap((dir) => findTests(join(root, dir))).sort();
run(`Node tests (${files.length} files, node:test)`, process.execPath, ["--import", "tsx", "--test", "--test-concurrency=1", ...files]);
// The example extensions' own tests (tests/*.test.js) run the way their authors run them.
const extensions = readdirSync(join(root, "examples-ext"), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(root, "examples-ext", entry.name, "titan.json")) && existsSync(join(root, "examples-ext", entry.name, "tests")))
  .map((entry) => `examples-ext/${entry.name}`);
for (const dir of extensions) {
  run(`Extension tests: titan test ext --cwd ${dir}`, process.execPath, [join(root, "ext-sdk/bin/titan.js"), "test", "ext", "--cwd", dir]);
}
