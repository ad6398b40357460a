// End-to-end: `titan dev` on an app with a registered native extension built from sources next
// to it: saving the extension's Rust source rebuilds it, rebuilds the app and swaps the new
// library into the running server (also for an extension registered while it runs); a change
// that does not compile keeps the old one serving.

import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { CliProcess, runCli, assertRuntimeBuilt, tempDir } from "../../testing/cli-process.js";
import { SHARED_TARGET_DIR, writeCrateExtension, writeCrateFunctions } from "../../testing/extensions.js";

assertRuntimeBuilt();

describe("titan dev with an extension's sources (end to end)", { timeout: 300_000 }, () => {
  const root = tempDir("dev-ext");
  const appDir = path.join(root, "app");
  const extDir = path.join(root, "answer");
  const env = { CARGO_TARGET_DIR: SHARED_TARGET_DIR };
  let dev: CliProcess;
  let base: string;

  const answer = async () => (await (await fetch(`${base}/answer`)).json()) as { answer: number };

  before(async () => {
    writeCrateExtension(extDir, "answer", "#[function]\nfn value() -> u32 { 1 }", ["value"]);
    assert.equal((await runCli(["init", "app", "--lang", "js", "--yes"], { cwd: root })).code, 0);
    writeFileSync(path.join(appDir, "titan.config.json"), JSON.stringify({ port: 3000, workers: 2 }));
    // `ext add` builds the extension (it is not built yet), then registers it.
    const add = await runCli(["ext", "add", "../answer"], { cwd: appDir, env, timeoutMs: 240_000 });
    assert.equal(add.code, 0, add.stdout + add.stderr);
    writeFileSync(path.join(appDir, "app", "app.js"), `t.get("/answer").action("answer");\n`);
    writeFileSync(path.join(appDir, "app", "actions", "answer.js"), `export const answer = defineAction(() => ({ answer: t.answer.value() }));\n`);
    dev = new CliProcess(["dev", "--port", "0"], { cwd: appDir, env });
    base = await dev.listening({ timeoutMs: 120_000 });
  });

  after(async () => {
    await dev?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test("saving the extension's source rebuilds it and the server serves the new code", async () => {
    assert.deepEqual(await answer(), { answer: 1 });
    assert.match(dev.output, /watching extension sources: \.\.\/answer/);
    const mark = dev.mark();
    writeCrateFunctions(extDir, "#[function]\nfn value() -> u32 { 2 }", ["value"]);
    await dev.waitFor(/reloaded in \d+ ms/, { from: mark, timeoutMs: 120_000 });
    assert.match(dev.output.slice(mark), /rebuilt extension answer in \d+ ms/);
    assert.match(dev.output.slice(mark), /extension answer reloaded in place/);
    assert.deepEqual(await answer(), { answer: 2 });
  });

  test("an extension registered while titan dev runs is watched from then on", async () => {
    const bonusDir = path.join(root, "bonus");
    writeCrateExtension(bonusDir, "bonus", "#[function]\nfn value() -> u32 { 10 }", ["value"]);
    let mark = dev.mark();
    const add = await runCli(["ext", "add", "../bonus"], { cwd: appDir, env, timeoutMs: 240_000 });
    assert.equal(add.code, 0, add.stdout + add.stderr);
    await dev.waitFor(/watching extension sources: \.\.\/answer, \.\.\/bonus/, { from: mark, timeoutMs: 60_000 });
    await dev.waitFor(/reloaded in \d+ ms|listening on/, { from: mark, timeoutMs: 120_000 });
    mark = dev.mark();
    writeFileSync(path.join(appDir, "app", "actions", "bonus.js"), `export const bonus = defineAction(() => ({ bonus: t.bonus.value() }));\n`);
    writeFileSync(path.join(appDir, "app", "app.js"), `t.get("/answer").action("answer");\nt.get("/bonus").action("bonus");\n`);
    await dev.waitFor(/reloaded in \d+ ms/, { from: mark, timeoutMs: 120_000 });
    const bonus = async () => (await (await fetch(`${base}/bonus`)).json()) as { bonus: number };
    assert.deepEqual(await bonus(), { bonus: 10 });

    mark = dev.mark();
    writeCrateFunctions(bonusDir, "#[function]\nfn value() -> u32 { 11 }", ["value"]);
    await dev.waitFor(/extension bonus reloaded in place/, { from: mark, timeoutMs: 120_000 });
    assert.match(dev.output.slice(mark), /rebuilt extension bonus in \d+ ms/);
    assert.deepEqual(await bonus(), { bonus: 11 });
  });

  test("a change that does not compile keeps the previous library serving", async () => {
    const mark = dev.mark();
    writeCrateFunctions(extDir, `#[function]\nfn value() -> u32 { "three" }`, ["value"]);
    await dev.waitFor(/extension answer did not build: the previous build keeps serving/, { from: mark, timeoutMs: 120_000 });
    assert.deepEqual(await answer(), { answer: 2 });
  });
});
