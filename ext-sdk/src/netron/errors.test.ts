// The client's own errors, each by its message: bad addresses, refused connections, handshakes
// that never come or are not Netron, timeouts, oversized frames both ways, garbage from the server.

import assert from "node:assert/strict";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { connect, NetronClientError, NetronEncodeError, parseAddress, type Peer, type PeerEvents, type RemoteOf } from "./index.js";
import { calculatorService } from "./testing/calculator.js";
import { TestNetronServer } from "./testing/server.js";
import { encodeFrame, encodePacket, PacketType } from "./codec.js";

type Calculator = RemoteOf<typeof calculatorService>;
const FORMS = /Accepted forms: tcp:\/\/host:port, unix:\/\/\/absolute\/path.sock, ws:\/\/host:port\[\/path\], wss:\/\/host:port\[\/path\], tls:\/\/host:port$/;

describe("addresses", () => {
  test("the accepted forms parse", () => {
    assert.deepEqual(parseAddress("tcp://127.0.0.1:7100"), { kind: "tcp", text: "tcp://127.0.0.1:7100", host: "127.0.0.1", port: 7100 });
    assert.deepEqual(parseAddress("tcp://[::1]:7100"), { kind: "tcp", text: "tcp://[::1]:7100", host: "::1", port: 7100 });
    assert.deepEqual(parseAddress("tls://api.example.com:7443"), { kind: "tls", text: "tls://api.example.com:7443", host: "api.example.com", port: 7443 });
    assert.deepEqual(parseAddress("unix:///run/titan%20app.sock"), { kind: "unix", text: "unix:///run/titan%20app.sock", path: "/run/titan app.sock" });
    assert.deepEqual(parseAddress("ws://localhost:8080/netron"), { kind: "ws", text: "ws://localhost:8080/netron", url: "ws://localhost:8080/netron", secure: false });
    assert.deepEqual(parseAddress("wss://example.com"), { kind: "ws", text: "wss://example.com", url: "wss://example.com/", secure: true });
  });

  for (const [address, reason] of [
    ["", /the address is empty/],
    ["localhost:7100", /unsupported scheme "localhost:"/],
    ["127.0.0.1:7100", /it has no scheme such as tcp:\/\//],
    ["http://localhost:7100", /unsupported scheme "http:"/],
    ["tcp://localhost", /the port is missing: use tcp:\/\/localhost:PORT/],
    ["tcp://localhost:99999", /it does not parse as a URL \(is the port a number from 1 to 65535\?\)/],
    ["tcp://localhost:0", /port 0 means "any free port" when listening/],
    ["tcp://localhost:7100/path", /tcp:\/\/ addresses have no path or query/],
    ["unix://relative/app.sock", /the socket path must be absolute, written with three slashes \(unix:\/\/\/run\/app.sock\); "relative" was read as a host/],
    ["unix:///", /the socket path is missing/],
  ] as const) {
    test(`${JSON.stringify(address)} is refused: the reason, then the accepted forms`, async () => {
      await assert.rejects(connect(address), (error: NetronClientError) => {
        assert.ok(error instanceof NetronClientError);
        assert.equal(error.code, 400);
        assert.equal(error.reason, "bad-address");
        assert.match(error.message, reason);
        assert.match(error.message, FORMS);
        return true;
      });
    });
  }
});

describe("connecting", () => {
  test("nothing listening on a tcp port: refused, with the address and what to check", async () => {
    const port = await freePort();
    await assert.rejects(connect(`tcp://127.0.0.1:${port}`), (error: NetronClientError) => {
      assert.equal(error.code, 503);
      assert.equal(error.reason, "connection-failed");
      assert.equal(
        error.message,
        `could not connect to tcp://127.0.0.1:${port}: connection refused (ECONNREFUSED): nothing accepts connections at 127.0.0.1:${port}. ` +
          `Check that the Titan server is running and that its Netron listen addresses include tcp://127.0.0.1:${port}`,
      );
      return true;
    });
  });

  test("no unix socket file: says which path is missing", async () => {
    const path = join(tmpdir(), "titan-netron-nobody-here.sock");
    await assert.rejects(connect(`unix://${path}`), new RegExp(`could not connect to unix://${path}: there is no socket file at ${path} \\(ENOENT\\)`));
  });

  test("ws on a path no Netron listener is mounted on: says to check the path", async () => {
    const server = await TestNetronServer.start({ transport: "ws", path: "/netron" });
    try {
      const address = server.address.replace("/netron", "/elsewhere");
      await assert.rejects(connect(address), /the server answered the WebSocket upgrade with HTTP 400; check the path in ws:.*\/elsewhere/);
    } finally {
      await server.stop();
    }
  });

  test("a server that never sends the id message: 408 handshake timeout", async () => {
    const server = await TestNetronServer.start({ transport: "tcp", handshake: "none" });
    try {
      await assert.rejects(connect(server.address, { handshakeTimeout: 150 }), (error: NetronClientError) => {
        assert.equal(error.code, 408);
        assert.equal(error.reason, "handshake-timeout");
        assert.match(error.message, /accepted the connection but sent no Netron handshake within 150 ms; check that the address is a Netron endpoint/);
        return true;
      });
    } finally {
      await server.stop();
    }
  });

  test("a first message that is not JSON: not speaking Netron, with the bytes it sent", async () => {
    const server = await TestNetronServer.start({ transport: "unix", handshake: "garbage" });
    try {
      await assert.rejects(connect(server.address), /is not speaking Netron: its first message \(6 bytes, starting deadbeef0001\) is not the JSON id message/);
    } finally {
      await server.stop();
    }
  });

  test("a server that sends a client's handshake is refused", async () => {
    const server = await TestNetronServer.start({ transport: "ws", handshake: "client-id" });
    try {
      await assert.rejects(connect(server.address), /it sent a client's \{"type":"client-id"\} message, so it is a client, not a server/);
    } finally {
      await server.stop();
    }
  });

  test("a server that closes before the handshake (not Netron, or full)", async () => {
    const listener = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    const { port } = listener.address() as net.AddressInfo;
    try {
      await assert.rejects(connect(`tcp://127.0.0.1:${port}`), /closed the connection before the Netron handshake/);
    } finally {
      await new Promise((resolve) => listener.close(resolve));
    }
  });

  test("a wrong auth token fails connect() with a 401", async () => {
    const server = await TestNetronServer.start({ transport: "tcp" });
    try {
      await assert.rejects(connect(server.address, { auth: { token: "nope" } }), (error: NetronClientError) => {
        assert.equal(error.code, 401);
        assert.equal(error.reason, "auth-failed");
        assert.equal(error.message, `${server.address} refused the auth token: invalid token`);
        return true;
      });
    } finally {
      await server.stop();
    }
  });

  test("options are checked", async () => {
    await assert.rejects(connect("tcp://127.0.0.1:1", { timeout: -5 }), /connect\(\): timeout must be a number of milliseconds > 0 \(Infinity for none\), got number -5/);
    await assert.rejects(connect("tcp://127.0.0.1:1", { auth: { token: "" } }), /connect\(\): auth must be \{ token: "<non-empty string>" \}/);
    await assert.rejects(connect("tcp://127.0.0.1:1", { streamBuffer: 0 }), /connect\(\): streamBuffer must be a whole number >= 1, got number 0/);
  });
});

describe("during a session", () => {
  let server: TestNetronServer;
  let peer: Peer;
  let calc: Calculator;
  let impatient: Calculator;
  const errors: Error[] = [];
  before(async () => {
    server = await TestNetronServer.start({ transport: "tcp" });
    peer = await connect(server.address);
    peer.on("error", (error) => void errors.push(error));
    calc = await peer.queryInterface(calculatorService);
    impatient = await peer.queryInterface(calculatorService, { timeout: 100 });
  });
  after(async () => {
    await peer.close();
    await server.stop();
  });

  test("no answer within the timeout: 408 that says the call may still run; the late answer is ignored", async () => {
    await assert.rejects(impatient.slow(300, "late"), (error: NetronClientError) => {
      assert.equal(error.code, 408);
      assert.equal(error.reason, "timeout");
      assert.match(error.message, /^calculator@1.0.0.slow timed out after 100 ms without an answer from tcp:.*; it may still be running on the server/);
      return true;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await calc.add(1, 1), 2);
    assert.equal(await peer.invoke("calculator", "slow", [150, "in time"], { timeout: 1000 }), "in time");
  });

  test("arguments over the frame limit are refused before sending (413); the connection stays", async () => {
    await assert.rejects(calc.echo(new Uint8Array(16 * 1024 * 1024)), (error: NetronClientError) => {
      assert.equal(error.code, 413);
      assert.equal(error.reason, "frame-too-large");
      assert.match(error.message, /calculator@1.0.0.echo was not sent: its arguments encode to 167772\d\d bytes, over the frame limit of 16777216 bytes/);
      return true;
    });
    assert.equal(await calc.add(2, 2), 4);
  });

  test("a value the codec cannot carry is refused with the call's name", async () => {
    await assert.rejects(calc.echo(() => 1), (error: Error) => error instanceof NetronEncodeError && /^cannot send calculator@1.0.0.echo: cannot encode a function/.test(error.message));
  });

  test("an undecodable packet from the server is dropped and reported; the connection stays", async () => {
    errors.length = 0;
    server.sendFrame(new Uint8Array([0, 0, 0, 1, 0x03, 0xc1]));
    server.sendFrame(new Uint8Array([0, 0, 0, 2, 0x0f, 0xc0]));
    assert.equal(await calc.add(3, 4), 7);
    assert.equal(peer.droppedPackets, 2);
    assert.match(errors[0]!.message, /dropped a packet from tcp:.* that does not decode \(1 so far\): invalid msgpack marker 0xc1/);
    assert.match(errors[1]!.message, /\(2 so far\): unknown Netron packet type 15/);
  });
});

describe("oversized frames from the server close the connection", () => {
  for (const transport of ["tcp", "ws"] as const) {
    test(`over ${transport}: the pending call fails saying why, the disconnect event carries a 413`, async () => {
      const server = await TestNetronServer.start({ transport });
      const peer = await connect(server.address, { reconnect: false });
      try {
        const disconnected = new Promise<PeerEvents["disconnect"][0]>((resolve) => peer.once("disconnect", resolve));
        let call: Promise<unknown>;
        if (transport === "tcp") {
          call = peer.call("calculator", "slow", 2000, "x");
          await server.waitForLog((entry) => entry.endsWith(".slow"));
          // A length prefix of 17 MiB: refused as soon as the prefix arrives.
          server.sendRaw(new Uint8Array([0x01, 0x10, 0x00, 0x00]));
        } else {
          call = peer.call("calculator", "big", 17 * 1024 * 1024);
        }
        await assert.rejects(call, (error: NetronClientError) => {
          assert.equal(error.reason, "connection-lost");
          assert.match(error.message, /sent a frame over the size limit, so the connection was closed/);
          assert.match(error.message, /may or may not have run on the server/);
          return true;
        });
        const { error, willReconnect } = await disconnected;
        assert.equal(error.code, 413);
        assert.equal(error.reason, "frame-too-large");
        assert.equal(willReconnect, false);
        if (transport === "tcp") assert.match(error.message, /Netron frame of 17825792 bytes .* exceeds the limit of 16777216 bytes/);
        else assert.match(error.message, /Max payload size exceeded/);
      } finally {
        await peer.close();
        await server.stop();
      }
    });
  }

  test("frames that arrived before an oversized one in the same read are still delivered", async () => {
    const server = await TestNetronServer.start({ transport: "tcp" });
    const peer = await connect(server.address, { reconnect: false });
    try {
      const events: unknown[] = [];
      await peer.subscribe("tick", (value) => events.push(value));
      const disconnected = new Promise<PeerEvents["disconnect"][0]>((resolve) => peer.once("disconnect", resolve));
      const emit = encodePacket({ id: 77, type: PacketType.TASK, impulse: 1, error: false, eos: false, live: false, data: ["emit", "tick", { n: 1 }] });
      server.sendRaw(Buffer.concat([encodeFrame(emit), Uint8Array.from([0x01, 0x10, 0x00, 0x00])]));
      const { error } = await disconnected;
      assert.equal(error.reason, "frame-too-large");
      assert.deepEqual(events, [{ n: 1 }], "the event before the bad prefix reached its handler");
    } finally {
      await peer.close();
      await server.stop();
    }
  });

  test("a peer with a lower maxFrameLength refuses frames over it", async () => {
    const server = await TestNetronServer.start({ transport: "unix" });
    const peer = await connect(server.address, { maxFrameLength: 1024, reconnect: false });
    try {
      assert.equal(await peer.call("calculator", "echo", "small"), "small");
      await assert.rejects(peer.call("calculator", "big", 2048), /exceeds the limit of 1024 bytes/);
    } finally {
      await peer.close();
      await server.stop();
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
