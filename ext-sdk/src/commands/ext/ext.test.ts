// `titan ext add|list|remove`: the real built CLI in temp app dirs, non-interactively.

import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { PLATFORM_KEY } from "../../extensions/manifest.js";
import { REPO_ROOT, runCli, tempDir } from "../../testing/cli-process.js";
import { markdownExtension } from "../../testing/extensions.js";

const root = tempDir("ext");
after(() => rmSync(root, { recursive: true, force: true }));

function app(name: string, configText: string | null): string {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  if (configText !== null) writeFileSync(path.join(dir, "titan.config.json"), configText);
  return dir;
}

const read = (dir: string) => readFileSync(path.join(dir, "titan.config.json"), "utf8");

markdownExtension(path.join(root, "ext-md"));
mkdirSync(path.join(root, "ext-other"));
writeFileSync(path.join(root, "ext-other", "titan.json"), JSON.stringify({ name: "other", native: { library: "target/release/libother.so" } }));

describe("titan ext add → list → remove", () => {
  const original = '{\n\t"port": 4000,\n\t"db": { "path": "data/app.db" }\n}\n';
  const appDir = app("roundtrip", original);

  test("add appends the entry, keeping the rest of the file's bytes and its tab indentation", async () => {
    const run = await runCli(["ext", "add", "./../ext-md/", "--config", '{"safe":true}', "--cwd", appDir], { cwd: root });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /added markdown \(t\.markdown, native\)/);
    assert.equal(
      read(appDir),
      '{\n\t"port": 4000,\n\t"db": { "path": "data/app.db" },\n\t"extensions": [\n\t\t{\n\t\t\t"path": "../ext-md",\n\t\t\t"config": {\n\t\t\t\t"safe": true\n\t\t\t}\n\t\t}\n\t]\n}\n',
    );
  });

  test("a second add inserts into the existing array; an unbuilt library says how to build it", async () => {
    const run = await runCli(["ext", "add", "../ext-other"], { cwd: appDir });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /added other/);
    assert.match(run.stdout, /libother\.so is not built/);
    assert.match(run.stdout, /titan build ext --cwd \.\.\/ext-other/);
    assert.equal(
      read(appDir),
      '{\n\t"port": 4000,\n\t"db": { "path": "data/app.db" },\n\t"extensions": [\n\t\t{\n\t\t\t"path": "../ext-md",\n\t\t\t"config": {\n\t\t\t\t"safe": true\n\t\t\t}\n\t\t},\n\t\t{\n\t\t\t"path": "../ext-other"\n\t\t}\n\t]\n}\n',
    );
  });

  test("list --json reports the real markdown build as passing the ABI check", async () => {
    const run = await runCli(["ext", "list", "--json"], { cwd: appDir });
    assert.equal(run.code, 0, run.stderr);
    const reports = JSON.parse(run.stdout) as { name: string; namespace: string; path: string; kind: string; built: boolean; abi: { status: string; functions?: string[] } }[];
    assert.equal(reports.length, 2);
    const [md, other] = reports;
    assert.deepEqual({ name: md!.name, namespace: md!.namespace, path: md!.path, kind: md!.kind, built: md!.built, abi: md!.abi.status }, { name: "markdown", namespace: "markdown", path: "../ext-md", kind: "native", built: true, abi: "ok" });
    assert.ok(md!.abi.functions!.includes("render"));
    assert.equal(other!.built, false);
    assert.equal(other!.abi.status, "skipped");
  });

  test("list prints one line per extension", async () => {
    const run = await runCli(["ext", "list"], { cwd: appDir });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /t\.markdown markdown\s+\.\.\/ext-md\s+native, built, ABI ok/);
    assert.match(run.stdout, /t\.other other\s+\.\.\/ext-other\s+native, not built/);
  });

  test("duplicates are refused: same path, or same namespace", async () => {
    const before = read(appDir);
    const samePath = await runCli(["ext", "add", "../ext-md"], { cwd: appDir });
    assert.equal(samePath.code, 1);
    assert.match(samePath.stderr, /error: \.\.\/ext-md is already registered/);
    assert.match(samePath.stderr, /hint: .*titan ext remove/);
    const copy = path.join(root, "ext-md-copy");
    mkdirSync(copy);
    copyFileSync(path.join(root, "ext-md", "titan.json"), path.join(copy, "titan.json"));
    const sameNamespace = await runCli(["ext", "add", "../ext-md-copy"], { cwd: appDir });
    assert.equal(sameNamespace.code, 1);
    assert.match(sameNamespace.stderr, /namespace t\.markdown .* is taken/);
    assert.match(sameNamespace.stderr, /hint: set a distinct "namespace"/);
    assert.equal(read(appDir), before);
  });

  test("remove of an unknown name lists the registered ones", async () => {
    const run = await runCli(["ext", "remove", "nope"], { cwd: appDir });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /no registered extension matches "nope"/);
    assert.match(run.stderr, /\.\.\/ext-md \(markdown, t\.markdown\)/);
    assert.match(run.stderr, /\.\.\/ext-other \(other, t\.other\)/);
  });

  test("remove by namespace and by path restores the layout", async () => {
    const first = await runCli(["ext", "remove", "other"], { cwd: appDir });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(
      read(appDir),
      '{\n\t"port": 4000,\n\t"db": { "path": "data/app.db" },\n\t"extensions": [\n\t\t{\n\t\t\t"path": "../ext-md",\n\t\t\t"config": {\n\t\t\t\t"safe": true\n\t\t\t}\n\t\t}\n\t]\n}\n',
    );
    const second = await runCli(["ext", "remove", "../ext-md/"], { cwd: appDir });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(read(appDir), '{\n\t"port": 4000,\n\t"db": { "path": "data/app.db" },\n\t"extensions": []\n}\n');
  });
});

