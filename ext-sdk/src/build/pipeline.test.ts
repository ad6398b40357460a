// Tests of the build pipeline with the real esbuild, TypeScript and worker threads: action
// discovery and naming, bundling (npm packages included), route evaluation, and every build error.

import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, test } from "node:test";
import { BuildError } from "../errors.js";
import { buildApp } from "./pipeline.js";
import { findActionFiles } from "./actions.js";
import { TypeChecker } from "./typecheck.js";
import { REPO_ROOT } from "../testing/cli-process.js";

const root = mkdtempSync(path.join(os.tmpdir(), "titan-build-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** Writes `files` (path → content) under a new app directory. */
function makeApp(name: string, files: Record<string, string>): string {
  const dir = path.join(root, name);
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

async function buildError(appDir: string, options: { typeChecker?: TypeChecker } = {}): Promise<BuildError> {
  try {
    await buildApp({ appDir, outDir: path.join(appDir, "dist"), ...options });
  } catch (error) {
    assert.ok(error instanceof BuildError, `expected a BuildError, got ${String((error as Error).stack ?? error)}`);
    return error;
  }
  assert.fail("expected the build to fail");
}

describe("a JavaScript app", () => {
  let appDir: string;
  before(() => {
    appDir = makeApp("js-app", {
      "titan.config.json": `{ "workers": 2 }`,
      "app/app.js": [
        `t.get("/").reply("ready");`,
        `t.get("/users/:id<int>").action("getUser");`,
        `t.post("/users").action("create");`,
        `t.get("/slug").action("slugify");`,
        `t.get("/boom").action("boom");`,
        `t.start(4321, "Titan is up");`,
      ].join("\n"),
      "app/actions/users.js": [
        `export const PAGE_SIZE = 10; // not a function: not an action`,
        `export const getUser = defineAction((req) => ({ id: req.params.id }));`,
        `export function boom() { throw new Error("kaboom"); }`,
      ].join("\n"),
      "app/actions/admin/create.mjs": `export default defineAction(() => ({ created: true }));`,
      "app/actions/slugify.js": `import slug from "tiny-slug";\nexport const slugify = () => slug("Hello World");`,
      "app/actions/users.test.js": `export const notAnAction = () => 1;`,
      // A CommonJS package that requires a Node built-in: bundled, with require() available in the ESM output.
      "node_modules/tiny-slug/package.json": `{ "name": "tiny-slug", "main": "index.js" }`,
      "node_modules/tiny-slug/index.js": `const path = require("node:path");\nmodule.exports = (s) => path.posix.join(s.toLowerCase().replace(/ /g, "-"));`,
    });
  });

  test("action files are found recursively, tests and declarations skipped", () => {
    const files = findActionFiles(appDir, path.join(appDir, "app", "actions")).map((f) => [f.displayName, f.baseName]);
    assert.deepEqual(files, [
      ["app/actions/admin/create.mjs", "create"],
      ["app/actions/slugify.js", "slugify"],
      ["app/actions/users.js", "users"],
    ]);
  });

  test("builds a self-contained directory whose bundle exports every action", async () => {
    const outDir = path.join(appDir, "dist");
    const result = await buildApp({ appDir, outDir, env: {} });
    assert.deepEqual(result.manifest.actions, ["boom", "create", "getUser", "slugify"]);
    assert.deepEqual(result.manifest.routes[0], {
      method: "GET",
      path: "/",
      reply: { status: 200, contentType: "text/plain; charset=utf-8", body: "ready" },
    });
    assert.deepEqual(result.manifest.routes[1], { method: "GET", path: "/users/:id<int>", action: "getUser" });
    assert.equal(result.manifest.config.port, 4321, "t.start(port) applies when the config sets none");
    assert.equal(result.manifest.config.workers, 2);
    assert.equal(result.startMessage, "Titan is up");
    for (const file of ["titan.build.json", "actions.mjs", "titan.config.json", "build-info.json"]) {
      assert.ok(existsSync(path.join(outDir, file)), `${file} is in the build`);
    }
    assert.deepEqual(JSON.parse(readFileSync(path.join(outDir, "titan.build.json"), "utf8")), result.manifest);
    assert.ok(existsSync(path.join(appDir, "titan-env.d.ts")), "titan-env.d.ts is written into the app");

    // Load the bundle the way a worker does: globals first, then the module.
    process.setSourceMapsEnabled(true);
    (globalThis as { defineAction?: unknown }).defineAction = (fn: unknown) => fn;
    const bundle = (await import(pathToFileURL(path.join(outDir, "actions.mjs")).href)) as {
      actions: Record<string, (req: unknown) => unknown>;
    };
    assert.deepEqual(bundle.actions.getUser!({ params: { id: 7 } }), { id: 7 });
    assert.deepEqual(bundle.actions.create!({}), { created: true });
    assert.equal(bundle.actions.slugify!({}), "hello-world");
    assert.throws(
      () => bundle.actions.boom!({}),
      (error: Error) => /app\/actions\/users\.js:3/.test(error.stack ?? ""),
      "stack traces point at the user's file",
    );
  });
});

describe("build errors", () => {
  test("two actions with one name name both files", async () => {
    const appDir = makeApp("duplicate", {
      "app/app.js": `t.get("/").action("hello");`,
      "app/actions/a.js": `export const hello = () => 1;`,
      "app/actions/b.js": `export default function () { return 2; }`,
      "app/actions/hello.js": `export const other = () => 3;`,
    });
    // b.js's default is "b"; hello.js's file name does not matter for named exports: no clash.
    await buildApp({ appDir, outDir: path.join(appDir, "dist") });
    writeFileSync(path.join(appDir, "app/actions/b.js"), `export const hello = () => 2;`);
    const error = await buildError(appDir);
    assert.equal(error.code, "build_error");
    assert.match(error.message, /two actions are named "hello": app\/actions\/a\.js and app\/actions\/b\.js/);
    assert.match(error.hint ?? "", /rename one/);
  });

  test("an unknown action lists the known ones; the route's line is given", async () => {
    const appDir = makeApp("unknown-action", {
      "app/app.js": `\nt.get("/").action("helo");`,
      "app/actions/hello.js": `export const hello = () => 1;`,
    });
    const error = await buildError(appDir);
    assert.match(error.diagnostics[0]!, /^app\/app\.js:2:\d+: route GET \/ uses action "helo".*did you mean "hello"\? Known actions: hello/);
  });

  test("a duplicate route and a bad param type are reported with the file and line", async () => {
    const appDir = makeApp("bad-routes", {
      "app/app.ts": `declare const t: any;\nt.get("/a/:id<float>").reply(1);\nt.get("/b").reply(1);\nt.get("/b").reply(2);\n`,
    });
    const error = await buildError(appDir);
    assert.match(error.message, /2 problems in the routes of app\/app\.ts/);
    assert.match(error.diagnostics[0]!, /^app\/app\.ts:2:\d+: .*unknown parameter type <float>/);
    assert.match(error.diagnostics[1]!, /^app\/app\.ts:4:\d+: route GET \/b is declared twice \(first at app\/app\.ts:3:\d+\)/);
  });

  test("a routes file that throws reports the error at its source line", async () => {
    const appDir = makeApp("throwing-routes", { "app/app.js": `t.get("/").reply(1);\nnotDefined();\n` });
    const error = await buildError(appDir);
    assert.match(error.message, /app\/app\.js threw while loading at build time: ReferenceError: notDefined is not defined/);
    assert.match(error.diagnostics[0]!, /app\/app\.js:2/);
  });

  test("a syntax error is an esbuild diagnostic with its location; the previous build stays", async () => {
    const appDir = makeApp("syntax", { "app/app.js": `t.get("/").reply(1);`, "app/actions/x.js": `export const x = () => 1;` });
    await buildApp({ appDir, outDir: path.join(appDir, "dist") });
    writeFileSync(path.join(appDir, "app/actions/x.js"), `export const x = () => {;`);
    const error = await buildError(appDir);
    assert.equal(error.code, "build_error");
    assert.match(error.diagnostics.join("\n"), /app\/actions\/x\.js:1:\d+/);
    assert.ok(existsSync(path.join(appDir, "dist", "titan.build.json")), "a failed build leaves the last good one");
  });

  test("a missing routes file says how to make one", async () => {
    const appDir = makeApp("no-routes", { "app/actions/x.js": `export const x = () => 1;` });
    const error = await buildError(appDir);
    assert.match(error.message, /expected app\/app\.ts or app\/app\.js/);
  });

  test("--out pointing at a folder that is not a build is refused", async () => {
    const appDir = makeApp("out-guard", { "app/app.js": `t.get("/").reply(1);`, "src/keep.txt": "precious" });
    await assert.rejects(buildApp({ appDir, outDir: path.join(appDir, "src") }), /refusing to replace .*src/);
    assert.ok(existsSync(path.join(appDir, "src/keep.txt")));
  });
});

describe("type-checking", () => {
  test("registered extensions' declarations type t.<namespace> in the app: generated, the entry's, and the tsconfig include", async () => {
    const markdown = path.join(REPO_ROOT, "examples-ext", "markdown");
    assert.ok(existsSync(path.join(markdown, "index.d.ts")), "examples-ext/markdown is built (npm run setup)");
    const appDir = makeApp("ts-ext-app", {
      "titan.config.json": JSON.stringify({ extensions: [{ path: markdown }] }),
      // A comment and a custom include list: the build adds its file and keeps the rest.
      "tsconfig.json": `{\n  // the app's own settings\n  "compilerOptions": { "target": "ES2022", "module": "ESNext", "moduleResolution": "Bundler", "lib": ["ES2023"], "types": [] },\n  "include": ["app", "titan-env.d.ts", "titan-routes.d.ts"]\n}\n`,
      "app/app.ts": `declare const t: TitanRoutes;\nexport {};\nt.get("/doc").action("doc");\n`,
      "app/actions/doc.ts": `export const doc = defineAction(() => ({ html: t.markdown.page(1), words: t.markdown.words("a") }));\n`,
    });
    const typeChecker = new TypeChecker(appDir);
    const error = await buildError(appDir, { typeChecker });
    assert.equal(error.code, "type_errors");
    const all = error.diagnostics.join("\n");
    assert.match(all, /doc\.ts\(1,\d+\): error TS2345: Argument of type 'number' is not assignable to parameter of type 'string'/, "page() from the entry's declarations");
    assert.match(all, /error TS2339: Property 'words' does not exist on type 'markdown'/, "the generated functions, and nothing else");

    const references = readFileSync(path.join(appDir, "titan-extensions.d.ts"), "utf8");
    const relative = (file: string) => path.relative(appDir, path.join(markdown, file)).split(path.sep).join("/");
    assert.match(references, new RegExp(`/// <reference path="${relative("index.d.ts").replace(/[.]/g, "\\.")}" />`));
    assert.match(references, new RegExp(`/// <reference path="${relative("entry.d.ts").replace(/[.]/g, "\\.")}" />`));
    const tsconfig = readFileSync(path.join(appDir, "tsconfig.json"), "utf8");
    assert.match(tsconfig, /\/\/ the app's own settings/);
    assert.match(tsconfig, /"include": \["app", "titan-env\.d\.ts", "titan-routes\.d\.ts", "titan-extensions\.d\.ts"\]/);

    writeFileSync(path.join(appDir, "app/actions/doc.ts"), `export const doc = defineAction(() => ({ html: t.markdown.page("# hi"), words: t.markdown.word_count("a") }));\n`);
    const result = await buildApp({ appDir, outDir: path.join(appDir, "dist"), typeChecker });
    assert.deepEqual(result.manifest.actions, ["doc"]);
    assert.deepEqual(result.typeFilesWritten, [], "nothing left to write on the second build");
  });

  test("type errors stop the build with code frames; fixing them makes the next check pass", async () => {
    const appDir = makeApp("ts-app", {
      "tsconfig.json": JSON.stringify({
        compilerOptions: { target: "ES2022", module: "ESNext", moduleResolution: "Bundler", lib: ["ES2023"], types: [], strict: false },
        include: ["app", "titan-env.d.ts", "titan-routes.d.ts"],
      }),
      "app/app.ts": `declare const t: TitanRoutes;\nexport {};\nt.get("/n/:n<int>").action("double");\n`,
      // `strict: false` in the tsconfig is overridden: the implicit any below must be reported.
      "app/actions/math.ts": `export const double = defineAction((req) => {\n  const n: string = req.params.n;\n  return { n: n * 2 };\n});\nexport function loose(x) { return x; }\n`,
    });
    const typeChecker = new TypeChecker(appDir);
    const error = await buildError(appDir, { typeChecker });
    assert.equal(error.code, "type_errors");
    const all = error.diagnostics.join("\n");
    assert.match(all, /app\/actions\/math\.ts\(2,9\): error TS2322/);
    assert.match(all, /app\/actions\/math\.ts\(3,\d+\): error TS2362/);
    assert.match(all, /error TS7006: Parameter 'x' implicitly has an 'any' type/);
    assert.match(error.message, /^3 type errors$/);
    assert.match(error.report, /const n: string = req\.params\.n;\n\s+~/, "the report has code frames");
    assert.doesNotMatch(error.report, /\u001b\[/, "no colors unless asked");

    writeFileSync(
      path.join(appDir, "app/actions/math.ts"),
      `export const double = defineAction((req) => ({ n: Number(req.params.n) * 2 }));\nexport function loose(x: unknown) { return x; }\n`,
    );
    const result = await buildApp({ appDir, outDir: path.join(appDir, "dist"), typeChecker });
    assert.deepEqual(result.manifest.actions, ["double", "loose"]);
    assert.ok(result.timings.typeCheckMs !== undefined);
  });
});
