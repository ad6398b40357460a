// `titan run ext` and `titan test ext` through the real CLI, the REPL through a pseudo-terminal,
// and --watch's rebuild → swap → serve cycle in process on a real crate edited by the test.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { CLI_PATH, REPO_ROOT, runCli, tempDir } from "../../testing/cli-process.js";
import { SHARED_TARGET_DIR, writeCrateExtension, writeCrateFunctions } from "../../testing/extensions.js";
import { PtyProcess } from "../../testing/pty.js";
import { runRunExt, type RunExtSession } from "./run.js";
import { connect } from "../../netron/index.js";
import { generateTlsFiles, type TlsFiles } from "../../../../core-runtime/js/netron/testing/tls-certs.js";

const MARKDOWN = path.join(REPO_ROOT, "examples-ext", "markdown");

describe("titan test ext / titan run ext", () => {
  test("test ext builds, runs the extension's tests in a real isolate and passes", async () => {
    const run = await runCli(["test", "ext", "--cwd", MARKDOWN], { cwd: REPO_ROOT, timeoutMs: 240_000 });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /✔ the JS entry's page\(\) builds on the natives inside the isolate/);
    assert.match(run.stdout, /tests passed \(1 file; build \d+ ms, tests \d+ ms\)/);
  });

  test("a failing test makes test ext exit 1; a missing tests/ folder is an error with the fix", async () => {
    const dir = writeCrateExtension(tempDir("ext-failing"), "counter", `#[function]\nfn word_count(s: &str) -> u32 { s.split_whitespace().count() as u32 }`, ["word_count"]);
    const env = { CARGO_TARGET_DIR: SHARED_TARGET_DIR };
    const none = await runCli(["test", "ext", "--cwd", dir], { cwd: dir, env });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no tests in .*tests\//);
    assert.match(none.stderr, /add tests\/<name>\.test\.js using `import \{ loadExtension \} from "titan\/harness"`/);

    mkdirSync(path.join(dir, "tests"));
    writeFileSync(
      path.join(dir, "tests", "wrong.test.js"),
      `import { test } from "node:test"; import assert from "node:assert/strict"; import { loadExtension } from "titan/harness";\n` +
        `const ext = await loadExtension(new URL("..", import.meta.url));\n` +
        `test("wrong on purpose", () => assert.equal(ext.call("word_count", "one two"), 3));\n`,
    );
    const failing = await runCli(["test", "ext", "--cwd", dir], { cwd: dir, env, timeoutMs: 240_000 });
    assert.equal(failing.code, 1, failing.stdout + failing.stderr);
    assert.match(failing.stdout, /✖ wrong on purpose/);
    assert.match(failing.stdout, /2 !== 3/);
    assert.match(failing.stdout, /tests failed/);

    // A file that registers no test would pass silently: it fails the run, named, with the fix.
    writeFileSync(
      path.join(dir, "tests", "wrong.test.js"),
      `import { test } from "node:test"; import assert from "node:assert/strict"; import { loadExtension } from "titan/harness";\n` +
        `const ext = await loadExtension(new URL("..", import.meta.url));\n` +
        `test("right", () => assert.equal(ext.call("word_count", "one two"), 2));\n`,
    );
    writeFileSync(path.join(dir, "tests", "forgotten.test.js"), `import { loadExtension } from "titan/harness";\nawait loadExtension(new URL("..", import.meta.url));\n`);
    const empty = await runCli(["test", "ext", "--cwd", dir], { cwd: dir, env, timeoutMs: 240_000 });
    assert.equal(empty.code, 1, empty.stdout + empty.stderr);
    assert.match(empty.stdout, /✔ right/);
    assert.match(empty.stdout, /✖ tests[/\\]forgotten\.test\.js ran no tests: register them with test\(\) or it\(\) from node:test/);
    assert.doesNotMatch(empty.stdout, /wrong\.test\.js ran no tests/);
    // With --grep a file may legitimately match nothing.
    const grep = await runCli(["test", "ext", "--cwd", dir, "--grep", "right"], { cwd: dir, env, timeoutMs: 240_000 });
    assert.equal(grep.code, 0, grep.stdout + grep.stderr);
  });

  test("run ext --repl evaluates inside the isolate through a real terminal, with completion and .reload", async () => {
    const repl = new PtyProcess([process.execPath, CLI_PATH, "run", "ext", "--repl", "--cwd", MARKDOWN], { cwd: REPO_ROOT });
    try {
      await repl.waitFor(/t\.markdown> $/m, { timeoutMs: 240_000 });
      let from = repl.mark();
      repl.type(`t.markdown.render("# hi")\r`);
      await repl.waitFor(/'<h1>hi<\/h1>\\n'/, { from });
      from = repl.mark();
      repl.type(`t.markdown.headings("# a").map((h) => h.level * 10)\r`);
      await repl.waitFor(/\[ 10 \]/, { from });
      from = repl.mark();
      repl.type(`t.markdown.render(1)\r`);
      await repl.waitFor(/argument `markdown` must be a string, got a number/, { from });
      from = repl.mark();
      repl.type(`t.markdown.word_c\t`);
      await repl.waitFor(/t\.markdown\.word_count/, { from });
      repl.type(`("a b")\r`);
      await repl.waitFor(/\n2\n/, { from });
      from = repl.mark();
      repl.type(`.reload\r`);
      await repl.waitFor(/rebuilt in \d+ ms, (swapped in place|isolate restarted) in [\d.]+ ms/, { from, timeoutMs: 120_000 });
      from = repl.mark();
      repl.type(`t.markdown.word_count("x y z")\r`);
      await repl.waitFor(/\n3\n/, { from });
      repl.type(`.exit\r`);
      assert.equal(await repl.exited, 0, repl.output);
    } finally {
      repl.kill();
    }
  });
});

