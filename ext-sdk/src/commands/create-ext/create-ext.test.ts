// `titan create ext`: the real built CLI in temp dirs. Non-interactive runs (flags, defaults,
// refusals by message), CI=true on a real terminal, and one interactive run through a
// pseudo-terminal that answers the prompts. Building and testing what each template generates
// is templates.test.ts.

import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { parseExtensionManifest } from "../../extensions/manifest.js";
import { CLI_PATH, runCli, tempDir, type CliRun } from "../../testing/cli-process.js";
import { PtyProcess } from "../../testing/pty.js";
import { crateNameOf, defaultNamespace, extensionNameProblem, suggestExtensionName } from "./names.js";
import { renderTemplate } from "./render.js";
import { availableKinds, templatesRoot } from "./templates.js";

const root = tempDir("create-ext");
after(() => rmSync(root, { recursive: true, force: true }));

/** Every file under `dir`, relative, '/'-separated, sorted. */
function filesUnder(dir: string): string[] {
  const found: string[] = [];
  const walk = (current: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) walk(full);
      else found.push(path.relative(dir, full).split(path.sep).join("/"));
    }
  };
  walk(dir);
  return found.sort();
}

/** The files a template should produce: its own listing, `.liquid` stripped, names rendered. */
function expectedListing(kind: string, name: string): string[] {
  return filesUnder(path.join(templatesRoot(), kind))
    .filter((file) => file !== "cargo-generate.toml")
    .map((file) => file.replace(/\.liquid$/, "").replace("{{project-name}}", name))
    .sort();
}

/** The file list the CLI prints last, one indented line per file. */
function printedFiles(stdout: string): string[] {
  const tail = stdout.split(/\nfiles \(\d+\):\n/)[1] ?? "";
  return tail.split("\n").filter((line) => line.startsWith("  ")).map((line) => line.trim()).sort();
}

const read = (dir: string, file: string) => readFileSync(path.join(dir, file), "utf8");

