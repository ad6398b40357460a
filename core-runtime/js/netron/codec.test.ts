// Tests of the TypeScript Netron codec: every byte string Netron's own encoder produced decodes to the
// described value and encodes back to the same bytes; bad input fails with a message that says where.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import {
  decodePacket,
  decodeValue,
  Definition,
  encodeFrame,
  encodeHandshake,
  encodePacket,
  encodeValue,
  errorResponseTo,
  FrameBatch,
  FrameDecoder,
  isJsonText,
  Long,
  NetronDecodeError,
  NetronEncodeError,
  type Packet,
  type PacketTypeId,
  PacketType,
  parseHandshake,
  RawExt,
  Reference,
  requestPacket,
  responseTo,
  StreamReference,
  TitanError,
} from "./codec.js";

// The same file the Rust crate tests against (a copy of shared/netron/wire-vectors.json).
const vectorsPath = new URL("../../crates/titan-netron/tests/wire-vectors.json", import.meta.url);
interface Vector {
  name: string;
  kind: "value" | "packet";
  hex: string;
  value?: unknown;
  id?: number;
  flags?: number;
  type?: number;
  impulse?: number;
  error?: number;
  eos?: boolean;
  streamId?: number;
  streamIndex?: number;
  data?: unknown;
}
const vectors = (JSON.parse(readFileSync(vectorsPath, "utf8")) as { vectors: Vector[] }).vectors;

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replace(/\s+/g, ""), "hex"));

/** The vectors' tagged JSON (`{"$date": ms}`, ...) → the JS value it describes. */
function fromTagged(json: unknown): unknown {
  if (Array.isArray(json)) return json.map(fromTagged);
  if (json === null || typeof json !== "object") return json;
  const entries = Object.entries(json);
  const [tag, inner] = entries[0] ?? [];
  if (entries.length === 1 && tag?.startsWith("$")) {
    const fields = inner as Record<string, unknown>;
    switch (tag) {
      case "$undefined":
        return undefined;
      case "$bigint":
        return BigInt(inner as string);
      case "$date":
        return new Date(inner as number);
      case "$map":
        return new Map((inner as [unknown, unknown][]).map(([k, v]) => [fromTagged(k), fromTagged(v)]));
      case "$set":
        return new Set((inner as unknown[]).map(fromTagged));
      case "$bytes":
        return bytes(inner as string);
      case "$reference":
        return new Reference(fields.defId as string);
      case "$definition":
        return new Definition(fields.id as string, fields.parentId as string, fields.peerId as string, fromTagged(fields.meta));
      case "$titanError": {
        // The vectors summarise a TitanError; the fields they leave out hold Netron's constructor defaults.
        const error = new TitanError({ code: fields.code as number, message: fields.message as string, details: fromTagged(fields.details) });
        error.name = fields.name as string;
        error.timestamp = fields.timestamp;
        return error;
      }
      default:
        throw new Error(`unknown tag ${tag}`);
    }
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, fromTagged(v)]));
}

function expectedPacket(vector: Vector): Packet {
  const packet: Packet = {
    id: vector.id!,
    type: vector.type as PacketTypeId,
    impulse: vector.impulse === 1 ? 1 : 0,
    error: vector.error === 1,
    eos: vector.eos === true,
    // The only flag the vectors do not spell out separately.
    live: (vector.flags! & 0x20) !== 0,
    data: fromTagged(vector.data),
  };
  if (vector.streamId !== undefined) packet.stream = { id: vector.streamId, index: vector.streamIndex! };
  return packet;
}

