// Node-API addons (kind `napi`) in the runtime, without the harness: the example addons
// examples-ext/hash-napi (napi-rs) and examples-ext/imagemeta-neon (neon), and the benchmark's
// napi-direct standing for a rebuilt addon, built by this test with cargo, staged by the host and
// loaded in real worker isolates, called over HTTP.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, type TitanServer } from "../dist/index.js";
import { stageAddon } from "./addons.js";
import type { BuildManifest, ExtensionSpec, ResolvedConfig, RouteSpec } from "./types.js";
import { getOnNewConnection } from "./testing.js";

const ROOT = join(import.meta.dirname, "..", "..");

/** Builds the addons (debug); a cdylib is a loadable `.node` as it is. */
function buildAddons(): { hash: string; imagemeta: string; other: string } {
  execFileSync("cargo", ["build", "-p", "hash-napi", "-p", "imagemeta-neon", "-p", "napi-direct"], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
  const metadata = JSON.parse(execFileSync("cargo", ["metadata", "--format-version", "1", "--no-deps"], { cwd: ROOT, encoding: "utf8" }));
  const dir = join(metadata.target_directory as string, "debug");
  const lib = (crate: string) => join(dir, process.platform === "darwin" ? `lib${crate}.dylib` : `lib${crate}.so`);
  return { hash: lib("hash_napi"), imagemeta: lib("imagemeta_neon"), other: lib("napi_direct") };
}

const CONFIG: ResolvedConfig = { host: "127.0.0.1", port: 0, workers: 2, bodyLimit: 1 << 20, actionTimeout: 1500, shutdownTimeout: 5000 };

const ACTIONS = `
import { threadId } from "node:worker_threads";
export const actions = {
  // Busy for a while so concurrent requests need both workers.
  who: defineAction(() => { const end = Date.now() + 150; while (Date.now() < end) {} return { thread: threadId, blake3: t.hash.blake3("abc"), etag: t.hash.etag("abc") }; }),
  exports: defineAction(() => Object.keys(t.hash).sort()),
  // A class through the guard: constructor, methods, instanceof.
  stream: defineAction(() => { const hasher = new t.hash.Blake3Hasher(); hasher.update("a"); hasher.update("bc"); return { digest: hasher.digest(), isHasher: hasher instanceof t.hash.Blake3Hasher }; }),
  // Calls into both addons, each call throwing, until the watchdog terminates the isolate.
  busy: defineAction(() => {
    const notAnImage = new Uint8Array(64);
    for (;;) {
      try { t.hash.blake3(42); } catch {}
      try { t.imagemeta.probe(notAnImage); } catch {}
    }
  }),
};
`;

const ROUTES: RouteSpec[] = [
  { method: "GET", path: "/who", action: "who" },
  { method: "GET", path: "/exports", action: "exports" },
  { method: "GET", path: "/busy", action: "busy" },
  { method: "GET", path: "/stream", action: "stream" },
];

/** What the CLI's resolveExtensions puts in `addonHash`: a rebuilt addon makes a different spec. */
const hashOf = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex").slice(0, 16);

function writeBuild(extensions: ExtensionSpec[]): string {
  const dir = mkdtempSync(join(tmpdir(), "titan-napi-"));
  writeFileSync(join(dir, "actions.mjs"), ACTIONS);
  const manifest: BuildManifest = { format: 1, bundle: "actions.mjs", routes: ROUTES, actions: [], config: CONFIG, extensions };
  writeFileSync(join(dir, "titan.build.json"), JSON.stringify(manifest));
  return dir;
}

/** The spec `titan build` resolves for a napi extension whose addon sits at `addon`. */
function napiSpec(name: string, namespace: string, addon: string, entry: string | null, config: unknown = null): ExtensionSpec {
  return { name, namespace, kind: "napi", library: addon, addonHash: hashOf(addon), entry, config };
}

describe("Node-API addons in worker isolates", { timeout: 300_000 }, () => {
  let addons: ReturnType<typeof buildAddons>;
  let server: TitanServer;
  let extDir: string;
  // A name of its own, so this run's staged copies are easy to find.
  const name = `hash-test-${process.pid}`;

  before(async () => {
    addons = buildAddons();
    extDir = mkdtempSync(join(tmpdir(), "titan-napi-ext-"));
    copyFileSync(addons.hash, join(extDir, "addon.node"));
    // An addon has no init: its entry is where the app's config reaches it.
    writeFileSync(join(extDir, "index.js"), "const { quote } = extension.config;\nt.hash.etag = (body) => `${quote}${t.hash.xxh3(body)}${quote}`;\n");
    server = await startServer({
      buildDir: writeBuild([napiSpec(name, "hash", join(extDir, "addon.node"), join(extDir, "index.js"), { quote: '"' }), napiSpec("imagemeta", "imagemeta", addons.imagemeta, null)]),
      log: () => {},
    });
  });
  after(() => server?.close());

  test("the addon is loaded in each worker, its exports bound as t.<namespace>, its entry run", async () => {
    const threads = new Set<number>();
    // Slow requests on new connections at once: a busy worker accepts none, so the idle one takes
    // them. Which worker accepts is the kernel's race, so allow a few rounds.
    for (let round = 0; round < 5 && threads.size < 2; round++) {
      const answers = await Promise.all(Array.from({ length: 4 }, () => getOnNewConnection(`${server.url}/who`)));
      for (const answer of answers) {
        assert.equal(answer.status, 200, answer.body);
        const body = JSON.parse(answer.body) as { thread: number; blake3: string; etag: string };
        assert.equal(body.blake3, "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85");
        assert.equal(body.etag, '"78af5f94892f3950"');
        threads.add(body.thread);
      }
    }
    assert.equal(threads.size, 2, "both workers loaded the addon and answered");
    const stream = await (await fetch(`${server.url}/stream`)).json();
    assert.deepEqual(stream, { digest: "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85", isHasher: true });
  });

  test("terminating workers busy calling addons (throwing, too) leaves the process up and replacements serving", async () => {
    // Without the host's guard, napi-rs (debug) and neon abort the process when a call throws
    // while its isolate is being terminated (addons.ts): this would kill the test run.
    for (let i = 0; i < 3; i++) {
      const busy = await getOnNewConnection(`${server.url}/busy`);
      assert.equal(busy.status, 504, busy.body);
    }
    // The replacements load the addon again, in fresh isolates.
    for (let i = 0; i < 4; i++) {
      const answer = await getOnNewConnection(`${server.url}/who`);
      assert.equal(answer.status, 200, answer.body);
      assert.equal((JSON.parse(answer.body) as { blake3: string }).blake3, "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85");
    }
  });

  test("a rebuilt addon is picked up on reload, from a new staged copy", async () => {
    const before = await (await fetch(`${server.url}/exports`)).json();
    assert.ok((before as string[]).includes("blake3"));
    // "Rebuild" in place the way `titan build ext` writes: a temp file renamed over the old one.
    // The new build is a different addon (napi-direct), so new code shows in what t.hash exports.
    copyFileSync(addons.other, join(extDir, "addon.node.tmp"));
    renameSync(join(extDir, "addon.node.tmp"), join(extDir, "addon.node"));
    await server.reload(writeBuild([napiSpec(name, "hash", join(extDir, "addon.node"), null), napiSpec("imagemeta", "imagemeta", addons.imagemeta, null)]));
    for (let i = 0; i < 4; i++) {
      const exports = JSON.parse((await getOnNewConnection(`${server.url}/exports`)).body) as string[];
      assert.ok(exports.includes("bytesSum") && !exports.includes("blake3"), `t.hash exports ${exports.join(", ")}`);
    }
    const staged = readdirSync(stageDirOf(name)).filter((file) => new RegExp(`^${name}-[0-9a-f]{16}\\.node$`).test(file));
    assert.equal(staged.length, 2, `one copy per build: ${staged.join(", ")}`);
  });
});

function stageDirOf(name: string): string {
  // Stage a throwaway file to learn the directory the host stages into.
  const probe = join(mkdtempSync(join(tmpdir(), "titan-napi-probe-")), "x.node");
  writeFileSync(probe, name);
  return join(stageAddon(`probe-${name}`, probe), "..");
}

describe("staging an addon", () => {
  const stageDir = mkdtempSync(join(tmpdir(), "titan-stage-"));
  const file = join(mkdtempSync(join(tmpdir(), "titan-stage-src-")), "a.node");

  test("the same build is copied once; a different build gets a new path", () => {
    writeFileSync(file, "build one");
    const first = stageAddon("ext", file, stageDir);
    const copiedAt = statSync(first).mtimeMs;
    assert.equal(stageAddon("ext", file, stageDir), first);
    assert.equal(statSync(first).mtimeMs, copiedAt, "not copied again");
    writeFileSync(file, "build two");
    const second = stageAddon("ext", file, stageDir);
    assert.notEqual(second, first);
    assert.match(second, /ext-[0-9a-f]{16}\.node$/);
  });

  test("a missing addon says so", () => {
    assert.throws(() => stageAddon("ext", join(stageDir, "nope.node"), stageDir), /its addon .*nope\.node cannot be read \(ENOENT\)/);
  });
});

describe("addons that cannot load", { timeout: 60_000 }, () => {
  const start = (addon: string) => startServer({ buildDir: writeBuild([{ name: "broken", namespace: "hash", kind: "napi", library: addon, entry: null, config: null }]), log: () => {} });

  test("a missing addon is refused before any worker starts, with the fix", async () => {
    await assert.rejects(start("/nonexistent/broken.node"), (err: Error & { hint?: string }) => {
      assert.match(err.message, /extension broken \(t\.hash\) could not be loaded: its addon \/nonexistent\/broken\.node cannot be read \(ENOENT\)/);
      assert.match(err.hint ?? "", /titan build ext/);
      return true;
    });
  });

  test("a file that is no addon fails in the worker, naming the extension and what to do", async () => {
    const notAnAddon = join(mkdtempSync(join(tmpdir(), "titan-napi-bad-")), "broken.node");
    writeFileSync(notAnAddon, "this is not a shared library");
    await assert.rejects(start(notAnAddon), /extension broken \(t\.hash\): the Node-API addon .*broken-[0-9a-f]{16}\.node could not be loaded: .*rebuild it for this Node\.js and platform with `titan build ext`/);
  });
});
