// Tests for the wrk report parser: `node --test bench/http/`.

import assert from "node:assert/strict";
import { test } from "node:test";
import { parseDuration, parseWrkOutput } from "./wrk.mjs";

const REPORT = `Running 5s test @ http://127.0.0.1:41234/
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   412.33us  301.12us  12.01ms   95.50%
    Req/Sec    61.22k     3.10k   70.01k    99.00%
  Latency Distribution
     50%  355.00us
     75%  480.00us
     90%  612.00us
     99%    1.52ms
  609212 requests in 5.00s, 88.31MB read
Requests/sec: 121842.40
Transfer/sec:     17.66MB
`;

test("reads requests/s, percentiles and totals", () => {
  const r = parseWrkOutput(REPORT);
  assert.equal(r.requestsPerSec, 121842.4);
  assert.equal(r.latencyMs.p50, 0.355);
  assert.equal(r.latencyMs.p99, 1.52);
  assert.equal(r.requests, 609212);
  assert.equal(r.durationMs, 5000);
  assert.deepEqual(r.errors, { connect: 0, read: 0, write: 0, timeout: 0, non2xx: 0 });
});

test("ignores the Thread Stats percentages and reads error lines", () => {
  const report = REPORT.replace("     99%    1.52ms", "     99%    2.10s")
    .replace("Requests/sec:", "  Socket errors: connect 0, read 12, write 0, timeout 3\n  Non-2xx or 3xx responses: 7\nRequests/sec:");
  const r = parseWrkOutput(report);
  assert.equal(r.latencyMs.p99, 2100);
  assert.deepEqual(r.errors, { connect: 0, read: 12, write: 0, timeout: 3, non2xx: 7 });
});

test("accepts wrk's metric suffixes on the request total", () => {
  assert.equal(parseWrkOutput(REPORT.replace("609212 requests", "1.20M requests")).requests, 1.2e6);
});

test("converts every wrk time unit to milliseconds", () => {
  assert.equal(parseDuration("250.00us"), 0.25);
  assert.equal(parseDuration("3ms"), 3);
  assert.equal(parseDuration("1.50s"), 1500);
  assert.equal(parseDuration("2.00m"), 120000);
  assert.equal(parseDuration("1h"), 3600000);
  assert.throws(() => parseDuration("12 parsecs"));
});

test("says what is missing, quoting the report", () => {
  assert.throws(() => parseWrkOutput(REPORT.replace(/Requests\/sec:.*\n/, "")), /no "Requests\/sec:" line[\s\S]*Running 5s test/);
  assert.throws(() => parseWrkOutput(REPORT.replace(/ {5}99%.*\n/, "")), /no 99% latency line/);
  assert.throws(() => parseWrkOutput(REPORT.replace("  Latency Distribution\n", "")), /no "Latency Distribution" line/);
});
