// The `titan/netron` client against the real runtime: a build with JS services served by worker
// isolates over tcp, unix and ws; typed proxies, streams, events, contracts, auth; and two runtime
// processes found through a real Redis, one of them killed.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { startServer, type TitanServer } from "@titan/core";
import { startRedis, type RedisServer } from "../../../core-runtime/js/netron/testing/redis.js";
import { CALCULATOR_SERVICE, signTestJwt, writeServiceBuild, type Calculator, type CalculatorProperties } from "../../../core-runtime/js/netron/testing/app.js";
import { connect, NetronClientError, type Peer } from "./index.js";
import { discover, discovery } from "./discovery.js";

const SECRET = "runtime-test-secret";
const writeBuild = () => writeServiceBuild({ services: [CALCULATOR_SERVICE] });

describe("titan/netron against the runtime", () => {
  let server: TitanServer;
  let unixPath: string;
  const peers: Peer[] = [];
  const open = async (address: string, options?: Parameters<typeof connect>[1]) => {
    const peer = await connect(address, { reconnect: false, ...options });
    peers.push(peer);
    return peer;
  };

  before(async () => {
    unixPath = join(mkdtempSync(join(tmpdir(), "titan-netron-client-sock-")), "app.sock");
    server = await startServer({
      buildDir: writeBuild(),
      config: { netron: { listen: ["tcp://127.0.0.1:0", `unix://${unixPath}`, "ws://127.0.0.1:0/netron"], auth: { secret: SECRET } } },
      log: () => {},
    });
  });
  after(async () => {
    await Promise.all(peers.map((peer) => peer.close()));
    await server?.close();
  });

  test("typed calls and streams over tcp, unix and ws", async () => {
    for (const address of server.netron!.addresses) {
      const peer = await open(address);
      const calc = await peer.queryInterface<Calculator>("calculator@1.0.0");
      assert.equal(await calc.add(2, 3), 5, address);
      const seen: number[] = [];
      for await (const i of calc.count(3)) seen.push(i);
      assert.deepEqual(seen, [0, 1, 2], address);
    }
  });

  test("breaking out of an endless stream cancels it; the peer keeps working", async () => {
    const peer = await open(server.netron!.addresses[0]!);
    const calc = await peer.queryInterface<Calculator>("calculator");
    let last = -1;
    for await (const i of calc.forever()) {
      last = i;
      if (i === 1000) break;
    }
    assert.equal(last, 1000);
    assert.equal(await calc.add(1, 1), 2);
  });

  test("contract violations reject with a 422 and the issues", async () => {
    const peer = await open(server.netron!.addresses[0]!);
    const calc = await peer.queryInterface<Calculator>("calculator@1.0.0");
    await assert.rejects(
      (calc.add as (...args: unknown[]) => Promise<number>)("2", 3),
      (error: NetronClientError & { details: { issues: unknown[] } }) => error.code === 422 && error.details.issues.length === 1,
    );
    await assert.rejects(peer.queryInterface("nope@1.0.0"), (error: NetronClientError) => error.code === 404);
  });

  test("events reach subscribers on other connections and workers", async () => {
    const listeners = await Promise.all([open(server.netron!.addresses[0]!), open(server.netron!.addresses[1]!)]);
    const got = listeners.map(() => [] as unknown[]);
    await Promise.all(listeners.map((peer, i) => peer.subscribe("user.created", (user) => got[i]!.push(user))));
    const emitter = await open(server.netron!.addresses[2]!);
    const calc = await emitter.queryInterface<Calculator>("calculator@1.0.0");
    assert.equal(await calc.announce("ada"), 2, "the event went to both workers");
    const deadline = Date.now() + 5000;
    while (got.some((events) => events.length === 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(got, [[{ name: "ada" }], [{ name: "ada" }]]);
  });

  test("declared properties: read through the typed proxy and peer.get; assigning is refused", async () => {
    const peer = await open(server.netron!.addresses[0]!, { auth: { token: signTestJwt({ sub: "user-5" }, SECRET) } });
    // The shape defineService returns: RemoteOf types methods as calls and properties as promises.
    const shape = { name: "calculator", version: "1.0.0", methods: {} as Calculator, properties: {} as CalculatorProperties };
    const calc = await peer.queryInterface(shape);
    const precision: number = await calc.precision;
    assert.equal(precision, 12);
    assert.equal(await calc.caller, "user-5", "a getter runs as the calling peer");
    assert.equal(await calc.add(1, 2), 3, "methods still call");
    await assert.rejects(calc.broken, /getter broke/);
    assert.equal(await peer.get("calculator", "precision"), 12);
    await assert.rejects(peer.get("calculator", "nope"), (error: NetronClientError) => error.code === 404);
    assert.throws(() => Object.assign(calc, { precision: 3 }), /methods are called and its properties read, not assigned/);
  });

  test("authentication with a JWT, and a refused token", async () => {
    const peer = await open(server.netron!.addresses[0]!, { auth: { token: signTestJwt({ sub: "user-9" }, SECRET) } });
    const calc = await peer.queryInterface<Calculator>("calculator@1.0.0");
    assert.equal(await calc.whoami(), "user-9");
    await assert.rejects(open(server.netron!.addresses[0]!, { auth: { token: "bad.token.here" } }), /refused the auth token/);
  });
});

describe("discovery: two runtime processes through Redis, one killed", () => {
  let redis: RedisServer;
  const children: ChildProcess[] = [];

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const child of children) child.kill("SIGKILL");
    await redis?.stop();
  });

  /** Starts a runtime in its own process; resolves with its Netron address once registered. */
  function startRuntime(name: string, prefix: string): Promise<string> {
    const host = createRequire(import.meta.url).resolve("@titan/core");
    const script = `
      const { startServer } = await import(${JSON.stringify(pathToFileURL(host).href)});
      const server = await startServer({
        buildDir: ${JSON.stringify(writeBuild())},
        config: { workers: 1, netron: { listen: ["tcp://127.0.0.1:0"], discovery: { redis: ${JSON.stringify(redis.url)}, ttl: 1000, prefix: ${JSON.stringify(prefix)} } } },
        log: (line) => process.stderr.write(line + "\\n"),
      });
      process.stdout.write("READY " + server.netron.addresses[0] + "\\n");
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { env: { ...process.env, TITAN_TEST_INSTANCE: name }, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let stderr = "";
    child.stderr!.on("data", (chunk) => (stderr += chunk));
    return new Promise((resolve, reject) => {
      child.stdout!.on("data", (chunk: Buffer) => {
        const match = /READY (\S+)/.exec(chunk.toString());
        if (match) resolve(match[1]!);
      });
      child.once("exit", (code) => reject(new Error(`runtime ${name} exited with ${code}: ${stderr}`)));
    });
  }

  test("calls spread over both instances; the killed one drops out within the TTL", async () => {
    const prefix = `titan:e2e:${process.pid}`;
    await Promise.all([startRuntime("one", prefix), startRuntime("two", prefix)]);
    const calc = await discover<Calculator>("calculator@^1", { redis: redis.url, prefix, refreshMs: 200 });
    try {
      assert.equal(calc[discovery].instances().length, 2);
      const names = await Promise.all(Array.from({ length: 6 }, () => calc.instance()));
      assert.deepEqual([...new Set(names)].sort(), ["one", "two"]);
      assert.equal(await calc.add(20, 22), 42);

      children[0]!.kill("SIGKILL");
      // Within the TTL (1 s) plus a refresh, every call lands on the survivor.
      const deadline = Date.now() + 5000;
      let survivors: string[] = [];
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        survivors = await Promise.all(Array.from({ length: 4 }, () => calc.instance().catch(() => "failed")));
        if (survivors.every((name) => name === "two") && calc[discovery].instances().length === 1) break;
      }
      assert.deepEqual(survivors, ["two", "two", "two", "two"]);
      assert.equal(calc[discovery].instances().length, 1);
    } finally {
      await calc.close();
    }
  });
});
