// Command tests: the real built `titan` CLI in temp dirs, non-interactively (CI=true).

import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { CLI_VERSION } from "../package-info.js";
import { runCli, tempDir } from "../testing/cli-process.js";

const root = tempDir("cli");
after(() => rmSync(root, { recursive: true, force: true }));

describe("titan (no command)", () => {
  test("--version prints the package version", async () => {
    const run = await runCli(["--version"], { cwd: root });
    assert.equal(run.code, 0);
    assert.equal(run.stdout.trim(), CLI_VERSION);
  });

  test("--help lists the commands", async () => {
    const run = await runCli(["--help"], { cwd: root });
    assert.equal(run.code, 0);
    for (const command of ["init", "dev", "build", "start"]) assert.match(run.stdout, new RegExp(`\\n\\s+${command}\\b`));
  });
});

describe("titan init + build (TypeScript)", () => {
  const appDir = path.join(root, "ts-app");
  let init: Awaited<ReturnType<typeof runCli>>;
  before(async () => {
    init = await runCli(["init", "ts-app", "--lang", "ts", "--yes"], { cwd: root });
  });

  test("init writes the app and prints next steps", () => {
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, /created ts-app in ts-app\/ \(TypeScript\)/);
    assert.match(init.stdout, /cd ts-app\n\s+npm install\n\s+npm run dev/);
    for (const file of [
      "package.json", "titan.config.json", "tsconfig.json", "titan-env.d.ts", "titan-routes.d.ts", ".gitignore",
      "app/app.ts", "app/actions/hello.ts", "app/actions/echo.ts",
    ]) {
      assert.ok(existsSync(path.join(appDir, file)), `${file} exists`);
    }
    const pkg = JSON.parse(readFileSync(path.join(appDir, "package.json"), "utf8"));
    assert.equal(pkg.name, "ts-app");
    assert.equal(pkg.type, "module");
    assert.deepEqual(pkg.scripts, { dev: "titan dev", build: "titan build", start: "titan start" });
    assert.match(pkg.dependencies.titan, /^file:\/.*ext-sdk$/);
    const config = JSON.parse(readFileSync(path.join(appDir, "titan.config.json"), "utf8"));
    assert.equal(config.port, 3000);
    assert.match(config.$schema, /titan\.config\.schema\.json$/);
    assert.equal(JSON.parse(readFileSync(path.join(appDir, "tsconfig.json"), "utf8")).compilerOptions.strict, true);
    assert.match(readFileSync(path.join(appDir, ".gitignore"), "utf8"), /\.titan\/\ndist\/\nnode_modules\//);
  });

  test("build produces the expected files and a summary", async () => {
    const run = await runCli(["build"], { cwd: appDir });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /built dist\/ in \d+ ms, type-check \d+ ms/);
    assert.match(run.stdout, /routes\s+3/);
    assert.match(run.stdout, /actions\s+2: echo, hello/);
    assert.match(run.stdout, /bundle\s+actions\.mjs \d/);
    const manifest = JSON.parse(readFileSync(path.join(appDir, "dist", "titan.build.json"), "utf8"));
    assert.equal(manifest.format, 1);
    assert.deepEqual(manifest.actions, ["echo", "hello"]);
    assert.deepEqual(manifest.routes.map((r: { method: string; path: string }) => `${r.method} ${r.path}`), ["GET /", "GET /hello/:name", "POST /echo"]);
    assert.ok(existsSync(path.join(appDir, "dist", "actions.mjs")));
    assert.ok(existsSync(path.join(appDir, "dist", "titan.config.json")));
  });

  test("--out and --cwd are honoured", async () => {
    const run = await runCli(["build", "--cwd", appDir, "--out", "out/build"], { cwd: root });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(existsSync(path.join(appDir, "out", "build", "titan.build.json")));
  });

  test("a type error fails the build with a code frame, no colors, no stack", async () => {
    const action = path.join(appDir, "app", "actions", "hello.ts");
    const original = readFileSync(action, "utf8");
    writeFileSync(action, `export const hello = defineAction((req) => {\n  const n: number = req.params.name;\n  return { n };\n});\n`);
    try {
      const run = await runCli(["build"], { cwd: appDir });
      assert.equal(run.code, 1);
      assert.match(run.stderr, /app\/actions\/hello\.ts:2:9 - error TS2322/);
      assert.match(run.stderr, /2 {3}const n: number = req\.params\.name;\n\s+~/);
      assert.match(run.stderr, /error: 1 type error\nhint: /);
      assert.doesNotMatch(run.stderr, /\u001b\[|\n\s+at /);
    } finally {
      writeFileSync(action, original);
    }
  });

  test("a bad config fails the build naming the key", async () => {
    const configFile = path.join(appDir, "titan.config.json");
    const original = readFileSync(configFile, "utf8");
    writeFileSync(configFile, `{ "prot": 3000 }`);
    try {
      const run = await runCli(["build"], { cwd: appDir });
      assert.equal(run.code, 1);
      assert.match(run.stderr, /error: titan\.config\.json: unknown key `prot` — did you mean `port`\?\nhint: /);
    } finally {
      writeFileSync(configFile, original);
    }
  });
});

describe("titan init (refusals and defaults)", () => {
  test("a non-empty directory is refused with what to do", async () => {
    const dir = path.join(root, "occupied");
    mkdirSync(dir);
    writeFileSync(path.join(dir, "notes.txt"), "mine");
    const run = await runCli(["init", "occupied", "--lang", "js"], { cwd: root });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /error: occupied is not empty \(it has notes\.txt\)\nhint: choose a new directory/);
    assert.deepEqual(readFileSync(path.join(dir, "notes.txt"), "utf8"), "mine");
  });

  test("an invalid package name is refused", async () => {
    const run = await runCli(["init", "Not_OK App"], { cwd: root });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /error: "Not_OK App" is not a valid npm package name/);
    assert.match(run.stderr, /--name/);
  });

  test("without a terminal nothing is asked: defaults are used and said", async () => {
    const cwd = path.join(root, "defaults");
    mkdirSync(cwd);
    const run = await runCli(["init"], { cwd, timeoutMs: 30_000 });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /directory: my-titan-app \(default; pass a directory/);
    assert.match(run.stdout, /language: TypeScript \(default; --lang js\|ts to choose\)/);
    assert.ok(existsSync(path.join(cwd, "my-titan-app", "app", "app.ts")));
  });

  test("a JavaScript app builds too", async () => {
    const run = await runCli(["init", "js-app", "--lang", "js"], { cwd: root });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(existsSync(path.join(root, "js-app", "app", "app.js")));
    assert.ok(!existsSync(path.join(root, "js-app", "tsconfig.json")));
    const build = await runCli(["build"], { cwd: path.join(root, "js-app") });
    assert.equal(build.code, 0, build.stderr);
    assert.doesNotMatch(build.stdout, /type-check/);
  });
});

describe("titan start (without a build)", () => {
  test("says to build first", async () => {
    const run = await runCli(["start"], { cwd: root });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /error: no Titan build in .*dist \(titan\.build\.json is missing\)\nhint: run `titan build` first/);
  });
});
