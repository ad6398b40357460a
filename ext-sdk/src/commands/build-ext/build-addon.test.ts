// `titan build ext` for Node-API addons: the real CLI on examples-ext/hash-napi (napi-rs, through
// @napi-rs/cli) and examples-ext/imagemeta-neon (neon, through cargo), debug builds in the
// workspace's shared target dir, and its refusals. Everything the builds touch is restored.

import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import ts from "typescript";
import { runtimeEnvTypesPath } from "../../build/type-files.js";
import { CliError } from "../../errors.js";
import { PLATFORM_KEY } from "../../extensions/manifest.js";
import { REPO_ROOT, runCli, tempDir, type CliRun } from "../../testing/cli-process.js";
import { checkNapiRsVersions, checkNeonVersion, napiCliVersion } from "./toolchains.js";

const HASH = path.join(REPO_ROOT, "examples-ext", "hash-napi");
const IMAGEMETA = path.join(REPO_ROOT, "examples-ext", "imagemeta-neon");
const root = tempDir("build-addon");

/** Files of the examples the builds may write, with their content before the tests (null: absent). */
const touched = [HASH, IMAGEMETA].flatMap((dir) => [
  path.join(dir, "titan.json"),
  path.join(dir, "index.d.ts"),
  path.join(dir, ".gitignore"),
  path.join(dir, "native", PLATFORM_KEY, `${path.basename(dir)}.node`),
]);
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

/** Type errors of an action's code using `t`, with the runtime's globals and an extension's index.d.ts. */
function typeErrors(indexFile: string, code: string): string[] {
  const use = path.join(root, `use-${path.basename(path.dirname(indexFile))}.ts`);
  writeFileSync(use, code);
  const program = ts.createProgram([runtimeEnvTypesPath(), indexFile, use], {
    strict: true, noEmit: true, types: [], lib: ["lib.es2023.d.ts"], module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler,
  });
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
}

