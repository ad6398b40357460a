import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { locateRedisServer, redisCacheRoot, startRedis } from "./redis.js";

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

/** Runs `body` with environment variables replaced, restoring them afterwards. */
async function withEnv<T>(vars: Record<string, string | undefined>, body: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(vars);
  try {
    return await body();
  } finally {
    apply(saved);
  }
}

test("startRedis runs a real server that stores data, and stop() ends the process and frees the port", async () => {
  const server = await startRedis();
  assert.equal(server.url, `redis://127.0.0.1:${server.port}`);
  const client = new Redis(server.url);
  try {
    assert.equal(await client.set("greeting", "hello"), "OK");
    assert.equal(await client.get("greeting"), "hello");
    // No persistence: a throwaway store that never writes a snapshot.
    assert.deepEqual(await client.config("GET", "save"), ["save", ""]);
    assert.deepEqual(await client.config("GET", "appendonly"), ["appendonly", "no"]);
  } finally {
    client.disconnect();
  }
  assert.ok(isAlive(server.pid));
  await server.stop();
  assert.equal(isAlive(server.pid), false, "the redis-server process is gone");
  assert.ok(await refusesConnections(server.port), "nothing listens on the port any more");
  await server.stop(); // a second stop is harmless
});

test("two servers get their own ports and stores; a server can be restarted on the same port, empty", async () => {
  const first = await startRedis();
  const second = await startRedis();
  try {
    assert.notEqual(first.port, second.port);
    const a = new Redis(first.url);
    const b = new Redis(second.url);
    await a.set("only-in-first", "1");
    assert.equal(await b.exists("only-in-first"), 0);
    a.disconnect();
    b.disconnect();

    await first.stop();
    const again = await startRedis({ port: first.port });
    try {
      assert.equal(again.port, first.port);
      const c = new Redis(again.url);
      assert.equal(await c.exists("only-in-first"), 0, "a restarted server starts empty (no persistence)");
      c.disconnect();
    } finally {
      await again.stop();
    }
  } finally {
    await first.stop();
    await second.stop();
  }
});

test("a port that is taken fails with the server's own reason", async () => {
  const server = await startRedis();
  try {
    await assert.rejects(startRedis({ port: server.port }), /port \d+ is already in use/);
  } finally {
    await server.stop();
  }
});

test("TITAN_REDIS_SERVER pointing at nothing is refused with what to do", async () => {
  await withEnv({ TITAN_REDIS_SERVER: "/nonexistent/redis-server" }, async () => {
    await assert.rejects(locateRedisServer(), /TITAN_REDIS_SERVER=\/nonexistent\/redis-server is not an executable file: point it at a redis-server binary, or unset it/);
  });
});

test("without redis-server and without apt-get the error says how to install it", async () => {
  const emptyCache = mkdtempSync(join(tmpdir(), "titan-redis-cache-"));
  const emptyBin = mkdtempSync(join(tmpdir(), "titan-empty-bin-"));
  try {
    await withEnv({ XDG_CACHE_HOME: emptyCache, PATH: emptyBin }, async () => {
      await assert.rejects(
        locateRedisServer({ preferInstalled: false, log: () => {} }),
        /redis-server is not on PATH, and apt-get is not available.*sudo apt-get install redis-server/,
      );
    });
  } finally {
    rmSync(emptyCache, { recursive: true, force: true });
    rmSync(emptyBin, { recursive: true, force: true });
  }
});

const hasApt = spawnSync("apt-cache", ["policy", "redis-server"], { encoding: "utf8" }).stdout?.includes("Candidate: ") ?? false;

test("Debian's redis-server is fetched into the cache without root, with progress, and reused from the cache", { skip: !hasApt && "apt-get or its package lists are not available here" }, async () => {
  const cache = mkdtempSync(join(tmpdir(), "titan-redis-cache-"));
  try {
    await withEnv({ XDG_CACHE_HOME: cache }, async () => {
      const lines: string[] = [];
      const fetched = await locateRedisServer({ preferInstalled: false, log: (line) => lines.push(line) });
      assert.equal(fetched.source, "fetched");
      assert.ok(fetched.serverPath.startsWith(redisCacheRoot()), `${fetched.serverPath} is inside the cache`);
      assert.match(lines.join("\n"), /fetching Debian's redis-server/);
      assert.match(lines.join("\n"), /Get:\d+ .*redis-tools/, "apt-get's download lines are shown as progress");
      assert.match(lines.at(-1) ?? "", /redis-server \d+\.\d+\.\d+ ready in \d+ ms/);

      // It runs, with the libraries fetched beside it (Debian's build links liblzf and jemalloc).
      const version = spawnSync(fetched.serverPath, ["--version"], { encoding: "utf8", env: { ...process.env, ...fetched.env } });
      assert.equal(version.status, 0, version.stderr);
      assert.match(version.stdout, /Redis server v=\d+\.\d+\.\d+/);
      const manifestFile = join(fetched.serverPath, "../../../..", "titan-redis.json");
      assert.ok(existsSync(manifestFile), "the cache records what it holds");
      assert.match(JSON.parse(readFileSync(manifestFile, "utf8")).debianVersion, /^\d+:\d+\.\d+/);

      const again = await locateRedisServer({ preferInstalled: false, log: (line) => lines.push(`second: ${line}`) });
      assert.equal(again.source, "cache");
      assert.equal(again.serverPath, fetched.serverPath);
      assert.equal(lines.filter((line) => line.startsWith("second:")).length, 0, "a cached binary is used silently");
    });
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
