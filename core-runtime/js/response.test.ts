import { test } from "node:test";
import assert from "node:assert/strict";
import { ActionResultError, errorWire, responses, toWire } from "./response.js";
import { TitanRequest, decodeQuery, pairsToFields } from "./request.js";

test("plain values: objects and arrays are JSON, strings text, bytes octets, undefined 204", () => {
  assert.deepEqual(toWire({ a: 1 }, "x"), [200, "application/json", null, '{"a":1}']);
  assert.deepEqual(toWire([1, 2], "x"), [200, "application/json", null, "[1,2]"]);
  assert.deepEqual(toWire(null, "x"), [200, "application/json", null, "null"]);
  assert.deepEqual(toWire(42, "x"), [200, "application/json", null, "42"]);
  assert.deepEqual(toWire("hi", "x"), [200, "text/plain; charset=utf-8", null, "hi"]);
  const bytes = new Uint8Array([1, 2]);
  assert.deepEqual(toWire(bytes, "x"), [200, "application/octet-stream", null, bytes]);
  assert.deepEqual(toWire(undefined, "x"), [204, null, null, null]);
});

test("a Promise or a value JSON cannot hold is refused with the fix", () => {
  assert.throws(() => toWire(Promise.resolve(1), "getUser"), (err: Error) =>
    err instanceof ActionResultError && /action "getUser" returned a Promise/.test(err.message) && /remove `async`/.test(err.message));
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => toWire(cyclic, "loop"), /action "loop" returned a value that is not JSON/);
  assert.throws(() => toWire({ n: 1n }, "big"), /not JSON/);
});

test("t.response builders set status, lower-cased headers and content type", () => {
  const created = responses.json({ id: 1 }, { status: 201, headers: { "X-Trace": "t1" } });
  assert.deepEqual(toWire(created, "x"), [201, null, ["content-type", "application/json", "x-trace", "t1"], '{"id":1}']);
  const overridden = responses.text("a,b", { headers: { "Content-Type": "text/csv" } });
  assert.deepEqual(overridden.headers, { "content-type": "text/csv" });
  assert.equal(responses.html("<b>x</b>").headers["content-type"], "text/html; charset=utf-8");
  const redirect = responses.redirect("/login");
  assert.equal(redirect.status, 302);
  assert.equal(redirect.headers.location, "/login");
  assert.throws(() => responses.redirect("/x", { status: 200 }), /not a redirect/);
});

test("errors share the core's shape", () => {
  const [status, type, , body] = errorWire(400, "bad_json", "nope", "r1");
  assert.equal(status, 400);
  assert.equal(type, "application/json");
  assert.deepEqual(JSON.parse(body as string), { error: { status: 400, code: "bad_json", message: "nope", requestId: "r1" } });
});

test("requests: pairs become fields, repeats become arrays, headers and query are lazy", () => {
  assert.deepEqual(pairsToFields(["a", "1", "b", "2", "a", "3", "a", "4"]), { a: ["1", "3", "4"], b: "2" });
  assert.deepEqual(decodeQuery("q=a+b&x=%E2%9C%93&x=2&flag"), { q: "a b", x: ["✓", "2"], flag: "" });
  assert.deepEqual(decodeQuery(null), {});
  const raw = ["id1", "act", "GET", "/u/7", ["id", 7], "page=2", 0, null, null, null, "host", "h", "accept", "*/*"];
  const req = new TitanRequest(raw, null);
  assert.deepEqual(req.params, { id: 7 });
  assert.deepEqual(req.headers, { host: "h", accept: "*/*" });
  assert.equal(req.headers, req.headers, "decoded once");
  assert.deepEqual(req.query, { page: "2" });
  assert.deepEqual(JSON.parse(JSON.stringify(req)), {
    id: "id1", method: "GET", path: "/u/7", params: { id: 7 }, query: { page: "2" }, headers: { host: "h", accept: "*/*" }, body: null, rawBody: null,
  });
});