describe("titan build ext, napi-rs (examples-ext/hash-napi)", () => {
  let run: CliRun;
  before(async () => {
    // Start from an unrecorded addon, as in a fresh checkout.
    const manifest = JSON.parse(readFileSync(path.join(HASH, "titan.json"), "utf8")) as { node: { addon?: unknown } };
    delete manifest.node.addon;
    writeFileSync(path.join(HASH, "titan.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    run = await runCli(["build", "ext", "--cwd", HASH], { cwd: root, timeoutMs: 600_000 });
  });

  test("builds with @napi-rs/cli, copies the addon to native/<platform>/<name>.node and records it", () => {
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /built hash-napi \(Node-API addon, @napi-rs\/cli 3\.\d+\.\d+\) in \d+ ms/);
    assert.match(run.stdout, new RegExp(`addon\\s+native/${PLATFORM_KEY}/hash-napi\\.node `));
    assert.match(run.stdout, /exports\s+6: t\.hash\.Blake3Hasher, t\.hash\.blake3, t\.hash\.blake3Keyed, t\.hash\.hashFile, t\.hash\.xxh128, t\.hash\.xxh3/);
    assert.match(run.stdout, new RegExp(`titan\\.json node\\.addon\\.${PLATFORM_KEY} → native/${PLATFORM_KEY}/hash-napi\\.node`));
    // cargo's own progress goes to the terminal.
    assert.match(run.stderr, /Finished `dev` profile/);
    const manifest = JSON.parse(readFileSync(path.join(HASH, "titan.json"), "utf8")) as { node: { addon: Record<string, string> } };
    assert.deepEqual(manifest.node.addon, { [PLATFORM_KEY]: `native/${PLATFORM_KEY}/hash-napi.node` });
    assert.ok(existsSync(path.join(HASH, "native", PLATFORM_KEY, "hash-napi.node")));
  });

  test("index.d.ts types t.hash from napi-rs's generated declarations", () => {
    const index = path.join(HASH, "index.d.ts");
    const types = readFileSync(index, "utf8");
    assert.match(types, /from the declarations napi-rs generated/);
    assert.match(types, /\n {4}export function blake3\(data: string \| Uint8Array\): string\n/);
    assert.match(types, /\n {4}export function hashFile\(path: string, algorithm\?: 'blake3' \| 'xxh3'\): string\n/);
    assert.deepEqual(typeErrors(index, "export const a: string = t.hash.blake3('x');\nexport const b: string = new t.hash.Blake3Hasher().digest();\n"), []);
    assert.match(typeErrors(index, "t.hash.hashFile('f', 'md5');\n").join("\n"), /'"md5"' is not assignable/);
  });
});

describe("titan build ext, neon (examples-ext/imagemeta-neon)", () => {
  let run: CliRun;
  before(async () => {
    run = await runCli(["build", "ext", "--cwd", IMAGEMETA], { cwd: root, timeoutMs: 600_000 });
  });

  test("builds with cargo and copies the cdylib as native/<platform>/<name>.node", () => {
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /built imagemeta-neon \(Node-API addon, neon 1\.\d+\.\d+\) in \d+ ms/);
    assert.match(run.stdout, /exports\s+2: t\.imagemeta\.probe, t\.imagemeta\.probeFile/);
    assert.ok(existsSync(path.join(IMAGEMETA, "native", PLATFORM_KEY, "imagemeta-neon.node")));
  });

  test("index.d.ts types t.imagemeta from the hand-written addon.d.ts", () => {
    const index = path.join(IMAGEMETA, "index.d.ts");
    assert.match(readFileSync(index, "utf8"), /from addon\.d\.ts: do not edit/);
    assert.deepEqual(typeErrors(index, "export const info: TitanAddons.imagemeta.ImageInfo = t.imagemeta.probe(new Uint8Array(8));\n"), []);
    assert.match(typeErrors(index, "t.imagemeta.probe('not bytes');\n").join("\n"), /not assignable to parameter of type 'Uint8Array/);
  });
});

describe("titan build ext refusals for addons", () => {
  test("node.types naming a missing file is refused before building", async () => {
    const dir = path.join(root, "no-types");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "titan.json"), JSON.stringify({ name: "x", kind: "napi", node: { toolchain: "neon", types: "addon.d.ts" } }));
    const run = await runCli(["build", "ext", "--cwd", dir], { cwd: root });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /error: .*titan\.json: `node\.types` names .*addon\.d\.ts, which does not exist/);
    assert.match(run.stderr, /hint: write the addon's declarations there/);
  });

  const crate = (versions: Record<string, string>) => ({ id: "x", name: "mine", manifestPath: "/ext/Cargo.toml", titanExtVersion: null, dependencyVersions: new Map(Object.entries(versions)) });
  const refusal = (message: RegExp, hint: RegExp) => (error: unknown) => error instanceof CliError && message.test(error.message) && hint.test(error.hint ?? "");

  test("napi-rs: the crates' major version must be the CLI's", () => {
    const cli = napiCliVersion();
    assert.match(cli, /^3\./);
    assert.doesNotThrow(() => checkNapiRsVersions(crate({ napi: "3.4.0", napi_derive: "3.3.0" }), cli, "/ext"));
    assert.throws(
      () => checkNapiRsVersions(crate({ napi: "2.16.17", napi_derive: "2.16.13" }), cli, "/ext"),
      refusal(/mine resolves napi 2\.16\.17 and napi-derive 2\.16\.13, but titan builds napi-rs addons with @napi-rs\/cli 3\..*major versions must match/, /napi = "3" and napi-derive = "3" .*`cargo update -p napi -p napi-derive` in \/ext/),
    );
    assert.throws(() => checkNapiRsVersions(crate({ napi: "3.4.0" }), cli, "/ext"), refusal(/does not depend on napi-derive, but its titan\.json says "toolchain": "napi-rs"/, /napi-derive = "3"/));
  });

  test("neon: 1.x only, and the crate must use it", () => {
    assert.equal(checkNeonVersion(crate({ neon: "1.1.2" }), "/ext"), "1.1.2");
    assert.throws(() => checkNeonVersion(crate({ neon: "0.10.1" }), "/ext"), refusal(/mine resolves neon 0\.10\.1, but titan builds neon 1\.x addons/, /neon = "1"/));
    assert.throws(() => checkNeonVersion(crate({ napi: "3.4.0" }), "/ext"), refusal(/does not depend on neon/, /"toolchain": "napi-rs"/));
  });
});