describe("Netron's wire vectors", () => {
  test("all 62 are present", () => assert.equal(vectors.length, 62));

  for (const vector of vectors) {
    if (vector.kind === "value") {
      test(`${vector.name}: decodes to the described value`, () => {
        assert.deepStrictEqual(decodeValue(bytes(vector.hex)), fromTagged(vector.value));
      });
      test(`${vector.name}: the described value encodes to Netron's bytes`, () => {
        assert.equal(hex(encodeValue(fromTagged(vector.value))), vector.hex);
      });
    } else {
      test(`${vector.name}: decodes to the described packet`, () => {
        assert.deepStrictEqual(decodePacket(bytes(vector.hex)), expectedPacket(vector));
      });
      test(`${vector.name}: the described packet encodes to Netron's bytes`, () => {
        const packet = expectedPacket(vector);
        assert.equal(hex(encodePacket(packet)), vector.hex);
        assert.equal(encodePacket(packet)[4], vector.flags);
      });
    }
  }

  test("errorResponseTo reproduces Netron's CALL error response", () => {
    const vector = vectors.find((v) => v.name === "CALL error response")!;
    const error = new TitanError({ code: 404, message: "Method not found" });
    error.timestamp = 1_700_000_000_000;
    const answer = errorResponseTo(requestPacket(6, PacketType.CALL, ["calculator@1.0.0", "div", 1, 0]), error);
    assert.equal(hex(encodePacket(answer)), vector.hex);
  });
});

// The same bytes the Rust codec's unit tests pin for types the vectors do not cover, so both codecs agree.
describe("types beyond the vectors match the Rust codec", () => {
  const cases: [string, unknown, string][] = [
    ["2^32 - 1", 4294967295, "ceffffffff"],
    ["2^32", 4294967296, "cb41f0000000000000"],
    ["-2^31 - 1", -2147483649, "cbc1e0000000200000"],
    ["negative zero (an int, as in Netron)", -0, "00"],
    ["NaN", NaN, "cb7ff8000000000000"],
    ["signed Long", new Long(-1n, false), "c7097700ffffffffffffffff"],
    ["unsigned Long", new Long(1n, true), "c70977010000000000000001"],
    ["RegExp", /a+/g, "c70579a2612ba167"],
    ["StreamReference", new StreamReference(7, "writable", false, "p"), "c7066ba1370100a170"],
    ["unregistered extension", new RawExt(5, new Uint8Array([1, 2, 3])), "c70305010203"],
  ];
  for (const [name, value, expected] of cases) {
    test(name, () => {
      assert.equal(hex(encodeValue(value)), expected);
      const decoded = decodeValue(bytes(expected));
      assert.equal(hex(encodeValue(decoded)), expected);
    });
  }

  test("a TypeError without a stack", () => {
    const error = new TypeError("bad");
    error.stack = undefined;
    const encoded = "c7157e0003a9547970654572726f72d40000a36261640000";
    assert.equal(hex(encodeValue(error)), encoded);
    const decoded = decodeValue(bytes(encoded));
    assert.ok(decoded instanceof TypeError);
    assert.equal(decoded.message, "bad");
  });

  test("an Error keeps its extra fields", () => {
    const error = Object.assign(new RangeError("too big"), { code: "E_BIG" });
    const decoded = decodeValue(encodeValue(error)) as RangeError & { code: string };
    assert.ok(decoded instanceof RangeError);
    assert.equal(decoded.code, "E_BIG");
    assert.equal(decoded.stack, error.stack);
  });

  test("large values cross the msgpack size boundaries and the writer's growth", () => {
    const binary = new Uint8Array(70_000).map((_, i) => i % 251);
    const array = Array.from({ length: 300 }, (_, i) => i);
    const object = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i]));
    const encoded = encodeValue([binary, array, object, "é".repeat(40_000)]);
    assert.equal(hex(encoded.subarray(0, 6)), "94c600011170"); // fixarray, then bin32 of 70000 bytes
    assert.deepStrictEqual(decodeValue(encoded), [binary, array, object, "é".repeat(40_000)]);
    assert.equal(hex(encodeValue(array).subarray(0, 3)), "dc012c");
    assert.equal(hex(encodeValue(object).subarray(0, 3)), "de0014");
  });

  test("uint64 beyond 2^53 decodes exactly as a bigint", () => {
    assert.equal(decodeValue(bytes("cf ffffffffffffffff")), 2n ** 64n - 1n);
    assert.equal(decodeValue(bytes("cf 0000000000000005")), 5);
  });

  test("an own __proto__ key stays data", () => {
    const decoded = decodeValue(bytes("81 a9 5f5f70726f746f5f5f 01")) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(decoded), Object.prototype);
    assert.deepEqual(Object.keys(decoded), ["__proto__"]);
    assert.equal(hex(encodeValue(decoded)), "81a95f5f70726f746f5f5f01");
  });
});

