// Smoke test for `npm run bench:netron`: runs the real bench (both servers, the client, real tcp)
// in a tiny configuration so CI keeps it working. No timing assertions: only that it runs, its
// JSON parses, and both servers really answered calls.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../..");

function bench(...args) {
  return spawnSync(process.execPath, [join(HERE, "run.mjs"), ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
}

test("runs both servers with the same client and reports calls, latency and the ratio", () => {
  const run = bench("--duration", "0.3", "--warmup", "0.1", "--rounds", "1", "--inflight", "1,4", "--json");
  assert.equal(run.status, 0, `bench:netron failed:\n${run.stderr}`);
  const result = JSON.parse(run.stdout);
  assert.equal(result.benchmark, "netron");
  assert.deepEqual(Object.keys(result.servers).sort(), ["node-net", "titan-w1"]);
  assert.match(result.servers["titan-w1"].address, /^tcp:\/\/127\.0\.0\.1:\d+$/);
  for (const inflight of ["1", "4"]) {
    for (const server of ["titan-w1", "node-net"]) {
      const s = result.summary[inflight][server];
      assert.ok(s.calls > 0, `${server} answered no calls at in-flight ${inflight}`);
      assert.equal(s.errors, 0, `${server} answered errors at in-flight ${inflight}`);
      assert.ok(s.callsPerSec > 0 && s.p50Us > 0 && s.p99Us >= s.p50Us, JSON.stringify(s));
      assert.equal(typeof s.serverCpuUsPerCall, "number");
    }
    assert.ok(result.ratios[inflight]["titan-w1"].callsPerSec > 0);
  }
  assert.equal(result.runs.length, 4);
  // Progress goes to stderr, so stdout stays pure JSON.
  assert.match(run.stderr, /round 1 {2}in-flight 4 +Titan \(1 worker\)/);
});

test("bad options say what is wrong and what to pass", () => {
  const zero = bench("--inflight", "1,0");
  assert.equal(zero.status, 1);
  assert.match(zero.stderr, /--inflight takes integers ≥ 1, got "0" \(e\.g\. --inflight 1,16\)/);
  const duration = bench("--duration", "soon");
  assert.equal(duration.status, 1);
  assert.match(duration.stderr, /--duration takes seconds > 0, got "soon"/);
  const unknown = bench("--connections", "5");
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /Unknown option '--connections'[\s\S]*usage: npm run bench:netron/);
});