describe("titan create ext, non-interactive", () => {
  let run: CliRun;
  const dir = path.join(root, "my-db");
  before(async () => {
    run = await runCli(["create", "ext", "my-db", "--yes"], { cwd: root });
  });

  test("writes the native template's files and prints them, with the next steps", () => {
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /created my-db \(native extension, t\.myDb\) in my-db\//);
    assert.match(run.stdout, /next steps:\n {2}cd my-db\n {2}npm install .*\n {2}npx titan test ext .*\n {2}cargo test /);
    const expected = expectedListing("native", "my-db");
    assert.deepEqual(filesUnder(dir), expected);
    assert.deepEqual(printedFiles(run.stdout), expected);
    assert.ok(expected.includes("tests/my-db.test.js") && expected.includes(".gitignore") && expected.includes("src/lib.rs"));
    assert.doesNotMatch(run.stdout, /\(default;/, "--yes prints no notes about defaults");
  });

  test("every placeholder is replaced", () => {
    for (const file of filesUnder(dir)) {
      const text = read(dir, file);
      assert.doesNotMatch(text, /\{\{|\{%/, `${file} still has a Liquid placeholder`);
    }
    assert.match(read(dir, "src/lib.rs"), /^\/\/! `t\.myDb`: A Titan native extension$/m);
    assert.match(read(dir, "tests/my-db.test.js"), /message: 'my-db\.parsePort: "http" is not a port number/);
  });

  test("titan.json is valid for the manifest parser and points $schema at the titan package", () => {
    const parsed = parseExtensionManifest(read(dir, "titan.json"), "titan.json");
    assert.equal(parsed.form, "native");
    assert.deepEqual(JSON.parse(read(dir, "titan.json")), {
      $schema: "./node_modules/titan/schema/titan.schema.json",
      name: "my-db",
      description: "A Titan native extension",
      namespace: "myDb",
      kind: "native",
      entry: "index.js",
      types: "entry.d.ts",
      native: { library: {} },
    });
  });

  test("Cargo.toml names the crate, is its own workspace and depends on the titan-ext next to this CLI", () => {
    const cargo = read(dir, "Cargo.toml");
    assert.match(cargo, /^\[package\]\nname = "my-db"\n/);
    assert.match(cargo, /^crate-type = \["cdylib", "rlib"\]$/m);
    assert.match(cargo, /^\[workspace\]\n/m);
    assert.match(cargo, /^\[profile\.dev\]\n(#.*\n)?debug = "line-tables-only"$/m);
    const dep = /^titan-ext = \{ path = "([^"]+)" \}$/m.exec(cargo);
    assert.ok(dep, cargo);
    assert.ok(statSync(path.join(dep[1]!, "Cargo.toml")).isFile(), `${dep[1]} is not the titan-ext crate`);
  });

  test("package.json runs titan build/test ext and depends on this titan package", () => {
    const pkg = JSON.parse(read(dir, "package.json")) as Record<string, unknown>;
    assert.equal(pkg.name, "my-db");
    assert.equal(pkg.type, "module");
    assert.equal(pkg.private, true);
    assert.deepEqual(pkg.scripts, { build: "titan build ext", test: "titan test ext" });
    assert.deepEqual(pkg.engines, { node: ">=20.17" });
    assert.match((pkg.devDependencies as Record<string, string>).titan ?? "", /^file:\/.*ext-sdk$/);
  });
});

describe("titan create ext flags", () => {
  test("--kind, --namespace, --description and --dir", async () => {
    const run = await runCli(
      ["create", "ext", "wire_link", "--kind", "transport", "--namespace", "wire", "--description", "Bytes over wire", "--dir", "nested/wl"],
      { cwd: root },
    );
    assert.equal(run.code, 0, run.stderr);
    const dir = path.join(root, "nested", "wl");
    assert.deepEqual(filesUnder(dir), expectedListing("transport", "wire_link"));
    const manifest = JSON.parse(read(dir, "titan.json")) as Record<string, unknown>;
    assert.deepEqual([manifest.name, manifest.namespace, manifest.description, manifest.kind], ["wire_link", "wire", "Bytes over wire", "native"]);
    assert.match(read(dir, "Cargo.toml"), /^name = "wire_link"\ndescription = "Bytes over wire"$/m);
    // The URL scheme is the name with '_' as '-' (a URL scheme cannot have '_').
    assert.match(read(dir, "src/lib.rs"), /^pub const SCHEME: &str = "wire-link";$/m);
    assert.match(run.stdout, /\n {2}cd nested\/wl\n/);
  });

  test("without --yes and without a terminal, unset values take their defaults and say so", async () => {
    const run = await runCli(["create", "ext", "quiet-one"], { cwd: root });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /kind: native \(default; --kind native\|transport\|napi\|neon\)/);
    assert.match(run.stdout, /namespace: t\.quietOne \(default; --namespace <name>\)/);
  });

  test("an empty directory, or one with only .git, is used", async () => {
    mkdirSync(path.join(root, "empty-target", ".git"), { recursive: true });
    const run = await runCli(["create", "ext", "empty-target", "--yes"], { cwd: root });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(filesUnder(path.join(root, "empty-target")).includes("titan.json"));
  });
});

describe("titan create ext refusals", () => {
  const badNames: [string, RegExp, string][] = [
    ["My-Ext", /"My-Ext" has uppercase letters, which a new npm package name cannot have/, "my-ext"],
    ["1password", /"1password" starts with a digit, which a crate name cannot/, "password"],
    ["my.ext", /"my\.ext" has characters a crate name cannot have \("\."\)/, "my-ext"],
    ["fn", /"fn" is a Rust keyword, which cargo refuses as a crate name/, "fn-ext"],
    ["test", /"test" is reserved by cargo: it is the name of Rust's built-in test library/, "test-ext"],
    ["http", /"http" is not a valid npm package name: .*core module/, "http-ext"],
    ["titan", /"titan" is the name of a package every extension depends on/, "my-titan"],
  ];
  for (const [name, message, suggestion] of badNames) {
    test(`the name ${name}`, async () => {
      const run = await runCli(["create", "ext", name, "--yes"], { cwd: root });
      assert.equal(run.code, 1, run.stdout);
      assert.match(run.stderr, message);
      assert.match(run.stderr, new RegExp(`hint: try \`titan create ext ${suggestion.replace(/[.-]/g, "\\$&")}\``));
      assert.equal(extensionNameProblem(suggestion), undefined, `the suggestion ${suggestion} must itself be valid`);
    });
  }

  test("a target directory that exists and is not empty is left alone", async () => {
    const dir = path.join(root, "taken");
    mkdirSync(dir);
    writeFileSync(path.join(dir, "notes.txt"), "mine");
    const run = await runCli(["create", "ext", "taken", "--yes"], { cwd: root });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /error: taken already exists and is not empty: choose another name or --dir, or remove it/);
    assert.deepEqual(readdirSync(dir), ["notes.txt"]);
    const elsewhere = await runCli(["create", "ext", "taken", "--yes", "--dir", "nested/taken"], { cwd: root });
    assert.equal(elsewhere.code, 0, elsewhere.stderr);
  });

  test("a namespace that is not a JS identifier, or a built-in one", async () => {
    const notIdentifier = await runCli(["create", "ext", "ns-a", "--namespace", "my-ns"], { cwd: root });
    assert.equal(notIdentifier.code, 1);
    assert.match(notIdentifier.stderr, /--namespace: "my-ns" is not a JS identifier .*so it cannot be t\.my-ns/);
    const builtIn = await runCli(["create", "ext", "db", "--yes"], { cwd: root });
    assert.equal(builtIn.code, 1);
    assert.match(builtIn.stderr, /the default namespace for db does not work: t\.db is one of Titan's built-in APIs/);
    assert.match(builtIn.stderr, /hint: pass one with --namespace/);
  });

  test("a description that is not one line, or has a quote", async () => {
    const quoted = await runCli(["create", "ext", "desc-a", "--description", 'say "hi"'], { cwd: root });
    assert.equal(quoted.code, 1);
    assert.match(quoted.stderr, /--description: it cannot contain '"' or '\\'/);
    const twoLines = await runCli(["create", "ext", "desc-b", "--description", "one\ntwo"], { cwd: root });
    assert.equal(twoLines.code, 1);
    assert.match(twoLines.stderr, /--description: it must be one line/);
  });

  test("an unknown kind lists the templates there are", async () => {
    const run = await runCli(["create", "ext", "kind-a", "--kind", "wasm"], { cwd: root });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /there is no "wasm" extension template/);
    assert.match(run.stderr, new RegExp(`hint: choose one of: ${availableKinds().join(", ")} \\(--kind <kind>\\)`));
  });

  test("nothing is left behind by a refusal", () => {
    for (const name of ["My-Ext", "1password", "ns-a", "desc-a", "desc-b", "kind-a", "db"]) {
      assert.throws(() => statSync(path.join(root, name)), { code: "ENOENT" }, `${name} was created`);
    }
    assert.deepEqual(readdirSync(root).filter((entry) => entry.includes("titan-create")), [], "no staging folder remains");
  });
});

describe("titan create ext on a terminal", () => {
  test("CI=true never asks, even on a real terminal", async () => {
    const pty = new PtyProcess(["env", "CI=true", process.execPath, CLI_PATH, "create", "ext", "ci-ext"], { cwd: root });
    try {
      assert.equal(await pty.exited, 0, pty.output);
      assert.match(pty.output, /kind: native \(default;/);
      assert.doesNotMatch(pty.output, /Kind of extension:/);
      assert.equal(JSON.parse(read(path.join(root, "ci-ext"), "titan.json")).namespace, "ciExt");
    } finally {
      pty.kill();
    }
  });

  test("interactive: kind, namespace and description are asked and used", async () => {
    const pty = new PtyProcess([process.execPath, CLI_PATH, "create", "ext", "pty-ext"], { cwd: root });
    try {
      await pty.waitFor(/Kind of extension:/);
      assert.match(pty.output, /native[\s\S]*transport/);
      let mark = pty.mark();
      pty.type("\x1b[B"); // arrow down: native → transport
      await pty.waitFor(/transport/, { from: mark });
      pty.type("\r");
      mark = pty.mark();
      await pty.waitFor(/JS namespace \(t\.<namespace>\):/, { from: mark });
      assert.match(pty.output.slice(mark), /\(ptyExt\)/, "the default namespace is offered");
      pty.type("9bad\r");
      await pty.waitFor(/is not a JS identifier/, { from: mark });
      pty.type("\x7f".repeat(4) + "ptyNs\r");
      mark = pty.mark();
      await pty.waitFor(/Description \(one line\):/, { from: mark });
      pty.type("Typed on a terminal\r");
      await pty.waitFor(/files \(\d+\):/);
      assert.equal(await pty.exited, 0, pty.output);
    } finally {
      pty.kill();
    }
    const dir = path.join(root, "pty-ext");
    const manifest = JSON.parse(read(dir, "titan.json")) as Record<string, unknown>;
    assert.deepEqual([manifest.namespace, manifest.description], ["ptyNs", "Typed on a terminal"]);
    assert.match(read(dir, "src/lib.rs"), /pub const SCHEME: &str = "pty-ext";/, "the transport template was chosen");
  });
});

describe("names", () => {
  test("crate name and default namespace", () => {
    assert.equal(crateNameOf("my-db"), "my_db");
    assert.equal(defaultNamespace("my-db"), "myDb");
    assert.equal(defaultNamespace("my__data-store2"), "myDataStore2");
    assert.equal(defaultNamespace("x"), "x");
  });

  test("suggestions are valid names", () => {
    for (const bad of ["My DB!", "__x", "9", "self", "con", "serde", "std"]) {
      const suggestion = suggestExtensionName(bad);
      assert.equal(extensionNameProblem(suggestion), undefined, `${bad} → ${suggestion}`);
    }
  });
});

describe("renderTemplate", () => {
  const template = path.join(root, "fixture-template");
  before(() => {
    mkdirSync(path.join(template, "skipped"), { recursive: true });
    mkdirSync(path.join(template, "{{crate_name}}"), { recursive: true });
    writeFileSync(path.join(template, "cargo-generate.toml"), '[template]\nignore = ["skipped", "notes.md"]\n');
    writeFileSync(path.join(template, "skipped", "a.txt"), "{{ undefined_here }}");
    writeFileSync(path.join(template, "notes.md"), "{{ undefined_here }}");
    writeFileSync(path.join(template, "Cargo.toml.liquid"), 'name = "{{project-name}}"\n');
    writeFileSync(path.join(template, "{{crate_name}}", "{{project-name}}.txt"), "{{ project-name }} / {{crate_name}}");
    // PNG magic + a NUL byte + bytes that look like a placeholder: copied, not rendered.
    writeFileSync(path.join(template, "logo.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, ...Buffer.from("{{project-name}}")]));
  });

  test("renders names and contents, strips .liquid, skips ignored files, copies binaries as they are", () => {
    const out = path.join(root, "fixture-out");
    const files = renderTemplate(template, out, { "project-name": "my-db", crate_name: "my_db" }, ["skipped", "notes.md"]);
    assert.deepEqual(files, ["Cargo.toml", "logo.png", "my_db/my-db.txt"]);
    assert.equal(read(out, "Cargo.toml"), 'name = "my-db"\n');
    assert.equal(read(out, "my_db/my-db.txt"), "my-db / my_db");
    assert.deepEqual(readFileSync(path.join(out, "logo.png")), readFileSync(path.join(template, "logo.png")));
  });

  test("a placeholder without a value is an error naming the file", () => {
    assert.throws(
      () => renderTemplate(template, path.join(root, "fixture-out-2"), { "project-name": "my-db", crate_name: "my_db" }),
      /template notes\.md: undefined variable: undefined_here/,
    );
  });
});
