// `titan build ext`: the real CLI on examples-ext/markdown (a debug build, in the workspace's
// shared target dir), and its refusals. Everything the build touches in the example is restored.

import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import ts from "typescript";
import { runtimeEnvTypesPath } from "../../build/type-files.js";
import { PLATFORM_KEY } from "../../extensions/manifest.js";
import { REPO_ROOT, runCli, tempDir, type CliRun } from "../../testing/cli-process.js";
import { checkTitanExtVersion, expectedTitanExtVersion } from "./cargo.js";
import { updateManifestLibrary } from "./files.js";

const MARKDOWN = path.join(REPO_ROOT, "examples-ext", "markdown");
const LIBRARY = path.join(MARKDOWN, "native", PLATFORM_KEY, process.platform === "darwin" ? "libmarkdown.dylib" : "libmarkdown.so");
const root = tempDir("build-ext");

/** Files of the example the build may write, with their content before the tests (null: absent). */
const touched = [path.join(MARKDOWN, "titan.json"), path.join(MARKDOWN, "index.d.ts"), path.join(MARKDOWN, ".gitignore"), LIBRARY];
const saved = new Map<string, Buffer | null>();

before(() => {
  for (const file of touched) saved.set(file, existsSync(file) ? readFileSync(file) : null);
});
after(() => {
  for (const [file, content] of saved) {
    if (content === null) rmSync(file, { force: true });
    else writeFileSync(file, content);
  }
  rmSync(root, { recursive: true, force: true });
});

