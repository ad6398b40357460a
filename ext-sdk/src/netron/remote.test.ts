// Typed proxies. The type checks are compiled by `tsc -p ext-sdk/tsconfig.test.json` (each
// `@ts-expect-error` line must be an error, or tsc fails); the runtime tests check the proxy itself.

import assert from "node:assert/strict";
import { inspect } from "node:util";
import { after, before, describe, test } from "node:test";
import { connect, RemoteStream, type Peer, type Remote, type RemoteCall, type RemoteOf, type RemoteStreamCall } from "./index.js";
import { calculatorService } from "./testing/calculator.js";
import { TestNetronServer } from "./testing/server.js";

/** Compiles only if A and B are the same type. */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const same = <A, B>(check: Equals<A, B>): Equals<A, B> => check;

type Calculator = RemoteOf<typeof calculatorService>;

/** An interface-typed service: properties that are not methods are left out of the proxy. */
interface Greeter {
  greet(this: { prefix: string }, name: string, times?: number): string;
  names(): Iterable<string>;
  label: string;
}

// Never called: its body is what tsc checks.
export async function typeChecks(calc: Calculator, greeter: Remote<Greeter>, untyped: Remote<unknown>, peer: Peer): Promise<void> {
  same<Calculator["add"], (a: number, b: number) => Promise<number>>(true);
  same<Calculator["count"], (n: number) => RemoteStreamCall<number>>(true);
  same<Calculator["ticks"], (n: number, ms: number) => RemoteStreamCall<number>>(true);
  same<Calculator["slow"], (ms: number, value: string) => Promise<string>>(true);
  same<Calculator["range"], (n: number) => RemoteCall<number[], number>>(true);
  same<Calculator["fail"], () => Promise<never>>(true);
  same<Greeter["greet"] extends (...args: infer A) => unknown ? A : never, [name: string, times?: number]>(true);
  same<Remote<Greeter>["greet"], (name: string, times?: number) => Promise<string>>(true);

  const sum: number = await calc.add(1, 2);
  // @ts-expect-error a string where the method takes a number
  calc.add("1", 2);
  // @ts-expect-error a missing argument
  calc.add(1);
  // @ts-expect-error the service has no such method
  calc.subtract(3, 1);
  // @ts-expect-error the answer is a number, not a string
  const wrong: string = await calc.add(1, 2);

  for await (const item of calc.count(3)) {
    const n: number = item;
    // @ts-expect-error yielded values are numbers
    const s: string = item;
    void [n, s];
  }
  const stream: RemoteStream<number> = await calc.count(3);
  for await (const item of stream) void (item satisfies number);
  // @ts-expect-error an ordinary method's answer is not iterable
  for await (const item of calc.add(1, 2)) void item;
  for await (const item of calc.range(2)) void (item satisfies number);

  const greeting: string = await greeter.greet("ada");
  // @ts-expect-error `label` is not a method, so not on the proxy
  void greeter.label;
  for await (const name of greeter.names()) void (name satisfies string);

  // Untyped proxies take anything and answer anything.
  const anything: string = await untyped.whatever!(1, "two");
  const viaName = await peer.queryInterface("calculator@1.0.0");
  same<typeof viaName, Remote<unknown>>(true);
  const typed = await peer.queryInterface<{ add(a: number, b: number): number }>("calculator@1.0.0");
  same<typeof typed.add, (a: number, b: number) => Promise<number>>(true);
  const fromDefinition = await peer.queryInterface(calculatorService);
  same<typeof fromDefinition, Calculator>(true);
  void [sum, wrong, greeting, anything];
}

describe("the proxy at run time", () => {
  let server: TestNetronServer;
  let peer: Peer;
  before(async () => {
    server = await TestNetronServer.start({ transport: "tcp" });
    peer = await connect(server.address);
  });
  after(async () => {
    await peer.close();
    await server.stop();
  });

  test("a proxy is not a thenable, so awaiting it gives the proxy itself (no call named then)", async () => {
    const calc = await peer.queryInterface(calculatorService);
    assert.equal((calc as unknown as { then?: unknown }).then, undefined);
    server.log.length = 0;
    assert.equal(await calc, calc);
    assert.deepEqual(server.log, []);
  });

  test("a proxy shows its service when inspected, and refuses assignments", async () => {
    const calc = await peer.queryInterface("calculator@1.0.0");
    assert.equal(inspect(calc), "Remote<calculator@1.0.0>");
    assert.equal((calc as unknown as Record<symbol, unknown>)[Symbol.asyncIterator], undefined);
    assert.throws(() => {
      (calc as Record<string, unknown>).add = 1;
    }, /cannot set add on Remote<calculator@1.0.0>: a remote service's methods are called and its properties read, not assigned/);
    assert.equal(calc.add, calc.add, "a method is the same function each time");
  });

  test("the call's promise is a real Promise, and iterable", async () => {
    const calc = await peer.queryInterface(calculatorService);
    const call = calc.count(2);
    assert.ok(call instanceof Promise);
    assert.equal(typeof call[Symbol.asyncIterator], "function");
    const items: number[] = [];
    for await (const item of call) items.push(item);
    assert.deepEqual(items, [1, 2]);
  });

  test("queryInterface takes a definition object and names it name@version", async () => {
    server.log.length = 0;
    await assert.rejects(peer.queryInterface({ name: "calculator", version: "9.9.9", methods: {} }), /Service 'calculator@9.9.9' not found/);
    assert.deepEqual(server.log, ["task query_interface calculator@9.9.9"]);
    await assert.rejects(peer.queryInterface({} as never), /expected a service name \("calculator@1.0.0"\) or a service definition \{ name, version, methods \}/);
  });
});
