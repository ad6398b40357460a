// Replays the hostile-peer corpus (core-runtime/crates/titan-netron/tests/corpus/corpus.json) through the
// TypeScript codec: every entry must end as the Rust codec ends it (tests/corpus.rs replays the same file),
// except where an entry records a known divergence under `ts`, which is asserted exactly so a fix shows up.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { decodePacket, decodeValue, encodePacket, encodeValue, FrameDecoder, NetronDecodeError, parseHandshake } from "./codec.js";

const corpusPath = new URL("../../crates/titan-netron/tests/corpus/corpus.json", import.meta.url);

type Layer = "value" | "packet" | "frame-stream" | "handshake";
type Outcome = Record<string, unknown>;
interface Entry {
  name: string;
  layer: Layer;
  hex?: string;
  text?: string;
  chunks?: number[];
  expect: Outcome;
  /** The TypeScript codec's own outcome where it is known to differ from the Rust codec's. */
  ts?: { expect: Outcome; divergence: string };
}

const entries = (JSON.parse(readFileSync(corpusPath, "utf8")) as { entries: Entry[] }).entries;

/** Hex with whitespace ignored; a token `XX*N` is the byte XX repeated N times (the manifest's notation). */
function hexBytes(text: string): Uint8Array {
  const parts = text
    .split(/\s+/)
    .filter((token) => token !== "")
    .map((token) => {
      const [digits, count] = token.split("*") as [string, string | undefined];
      if (digits.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(digits)) throw new Error(`bad hex token ${JSON.stringify(token)} in the corpus`);
      return digits.repeat(count === undefined ? 1 : Number(count));
    });
  return new Uint8Array(Buffer.from(parts.join(""), "hex"));
}

const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

/** `Truncated` → `TRUNCATED`, `UnknownPacketType` → `UNKNOWN_PACKET_TYPE`: the Rust variant's TS code. */
const tsCode = (variant: string): string => variant.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();

function input(entry: Entry): Uint8Array {
  if ((entry.hex === undefined) === (entry.text === undefined)) throw new Error(`${entry.name}: give exactly one of hex and text`);
  return entry.hex !== undefined ? hexBytes(entry.hex) : new TextEncoder().encode(entry.text);
}

/** The expected outcome with hex normalised and `contains` set apart, with `fails` in the TS codec's terms. */
function expected(outcome: Outcome): { outcome: Outcome; contains?: string } {
  const { contains, ...rest } = outcome as Outcome & { contains?: string };
  if (typeof rest.decodes === "string") rest.decodes = toHex(hexBytes(rest.decodes));
  if (Array.isArray(rest.frames)) rest.frames = (rest.frames as string[]).map((frame) => toHex(hexBytes(frame)));
  if (typeof rest.fails === "string" && rest.fails !== "HandshakeError") rest.fails = tsCode(rest.fails);
  return contains === undefined ? { outcome: rest } : { outcome: rest, contains };
}

function decodeFailure(error: unknown): { outcome: Outcome; message: string } {
  if (!(error instanceof NetronDecodeError)) throw error;
  return { outcome: { fails: error.code, offset: error.offset }, message: error.message };
}

function reencoded(encode: () => Uint8Array): { outcome: Outcome; message: string } {
  try {
    return { outcome: { decodes: toHex(encode()) }, message: "" };
  } catch (error) {
    return { outcome: { reencode_fails: true }, message: (error as Error).message };
  }
}

/** What the TS codec makes of the entry, in the manifest's `expect` shape, plus the error message if any. */
function outcome(entry: Entry): { outcome: Outcome; message: string } {
  const bytes = input(entry);
  switch (entry.layer) {
    case "value": {
      let value: unknown;
      try {
        value = decodeValue(bytes);
      } catch (error) {
        return decodeFailure(error);
      }
      return reencoded(() => encodeValue(value));
    }
    case "packet": {
      let packet: ReturnType<typeof decodePacket>;
      try {
        packet = decodePacket(bytes);
      } catch (error) {
        return decodeFailure(error);
      }
      return reencoded(() => encodePacket(packet));
    }
    case "frame-stream": {
      const decoder = new FrameDecoder();
      const frames: string[] = [];
      const sizes = entry.chunks ?? [bytes.length];
      assert.equal(
        sizes.reduce((a, b) => a + b, 0),
        bytes.length,
        `${entry.name}: chunk sizes must add up to the input length`,
      );
      let at = 0;
      for (const size of sizes) {
        try {
          frames.push(...decoder.push(bytes.subarray(at, at + size)).map(toHex));
        } catch (error) {
          // Frames the failing chunk completed before its bad prefix are still delivered.
          if (error instanceof NetronDecodeError) frames.push(...error.framesBefore.map(toHex));
          const failure = decodeFailure(error);
          return { outcome: { frames, ...failure.outcome }, message: failure.message };
        }
        at += size;
      }
      return { outcome: { frames, buffered: decoder.bufferedLength }, message: "" };
    }
    case "handshake":
      try {
        const { type, id } = parseHandshake(bytes);
        return { outcome: { handshake: { type, id } }, message: "" };
      } catch (error) {
        return { outcome: { fails: "HandshakeError" }, message: (error as Error).message };
      }
  }
}

describe("the Netron corpus through the TypeScript codec", () => {
  test("the manifest is the one the Rust codec replays, and is not empty", () => {
    assert.ok(entries.length >= 30, `only ${entries.length} entries`);
    assert.equal(new Set(entries.map((entry) => entry.name)).size, entries.length, "entry names are unique");
    for (const entry of entries) {
      if (entry.ts) assert.ok(entry.ts.divergence.length > 20, `${entry.name}: a ts override says why the codecs differ`);
    }
  });

  for (const entry of entries) {
    test(entry.name + (entry.ts ? " (known divergence)" : ""), () => {
      const want = expected(entry.ts?.expect ?? entry.expect);
      const got = outcome(entry);
      assert.deepEqual(got.outcome, want.outcome, got.message);
      if (want.contains !== undefined) assert.ok(got.message.includes(want.contains), `the message should contain ${JSON.stringify(want.contains)}: ${got.message}`);
    });
  }
});