describe("bad input is refused with what and where", () => {
  const refuses = (input: string, code: string, message: RegExp) => {
    assert.throws(
      () => decodeValue(bytes(input)),
      (error: unknown) => error instanceof NetronDecodeError && error.code === code && message.test(error.message),
    );
  };

  test("truncated input", () => refuses("92 01 cd 01", "TRUNCATED", /uint16 at byte offset 3 needs 2 byte\(s\) but only 1 remain/));
  test("a huge declared count", () => refuses("dd ffffffff", "TRUNCATED", /array items at byte offset 5/));
  test("nesting past 128 levels", () => {
    refuses("91".repeat(200) + "c0", "NESTING_TOO_DEEP", /limit of 128 levels at byte offset 128/);
    assert.doesNotThrow(() => decodeValue(bytes("91".repeat(128) + "d40000")));
  });
  test("a bad undefined payload", () => refuses("d4 00 01", "BAD_EXT", /extension 0 \(Undefined\).*d4 00 00/));
  test("a short Date payload", () => refuses("c7 07 7d 00000000000000", "BAD_EXT", /extension 125 \(Date\).*ends early/));
  test("a long Date payload", () => refuses("c7 09 7d 000000000000000000", "TRAILING_BYTES", /after the end of the Date payload at byte offset 11/));
  test("a BigInt that is not digits", () => refuses("d6 78 a3 31 32 61", "BAD_EXT", /"12a" is not a decimal integer/));
  test("a Reference without a string id", () => refuses("c7 03 6c 92 c0 c0", "BAD_EXT", /defId must be a string, found an array/));
  test("an unknown Error class", () => refuses("c7 07 7e 0009 a0 c0 a0 0000", "BAD_EXT", /error class id 9/));
  test("a non-string object key", () => refuses("81 01 02", "NON_STRING_KEY", /key at byte offset 1 is a number.*send a JS Map/));
  test("invalid UTF-8", () => refuses("92 a2 61 ff", "INVALID_UTF8", /string at byte offset 1 is not valid UTF-8/));
  test("the reserved marker", () => refuses("c1", "INVALID_MARKER", /0xc1 at byte offset 0/));
  test("trailing bytes", () => refuses("01 02", "TRAILING_BYTES", /1 unexpected byte\(s\) after the end of the value/));

  test("an unknown packet type", () => {
    assert.throws(() => decodePacket(bytes("00000001 48 c0")), /unknown Netron packet type 8 in the flags byte at offset 4/);
  });
  test("leftover bytes after a packet", () => {
    assert.throws(() => decodePacket(bytes("00000001 43 c0 c0")), /after the end of the packet at byte offset 6/);
  });
  test("an oversized packet", () => {
    assert.throws(() => decodePacket(new Uint8Array(9), { maxPacketLength: 8 }), /9 bytes exceeds the limit of 8 bytes/);
  });

  test("values a Netron peer could not rebuild are not encoded", () => {
    assert.throws(() => encodeValue(() => 1), NetronEncodeError);
    assert.throws(() => encodeValue(new (class Point {})()), /cannot encode a Point/);
    assert.throws(() => encodeValue(new Date(-1)), /unsigned milliseconds since 1970/);
    assert.throws(() => encodeValue(new RawExt(125, new Uint8Array(8))), /Netron's Date; use that type/);
    let deep: unknown = null;
    for (let i = 0; i <= 128; i++) deep = [deep];
    assert.throws(() => encodeValue(deep), /nesting exceeds the limit of 128/);
    const stream = requestPacket(1, PacketType.STREAM, null);
    assert.throws(() => encodePacket(stream), /has no stream position/);
  });

  test("random bytes only ever fail with NetronDecodeError", () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed / 2 ** 31);
    for (let round = 0; round < 3000; round++) {
      const input = Uint8Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 256));
      for (const decode of [decodeValue, decodePacket]) {
        try {
          const decoded = decode(input);
          // Whatever is accepted re-encodes, and the re-encoding is stable.
          const again = decode === decodeValue ? encodeValue(decoded) : encodePacket(decoded as Packet);
          assert.deepEqual(decode(again), decoded);
        } catch (error) {
          if (!(error instanceof NetronDecodeError)) throw error;
        }
      }
    }
  });
});