describe("titan ext add refusals", () => {
  test("a missing config file is created", async () => {
    const appDir = app("no-config", null);
    const run = await runCli(["ext", "add", "../ext-md"], { cwd: appDir });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /\(created\)/);
    assert.deepEqual(JSON.parse(read(appDir)), { extensions: [{ path: "../ext-md" }] });
  });

  test("a missing extension directory", async () => {
    const appDir = app("missing", "{}\n");
    const run = await runCli(["ext", "add", "../does-not-exist"], { cwd: appDir });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /error: extension directory .*does-not-exist does not exist/);
    assert.match(run.stderr, /hint: give the extension's directory relative to the app/);
    assert.equal(read(appDir), "{}\n");
  });

  test("a directory without titan.json", async () => {
    const appDir = app("no-manifest", "{}\n");
    mkdirSync(path.join(root, "not-an-ext"));
    const run = await runCli(["ext", "add", "../not-an-ext"], { cwd: appDir });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /is not a Titan extension: it has no titan\.json/);
    assert.match(run.stderr, /hint: /);
  });

  test("a broken manifest names the field", async () => {
    const appDir = app("broken-manifest", "{}\n");
    mkdirSync(path.join(root, "ext-broken"));
    writeFileSync(path.join(root, "ext-broken", "titan.json"), JSON.stringify({ name: "broken" }));
    const run = await runCli(["ext", "add", "../ext-broken"], { cwd: appDir });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /titan\.json is not a valid extension manifest/);
    assert.match(run.stderr, /`native`/);
    assert.equal(read(appDir), "{}\n");
  });

  test("a config with a syntax error is refused with line and column, and left as it was", async () => {
    const broken = '{\n  "port": 3000,\n  "host": "x",\n}\n';
    const appDir = app("syntax", broken);
    const run = await runCli(["ext", "add", "../ext-md"], { cwd: appDir });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /titan\.config\.json:4:1: invalid JSON/);
    assert.equal(read(appDir), broken);
  });

  test("--config must be JSON", async () => {
    const appDir = app("bad-flag", "{}\n");
    const run = await runCli(["ext", "add", "../ext-md", "--config", "{nope"], { cwd: appDir });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /--config is not valid JSON/);
    assert.equal(read(appDir), "{}\n");
  });
});

