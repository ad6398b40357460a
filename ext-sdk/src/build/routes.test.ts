// Tests of the route DSL's validation: paths, typed params, reply kinds, duplicates, unknown actions.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkRoutePath, replySpecFor, validateRoutes, type RecordedRoute, type RecordedTarget } from "./routes.js";

const route = (method: string, path: unknown, ...targets: RecordedTarget[]): RecordedRoute => ({
  method,
  path,
  at: "app/app.ts:1:1",
  targets,
});
const action = (name: unknown): RecordedTarget => ({ kind: "action", name });

describe("route paths", () => {
  const valid = ["/", "/users", "/users/", "/users/:id", "/a/:id<number>/b/:n<int>", "/files/*rest", "/u/:id<uuid>"];
  for (const path of valid) {
    test(`accepts ${path}`, () => assert.ok("shape" in checkRoutePath(path)));
  }
  const invalid: [string, RegExp][] = [
    ["users", /must start with "\/"/],
    ["/a//b", /empty segment/],
    ["/a/:id<float>", /unknown parameter type <float> for :id; use <number>, <int>, <uuid>/],
    ["/a/:id/b/:id", /uses the parameter name "id" twice/],
    ["/a/*rest/b", /catch-all \*rest must be the last segment/],
    ["/a/:", /":" is not a valid parameter/],
    ["/a/x:id", /a parameter takes the whole segment/],
    ["/a/*rest<int>", /catch-all \*rest cannot have a type/],
  ];
  for (const [path, expected] of invalid) {
    test(`rejects ${path}`, () => {
      const checked = checkRoutePath(path);
      assert.ok("problem" in checked, `expected a problem for ${path}`);
      assert.match(checked.problem, expected);
    });
  }
});

describe("replies", () => {
  test("strings are text, everything else JSON", () => {
    assert.deepEqual(replySpecFor({ kind: "reply", valueType: "string", text: "hi" }), {
      status: 200,
      contentType: "text/plain; charset=utf-8",
      body: "hi",
    });
    for (const [valueType, json] of [["object", `{"ok":true}`], ["number", "42"], ["boolean", "false"], ["null", "null"]]) {
      assert.deepEqual(replySpecFor({ kind: "reply", valueType: valueType!, json: json! }), {
        status: 200,
        contentType: "application/json",
        body: json,
      });
    }
  });
  test("values JSON cannot hold are refused", () => {
    assert.deepEqual(replySpecFor({ kind: "reply", valueType: "undefined" }), {
      problem: ".reply() needs a string, number, boolean, null, object or array, got undefined",
    });
    assert.match(
      (replySpecFor({ kind: "reply", valueType: "bigint", jsonError: "Do not know how to serialize a BigInt" }) as { problem: string }).problem,
      /cannot be sent as JSON: Do not know how to serialize a BigInt/,
    );
  });
});

describe("route table", () => {
  test("valid routes become RouteSpecs; t.start gives the port and message", () => {
    const result = validateRoutes(
      {
        routes: [
          route("get", "/", { kind: "reply", valueType: "object", json: `{"ok":true}` }),
          route("post", "/users/:id<int>", action("updateUser")),
        ],
        start: { port: 4000, message: "ready", at: "app/app.ts:3:1" },
      },
      ["updateUser"],
    );
    assert.deepEqual(result.problems, []);
    assert.deepEqual(result.routes, [
      { method: "GET", path: "/", reply: { status: 200, contentType: "application/json", body: `{"ok":true}` } },
      { method: "POST", path: "/users/:id<int>", action: "updateUser" },
    ]);
    assert.equal(result.startPort, 4000);
    assert.equal(result.startMessage, "ready");
  });

  test("the same method and path twice, or the same shape with other names, is an error naming both places", () => {
    const first = { ...route("get", "/users/:id", action("a")), at: "app/app.ts:1:1" };
    const again = { ...route("get", "/users/:id", action("a")), at: "app/app.ts:2:1" };
    const renamed = { ...route("get", "/users/:uid<int>", action("a")), at: "app/app.ts:3:1" };
    const otherMethod = route("post", "/users/:id", action("a"));
    const { problems, routes } = validateRoutes({ routes: [first, again, renamed, otherMethod], start: null }, ["a"]);
    assert.equal(routes.length, 2);
    assert.deepEqual(problems, [
      { at: "app/app.ts:2:1", message: "route GET /users/:id is declared twice (first at app/app.ts:1:1)" },
      { at: "app/app.ts:3:1", message: "route GET /users/:uid<int> conflicts with GET /users/:id (first at app/app.ts:1:1)" },
    ]);
  });

  test("an unknown action lists the known ones with a suggestion", () => {
    const { problems } = validateRoutes({ routes: [route("get", "/", action("helo"))], start: null }, ["hello", "echo"]);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.message, /uses action "helo", which no file in app\/actions\/ exports — did you mean "hello"\? Known actions: echo, hello/);
  });

  test("routes without or with two targets, bad paths and bad t.start ports are all reported", () => {
    const { problems } = validateRoutes(
      {
        routes: [route("get", "/a"), route("get", "/b", action("x"), action("x")), route("get", 42), route("get", "/c", action(""))],
        start: { port: "80", message: undefined, at: "app/app.ts:9:1" },
      },
      ["x"],
    );
    assert.deepEqual(
      problems.map((p) => p.message),
      [
        "route GET /a has no .action(name) or .reply(value)",
        "route GET /b has more than one .action()/.reply(); keep one",
        "t.get() needs a path string, got number",
        "route GET /c: .action() needs an action name (a string)",
        't.start() port must be an integer from 0 to 65535, got "80"',
      ],
    );
  });
});
