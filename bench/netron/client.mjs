// The one client of `npm run bench:netron`, run in its own process against either server: a raw
// Netron peer on one tcp connection that does the handshake, checks one call answers 1, then keeps
// `--inflight` CALL packets `["bench@1.0.0", "noop"]` in flight (a new one for every answer) for a
// warm-up and a measured window. Per call it only patches the packet id into a pre-encoded request
// and reads the answer's id and flags, so it measures the server, not msgpack in the client.
//
// Usage: node bench/netron/client.mjs --address tcp://HOST:PORT [--inflight 16] [--warmup 1] [--duration 5]
// Prints two JSON lines on stdout: {"event":"measuring"} when the measured window opens, then
// { event: "result", calls, callsPerSec, latencyUs: { p50, p90, p99, max }, errors, clientCpuCores, ... }.

import { connect } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const { FrameDecoder, PacketType, decodePacket, encodeFrame, encodeHandshake, encodePacket, parseHandshake, requestPacket } =
  await import(pathToFileURL(join(ROOT, "core-runtime/dist/netron/codec.js")).href);

const SERVICE = "bench@1.0.0";
const METHOD = "noop";
const EXPECTED = 1;
const CONNECT_TIMEOUT_MS = 10_000;
/** How long the in-flight calls may take to come back once the measured window has closed. */
const DRAIN_TIMEOUT_MS = 10_000;

const fail = (message) => {
  process.stderr.write(`client: ${message}\n`);
  process.exit(1);
};

const { values } = parseArgs({
  options: {
    address: { type: "string" },
    inflight: { type: "string", default: "16" },
    warmup: { type: "string", default: "1" },
    duration: { type: "string", default: "5" },
  },
});
const match = /^tcp:\/\/(.+):(\d+)$/.exec(values.address ?? "");
if (!match) fail(`--address must be tcp://HOST:PORT, got ${JSON.stringify(values.address)}`);
const host = match[1].replace(/^\[(.*)\]$/, "$1");
const port = Number(match[2]);
const inflight = Number(values.inflight);
const warmupMs = Number(values.warmup) * 1000;
const durationMs = Number(values.duration) * 1000;
if (!Number.isInteger(inflight) || inflight < 1) fail(`--inflight must be an integer ≥ 1, got ${JSON.stringify(values.inflight)}`);
if (!(warmupMs >= 0) || !(durationMs > 0)) fail(`--warmup must be ≥ 0 and --duration > 0 seconds, got ${values.warmup} and ${values.duration}`);

// One CALL frame; bytes 4..8 (after the length prefix) are the packet id, patched per call.
const CALL = Buffer.from(encodeFrame(encodePacket(requestPacket(0, PacketType.CALL, [SERVICE, METHOD]))));
const ID_OFFSET = 4;
const RESPONSE_FLAGS = PacketType.CALL; // impulse 0, no error
const IDS = 1 << 16; // ids cycle through a window far larger than any in-flight count

const socket = connect({ host, port, noDelay: true });
socket.on("error", (error) => fail(`connection to ${values.address} failed: ${error.message}`));
socket.on("close", () => {
  if (phase !== "done") fail(`the server closed the connection (${phase}); see its output`);
});
const connectTimer = setTimeout(() => fail(`no handshake from ${values.address} within ${CONNECT_TIMEOUT_MS / 1000}s`), CONNECT_TIMEOUT_MS);

const decoder = new FrameDecoder();
/** When each in-flight call (by id % IDS) was sent, in performance.now() ms. */
const sentAt = new Float64Array(IDS);
let nextId = 1;
let phase = "handshake"; // → "check" → "warmup" → "measure" → "drain" → "done"
let latencies = new Float64Array(1 << 16);
let samples = 0;
let calls = 0;
let errors = 0;
let outstanding = 0;
let measureStart = 0;
let measureEnd = 0;
let cpuAtStart;

function record(latencyMs) {
  if (samples === latencies.length) {
    const grown = new Float64Array(latencies.length * 2);
    grown.set(latencies);
    latencies = grown;
  }
  latencies[samples++] = latencyMs;
}

