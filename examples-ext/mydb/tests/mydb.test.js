// t.mydb in a real worker isolate, through the harness: the natives, the JS entry's
// transaction(fn), persistence across a restart (a new isolate, the library loaded anew), and
// errors as actions see them.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadExtension } from "titan/harness";

const extDir = new URL("..", import.meta.url);
// The store's directory, given both as the harness's app data dir and as the extension's
// The harness passes dataDir to the runtime, which hands it to mydb in its host table.
const dataDir = mkdtempSync(path.join(tmpdir(), "titan-mydb-test-"));
const ext = await loadExtension(extDir, { dataDir });
after(async () => {
  await ext.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test("the store is a file in the app data dir", () => {
  assert.equal(ext.namespace, "mydb");
  assert.ok(existsSync(path.join(dataDir, "mydb.sqlite")));
});

test("set, get, delete", () => {
  assert.equal(ext.call("get", "user:1"), null);
  assert.equal(ext.call("set", "user:1", JSON.stringify({ name: "Ada" })), null);
  assert.deepEqual(JSON.parse(ext.call("get", "user:1")), { name: "Ada" });
  ext.call("set", "user:1", "replaced");
  assert.equal(ext.call("get", "user:1"), "replaced");
  assert.equal(ext.call("delete", "user:1"), true);
  assert.equal(ext.call("delete", "user:1"), false);
  assert.equal(ext.call("get", "user:1"), null);
});

test("scan returns { key, value } in key order, prefixes literal, limit applied", () => {
  for (const key of ["s:b", "s:a", "s:c", "s%x", "s_y", "S:a"]) ext.call("set", key, `v-${key}`);
  assert.deepEqual(ext.call("scan", "s:"), [
    { key: "s:a", value: "v-s:a" },
    { key: "s:b", value: "v-s:b" },
    { key: "s:c", value: "v-s:c" },
  ]);
  assert.deepEqual(ext.call("scan", "s:", 2).map((e) => e.key), ["s:a", "s:b"]);
  assert.deepEqual(ext.call("scan", "s%").map((e) => e.key), ["s%x"]);
  assert.deepEqual(ext.call("scan", "s_").map((e) => e.key), ["s_y"]);
  assert.deepEqual(ext.call("scan", "nothing"), []);
});

test("transaction commits everything fn wrote and returns its result", () => {
  const result = ext.eval(`t.mydb.transaction(() => { t.mydb.set("tx:a", "1"); t.mydb.set("tx:b", "2"); return "done"; })`);
  assert.equal(result, "done");
  assert.deepEqual(ext.call("scan", "tx:").map((e) => e.value), ["1", "2"]);
});

test("transaction writes nothing when fn throws, and rethrows", () => {
  const message = ext.eval(`
    t.mydb.set("tx:keep", "before");
    let caught;
    try {
      t.mydb.transaction(() => {
        t.mydb.set("tx:keep", "overwritten");
        t.mydb.set("tx:new", "x");
        throw new Error("validation failed");
      });
    } catch (err) {
      caught = err.message;
    }
    caught;
  `);
  assert.equal(message, "validation failed");
  assert.equal(ext.call("get", "tx:keep"), "before");
  assert.equal(ext.call("get", "tx:new"), null);
});

test("a nested transaction joins the outer one; its throw undoes only its own writes", () => {
  ext.eval(`
    t.mydb.transaction(() => {
      t.mydb.set("nest:outer", "1");
      t.mydb.transaction(() => t.mydb.set("nest:inner", "1"));
      try {
        t.mydb.transaction(() => { t.mydb.set("nest:undone", "1"); throw new Error("inner"); });
      } catch {}
    });
  `);
  assert.deepEqual(ext.call("scan", "nest:").map((e) => e.key), ["nest:inner", "nest:outer"]);

  assert.throws(
    () => ext.eval(`t.mydb.transaction(() => { t.mydb.transaction(() => t.mydb.set("nest:lost", "1")); throw new Error("outer failed"); })`),
    /outer failed/,
  );
  assert.equal(ext.call("get", "nest:lost"), null, "the outer rollback undoes what the nested one committed into it");
});

test("an async function is refused and nothing is written", () => {
  assert.throws(
    () => ext.eval(`t.mydb.transaction(async () => { t.mydb.set("async:x", "1"); })`),
    /mydb\.transaction: the function returned a Promise; transactions are synchronous/,
  );
  assert.equal(ext.call("get", "async:x"), null);
});

test("begin/commit/rollback work as separate calls on the worker's connection", () => {
  ext.call("begin");
  ext.call("set", "manual:x", "1");
  ext.call("rollback");
  assert.equal(ext.call("get", "manual:x"), null);
  assert.throws(() => ext.call("commit"), { message: "mydb.commit: no transaction is open; call begin() first, or use transaction(fn)" });
});

test("bad arguments are errors that say what is wrong and what to do", () => {
  assert.throws(() => ext.call("get", 42), { message: "mydb.get: argument `key` must be a string, got a number" });
  assert.throws(() => ext.call("set", "k", { a: 1 }), /mydb\.set: the value must be a string, got an object; store JSON\.stringify\(value\)/);
  assert.throws(() => ext.call("scan", "", -1), /mydb\.scan: argument `limit` must be an integer from 0 to 4294967295, got -1/);
  assert.throws(() => ext.eval(`t.mydb.transaction("not a function")`), /mydb\.transaction: expects a function, got a string/);
});

test("data survives a restart (unload, a fresh isolate, init again)", async () => {
  ext.call("set", "persist:me", "still here");
  ext.eval(`t.mydb.transaction(() => t.mydb.set("persist:tx", "committed"))`);
  await ext.restart();
  assert.equal(ext.call("get", "persist:me"), "still here");
  assert.equal(ext.call("get", "persist:tx"), "committed");
});

test("config: a relative `file` lands in the data dir; bad config fails at load, naming the key", async () => {
  const other = await loadExtension(extDir, { build: false, dataDir, config: { file: "custom/other.sqlite" } });
  try {
    other.call("set", "k", "in the other file");
    assert.ok(existsSync(path.join(dataDir, "custom", "other.sqlite")));
    assert.equal(ext.call("get", "k"), null, "a different file is a different store");
  } finally {
    await other.close();
  }

  await assert.rejects(loadExtension(extDir, { build: false, dataDir, config: { fil: "x.sqlite" } }), /mydb config: unknown field `fil`.*it takes `file` \(the store's file, relative to the app data dir\) and `dataDir`/);
  const blocker = path.join(dataDir, "a-file");
  writeFileSync(blocker, "not a directory");
  await assert.rejects(
    loadExtension(extDir, { build: false, dataDir, config: { dataDir: path.join(blocker, "data") } }),
    /cannot create the data directory .*a-file.*point `dataDir`/,
  );
});
