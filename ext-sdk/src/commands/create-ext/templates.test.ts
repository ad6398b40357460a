// The template contract, proven for every folder in ext-templates/ (whichever exist): each is
// generated with the real `titan create ext` into a temp dir, built with `titan build ext` in the
// repository's shared target dir (dependencies compile once), and its own tests run with
// `titan test ext` against the harness, which resolves from <tmp>/node_modules/titan → ext-sdk.

import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { parseExtensionManifest, PLATFORM_KEY } from "../../extensions/manifest.js";
import { REPO_ROOT, runCli, tempDir, type CliRun } from "../../testing/cli-process.js";
import { availableKinds, templatesRoot } from "./templates.js";

const root = tempDir("templates");
after(() => rmSync(root, { recursive: true, force: true }));
before(() => {
  mkdirSync(path.join(root, "node_modules"));
  symlinkSync(path.join(REPO_ROOT, "ext-sdk"), path.join(root, "node_modules", "titan"), "dir");
});

// Shared with the workspace, so serde, titan-ext and friends are compiled once for every template.
// NODE_TEST_CONTEXT (set by the node:test runner running this file) is not passed on: node:test
// inside `titan test ext` would take itself for a child of this run and skip the extension's files.
const env = { CARGO_TARGET_DIR: path.join(REPO_ROOT, "target"), NODE_TEST_CONTEXT: undefined };
// A cold cargo cache compiles every dependency first.
const BUILD_TIMEOUT_MS = 15 * 60_000;

const kinds = availableKinds(templatesRoot());

test("the templates are the repository's ext-templates/, native and transport among them", () => {
  assert.equal(templatesRoot(), path.join(REPO_ROOT, "ext-templates"));
  assert.ok(kinds.includes("native") && kinds.includes("transport"), `found ${kinds.join(", ")}`);
});

for (const kind of kinds) {
  describe(`ext-templates/${kind}`, () => {
    const name = `tpl-${kind}`;
    const dir = path.join(root, name);
    let created: CliRun;
    before(async () => {
      created = await runCli(["create", "ext", name, "--kind", kind, "--yes"], { cwd: root, env });
    });

    test("is generated with every placeholder filled, and a valid titan.json", () => {
      assert.equal(created.code, 0, created.stderr);
      const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
      for (const file of files) {
        const text = readFileSync(path.join(file.parentPath, file.name), "utf8");
        assert.doesNotMatch(text, /\{\{|\{%/, `${file.name} still has a Liquid placeholder`);
      }
      const manifest = parseExtensionManifest(readFileSync(path.join(dir, "titan.json"), "utf8"), "titan.json").manifest as Record<string, unknown>;
      assert.equal(manifest.name, name);
      assert.equal(manifest.$schema, "./node_modules/titan/schema/titan.schema.json");
      assert.match(readFileSync(path.join(dir, "Cargo.toml"), "utf8"), /^\[workspace\]$/m);
      assert.ok(files.some((file) => /\.test\.(js|ts)$/.test(file.name)), "it has tests/*.test.js");
    });

    test("builds with titan build ext", async () => {
      const build = await runCli(["build", "ext"], { cwd: dir, env, timeoutMs: BUILD_TIMEOUT_MS });
      assert.equal(build.code, 0, `${build.stdout}\n${build.stderr}`);
      assert.match(build.stdout, new RegExp(`built ${name} `));
      const text = readFileSync(path.join(dir, "titan.json"), "utf8");
      assert.match(text, new RegExp(`"${PLATFORM_KEY}": "native/${PLATFORM_KEY}/`), "titan.json records the built library");
    });

    test("passes its own tests with titan test ext", async () => {
      const run = await runCli(["test", "ext"], { cwd: dir, env, timeoutMs: BUILD_TIMEOUT_MS });
      assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
      const passed = /\bpass (\d+)/.exec(run.stdout + run.stderr);
      assert.ok(passed && Number(passed[1]) > 0, `no test passed:\n${run.stdout}\n${run.stderr}`);
      assert.doesNotMatch(run.stdout + run.stderr, /\bfail [1-9]/);
    });
  });
}