describe("titan run ext --watch --serve", () => {
  let dir: string;
  let session: RunExtSession;
  const lines: string[] = [];
  const previousTarget = process.env.CARGO_TARGET_DIR;

  before(async () => {
    process.env.CARGO_TARGET_DIR = SHARED_TARGET_DIR;
    dir = writeCrateExtension(tempDir("ext-watch"), "swapdemo", `#[function]\nfn answer() -> u32 { 1 }`, ["answer"]);
    session = await runRunExt({ cwd: dir, watch: true, repl: false, serve: 0, test: false }, (line) => lines.push(line));
  });
  after(async () => {
    await session?.close();
    if (previousTarget === undefined) delete process.env.CARGO_TARGET_DIR;
    else process.env.CARGO_TARGET_DIR = previousTarget;
  });

  const served = async (fn: string) => (await (await fetch(`${session.url}/call/${fn}`, { method: "POST", body: "[]", headers: { "content-type": "application/json" } })).json()) as { result?: unknown; error?: string };

  test("a saved change is rebuilt and swapped into the running isolate and the HTTP server", async () => {
    assert.equal(session.isolate.call("answer"), 1);
    assert.deepEqual(await served("answer"), { result: 1 });
    const cycle = session.watcher!.nextCycle();
    writeCrateFunctions(dir, `#[function]\nfn answer() -> u32 { 2 }\n#[function]\nfn added() -> &'static str { "new" }`, ["answer", "added"]);
    const report = await cycle;
    assert.equal(report.ok, true, lines.join("\n"));
    assert.ok(report.buildMs! > 0 && report.swap!.swapMs >= 0);
    assert.equal(session.isolate.call("answer"), 2);
    assert.equal(session.isolate.call("added"), "new");
    assert.deepEqual(await served("answer"), { result: 2 });
    assert.match(lines.join("\n"), /↻ rebuilt in \d+ ms, (swapped in place|isolate restarted) in [\d.]+ ms/);
  });

  test("a change that does not compile keeps the previous build serving, and says why", async () => {
    const cycle = session.watcher!.nextCycle();
    writeCrateFunctions(dir, `#[function]\nfn answer() -> u32 { "not a number" }`, ["answer"]);
    const report = await cycle;
    assert.equal(report.ok, false);
    assert.match(report.error!, /cargo build failed|mismatched types|error\[E0308\]/);
    assert.match(lines.join("\n"), /✖ build failed, the previous build keeps running/);
    assert.equal(session.isolate.call("answer"), 2);
    assert.deepEqual(await served("answer"), { result: 2 });
  });
});

describe("titan run ext --netron: a transport extension carrying Netron", { timeout: 300_000 }, () => {
  const tlsTransport = path.join(REPO_ROOT, "examples-ext", "tls-transport");
  let files: TlsFiles;
  before(async () => {
    files = await generateTlsFiles();
  });
  after(() => files?.remove());

  test("serves the harness service over the extension's scheme to the real client", async () => {
    const lines: string[] = [];
    const config = JSON.stringify({ cert: files.serverCert, key: files.serverKey });
    const session = await runRunExt({ cwd: tlsTransport, watch: false, repl: false, test: false, config, netron: "tls://127.0.0.1:0" }, (line) => lines.push(line));
    try {
      assert.match(session.url!, /^tls:\/\/127\.0\.0\.1:\d+$/, "the real port");
      assert.ok(lines.some((line) => line.includes(`serving harness@1.0.0 (echo, count, peer) over ${session.url}`)), lines.join("\n"));
      const peer = await connect(session.url!, { reconnect: false, tls: { ca: readFileSync(files.ca) } });
      try {
        const harness = await peer.queryInterface<{ echo(value: unknown): unknown; count(n: number): Generator<number>; peer(): unknown }>("harness");
        assert.deepEqual(await harness.echo({ over: "tls" }), { over: "tls" });
        const seen: number[] = [];
        for await (const i of harness.count(3)) seen.push(i);
        assert.deepEqual(seen, [0, 1, 2]);
        assert.equal(await harness.peer(), null, "no client certificate asked for");
      } finally {
        await peer.close();
      }
    } finally {
      await session.close();
    }
  });

  test("--serve on an extension without functions, and --netron with --watch, say what to do", async () => {
    const config = JSON.stringify({ cert: files.serverCert, key: files.serverKey });
    await assert.rejects(runRunExt({ cwd: tlsTransport, watch: false, repl: false, test: false, config, serve: 0 }, () => {}), (error: Error & { hint?: string }) => {
      assert.match(error.message, /tls-transport has no t\.tls functions for --serve to call over HTTP/);
      assert.match(String(error.hint), /titan run ext --netron <scheme>:\/\/127\.0\.0\.1:<port>/);
      return true;
    });
    await assert.rejects(runRunExt({ cwd: tlsTransport, watch: true, repl: false, test: false, config, netron: "tls://127.0.0.1:0" }, () => {}), /--netron runs on its own/);
  });
});