describe("packets", () => {
  test("responses keep id and type and clear the impulse", () => {
    const call = requestPacket(6, PacketType.CALL, ["calculator@1.0.0", "add", 2, 3]);
    assert.equal(encodePacket(call)[4], 0x43);
    assert.equal(hex(encodePacket(responseTo(call, 5))), "000000060305");
  });

  test("stream chunks carry their position after the value", () => {
    const chunk: Packet = { ...requestPacket(12, PacketType.STREAM, { a: 1 }), live: true, stream: { id: 7, index: 0 } };
    assert.equal(hex(encodePacket(chunk)), "0000000c6581a161010000000700000000");
    assert.deepStrictEqual(decodePacket(encodePacket(chunk)), chunk);
  });
});

describe("framing and handshake", () => {
  test("frames are reassembled from chunks of every size", () => {
    const handshake = encodeHandshake({ type: "id", id: "a" });
    const packet = encodePacket(responseTo(requestPacket(1, PacketType.CALL, null), 5));
    const stream = Buffer.concat([encodeFrame(handshake), encodeFrame(new Uint8Array()), encodeFrame(packet)]);
    for (let size = 1; size <= stream.length; size++) {
      const decoder = new FrameDecoder();
      const frames: Uint8Array[] = [];
      for (let at = 0; at < stream.length; at += size) frames.push(...decoder.push(stream.subarray(at, at + size)));
      assert.deepEqual(frames.map(hex), [hex(handshake), "", hex(packet)], `chunk size ${size}`);
      assert.equal(decoder.bufferedLength, 0);
    }
  });

  test("an oversized frame is refused from its prefix and the decoder stays failed", () => {
    const decoder = new FrameDecoder(10);
    assert.equal(decoder.push(encodeFrame(new Uint8Array(10))).length, 1);
    assert.throws(() => decoder.push(bytes("0000000b")), /11 bytes \(length prefix at byte offset 14\) exceeds the limit of 10 bytes/);
    assert.equal(decoder.bufferedLength, 0);
    assert.throws(() => decoder.push(bytes("00")), /exceeds the limit/);
  });

  test("a FrameBatch holds its packets as tcp frames, is reused after clear, and drops a packet that fails to encode", () => {
    const first = responseTo(requestPacket(1, PacketType.CALL, null), 5);
    const second: Packet = { id: 2, type: PacketType.STREAM, impulse: 1, error: false, eos: true, live: true, stream: { id: 3, index: 4 }, data: "x".repeat(300) };
    const batch = new FrameBatch();
    assert.equal(batch.add(first), encodePacket(first).length);
    assert.throws(() => batch.add({ ...first, data: () => 1 }), NetronEncodeError);
    batch.add(second);
    assert.equal(batch.count, 2);
    assert.equal(hex(batch.bytes()), hex(encodeFrame(encodePacket(first))) + hex(encodeFrame(encodePacket(second))));
    assert.deepEqual(new FrameDecoder().push(batch.bytes()).map((body) => decodePacket(body)), [first, second]);
    batch.clear();
    assert.equal(batch.bytes().length, 0);
    batch.add(second);
    assert.equal(hex(batch.bytes()), hex(encodeFrame(encodePacket(second))));
  });

  test("handshake messages are the JSON Netron writes", () => {
    assert.equal(new TextDecoder().decode(encodeHandshake({ type: "client-id", id: "c" })), '{"type":"client-id","id":"c"}');
    assert.deepEqual(parseHandshake(new TextEncoder().encode('{"id":"x","type":"id"}')), { type: "id", id: "x" });
    assert.ok(isJsonText(encodeHandshake({ type: "id", id: "x" })));
    assert.ok(!isJsonText(encodePacket(requestPacket(1, PacketType.PING, undefined))));
    assert.throws(() => parseHandshake(new TextEncoder().encode('{"type":"hello","id":"x"}')), /unknown type "hello"\); expected JSON text such as \{"type":"client-id"/);
  });
});
