// The Netron client against the test server over real sockets, once per transport (tcp, unix, ws,
// and tls/wss with certificates made by openssl): calls, streams, errors, events, auth, ping, close.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { connect, NetronClientError, RemoteStream, TitanError, type Peer, type RemoteOf } from "./index.js";
import { generateTlsFiles } from "../../../core-runtime/js/netron/testing/tls-certs.js";
import { calculatorService } from "./testing/calculator.js";
import { TestNetronServer, type TestServerOptions } from "./testing/server.js";

type Calculator = RemoteOf<typeof calculatorService>;

/** The behaviour every transport must show. */
function transportSuite(name: string, serverOptions: () => TestServerOptions, connectOptions: () => Parameters<typeof connect>[1] = () => ({})) {
  describe(`over ${name}`, () => {
    let server: TestNetronServer;
    let peer: Peer;
    let calc: Calculator;

    before(async () => {
      server = await TestNetronServer.start(serverOptions());
      peer = await connect(server.address, connectOptions());
      calc = await peer.queryInterface(calculatorService);
    });
    after(async () => {
      await peer?.close();
      await server?.stop();
    });

    test("the handshake exchanges ids: the server learns the client's, the client the server's", async () => {
      assert.equal(peer.serverId, server.serverId);
      await server.waitForLog((entry) => entry === `connect ${peer.id}`);
      assert.equal(peer.state, "open");
    });

    test("a typed proxy calls a method and resolves with its answer", async () => {
      assert.equal(await calc.add(2, 3), 5);
      assert.deepEqual(await calc.echo({ nested: [1, "two", null], big: 2n ** 70n, when: new Date(0) }), { nested: [1, "two", null], big: 2n ** 70n, when: new Date(0) });
    });

    test("a generator method is consumed with for await, without awaiting the call first", async () => {
      const items: number[] = [];
      for await (const item of calc.count(5)) items.push(item);
      assert.deepEqual(items, [1, 2, 3, 4, 5]);
    });

    test("awaiting a generator method gives the RemoteStream, iterable once", async () => {
      const stream = await calc.count(3);
      assert.ok(stream instanceof RemoteStream);
      const items: number[] = [];
      for await (const item of stream) items.push(item);
      assert.deepEqual(items, [1, 2, 3]);
      assert.throws(() => stream[Symbol.asyncIterator](), /already being iterated: a remote stream has one consumer/);
    });

    test("an array answer is awaitable and iterable", async () => {
      assert.deepEqual(await calc.range(3), [0, 1, 2]);
      const items: number[] = [];
      for await (const item of calc.range(3)) items.push(item);
      assert.deepEqual(items, [0, 1, 2]);
    });

    test("a server error rejects with the decoded TitanError: code, message and details kept", async () => {
      await assert.rejects(calc.fail(), (error: TitanError) => {
        assert.ok(error instanceof TitanError);
        assert.equal(error.code, 500);
        assert.equal(error.message, "calculator.fail always fails");
        assert.deepEqual(error.details, { hint: "by design" });
        return true;
      });
    });

    test("a contract violation is a 422 whose details.issues say which argument", async () => {
      // @ts-expect-error the wrong type on purpose: the server's contract refuses it
      const call = calc.add("2", 3);
      await assert.rejects(call, (error: TitanError) => {
        assert.equal(error.code, 422);
        const issues = (error.details as { issues: { path: number[]; expected: string }[] }).issues;
        assert.deepEqual(issues.map((issue) => [issue.path, issue.expected]), [[[0], "number"]]);
        return true;
      });
    });

    test("an unknown service is a 404 from queryInterface", async () => {
      await assert.rejects(peer.queryInterface("nope@1.0.0"), (error: TitanError) => error.code === 404 && /Service 'nope@1.0.0' not found/.test(error.message));
    });

    test("an unknown method is refused with the list of the service's methods", async () => {
      const untyped = await peer.queryInterface("calculator");
      await assert.rejects(untyped.ad!(1, 2), (error: TitanError) => error.code === 404 && /has no method "ad"; its methods are add, count/.test(error.message));
    });

    test("peer.call reaches a method by service name", async () => {
      assert.equal(await peer.call("calculator@1.0.0", "add", 40, 2), 42);
      assert.equal(await peer.call("calculator", "add", 1, 1), 2);
    });

    test("server events reach subscribed handlers until unsubscribed; each emit is answered", async () => {
      const seen: unknown[][] = [];
      const handler = (...args: unknown[]) => void seen.push(args);
      await peer.subscribe("tick", handler);
      await server.waitForLog((entry) => entry === "task subscribe tick");
      assert.equal(await server.emit("tick", 1, { at: "noon" }), 1, "the client acknowledged the emit request");
      assert.deepEqual(seen, [[1, { at: "noon" }]]);
      await peer.unsubscribe("tick", handler);
      await server.waitForLog((entry) => entry === "task unsubscribe tick");
      assert.equal(await server.emit("tick", 2), 0);
      assert.deepEqual(seen, [[1, { at: "noon" }]]);
    });

    test("authenticate: a wrong token is refused, the right one gives the context the service sees", async () => {
      const secure = await peer.queryInterface("secure@1.0.0");
      await assert.rejects(secure.whoami!(), (error: TitanError) => error.code === 401);
      assert.deepEqual(await peer.authenticate({ token: "wrong" }), { success: false, error: "invalid token" });
      const result = await peer.authenticate({ token: "secret-token" });
      assert.equal(result.success, true);
      assert.equal(result.context?.userId, "user-1");
      assert.deepEqual(await secure.whoami!(), { userId: "user-1", roles: ["admin"], sub: "user-1" });
    });

    test("ping measures a round trip", async () => {
      const rtt = await peer.ping();
      assert.ok(rtt >= 0 && rtt < 5000, `round trip ${rtt} ms`);
    });
  });
}

