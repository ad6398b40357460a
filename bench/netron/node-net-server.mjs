// Server B for `npm run bench:netron`, the reference: a plain Node `net` server that speaks just
// enough Netron to be called. It sends the `{"type":"id",...}` handshake, ignores the client's id,
// and answers every CALL frame with one pre-encoded response (`1`, impulse 0) whose 4 id bytes are
// patched in: no msgpack work per call. What Titan does beyond this is the price of its service
// dispatch (decode, registry, the method, encode) and of its I/O loop.
//
// Usage: node bench/netron/node-net-server.mjs
// Prints `listening on tcp://127.0.0.1:PORT` once it accepts connections.

import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const codec = await import(pathToFileURL(join(ROOT, "core-runtime/dist/netron/codec.js")).href).catch((error) => {
  console.error(`node-net-server: cannot load the Netron codec (${error.message}): run \`npm run build\` at the repo root.`);
  process.exit(2);
});
const { FrameDecoder, PacketType, encodeFrame, encodeHandshake, encodePacket, requestPacket, responseTo } = codec;

const HELLO = Buffer.from(encodeFrame(encodeHandshake({ type: "id", id: randomUUID() })));
// The answer to any CALL, framed; bytes 4..8 (after the length prefix) are the packet id.
const ANSWER = Buffer.from(encodeFrame(encodePacket(responseTo(requestPacket(0, PacketType.CALL, null), 1))));
const ID_OFFSET = 4;
const CALL_REQUEST_FLAGS = PacketType.CALL | 0x40; // type CALL, impulse 1

const server = createServer((socket) => {
  socket.setNoDelay(true);
  socket.write(HELLO);
  const decoder = new FrameDecoder();
  let handshakeDone = false;
  socket.on("data", (chunk) => {
    let frames;
    try {
      frames = decoder.push(chunk);
    } catch {
      socket.destroy(); // oversized frame: Netron closes the connection
      return;
    }
    // All the answers to one chunk go out in one write, as a pipelining server would.
    const out = Buffer.allocUnsafe(frames.length * ANSWER.length);
    let length = 0;
    for (const frame of frames) {
      if (!handshakeDone) {
        handshakeDone = true; // the client-id frame
        continue;
      }
      if (frame.length < 5 || (frame[4] & 0xcf) !== CALL_REQUEST_FLAGS) continue; // only CALL requests
      ANSWER.copy(out, length);
      out[length + ID_OFFSET] = frame[0];
      out[length + ID_OFFSET + 1] = frame[1];
      out[length + ID_OFFSET + 2] = frame[2];
      out[length + ID_OFFSET + 3] = frame[3];
      length += ANSWER.length;
    }
    if (length > 0) socket.write(length === out.length ? out : out.subarray(0, length));
  });
  socket.on("error", () => {});
});

server.listen(0, "127.0.0.1", () => {
  console.log(`listening on tcp://127.0.0.1:${server.address().port}`);
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}
