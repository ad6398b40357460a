import { test } from "node:test";
import assert from "node:assert/strict";
import { clock32, elapsed32 } from "./clock.js";

test("elapsed time is right across the int32 wrap (a server up for weeks)", () => {
  const epoch = 0;
  const day = 86_400_000;
  for (const uptime of [0, 5, 24 * day, 2 ** 31 - 10, 2 ** 31 + 10, 2 ** 32 - 3, 2 ** 32 + 7, 60 * day]) {
    const started = clock32(epoch, uptime);
    assert.notEqual(started, 0, "a stamp is never the idle marker");
    const elapsed = elapsed32(clock32(epoch, uptime + 1500), started);
    // A stamp that would be 0 (idle) is written as 1, so it can read 1 ms short; never more.
    assert.ok(elapsed === 1500 || elapsed === 1499, `after ${uptime} ms of uptime: ${elapsed}`);
  }
});