transportSuite("tcp", () => ({ transport: "tcp" }));
transportSuite("unix", () => ({ transport: "unix" }));
transportSuite("ws", () => ({ transport: "ws" }));

/** The generated certificates as PEM text. */
let certs: { ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string; otherCa: string };
describe("with certificates", () => {
  before(async () => {
    const files = await generateTlsFiles();
    const read = (file: string) => readFileSync(file, "utf8");
    certs = { ca: read(files.ca), serverCert: read(files.serverCert), serverKey: read(files.serverKey), clientCert: read(files.clientCert), clientKey: read(files.clientKey), otherCa: read(files.otherCa) };
    files.remove();
  });

  transportSuite(
    "tls (TLS 1.3)",
    () => ({ transport: "tls", tls: { cert: certs.serverCert, key: certs.serverKey } }),
    () => ({ tls: { ca: certs.ca } }),
  );
  transportSuite(
    "wss",
    () => ({ transport: "wss", tls: { cert: certs.serverCert, key: certs.serverKey } }),
    () => ({ tls: { ca: certs.ca } }),
  );

  test("tls: a server certificate from an unknown CA is refused with what to pass", async () => {
    const server = await TestNetronServer.start({ transport: "tls", tls: { cert: certs.serverCert, key: certs.serverKey } });
    try {
      await assert.rejects(connect(server.address, { tls: { ca: certs.otherCa } }), (error: NetronClientError) => {
        assert.equal(error.reason, "connection-failed");
        assert.match(error.message, new RegExp(`could not connect to ${server.address}: the TLS handshake failed .*Pass the CA that signed the server's certificate as tls.ca`));
        return true;
      });
    } finally {
      await server.stop();
    }
  });

  test("tls: mutual TLS passes the client certificate through; without it the server refuses", async () => {
    const server = await TestNetronServer.start({ transport: "tls", tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca, requestCert: true } });
    try {
      const peer = await connect(server.address, { tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } });
      assert.equal(await peer.call("calculator", "add", 1, 2), 3);
      await peer.close();
      // TLS 1.3 checks the client certificate after the client's handshake is done: the refusal
      // shows as the server closing the connection before Netron's id message.
      await assert.rejects(connect(server.address, { tls: { ca: certs.ca }, reconnect: false }), (error: NetronClientError) => {
        assert.ok(["connection-failed", "handshake-failed"].includes(error.reason), error.message);
        return true;
      });
    } finally {
      await server.stop();
    }
  });
});

describe("closing", () => {
  test("close() rejects calls in flight and later calls with a 503 'closed' error, and emits close", async () => {
    const server = await TestNetronServer.start({ transport: "tcp" });
    try {
      const peer = await connect(server.address);
      const calc = await peer.queryInterface(calculatorService);
      const closed = new Promise<unknown[]>((resolve) => peer.once("close", (...args) => resolve(args)));
      const inFlight = calc.slow(2000, "late");
      await server.waitForLog((entry) => entry === "call calculator@1.0.0.slow");
      const isClosed = (error: NetronClientError) => error.code === 503 && error.reason === "closed" && /was closed by the client \(peer.close\(\)\)/.test(error.message);
      const inFlightRejected = assert.rejects(inFlight, isClosed);
      await peer.close();
      await inFlightRejected;
      await assert.rejects(calc.add(1, 2), isClosed);
      assert.deepEqual(await closed, [], "a close asked for carries no error");
      assert.equal(peer.state, "closed");
      await peer.close();
    } finally {
      await server.stop();
    }
  });
});