/** `count` CALL frames with fresh ids, in one buffer (one write). */
function callFrames(count, now) {
  const out = Buffer.allocUnsafe(count * CALL.length);
  for (let i = 0; i < count; i++) {
    const at = i * CALL.length;
    CALL.copy(out, at);
    const id = nextId;
    nextId = (nextId + 1) >>> 0 || 1;
    out.writeUInt32BE(id, at + ID_OFFSET);
    sentAt[id % IDS] = now;
  }
  outstanding += count;
  return out;
}

socket.on("data", (chunk) => {
  let frames;
  try {
    frames = decoder.push(chunk);
  } catch (error) {
    fail(`bad framing from the server: ${error.message}`);
  }
  if (frames.length === 0) return;
  if (phase === "handshake") {
    const hello = parseHandshake(frames.shift());
    if (hello.type !== "id") fail(`the server's first frame is ${JSON.stringify(hello)}, expected {"type":"id",...}`);
    clearTimeout(connectTimer);
    socket.write(encodeFrame(encodeHandshake({ type: "client-id", id: `bench-client-${process.pid}` })));
    phase = "check";
    socket.write(callFrames(1, performance.now()));
  }
  if (frames.length === 0) return;
  if (phase === "check") {
    // The one fully decoded answer: the server must really run the call before it is timed.
    const packet = decodePacket(frames.shift());
    outstanding--;
    if (packet.error || packet.impulse !== 0 || packet.type !== PacketType.CALL || packet.data !== EXPECTED) {
      fail(`${SERVICE}.${METHOD}() answered ${JSON.stringify({ ...packet, data: packet.data instanceof Error ? packet.data.message : packet.data })}, expected ${EXPECTED}`);
    }
    phase = "warmup";
    setTimeout(startMeasuring, warmupMs);
    socket.write(callFrames(inflight, performance.now()));
    return;
  }
  const now = performance.now();
  let answered = 0;
  for (const frame of frames) {
    // Impulse 0 and type CALL: an answer (a request from the server, none expected, is skipped).
    if (frame.length < 5 || (frame[4] & 0x4f) !== RESPONSE_FLAGS) continue;
    if (frame[4] & 0x80) errors++; // an error answer still ends its call
    answered++;
    if (phase === "measure") {
      const id = frame.readUInt32BE(0);
      const started = sentAt[id % IDS];
      // Only calls sent inside the window count, so warm-up calls do not inflate the count.
      if (started >= measureStart) {
        calls++;
        record(now - started);
      }
    }
  }
  outstanding -= answered;
  if (phase === "warmup" || phase === "measure") {
    if (answered > 0) socket.write(callFrames(answered, now));
  } else if (phase === "drain" && outstanding === 0) {
    finish();
  }
});

function startMeasuring() {
  phase = "measure";
  // Tells the bench the window opened, so it samples the server's CPU over the same window.
  process.stdout.write(`${JSON.stringify({ event: "measuring" })}\n`);
  cpuAtStart = process.cpuUsage();
  measureStart = performance.now();
  setTimeout(() => {
    measureEnd = performance.now();
    phase = "drain";
    // Answers to calls sent in the window but received after it still count: their latency is real.
    if (outstanding === 0) finish();
    else setTimeout(() => fail(`${outstanding} calls got no answer within ${DRAIN_TIMEOUT_MS / 1000}s`), DRAIN_TIMEOUT_MS).unref();
  }, durationMs);
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function finish() {
  phase = "done";
  const cpu = process.cpuUsage(cpuAtStart);
  const elapsedMs = measureEnd - measureStart;
  const sorted = latencies.subarray(0, samples).sort();
  const us = (ms) => Math.round(ms * 10_000) / 10;
  const result = {
    event: "result",
    address: values.address,
    inflight,
    durationMs: Math.round(elapsedMs),
    calls,
    callsPerSec: Math.round((calls / elapsedMs) * 1000),
    errors,
    latencyUs: { p50: us(percentile(sorted, 50)), p90: us(percentile(sorted, 90)), p99: us(percentile(sorted, 99)), max: us(sorted[sorted.length - 1] ?? 0) },
    clientCpuCores: Math.round(((cpu.user + cpu.system) / 1000 / elapsedMs) * 100) / 100,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  socket.end();
  socket.destroy();
}
