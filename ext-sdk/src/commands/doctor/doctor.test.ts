// `titan doctor`: the real built CLI on temp apps, healthy and broken.

import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { runCli, tempDir } from "../../testing/cli-process.js";
import { markdownExtension } from "../../testing/extensions.js";

const root = tempDir("doctor");
after(() => rmSync(root, { recursive: true, force: true }));
markdownExtension(path.join(root, "ext-md"));

function app(name: string, config: unknown): string {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "titan.config.json"), typeof config === "string" ? config : `${JSON.stringify(config, null, 2)}\n`);
  return dir;
}

describe("titan doctor", () => {
  test("a healthy app with a built extension exits 0", async () => {
    const appDir = app("healthy", { extensions: [{ path: "../ext-md" }] });
    const run = await runCli(["doctor", "--cwd", appDir], { cwd: root });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /✓ node: v\d+/);
    assert.match(run.stdout, /titan CLI: \d+\.\d+\.\d+/);
    assert.match(run.stdout, /✓ core addon: loads/);
    assert.match(run.stdout, /✓ extension ABI: version \d+/);
    assert.match(run.stdout, /✓ config: titan\.config\.json is valid, 1 extension/);
    assert.match(run.stdout, /✓ extension markdown: t\.markdown \(native\) \.\.\/ext-md: manifest ok, built, ABI ok/);
    assert.match(run.stdout, /no problems found/);
  });

  test("an unbuilt or broken extension exits 1, naming it and saying what to do", async () => {
    mkdirSync(path.join(root, "ext-unbuilt"));
    writeFileSync(path.join(root, "ext-unbuilt", "titan.json"), JSON.stringify({ name: "unbuilt", native: { library: "target/release/libunbuilt.so" } }));
    mkdirSync(path.join(root, "ext-fake"));
    writeFileSync(path.join(root, "ext-fake", "libfake.so"), "not a shared library");
    writeFileSync(path.join(root, "ext-fake", "titan.json"), JSON.stringify({ name: "fake", native: { library: "libfake.so" } }));
    const appDir = app("broken", { extensions: [{ path: "../ext-md" }, { path: "../ext-unbuilt" }, { path: "../ext-fake" }, { path: "../gone" }] });
    const run = await runCli(["doctor", "--cwd", appDir], { cwd: root });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /✓ extension markdown/);
    assert.match(run.stdout, /✗ extension unbuilt: extension unbuilt: its library .*libunbuilt\.so is not built\n\s+→ build it: `titan build ext --cwd /);
    assert.match(run.stdout, /✗ extension fake: .*\n\s+→ rebuild it/);
    assert.match(run.stdout, /✗ extension \.\.\/gone: .*does not exist\n\s+→ /);
    assert.match(run.stdout, /3 problem\(s\) found/);
  });

  test("a config with a syntax error exits 1 with its line and column", async () => {
    const appDir = app("bad-config", '{\n  "port": 1,\n}\n');
    const run = await runCli(["doctor", "--json", "--cwd", appDir], { cwd: root });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const result = JSON.parse(run.stdout) as { broken: boolean; checks: { status: string; label: string; detail: string; fix?: string }[] };
    assert.equal(result.broken, true);
    const config = result.checks.find((check) => check.label === "config");
    assert.equal(config?.status, "fail");
    assert.match(config!.detail, /titan\.config\.json:3:1: invalid JSON/);
    assert.ok(config!.fix);
    for (const check of result.checks) if (check.status !== "ok") assert.ok(check.fix, `${check.label} has no fix`);
  });

  test("outside an app, only the toolchain and the core are checked", async () => {
    const dir = path.join(root, "not-an-app");
    mkdirSync(dir);
    const run = await runCli(["doctor"], { cwd: dir });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /no titan\.config\.json in .*app checks skipped/);
  });
});