describe("titan ext add builds an extension that is not built yet", () => {
  // Fresh extensions from `titan create ext`, built in the workspace's shared target dir.
  const env = { CARGO_TARGET_DIR: path.join(REPO_ROOT, "target") };
  const BUILD_TIMEOUT_MS = 15 * 60_000;
  before(async () => {
    for (const name of ["fresh-ext", "broken-build", "never-built"]) {
      const run = await runCli(["create", "ext", name, "--yes"], { cwd: root });
      assert.equal(run.code, 0, run.stderr);
    }
    // A syntax error in the Rust code: cargo fails.
    writeFileSync(path.join(root, "broken-build", "src", "lib.rs"), "pub fn oops( {\n");
  });

  test("it is built (with the build's progress), then registered", async () => {
    const appDir = app("builds", '{\n  "port": 4000\n}\n');
    const run = await runCli(["ext", "add", "../fresh-ext"], { cwd: appDir, env, timeoutMs: BUILD_TIMEOUT_MS });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /fresh-ext is not built yet: building it \(titan build ext --cwd \.\.\/fresh-ext\)/);
    assert.match(run.stdout, /built fresh-ext 0\.1\.0 \(titan-ext /);
    assert.match(run.stdout, /added fresh-ext \(t\.freshExt, native\)/);
    assert.doesNotMatch(run.stdout, /note:/, "a built extension needs no note");
    assert.ok(existsSync(path.join(root, "fresh-ext", "native", PLATFORM_KEY, "libfresh_ext.so")));
    assert.equal(read(appDir), '{\n  "port": 4000,\n  "extensions": [\n    {\n      "path": "../fresh-ext"\n    }\n  ]\n}\n');
    const list = await runCli(["ext", "list"], { cwd: appDir });
    assert.match(list.stdout, /t\.freshExt fresh-ext\s+\.\.\/fresh-ext\s+native, built, ABI ok/);
  });

  test("a failing build registers nothing and leaves the config byte for byte", async () => {
    const original = '{\n\t"port":   4000\n}\n';
    const appDir = app("build-fails", original);
    const run = await runCli(["ext", "add", "../broken-build"], { cwd: appDir, env, timeoutMs: BUILD_TIMEOUT_MS });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /error: cargo build failed for broken-build/);
    assert.deepEqual(readFileSync(path.join(appDir, "titan.config.json")), Buffer.from(original));
  });

  test("a config with a syntax error is refused before anything is built", async () => {
    const broken = '{\n  "port": 3000,,\n}\n';
    const appDir = app("syntax-before-build", broken);
    const run = await runCli(["ext", "add", "../never-built"], { cwd: appDir, env });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /titan\.config\.json:2:16: invalid JSON/);
    assert.deepEqual(readFileSync(path.join(appDir, "titan.config.json")), Buffer.from(broken));
    assert.equal(existsSync(path.join(root, "never-built", "native")), false, "nothing was built");
  });
});

describe("config-file edits", async () => {
  const { editJson, removeArrayElement } = await import("./config-file.js");
  const text = '{\n  "extensions": [ { "path": "a" },\n    { "path": "b" },\n    { "path": "c" }\n  ],\n  "port": 1\n}\n';

  test("removing the first, a middle or the last element leaves the other lines alone", () => {
    assert.equal(removeArrayElement(text, ["extensions"], 0), '{\n  "extensions": [ { "path": "b" },\n    { "path": "c" }\n  ],\n  "port": 1\n}\n');
    assert.equal(removeArrayElement(text, ["extensions"], 1), '{\n  "extensions": [ { "path": "a" },\n    { "path": "c" }\n  ],\n  "port": 1\n}\n');
    assert.equal(removeArrayElement(text, ["extensions"], 2), '{\n  "extensions": [ { "path": "a" },\n    { "path": "b" }\n  ],\n  "port": 1\n}\n');
  });

  test("inserting keeps CRLF line endings and 4-space indentation", () => {
    const crlf = '{\r\n    "port": 1\r\n}\r\n';
    assert.equal(editJson(crlf, ["extensions"], [{ path: "x" }]), '{\r\n    "port": 1,\r\n    "extensions": [\r\n        {\r\n            "path": "x"\r\n        }\r\n    ]\r\n}\r\n');
  });
});
