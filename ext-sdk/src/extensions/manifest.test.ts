import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CliError } from "../errors.js";
import { PLATFORM_KEY, parseExtensionManifest, resolveExtensions } from "./manifest.js";

/** An extension directory with a manifest and (optionally) a file standing for its built library. */
function extensionDir(manifest: unknown, library?: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), "titan-extdir-"));
  writeFileSync(path.join(dir, "titan.json"), typeof manifest === "string" ? manifest : JSON.stringify(manifest));
  if (library) {
    mkdirSync(path.dirname(path.join(dir, library)), { recursive: true });
    writeFileSync(path.join(dir, library), "");
  }
  return dir;
}

const cliError = (pattern: RegExp, hint?: RegExp) => (err: unknown) => {
  assert.ok(err instanceof CliError, String(err));
  assert.match(err.message + "\n" + err.details.join("\n"), pattern);
  if (hint) assert.match(err.hint ?? "", hint);
  return true;
};

describe("extension manifests (titan.json)", () => {
  test("Titan's form and the classic Titan Planet form are told apart", () => {
    assert.equal(parseExtensionManifest(JSON.stringify({ name: "x", native: { library: "a.so" } }), "t.json").form, "native");
    const classic = parseExtensionManifest(
      JSON.stringify({ name: "legacy", main: "index.js", native: { path: "lib.so", functions: { f: { symbol: "f", parameters: ["string", "f64"], result: "json" } } } }),
      "t.json",
    );
    assert.equal(classic.form, "classic");
  });

  test("a malformed manifest is refused with the field and the fix", () => {
    assert.throws(() => parseExtensionManifest("{ nope", "ext/titan.json"), cliError(/ext\/titan\.json is not valid JSON/));
    assert.throws(() => parseExtensionManifest(JSON.stringify({ native: { library: "a.so" } }), "t.json"), cliError(/`name`: .*name the extension/));
    assert.throws(() => parseExtensionManifest(JSON.stringify({ name: "x" }), "t.json"), cliError(/`native`: .*add "native"/));
    assert.throws(() => parseExtensionManifest(JSON.stringify({ name: "x", namespace: "my-db", native: { library: "a.so" } }), "t.json"), cliError(/`namespace`: must be a JS identifier/));
    assert.throws(
      () => parseExtensionManifest(JSON.stringify({ name: "x", native: { path: "a.so", functions: { f: { symbol: "f", parameters: ["int"] } } } }), "t.json"),
      cliError(/`native\.functions\.f\.parameters\.0`/),
    );
  });
});

describe("resolving an app's extensions", () => {
  const app = mkdtempSync(path.join(tmpdir(), "titan-app-"));

  test("paths resolve from the app; namespace defaults from the name; config passes through", () => {
    const dir = extensionDir({ name: "my-db", entry: "index.js", native: { library: { [PLATFORM_KEY]: "target/libmy_db.so" } } }, "target/libmy_db.so");
    writeFileSync(path.join(dir, "index.js"), "");
    const [spec] = resolveExtensions(app, [{ path: path.relative(app, dir), config: { size: 1 } }]);
    assert.deepEqual(spec, {
      name: "my-db", namespace: "my_db", kind: "native", library: path.join(dir, "target/libmy_db.so"), entry: path.join(dir, "index.js"), config: { size: 1 },
    });
  });

  test("a missing path, a missing library and a clashing namespace say what to do", () => {
    assert.throws(() => resolveExtensions(app, [{ path: "../does-not-exist" }]), cliError(/titan\.json does not exist/, /extensions\[\]\.path/));
    const unbuilt = extensionDir({ name: "unbuilt", native: { library: "target/libunbuilt.so" } });
    assert.throws(() => resolveExtensions(app, [{ path: unbuilt }]), cliError(/library .*libunbuilt\.so is not built/, /cargo build/));
    const otherPlatform = extensionDir({ name: "elsewhere", native: { library: { "plan9-mips": "lib.so" } } });
    assert.throws(() => resolveExtensions(app, [{ path: otherPlatform }]), cliError(new RegExp(`no build for ${PLATFORM_KEY}`), /titan build ext/));
    const a = extensionDir({ name: "a", namespace: "shared", native: { library: "lib.so" } }, "lib.so");
    const b = extensionDir({ name: "b", namespace: "shared", native: { library: "lib.so" } }, "lib.so");
    assert.throws(() => resolveExtensions(app, [{ path: a }, { path: b }]), cliError(/both use the namespace t\.shared/));
  });

  test("a classic Titan Planet extension binds as t.<name> with its main", () => {
    const dir = extensionDir({ name: "legacy", main: "main.js", native: { path: "lib.so", functions: { f: { symbol: "f" } } } }, "lib.so");
    writeFileSync(path.join(dir, "main.js"), "");
    const [spec] = resolveExtensions(app, [{ path: dir }]);
    assert.equal(spec?.kind, "classic");
    assert.equal(spec?.namespace, "legacy");
    assert.equal(spec?.entry, path.join(dir, "main.js"));
    assert.match(spec?.manifest ?? "", /"symbol":"f"/);
  });
});

