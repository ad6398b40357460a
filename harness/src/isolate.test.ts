// The harness isolate against a real extension (core-runtime's kitchen-sink test extension,
// built here with cargo, dlopened by the core, bound in a real worker isolate).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ExtensionSpec } from "@titan/core/embed";
// The compiled harness: its isolate runs dist/isolate-worker.js in a worker thread.
import { HarnessIsolate } from "../dist/index.js";

const ROOT = path.resolve(import.meta.dirname, "..", "..");

function kitchenSink(): ExtensionSpec {
  execFileSync("cargo", ["build", "-p", "kitchen-sink"], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
  const metadata = JSON.parse(execFileSync("cargo", ["metadata", "--format-version", "1", "--no-deps"], { cwd: ROOT, encoding: "utf8" }));
  const library = path.join(metadata.target_directory as string, "debug", "libkitchen_sink.so");
  return { name: "kitchen-sink", namespace: "ks", kind: "native", library, entry: null, config: { greeting: "Howdy" } };
}

describe("harness isolate", () => {
  let spec: ExtensionSpec;
  let isolate: HarnessIsolate;
  before(async () => {
    spec = kitchenSink();
    isolate = await HarnessIsolate.start({ extension: spec, dataDir: mkdtempSync(path.join(tmpdir(), "titan-harness-test-")), callTimeoutMs: 3000 });
  });
  after(() => isolate.close());

  test("calls are synchronous and values keep their JS types", () => {
    assert.equal(isolate.call("add", 2, 3), 5);
    assert.equal(isolate.call("big", 41n), 82n);
    assert.deepEqual(isolate.call("reverse", new Uint8Array([1, 2, 3])), new Uint8Array([3, 2, 1]));
    assert.deepEqual(isolate.call("echo_json", { name: "Ada", tags: ["x"], n: 1.5 }), { name: "Ada", tags: ["x"], n: 1.5 });
    assert.equal(isolate.call("maybe", null), null);
  });

  test("the extension got its config and runs in this isolate's worker", () => {
    assert.match(isolate.call("greet", "Bob") as string, /^Howdy, Bob/);
    assert.equal(isolate.eval("typeof t.fetch + typeof t.db + typeof t.log"), "functionobjectfunction");
  });

  test("exceptions, panics and unknown functions come back as errors with the extension's message", () => {
    assert.throws(() => isolate.call("fail", "nope"), { message: /fail: nope/ });
    assert.throws(() => isolate.call("boom"), { message: /panicked/ });
    assert.throws(() => isolate.call("missing"), { name: "TypeError", message: /t\.ks\.missing is not a function \(t\.ks has: .*add/ });
    assert.throws(() => isolate.eval("("), { name: "SyntaxError" });
    // The isolate keeps serving after each of them.
    assert.equal(isolate.call("not", true), false);
  });

  test("the REPL's helpers: inspect formats inside the isolate, complete lists properties", () => {
    assert.equal(isolate.inspect("({ a: [1, 2n] })"), "{ a: [ 1, 2n ] }");
    assert.ok(isolate.complete("t.ks.ad").includes("t.ks.add"));
    assert.ok(isolate.complete("t.ks.ad").includes("t.ks.add_i32"));
  });

  test("restart loads the extension anew in a fresh isolate", async () => {
    isolate.eval("globalThis.marker = 1");
    await isolate.restart();
    assert.equal(isolate.eval("typeof globalThis.marker"), "undefined");
    assert.equal(isolate.call("add", 1, 1), 2);
  });

  test("a call that hangs past the timeout stops the isolate with a clear error; restart recovers", async () => {
    assert.throws(() => isolate.call("sleep_ms", 10_000), { name: "HarnessError", message: /t\.ks\.sleep_ms\(\) did not return within 3000 ms; the isolate was stopped/ });
    assert.throws(() => isolate.call("add", 1, 2), { message: /the isolate is stopped/ });
    await isolate.restart();
    assert.equal(isolate.call("add", 1, 2), 3);
  });
});

test("an extension that cannot load is refused with the core's reason", async () => {
  const broken: ExtensionSpec = { name: "nowhere", namespace: "nowhere", kind: "native", library: "/nonexistent/libnowhere.so", entry: null, config: null };
  await assert.rejects(HarnessIsolate.start({ extension: broken, dataDir: tmpdir() }), /extension nowhere \(t\.nowhere\) could not be loaded: .*libnowhere\.so/);
});