describe("titan build ext (examples-ext/markdown)", () => {
  let first: CliRun;
  let manifestAfterFirst: string;
  let second: CliRun;
  before(async () => {
    first = await runCli(["build", "ext", "--cwd", MARKDOWN], { cwd: root, timeoutMs: 600_000 });
    manifestAfterFirst = readFileSync(path.join(MARKDOWN, "titan.json"), "utf8");
    second = await runCli(["build", "ext", "--cwd", MARKDOWN], { cwd: root, timeoutMs: 600_000 });
  });

  test("builds and copies the library to native/<platform>/, printing a summary", () => {
    assert.equal(first.code, 0, first.stderr);
    assert.ok(existsSync(LIBRARY), `${LIBRARY} was not written`);
    assert.match(first.stdout, /built markdown 0\.1\.0 \(titan-ext \d+\.\d+\.\d+\) in \d+ ms/);
    assert.match(first.stdout, new RegExp(`library\\s+native/${PLATFORM_KEY}/libmarkdown\\.\\w+ `));
    assert.match(first.stdout, /functions\s+3: t\.markdown\.render, t\.markdown\.headings, t\.markdown\.word_count/);
    // cargo's own progress goes to stderr.
    assert.match(first.stderr, /Finished `dev` profile/);
  });

  test("titan.json points at the library for this platform, and a second run leaves it unchanged", () => {
    assert.equal(second.code, 0, second.stderr);
    const manifest = JSON.parse(manifestAfterFirst) as { native: { library: Record<string, string> } };
    assert.equal(manifest.native.library[PLATFORM_KEY], `native/${PLATFORM_KEY}/${path.basename(LIBRARY)}`);
    assert.equal(readFileSync(path.join(MARKDOWN, "titan.json"), "utf8"), manifestAfterFirst);
    assert.doesNotMatch(second.stdout, /titan\.json native\.library/);
    assert.match(readFileSync(path.join(MARKDOWN, ".gitignore"), "utf8"), /^native\/$/m);
  });

  test("index.d.ts types t.markdown from the library's signatures", () => {
    const types = readFileSync(path.join(MARKDOWN, "index.d.ts"), "utf8");
    assert.match(types, /namespace TitanExtensions \{\n.*\n {4}interface markdown \{\n/);
    assert.match(types, /interface TitanNamespace \{/);
    assert.match(types, /\n {4}markdown: TitanExtensions\.markdown;\n/);
    assert.match(types, /\n {6}render\(markdown: string, options\?: unknown \| null\): string;\n/);
    assert.match(types, /\n {6}headings\(markdown: string\): Array<unknown>;\n/);
    assert.match(types, /\n {6}word_count\(markdown: string\): number;\n/);
    assert.match(types, /\* Markdown to HTML\. Raw HTML in the input is passed through/);
  });

  test("index.d.ts type-checks (strict) with titan-env.d.ts and the entry's declarations, and types calls", () => {
    const use = path.join(root, "use.ts");
    writeFileSync(
      use,
      [
        "export const html: string = t.markdown.render('# hi');",
        "export const withOptions: string = t.markdown.render('# hi', null);",
        "export const words: number = t.markdown.word_count('a b');",
        "// @ts-expect-error markdown is required",
        "t.markdown.render();",
        "// @ts-expect-error returns a string",
        "export const wrong: number = t.markdown.render('x');",
        "// What the JS entry adds, from titan.json's `types` (entry.d.ts), merged into the same interface:",
        "export const page: string = t.markdown.page('# hi');",
        "// @ts-expect-error page takes a string",
        "t.markdown.page(1);",
        "",
      ].join("\n"),
    );
    const program = ts.createProgram([runtimeEnvTypesPath(), path.join(MARKDOWN, "index.d.ts"), path.join(MARKDOWN, "entry.d.ts"), use], {
      strict: true, noEmit: true, types: [], lib: ["lib.es2023.d.ts"], module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler,
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    assert.deepEqual(diagnostics, []);
  });
});

describe("titan build ext refusals", () => {
  test("a classic Titan Planet manifest is refused", async () => {
    const dir = path.join(root, "classic");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "titan.json"), JSON.stringify({ name: "planet", native: { path: "native/libplanet.so", functions: { hi: { symbol: "hi" } } } }));
    const run = await runCli(["build", "ext", "--cwd", dir], { cwd: root });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /error: .*titan\.json is a classic Titan Planet manifest .*builds titan-ext extensions only/);
    assert.match(run.stderr, /hint: /);
  });

  test("a directory without titan.json gets a hint", async () => {
    const dir = path.join(root, "empty");
    mkdirSync(dir, { recursive: true });
    const run = await runCli(["build", "ext"], { cwd: dir });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /error: .*titan\.json does not exist: \. is not a Titan extension/);
    assert.match(run.stderr, /hint: run it in a native extension's directory .*--cwd <dir>/);
  });
});

describe("updateManifestLibrary", () => {
  const relative = `native/${PLATFORM_KEY}/libx.so`;
  test("turns a library path into the per-platform form, keeping the file's formatting", () => {
    const text = '{\n\t"name": "x", // the crate\n\t"native": { "library": "target/release/libx.so" }\n}\n';
    const updated = updateManifestLibrary(text, { name: "x", native: { library: "target/release/libx.so" } }, "/ext", relative);
    assert.ok(updated !== null);
    assert.match(updated, /\t"name": "x", \/\/ the crate\n/);
    assert.equal(((JSON.parse(updated.replace(/\/\/.*$/m, "")) as { native: { library: Record<string, string> } }).native.library)[PLATFORM_KEY], relative);
  });

  test("adds this platform next to others, and leaves a manifest that already points there alone", () => {
    const text = '{\n  "name": "x",\n  "native": {\n    "library": {\n      "other-arch": "native/other-arch/libx.so"\n    }\n  }\n}\n';
    const updated = updateManifestLibrary(text, { name: "x", native: { library: { "other-arch": "native/other-arch/libx.so" } } }, "/ext", relative);
    assert.ok(updated !== null);
    const library = (JSON.parse(updated) as { native: { library: Record<string, string> } }).native.library;
    assert.deepEqual(library, { "other-arch": "native/other-arch/libx.so", [PLATFORM_KEY]: relative });
    assert.equal(updateManifestLibrary(updated, { name: "x", native: { library } }, "/ext", relative), null);
  });
});

describe("titan-ext version handshake", () => {
  test("the expected version is the workspace's (titan-ext inherits it)", () => {
    const workspace = /\[workspace\.package\]\s*\nversion = "([^"]+)"/.exec(readFileSync(path.join(REPO_ROOT, "Cargo.toml"), "utf8"));
    assert.equal(expectedTitanExtVersion(), workspace?.[1]);
  });

  test("a mismatch names both versions and the command", () => {
    const crate = { id: "x", name: "mine", manifestPath: "/ext/Cargo.toml", titanExtVersion: "0.0.9", dependencyVersions: new Map<string, string>() };
    assert.throws(
      () => checkTitanExtVersion(crate, "/ext", "0.1.0"),
      (error: Error & { hint?: string }) =>
        /mine resolves titan-ext 0\.0\.9, but this titan CLI expects titan-ext 0\.1\.0/.test(error.message) &&
        /`cargo update -p titan-ext` in \/ext/.test(error.hint ?? ""),
    );
    assert.doesNotThrow(() => checkTitanExtVersion({ ...crate, titanExtVersion: "0.1.0" }, "/ext", "0.1.0"));
  });
});
