// End-to-end: `titan dev` on a TypeScript app: the type-error gate (503 while broken, recovery by
// itself), reload on save, build errors, and a clean exit on SIGINT. Needs the runtime.

import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { CliProcess, runCli, assertRuntimeBuilt, tempDir } from "../../testing/cli-process.js";

assertRuntimeBuilt();

interface Unavailable {
  error: { code: string; message: string; diagnostics: string[] };
}

describe("titan dev (end to end)", { timeout: 180_000 }, () => {
  const root = tempDir("dev-e2e");
  const appDir = path.join(root, "live");
  const helloFile = path.join(appDir, "app", "actions", "hello.ts");
  const routesFile = path.join(appDir, "app", "app.ts");
  const typeError = `export const hello = defineAction((req) => {\n  const n: number = req.params.name;\n  return { message: "hi " + n };\n});\n`;
  let dev: CliProcess;
  let base: string;
  let helloOriginal: string;

  /** Writes a file and waits for the dev server's reaction printed after the write. */
  async function save(file: string, content: string, reaction: RegExp): Promise<void> {
    const mark = dev.mark();
    writeFileSync(file, content);
    await dev.waitFor(reaction, { from: mark, timeoutMs: 60_000 });
  }

  before(async () => {
    const init = await runCli(["init", "live", "--lang", "ts", "--yes"], { cwd: root });
    assert.equal(init.code, 0, init.stderr);
    writeFileSync(path.join(appDir, "titan.config.json"), JSON.stringify({ port: 3000, workers: 1 }));
    helloOriginal = readFileSync(helloFile, "utf8");
    // Start broken: the first build fails, and the server must come up anyway, refusing requests.
    writeFileSync(helloFile, typeError);
    dev = new CliProcess(["dev", "--port", "0"], { cwd: appDir });
    base = await dev.listening({ timeoutMs: 60_000 });
  });

  after(async () => {
    await dev?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test("a first build with type errors still starts the server, answering 503 with them", async () => {
    assert.match(dev.output, /app\/actions\/hello\.ts:2:9 - error TS2322/);
    const response = await fetch(`${base}/hello/ada`);
    assert.equal(response.status, 503);
    const body = (await response.json()) as Unavailable;
    assert.equal(body.error.code, "type_errors");
    assert.match(body.error.diagnostics[0] ?? "", /app\/actions\/hello\.ts\(2,9\): error TS2322/);
    const health = await fetch(`${base}/__titan/health`);
    assert.equal(health.status, 200);
    await health.arrayBuffer();
  });

  test("fixing the error serves again, by itself", async () => {
    await save(helloFile, helloOriginal, /reloaded in \d+ ms \(build \d+ ms, (swap|same code: the workers kept serving,) \d+ ms\)/);
    const response = await fetch(`${base}/hello/ada`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { message: "hi ada" });
  });

  test("an edit is served after the reload", async () => {
    await save(helloFile, helloOriginal.replace(`"hi "`, `"hello "`), /reloaded in/);
    assert.deepEqual(await (await fetch(`${base}/hello/ada`)).json(), { message: "hello ada" });
  });

  test("a type error while running gates the server again until fixed", async () => {
    await save(helloFile, typeError, /error: 1 type error/);
    const broken = await fetch(`${base}/hello/ada`);
    assert.equal(broken.status, 503);
    assert.equal(((await broken.json()) as Unavailable).error.code, "type_errors");
    await save(helloFile, helloOriginal, /reloaded in/);
    assert.equal((await fetch(`${base}/hello/ada`)).status, 200);
  });

  test("a route to an unknown action is a build error (503 build_error) until fixed", async () => {
    const routes = readFileSync(routesFile, "utf8");
    await save(routesFile, `${routes}\nt.get("/x").action("helo");\n`, /error: 1 problem in the routes of app\/app\.ts/);
    const broken = await fetch(`${base}/`);
    assert.equal(broken.status, 503);
    const body = (await broken.json()) as Unavailable;
    assert.equal(body.error.code, "build_error");
    assert.match(body.error.diagnostics[0] ?? "", /did you mean "hello"\?/);
    await save(routesFile, `${routes}\nt.get("/x").action("hello");\n`, /reloaded in/);
    assert.deepEqual(await (await fetch(`${base}/hello/z`)).json(), { message: "hi z" });
  });

  test("a broken config keeps the server running; a valid change restarts it", async () => {
    const configFile = path.join(appDir, "titan.config.json");
    await save(configFile, `{ "port": 3000, "workerz": 1 }`, /unknown key `workerz` — did you mean `workers`\?/);
    assert.equal((await fetch(`${base}/hello/still`)).status, 200);
    const mark = dev.mark();
    writeFileSync(configFile, JSON.stringify({ port: 3000, workers: 1, bodyLimit: "2kb" }));
    await dev.waitFor(/config changed: restarting the server/, { from: mark, timeoutMs: 60_000 });
    base = await dev.listening({ from: mark, timeoutMs: 60_000 });
    assert.deepEqual(await (await fetch(`${base}/hello/again`)).json(), { message: "hi again" });
  });

  test("SIGINT closes the server and exits 0", async () => {
    dev.child.kill("SIGINT");
    const exit = await dev.exited;
    assert.equal(exit.code, 0, dev.output);
    assert.match(dev.output, /stopped/);
  });
});