describe("Node-API addon manifests (kind napi)", () => {
  const app = mkdtempSync(path.join(tmpdir(), "titan-app-"));
  const napi = (node: unknown, extra: Record<string, unknown> = {}) => ({ name: "hasher", kind: "napi", node, ...extra });

  test("are told apart by their kind, built or not yet", () => {
    const fresh = parseExtensionManifest(JSON.stringify(napi({ toolchain: "neon", types: "addon.d.ts" })), "t.json");
    assert.equal(fresh.form, "napi");
    const built = parseExtensionManifest(JSON.stringify(napi({ toolchain: "napi-rs", addon: { [PLATFORM_KEY]: "native/x.node" } })), "t.json");
    assert.equal(built.form, "napi");
  });

  test("a wrong or missing toolchain, a mistyped field and a missing node name the field and the fix", () => {
    assert.throws(() => parseExtensionManifest(JSON.stringify(napi({ toolchain: "cmake-js" })), "t.json"), cliError(/`node\.toolchain`: .*"toolchain": "napi-rs" or "toolchain": "neon"/));
    assert.throws(() => parseExtensionManifest(JSON.stringify(napi({})), "t.json"), cliError(/`node\.toolchain`: /));
    assert.throws(() => parseExtensionManifest(JSON.stringify(napi({ toolchain: "neon", adon: "x.node" })), "t.json"), cliError(/`node`: Unrecognized key: "adon" — "node" takes "toolchain"/));
    assert.throws(() => parseExtensionManifest(JSON.stringify({ name: "hasher", kind: "napi" }), "t.json"), cliError(/`node`: .*"node" takes "toolchain"/));
    assert.throws(() => parseExtensionManifest(JSON.stringify({ name: "hasher", kind: "nap", native: { library: "a.so" } }), "t.json"), cliError(/`kind`: .*use "kind": "napi" for a Node-API addon/));
  });

  test("resolve to the addon's path and content hash, which a rebuild changes", () => {
    const dir = extensionDir(napi({ toolchain: "napi-rs", addon: { [PLATFORM_KEY]: "native/hasher.node" } }, { namespace: "hash", entry: "index.js" }), "native/hasher.node");
    writeFileSync(path.join(dir, "index.js"), "");
    writeFileSync(path.join(dir, "native/hasher.node"), "build one");
    const [first] = resolveExtensions(app, [{ path: dir, config: { key: "v" } }]);
    assert.deepEqual({ ...first, addonHash: undefined }, {
      name: "hasher", namespace: "hash", kind: "napi", library: path.join(dir, "native/hasher.node"), addonHash: undefined, entry: path.join(dir, "index.js"), config: { key: "v" },
    });
    assert.match(first?.addonHash ?? "", /^[0-9a-f]{16}$/);
    writeFileSync(path.join(dir, "native/hasher.node"), "build two");
    const [second] = resolveExtensions(app, [{ path: dir }]);
    assert.notEqual(second?.addonHash, first?.addonHash);
  });

  test("an addon never built, or missing, says to build it", () => {
    const fresh = extensionDir(napi({ toolchain: "neon" }));
    assert.throws(() => resolveExtensions(app, [{ path: fresh }]), cliError(new RegExp(`node\\.addon\` has no build for ${PLATFORM_KEY} \\(it was never built\\)`), /titan build ext/));
    const gone = extensionDir(napi({ toolchain: "neon", addon: "native/gone.node" }));
    assert.throws(() => resolveExtensions(app, [{ path: gone }]), cliError(/its addon .*gone\.node is not built/, /`titan build ext` in /));
  });
});
