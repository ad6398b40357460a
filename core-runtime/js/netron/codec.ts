// The Netron wire codec for Titan's TypeScript client: values with Netron's msgpack extension types,
// packets, u32 length-prefixed frames and the JSON id handshake. Byte-exact with Netron's own encoder;
// the twin of core-runtime/crates/titan-netron (whose README documents the format and the deviations).
//
// Written by hand rather than on @msgpack/msgpack: that library writes integers of 2^32 and above as
// uint64 (Netron: float64) and `undefined` as nil (Netron: ext 0), and neither can be overridden.

/** How deep arrays, objects and value-holding extensions may nest, on both sides. */
export const DEFAULT_MAX_DEPTH = 128;
/** The largest frame or packet accepted by default: 16 MiB, Netron's `DEFAULT_MAX_PACKET_SIZE`. */
export const DEFAULT_MAX_FRAME_LENGTH = 16 * 1024 * 1024;

/** The msgpack extension type ids Netron's serializer registers. */
export const ExtType = {
  Undefined: 0,
  StreamReference: 107,
  Reference: 108,
  Definition: 109,
  TitanError: 110,
  Long: 119,
  BigInt: 120,
  RegExp: 121,
  Set: 123,
  Map: 124,
  Date: 125,
  Error: 126,
} as const;

const extNames = new Map<number, string>(Object.entries(ExtType).map(([name, id]) => [id, name]));

/** Extension types whose payload holds arbitrary values, so they count as a nesting level. */
const valueHoldingExts = new Set<number>([
  ExtType.Definition,
  ExtType.TitanError,
  ExtType.Set,
  ExtType.Map,
  ExtType.Error,
]);

// ---------------------------------------------------------------------------------------------
// The value model: native JS values, plus classes for Netron's own types.

/** A reference to a service definition the peer holds (ext 108). */
export class Reference {
  constructor(readonly defId: string) {}
}

/** A service definition, the answer to `query_interface` (ext 109). */
export class Definition {
  constructor(
    public id: string,
    public parentId: string,
    public peerId: string,
    public meta: unknown,
  ) {}
}

/** A handle to a Netron stream (ext 107). The id travels as a decimal string. */
export class StreamReference {
  constructor(
    public streamId: number,
    public type: "readable" | "writable",
    public isLive: boolean,
    public peerId: string,
  ) {}
}

/** A long.js `Long` (ext 119): a 64-bit integer that keeps its signedness. */
export class Long {
  constructor(
    readonly value: bigint,
    readonly unsigned: boolean,
  ) {
    const [min, max] = unsigned ? [0n, 2n ** 64n - 1n] : [-(2n ** 63n), 2n ** 63n - 1n];
    if (value < min || value > max) {
      throw new RangeError(`${value} does not fit a ${unsigned ? "unsigned" : "signed"} 64-bit Long`);
    }
  }
}

/** A msgpack extension Netron does not register (user types 1–99, reserved ids), kept as raw bytes. */
export class RawExt {
  constructor(
    readonly type: number,
    readonly data: Uint8Array,
  ) {}
}

/** What `new TitanError(...)` takes; the rest get Netron's constructor defaults. */
export interface TitanErrorOptions {
  code: number;
  message: string;
  details?: unknown;
  context?: unknown;
  requestId?: string;
  correlationId?: string;
  spanId?: string;
  traceId?: string;
  cause?: unknown;
}

/**
 * Titan's structured error (ext 110): what a Netron peer sends back for a failed call. The wire carries
 * 13 values; each field keeps exactly what was received so re-encoding is byte-exact. `remoteStack` is
 * the sender's stack (null unless the sender opted in), separate from this object's own local `stack`.
 */
export class TitanError extends Error {
  code: unknown;
  details: unknown;
  context: unknown;
  timestamp: unknown;
  requestId: unknown;
  correlationId: unknown;
  spanId: unknown;
  traceId: unknown;
  remoteStack: unknown = null;
  /** Null, a nested TitanError, or `{__errorType: "Error", name, message, stack}`. */
  override cause: unknown = null;
  /** Null, or an object of subclass-specific fields. */
  extras: unknown = null;

  constructor(options: TitanErrorOptions) {
    super(options.message);
    this.name = "TitanError";
    this.code = options.code;
    this.details = options.details ?? {};
    this.context = options.context ?? {};
    this.timestamp = Date.now();
    this.requestId = options.requestId;
    this.correlationId = options.correlationId;
    this.spanId = options.spanId;
    this.traceId = options.traceId;
    this.cause = options.cause ?? null;
  }
}

/** The 7 built-in error classes Netron numbers 1–7 on the wire (ext 126). */
const errorClasses: readonly ErrorConstructor[] = [
  Error,
  SyntaxError,
  TypeError,
  ReferenceError,
  RangeError,
  EvalError,
  URIError,
];

// ---------------------------------------------------------------------------------------------
// Errors.

/** What kind of input problem a {@link NetronDecodeError} reports (the same cases as the Rust codec). */
export type NetronDecodeErrorCode =
  | "TRUNCATED"
  | "UNKNOWN_PACKET_TYPE"
  | "INVALID_MARKER"
  | "BAD_EXT"
  | "INVALID_UTF8"
  | "NON_STRING_KEY"
  | "NESTING_TOO_DEEP"
  | "TRAILING_BYTES"
  | "OVERSIZED";

/** Bytes from a peer that could not be decoded; `offset` is where, from the start of the packet or frame. */
export class NetronDecodeError extends Error {
  constructor(
    readonly code: NetronDecodeErrorCode,
    readonly offset: number,
    message: string,
    /** For TRUNCATED: what ran out and by how much, reused when the truncation is inside an extension. */
    readonly shortfall?: string,
    /** For OVERSIZED from `FrameDecoder.push`: the frames the same chunk completed before the bad
     * prefix. They are whole and valid: a reader handles them, then closes the connection. */
    readonly framesBefore: Uint8Array[] = [],
  ) {
    super(message);
    this.name = "NetronDecodeError";
  }
}

/** A value that cannot go on the Netron wire. */
export class NetronEncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NetronEncodeError";
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding.

const textEncoder = new TextEncoder();

/** A growable byte buffer with big-endian writers. */
class ByteWriter {
  private bytes = new Uint8Array(256);
  private view = new DataView(this.bytes.buffer);
  length = 0;

  /** Makes room for `extra` bytes and returns where they go; callers must not hold `bytes`/`view` across it. */
  private reserve(extra: number): number {
    const at = this.length;
    if (at + extra > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, at + extra));
      grown.set(this.bytes.subarray(0, at));
      this.bytes = grown;
      this.view = new DataView(grown.buffer);
    }
    this.length += extra;
    return at;
  }

  u8(value: number): void {
    const at = this.reserve(1);
    this.view.setUint8(at, value);
  }
  u16(value: number): void {
    const at = this.reserve(2);
    this.view.setUint16(at, value);
  }
  u32(value: number): void {
    const at = this.reserve(4);
    this.view.setUint32(at, value);
  }
  i8(value: number): void {
    const at = this.reserve(1);
    this.view.setInt8(at, value);
  }
  i16(value: number): void {
    const at = this.reserve(2);
    this.view.setInt16(at, value);
  }
  i32(value: number): void {
    const at = this.reserve(4);
    this.view.setInt32(at, value);
  }
  u64(value: bigint): void {
    const at = this.reserve(8);
    this.view.setBigUint64(at, value);
  }
  i64(value: bigint): void {
    const at = this.reserve(8);
    this.view.setBigInt64(at, value);
  }
  f64(value: number): void {
    const at = this.reserve(8);
    this.view.setFloat64(at, value);
  }
  raw(bytes: Uint8Array): void {
    const at = this.reserve(bytes.length);
    this.bytes.set(bytes, at);
  }
  /** The bytes written so far (a view, valid until the next write). */
  view8(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
  /** A copy of the bytes written. */
  finish(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
  /** Overwrites four bytes written earlier (a length known only after what follows it). */
  patchU32(at: number, value: number): void {
    this.view.setUint32(at, value);
  }
  /** Starts over, keeping the memory unless one large value grew it past 1 MiB. */
  clear(): void {
    this.length = 0;
    if (this.bytes.length > 1 << 20) {
      this.bytes = new Uint8Array(64 * 1024);
      this.view = new DataView(this.bytes.buffer);
    }
  }
}

const maxU32 = 0xffffffff;
/** The latest time a JS Date holds (ECMAScript: ±8.64e15 ms around the epoch). */
const MAX_DATE_MS = 8_640_000_000_000_000n;

function checkLength(what: string, length: number): void {
  if (length > maxU32) throw new NetronEncodeError(`${what} of ${length} items/bytes is longer than msgpack allows (2^32 - 1)`);
}

function nested(depth: number): number {
  if (depth >= DEFAULT_MAX_DEPTH) {
    throw new NetronEncodeError(`value nesting exceeds the limit of ${DEFAULT_MAX_DEPTH} levels; flatten the value before sending it`);
  }
  return depth + 1;
}

/** Netron's number rule: integers in [-2^31, 2^32) take the smallest int form, anything else float64. */
function writeNumber(w: ByteWriter, value: number): void {
  if (value >>> 0 === value) {
    if (value < 0x80) w.u8(value);
    else if (value < 0x100) (w.u8(0xcc), w.u8(value));
    else if (value < 0x10000) (w.u8(0xcd), w.u16(value));
    else (w.u8(0xce), w.u32(value));
  } else if (value >> 0 === value) {
    if (value >= -0x20) w.u8(0x100 + value);
    else if (value >= -0x80) (w.u8(0xd0), w.i8(value));
    else if (value >= -0x8000) (w.u8(0xd1), w.i16(value));
    else (w.u8(0xd2), w.i32(value));
  } else {
    w.u8(0xcb);
    w.f64(value);
  }
}

function writeString(w: ByteWriter, value: string): void {
  const bytes = textEncoder.encode(value);
  const length = bytes.length;
  checkLength("string", length);
  if (length < 32) w.u8(0xa0 | length);
  else if (length <= 0xff) (w.u8(0xd9), w.u8(length));
  else if (length <= 0xffff) (w.u8(0xda), w.u16(length));
  else (w.u8(0xdb), w.u32(length));
  w.raw(bytes);
}

function writeExt(w: ByteWriter, type: number, payload: Uint8Array): void {
  const length = payload.length;
  checkLength("extension payload", length);
  if (length === 1) w.u8(0xd4);
  else if (length === 2) w.u8(0xd5);
  else if (length === 4) w.u8(0xd6);
  else if (length === 8) w.u8(0xd7);
  else if (length === 16) w.u8(0xd8);
  else if (length <= 0xff) (w.u8(0xc7), w.u8(length));
  else if (length <= 0xffff) (w.u8(0xc8), w.u16(length));
  else (w.u8(0xc9), w.u32(length));
  w.i8(type);
  w.raw(payload);
}

/** Encodes a payload with `write` into its own buffer, then writes it as extension `type`. */
function withPayload(w: ByteWriter, type: number, write: (payload: ByteWriter) => void): void {
  const payload = new ByteWriter();
  write(payload);
  writeExt(w, type, payload.view8());
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (typeof value !== "object" || value === null) return typeof value;
  return (value as object).constructor?.name ?? "object";
}

function writeValue(w: ByteWriter, value: unknown, depth: number): void {
  switch (typeof value) {
    case "undefined":
      w.u8(0xd4), w.u8(ExtType.Undefined), w.u8(0);
      return;
    case "boolean":
      w.u8(value ? 0xc3 : 0xc2);
      return;
    case "number":
      writeNumber(w, value);
      return;
    case "string":
      writeString(w, value);
      return;
    case "bigint":
      withPayload(w, ExtType.BigInt, (p) => writeString(p, value.toString()));
      return;
    case "object":
      break;
    default:
      throw new NetronEncodeError(`cannot encode a ${typeof value}: Netron carries data, not ${typeof value}s`);
  }
  if (value === null) {
    w.u8(0xc0);
  } else if (value instanceof Uint8Array) {
    const length = value.length;
    checkLength("binary", length);
    if (length <= 0xff) (w.u8(0xc4), w.u8(length));
    else if (length <= 0xffff) (w.u8(0xc5), w.u16(length));
    else (w.u8(0xc6), w.u32(length));
    w.raw(value);
  } else if (Array.isArray(value)) {
    const inner = nested(depth);
    checkLength("array", value.length);
    if (value.length < 16) w.u8(0x90 | value.length);
    else if (value.length <= 0xffff) (w.u8(0xdc), w.u16(value.length));
    else (w.u8(0xdd), w.u32(value.length));
    for (const item of value) writeValue(w, item, inner);
  } else if (isPlainObject(value)) {
    const inner = nested(depth);
    const keys = Object.keys(value);
    // Netron writes map16 for any size >= 16 (a truncated count past 65535); map32 is what msgpack means.
    if (keys.length < 16) w.u8(0x80 | keys.length);
    else if (keys.length <= 0xffff) (w.u8(0xde), w.u16(keys.length));
    else (w.u8(0xdf), w.u32(keys.length));
    for (const key of keys) {
      writeString(w, key);
      writeValue(w, value[key], inner);
    }
  } else {
    writeInstance(w, value, depth);
  }
}

/** Class instances, in Netron's registration order (TitanError before the Error it extends). */
function writeInstance(w: ByteWriter, value: object, depth: number): void {
  if (value instanceof TitanError) {
    const inner = nested(depth);
    withPayload(w, ExtType.TitanError, (p) => {
      const fields = [value.name, value.code, value.message, value.details, value.context, value.timestamp];
      fields.push(value.requestId, value.correlationId, value.spanId, value.traceId);
      fields.push(value.remoteStack, value.cause, value.extras);
      for (const field of fields) writeValue(p, field, inner);
    });
  } else if (value instanceof Error) {
    const inner = nested(depth);
    withPayload(w, ExtType.Error, (p) => {
      const classIndex = errorClasses.findIndex((ctor) => ctor.name === value.constructor.name);
      p.u16(classIndex === -1 ? 1 : classIndex + 1);
      writeValue(p, value.name, inner);
      writeValue(p, value.stack, inner);
      writeValue(p, value.message, inner);
      const record = value as unknown as Record<string, unknown>;
      const fields = Object.keys(value).filter((key) => !["stack", "message", "name"].includes(key) && record[key] !== undefined);
      if (fields.length > 0xffff) throw new NetronEncodeError(`an Error with ${fields.length} fields cannot be sent (Netron's limit is 65535)`);
      p.u16(fields.length);
      for (const key of fields) {
        writeString(p, key);
        writeValue(p, record[key], inner);
      }
    });
  } else if (value instanceof Date) {
    const ms = value.getTime();
    if (!Number.isInteger(ms) || ms < 0) {
      throw new NetronEncodeError(`cannot encode Date ${String(value)}: Netron sends dates as unsigned milliseconds since 1970`);
    }
    withPayload(w, ExtType.Date, (p) => p.u64(BigInt(ms)));
  } else if (value instanceof Map) {
    const inner = nested(depth);
    withPayload(w, ExtType.Map, (p) => {
      checkLength("Map", value.size);
      p.u32(value.size);
      for (const [key, item] of value) {
        writeValue(p, key, inner);
        writeValue(p, item, inner);
      }
    });
  } else if (value instanceof Set) {
    const inner = nested(depth);
    withPayload(w, ExtType.Set, (p) => {
      checkLength("Set", value.size);
      p.u32(value.size);
      for (const item of value) writeValue(p, item, inner);
    });
  } else if (value instanceof RegExp) {
    withPayload(w, ExtType.RegExp, (p) => (writeString(p, value.source), writeString(p, value.flags)));
  } else if (value instanceof Long) {
    withPayload(w, ExtType.Long, (p) => {
      p.u8(value.unsigned ? 1 : 0);
      if (value.unsigned) p.u64(value.value);
      else p.i64(value.value);
    });
  } else if (value instanceof Definition) {
    const inner = nested(depth);
    withPayload(w, ExtType.Definition, (p) => {
      writeString(p, value.id);
      writeString(p, value.parentId);
      writeString(p, value.peerId);
      writeValue(p, value.meta, inner);
    });
  } else if (value instanceof Reference) {
    withPayload(w, ExtType.Reference, (p) => writeString(p, value.defId));
  } else if (value instanceof StreamReference) {
    withPayload(w, ExtType.StreamReference, (p) => {
      writeString(p, value.streamId.toString());
      p.u8(value.type === "writable" ? 1 : 0);
      p.u8(value.isLive ? 1 : 0);
      writeString(p, value.peerId);
    });
  } else if (value instanceof RawExt) {
    if (extNames.has(value.type)) {
      throw new NetronEncodeError(`a RawExt of type ${value.type} would be read as Netron's ${extNames.get(value.type)}; use that type instead`);
    }
    writeExt(w, value.type, value.data);
  } else {
    throw new NetronEncodeError(
      `cannot encode a ${describe(value)}: Netron carries plain objects, arrays, primitives, Uint8Array, Date, Map, Set, RegExp, bigint, errors and its own types`,
    );
  }
}

/** Encodes one value as Netron's serializer would. */
export function encodeValue(value: unknown): Uint8Array {
  const w = new ByteWriter();
  writeValue(w, value, 0);
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// Decoding (untrusted input: every length is checked, allocations bounded, nesting capped).

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Limits applied while decoding input from a peer. */
export interface DecodeLimits {
  maxDepth?: number;
  maxPacketLength?: number;
}

class ByteReader {
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
    readonly end: number,
    readonly maxDepth: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  take(needed: number, what: string): number {
    if (needed > this.remaining) throw this.truncated(what, needed);
    const at = this.pos;
    this.pos += needed;
    return at;
  }

  truncated(what: string, needed: number): NetronDecodeError {
    const shortfall = `${what} at byte offset ${this.pos} needs ${needed} byte(s), ${this.remaining} left`;
    return new NetronDecodeError(
      "TRUNCATED",
      this.pos,
      `truncated Netron data: ${what} at byte offset ${this.pos} needs ${needed} byte(s) but only ${this.remaining} remain; the message was cut short or its length prefix is wrong`,
      shortfall,
    );
  }

  u8(what: string): number {
    return this.view.getUint8(this.take(1, what));
  }
  u16(what: string): number {
    return this.view.getUint16(this.take(2, what));
  }
  u32(what: string): number {
    return this.view.getUint32(this.take(4, what));
  }
  u64(what: string): bigint {
    return this.view.getBigUint64(this.take(8, what));
  }
  i64(what: string): bigint {
    return this.view.getBigInt64(this.take(8, what));
  }

  finish(what: string): void {
    if (this.remaining !== 0) {
      throw new NetronDecodeError(
        "TRAILING_BYTES",
        this.pos,
        `${this.remaining} unexpected byte(s) after the end of the ${what} at byte offset ${this.pos}; the length prefix is wrong or the sender wrote extra data`,
      );
    }
  }

  enter(depth: number, start: number): number {
    if (depth >= this.maxDepth) {
      throw new NetronDecodeError(
        "NESTING_TOO_DEEP",
        start,
        `value nesting exceeds the limit of ${this.maxDepth} levels at byte offset ${start}; flatten the value or raise maxDepth`,
      );
    }
    return depth + 1;
  }

  value(depth: number): unknown {
    const start = this.pos;
    const marker = this.u8("msgpack marker");
    if (marker < 0x80) return marker;
    if (marker < 0x90) return this.object(marker & 0x0f, depth, start);
    if (marker < 0xa0) return this.array(marker & 0x0f, depth, start);
    if (marker < 0xc0) return this.string(marker & 0x1f, start);
    if (marker >= 0xe0) return marker - 0x100;
    switch (marker) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return this.binary(this.u8("bin8 length"));
      case 0xc5:
        return this.binary(this.u16("bin16 length"));
      case 0xc6:
        return this.binary(this.u32("bin32 length"));
      case 0xc7:
        return this.ext(this.u8("ext8 length"), depth, start);
      case 0xc8:
        return this.ext(this.u16("ext16 length"), depth, start);
      case 0xc9:
        return this.ext(this.u32("ext32 length"), depth, start);
      case 0xca:
        return this.view.getFloat32(this.take(4, "float32"));
      case 0xcb:
        return this.view.getFloat64(this.take(8, "float64"));
      case 0xcc:
        return this.u8("uint8");
      case 0xcd:
        return this.u16("uint16");
      case 0xce:
        return this.u32("uint32");
      // Never written by Netron; a value past 2^53 stays exact as a bigint.
      case 0xcf:
        return exactNumber(this.u64("uint64"));
      case 0xd0:
        return this.view.getInt8(this.take(1, "int8"));
      case 0xd1:
        return this.view.getInt16(this.take(2, "int16"));
      case 0xd2:
        return this.view.getInt32(this.take(4, "int32"));
      case 0xd3:
        return exactNumber(this.i64("int64"));
      case 0xd4:
        return this.ext(1, depth, start);
      case 0xd5:
        return this.ext(2, depth, start);
      case 0xd6:
        return this.ext(4, depth, start);
      case 0xd7:
        return this.ext(8, depth, start);
      case 0xd8:
        return this.ext(16, depth, start);
      case 0xd9:
        return this.string(this.u8("str8 length"), start);
      case 0xda:
        return this.string(this.u16("str16 length"), start);
      case 0xdb:
        return this.string(this.u32("str32 length"), start);
      case 0xdc:
        return this.array(this.u16("array16 length"), depth, start);
      case 0xdd:
        return this.array(this.u32("array32 length"), depth, start);
      case 0xde:
        return this.object(this.u16("map16 length"), depth, start);
      case 0xdf:
        return this.object(this.u32("map32 length"), depth, start);
      default:
        throw new NetronDecodeError(
          "INVALID_MARKER",
          start,
          `invalid msgpack marker 0x${marker.toString(16)} at byte offset ${start}; the data is not msgpack or an earlier length was wrong`,
        );
    }
  }

  string(length: number, start: number): string {
    const at = this.take(length, "string body");
    try {
      return utf8.decode(this.bytes.subarray(at, at + length));
    } catch {
      throw new NetronDecodeError(
        "INVALID_UTF8",
        start,
        `the string at byte offset ${start} is not valid UTF-8; Netron strings are UTF-8, send binary data as a Buffer instead`,
      );
    }
  }

  binary(length: number): Uint8Array {
    const at = this.take(length, "binary body");
    return this.bytes.slice(at, at + length);
  }

  /** Every item takes at least `minItemLength` bytes: a count the input cannot hold is refused before allocating. */
  checkCount(count: number, minItemLength: number, what: string): void {
    if (count * minItemLength > this.remaining) throw this.truncated(what, count * minItemLength);
  }

  array(count: number, depth: number, start: number): unknown[] {
    const inner = this.enter(depth, start);
    this.checkCount(count, 1, "array items");
    const items: unknown[] = [];
    for (let i = 0; i < count; i++) items.push(this.value(inner));
    return items;
  }

  object(count: number, depth: number, start: number): Record<string, unknown> {
    const inner = this.enter(depth, start);
    this.checkCount(count, 2, "object entries");
    const result: Record<string, unknown> = {};
    for (let i = 0; i < count; i++) {
      const keyOffset = this.pos;
      const key = this.value(inner);
      if (typeof key !== "string") {
        throw new NetronDecodeError(
          "NON_STRING_KEY",
          keyOffset,
          `the map key at byte offset ${keyOffset} is ${kindOf(key)}, but msgpack maps are JS objects in Netron and need string keys; send a JS Map (ext 124) for other keys`,
        );
      }
      const item = this.value(inner);
      // An own "__proto__" key must stay data, not replace the object's prototype.
      if (key === "__proto__") Object.defineProperty(result, key, { value: item, enumerable: true, writable: true, configurable: true });
      else result[key] = item;
    }
    return result;
  }

  ext(length: number, depth: number, start: number): unknown {
    const type = this.view.getInt8(this.take(1, "extension type"));
    const payloadStart = this.take(length, "extension payload");
    const name = extNames.get(type);
    if (name === undefined) return new RawExt(type, this.bytes.slice(payloadStart, payloadStart + length));
    const inner = valueHoldingExts.has(type) ? this.enter(depth, start) : depth;
    const payload = new ByteReader(this.bytes, payloadStart, payloadStart + length, this.maxDepth);
    try {
      const value = payload.extPayload(type, inner);
      payload.finish(`${name} payload`);
      return value;
    } catch (error) {
      // Running out of payload bytes means the payload is malformed, not the message around it.
      if (error instanceof NetronDecodeError && error.code === "TRUNCATED") {
        throw payload.badExt(type, error.offset, `the ${length}-byte payload ends early: ${error.shortfall}`);
      }
      throw error;
    }
  }

  badExt(type: number, offset: number, reason: string): NetronDecodeError {
    return new NetronDecodeError(
      "BAD_EXT",
      offset,
      `bad payload for msgpack extension ${type} (${extNames.get(type) ?? "unregistered"}) at byte offset ${offset}: ${reason}`,
    );
  }

  extString(type: number, depth: number, field: string): string {
    const offset = this.pos;
    const value = this.value(depth);
    if (typeof value !== "string") throw this.badExt(type, offset, `${field} must be a string, found ${kindOf(value)}`);
    return value;
  }

  extFlag(type: number, field: string): boolean {
    const offset = this.pos;
    const flag = this.u8("flag byte");
    if (flag > 1) throw this.badExt(type, offset, `${field} flag must be 0 or 1, found ${flag}`);
    return flag === 1;
  }

  extPayload(type: number, depth: number): unknown {
    const start = this.pos;
    switch (type) {
      case ExtType.Undefined:
        if (this.remaining !== 1 || this.bytes[start] !== 0) {
          throw this.badExt(type, start, `undefined is written as d4 00 00 (one zero byte), found ${this.remaining} payload byte(s)`);
        }
        this.pos += 1;
        return undefined;
      case ExtType.StreamReference: {
        const id = this.extString(type, depth, "streamId");
        // Number() would make anything but digits NaN, which no stream has.
        if (!/^[0-9]+$/.test(id)) throw this.badExt(type, start, `streamId ${JSON.stringify(id)} is not a stream number (decimal digits)`);
        const streamId = Number(id);
        const writable = this.extFlag(type, "stream type (1 = writable)");
        const live = this.extFlag(type, "isLive");
        return new StreamReference(streamId, writable ? "writable" : "readable", live, this.extString(type, depth, "peerId"));
      }
      case ExtType.Reference:
        return new Reference(this.extString(type, depth, "defId"));
      case ExtType.Definition: {
        const id = this.extString(type, depth, "id");
        const parentId = this.extString(type, depth, "parentId");
        const peerId = this.extString(type, depth, "peerId");
        return new Definition(id, parentId, peerId, this.value(depth));
      }
      case ExtType.TitanError: {
        const [name, code, message, details, context, timestamp, requestId, correlationId, spanId, traceId, stack, cause, extras] =
          Array.from({ length: 13 }, () => this.value(depth));
        const error = new TitanError({ code: 0, message: "" });
        Object.assign(error, { name, code, message, details, context, timestamp, requestId, correlationId, spanId, traceId });
        Object.assign(error, { remoteStack: stack, cause, extras });
        return error;
      }
      case ExtType.Long: {
        const unsigned = this.extFlag(type, "unsigned");
        return new Long(unsigned ? this.u64("Long value") : this.i64("Long value"), unsigned);
      }
      case ExtType.BigInt: {
        const digits = this.extString(type, depth, "the decimal digits");
        if (!/^-?[0-9]+$/.test(digits)) throw this.badExt(type, start, `${JSON.stringify(digits)} is not a decimal integer (-?[0-9]+)`);
        return BigInt(digits);
      }
      case ExtType.RegExp: {
        const source = this.extString(type, depth, "source");
        const flags = this.extString(type, depth, "flags");
        try {
          return new RegExp(source, flags);
        } catch (error) {
          throw this.badExt(type, start, `not a valid JS regular expression: ${(error as Error).message}`);
        }
      }
      case ExtType.Set: {
        const count = this.u32("Set size");
        this.checkCount(count, 1, "Set items");
        const set = new Set<unknown>();
        for (let i = 0; i < count; i++) set.add(this.value(depth));
        return set;
      }
      case ExtType.Map: {
        const count = this.u32("Map size");
        this.checkCount(count, 2, "Map entries");
        const map = new Map<unknown, unknown>();
        for (let i = 0; i < count; i++) {
          const key = this.value(depth);
          map.set(key, this.value(depth));
        }
        return map;
      }
      case ExtType.Date: {
        const ms = this.u64("Date milliseconds");
        if (ms > MAX_DATE_MS) throw this.badExt(type, start, `a Date of ${ms} ms is past what a JS Date holds (${MAX_DATE_MS} ms)`);
        return new Date(Number(ms));
      }
      case ExtType.Error:
        return this.jsError(type, depth);
      default:
        throw new Error(`unreachable: extension ${type} is registered but not handled`);
    }
  }

  jsError(type: number, depth: number): Error {
    const classOffset = this.pos;
    const classId = this.u16("Error class id");
    const ErrorClass = errorClasses[classId - 1];
    if (ErrorClass === undefined) {
      throw this.badExt(type, classOffset, `error class id ${classId} is not one Netron defines (1 Error .. 7 URIError)`);
    }
    const name = this.extString(type, depth, "name");
    const stack = this.value(depth);
    const message = this.extString(type, depth, "message");
    const error = new ErrorClass(message);
    error.name = name;
    error.stack = stack as string;
    const count = this.u16("Error field count");
    this.checkCount(count, 2, "Error fields");
    const record = error as unknown as Record<string, unknown>;
    for (let i = 0; i < count; i++) {
      const key = this.extString(type, depth, "a field name");
      const value = this.value(depth);
      // As for objects: a field named "__proto__" stays a field, not the error's prototype.
      if (key === "__proto__") Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
      else record[key] = value;
    }
    return error;
  }
}

function exactNumber(value: bigint): number | bigint {
  return value >= -BigInt(Number.MAX_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? `a ${describe(value)}` : `a ${typeof value}`;
}

/** Decodes exactly one value filling all of `bytes`. */
export function decodeValue(bytes: Uint8Array, limits: DecodeLimits = {}): unknown {
  const reader = new ByteReader(bytes, 0, bytes.length, limits.maxDepth ?? DEFAULT_MAX_DEPTH);
  const value = reader.value(0);
  reader.finish("value");
  return value;
}

// ---------------------------------------------------------------------------------------------
// Packets: u32 BE id, flags, one value, and for STREAM packets u32 BE stream id + u32 BE index.

/** Packet types (flags bits 0–3). */
export const PacketType = {
  PING: 0,
  GET: 1,
  SET: 2,
  CALL: 3,
  TASK: 4,
  STREAM: 5,
  STREAM_ERROR: 6,
  STREAM_CLOSE: 7,
} as const;
/** One of the {@link PacketType} values. */
export type PacketTypeId = (typeof PacketType)[keyof typeof PacketType];

/** One Netron packet. `stream` is present exactly on STREAM packets. */
export interface Packet {
  id: number;
  type: PacketTypeId;
  /** 1 for a request, 0 for a response. */
  impulse: 0 | 1;
  error: boolean;
  eos: boolean;
  live: boolean;
  stream?: { id: number; index: number };
  data: unknown;
}

/** The flags byte a packet's fields make. */
export function packetFlags(packet: Packet): number {
  return packet.type | (packet.eos ? 0x10 : 0) | (packet.live ? 0x20 : 0) | (packet.impulse ? 0x40 : 0) | (packet.error ? 0x80 : 0);
}

/** A request packet (for streams, set `stream` too). */
export function requestPacket(id: number, type: PacketTypeId, data: unknown): Packet {
  return { id, type, impulse: 1, error: false, eos: false, live: false, data };
}

/** The successful answer to `request`: same id and type, impulse 0. */
export function responseTo(request: Packet, data: unknown): Packet {
  const response: Packet = { id: request.id, type: request.type, impulse: 0, error: false, eos: false, live: false, data };
  if (request.type === PacketType.STREAM && request.stream) response.stream = request.stream;
  return response;
}

/** The failed answer to `request`: the error bit set and the TitanError as data. */
export function errorResponseTo(request: Packet, error: TitanError): Packet {
  return { ...responseTo(request, error), error: true };
}

/** Encodes a packet as Netron's `encodePacket` does. */
export function encodePacket(packet: Packet): Uint8Array {
  const w = new ByteWriter();
  writePacket(w, packet);
  return w.finish();
}

function writePacket(w: ByteWriter, packet: Packet): void {
  const isStream = packet.type === PacketType.STREAM;
  if (isStream !== (packet.stream !== undefined)) {
    throw new NetronEncodeError(
      `packet type ${packet.type} ${isStream ? "has no" : "has a"} stream position: STREAM packets carry a stream id and index after the value, other packet types do not`,
    );
  }
  w.u32(packet.id);
  w.u8(packetFlags(packet));
  writeValue(w, packet.data, 0);
  if (packet.stream) {
    w.u32(packet.stream.id);
    w.u32(packet.stream.index);
  }
}

/**
 * Packets encoded back to back into one reused buffer, each behind its u32 BE length (the tcp/unix
 * framing). A worker hands all of one job's answers to the core as this one byte range: one copy at
 * the crossing instead of a buffer, and a handle to it, per packet.
 */
export class FrameBatch {
  private readonly writer = new ByteWriter();
  /** Packets added since the last `clear`. */
  count = 0;

  /** Appends one packet; returns its encoded size. A packet that fails to encode leaves the batch as it was. */
  add(packet: Packet): number {
    const start = this.writer.length;
    this.writer.u32(0);
    try {
      writePacket(this.writer, packet);
    } catch (error) {
      this.writer.length = start;
      throw error;
    }
    const size = this.writer.length - start - 4;
    this.writer.patchU32(start, size);
    this.count++;
    return size;
  }

  /** The frames added so far: a view, valid until the next `add` or `clear`. */
  bytes(): Uint8Array {
    return this.writer.view8();
  }

  clear(): void {
    this.writer.clear();
    this.count = 0;
  }
}

/** Decodes one whole packet; trailing bytes are an error, as in Netron's `decodePacket`. */
export function decodePacket(bytes: Uint8Array, limits: DecodeLimits = {}): Packet {
  const maxLength = limits.maxPacketLength ?? DEFAULT_MAX_FRAME_LENGTH;
  if (bytes.length > maxLength) {
    throw new NetronDecodeError("OVERSIZED", 0, `Netron packet of ${bytes.length} bytes exceeds the limit of ${maxLength} bytes`);
  }
  const reader = new ByteReader(bytes, 0, bytes.length, limits.maxDepth ?? DEFAULT_MAX_DEPTH);
  const id = reader.u32("packet id");
  const flags = reader.u8("packet flags");
  const type = flags & 0x0f;
  if (type > PacketType.STREAM_CLOSE) {
    throw new NetronDecodeError(
      "UNKNOWN_PACKET_TYPE",
      4,
      `unknown Netron packet type ${type} in the flags byte at offset 4; valid types are 0-7 (PING, GET, SET, CALL, TASK, STREAM, STREAM_ERROR, STREAM_CLOSE), so the peer is not speaking this Netron protocol version`,
    );
  }
  const packet: Packet = {
    id,
    type: type as PacketTypeId,
    impulse: flags & 0x40 ? 1 : 0,
    error: (flags & 0x80) !== 0,
    eos: (flags & 0x10) !== 0,
    live: (flags & 0x20) !== 0,
    data: reader.value(0),
  };
  if (type === PacketType.STREAM) packet.stream = { id: reader.u32("stream id"), index: reader.u32("stream index") };
  reader.finish("packet");
  return packet;
}

// ---------------------------------------------------------------------------------------------
// Framing for tcp and unix: every message, the JSON handshake included, is u32 BE length + body.

/** Prefixes `body` with its u32 BE length. */
export function encodeFrame(body: Uint8Array): Uint8Array {
  checkLength("frame", body.length);
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setUint32(0, body.length);
  frame.set(body, 4);
  return frame;
}

/**
 * Reassembles length-prefixed frames from chunks of any size. A frame longer than the cap is refused as
 * soon as its prefix arrives, before its body is buffered; after that the decoder stays failed and the
 * connection should be closed.
 */
export class FrameDecoder {
  private readonly prefix = new Uint8Array(4);
  private prefixFilled = 0;
  private bodyLength: number | undefined;
  private parts: Uint8Array[] = [];
  private partsLength = 0;
  private streamOffset = 0;
  private failure: NetronDecodeError | undefined;

  constructor(readonly maxFrameLength: number = DEFAULT_MAX_FRAME_LENGTH) {}

  /** Bytes received but not yet part of a complete frame. */
  get bufferedLength(): number {
    return this.prefixFilled + this.partsLength;
  }

  /** Feeds the next chunk of the stream and returns the bodies of every frame it completes, in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.failure) throw new NetronDecodeError(this.failure.code, this.failure.offset, this.failure.message);
    const frames: Uint8Array[] = [];
    let at = 0;
    for (;;) {
      if (this.bodyLength === undefined) {
        if (at === chunk.length) break;
        const take = Math.min(4 - this.prefixFilled, chunk.length - at);
        this.prefix.set(chunk.subarray(at, at + take), this.prefixFilled);
        this.prefixFilled += take;
        at += take;
        if (this.prefixFilled < 4) break;
        const declared = new DataView(this.prefix.buffer).getUint32(0);
        if (declared > this.maxFrameLength) {
          this.prefixFilled = 0;
          this.failure = new NetronDecodeError(
            "OVERSIZED",
            this.streamOffset,
            `Netron frame of ${declared} bytes (length prefix at byte offset ${this.streamOffset}) exceeds the limit of ${this.maxFrameLength} bytes; the connection must be closed. Split the payload or raise the frame limit on both peers`,
            undefined,
            frames,
          );
          throw this.failure;
        }
        this.bodyLength = declared;
      } else {
        const take = Math.min(this.bodyLength - this.partsLength, chunk.length - at);
        if (take > 0) {
          this.parts.push(chunk.slice(at, at + take));
          this.partsLength += take;
          at += take;
        }
        if (this.partsLength < this.bodyLength) break;
        frames.push(this.parts.length === 1 ? this.parts[0]! : concat(this.parts, this.partsLength));
        this.streamOffset += 4 + this.bodyLength;
        this.parts = [];
        this.partsLength = 0;
        this.prefixFilled = 0;
        this.bodyLength = undefined;
      }
    }
    return frames;
  }
}

function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  const joined = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return joined;
}

// ---------------------------------------------------------------------------------------------
// The JSON id handshake: server `{"type":"id","id":...}`, client `{"type":"client-id","id":...}`.

/** One handshake message. */
export type Handshake = { type: "id"; id: string } | { type: "client-id"; id: string };

/** Netron's rule before the first packet has arrived: a frame starting with `{` or `[` is JSON text. */
export function isJsonText(body: Uint8Array): boolean {
  return body[0] === 0x7b || body[0] === 0x5b;
}

/** The handshake's JSON text as bytes (frame it with {@link encodeFrame} on tcp and unix). */
export function encodeHandshake(message: Handshake): Uint8Array {
  return textEncoder.encode(JSON.stringify({ type: message.type, id: message.id }));
}

/** Parses a handshake message, with an error that shows what was expected. */
export function parseHandshake(body: Uint8Array): Handshake {
  const fail = (reason: string): never => {
    const excerpt = JSON.stringify(new TextDecoder().decode(body.subarray(0, 80)));
    throw new Error(
      `not a Netron handshake message (${reason}); expected JSON text such as {"type":"client-id","id":"..."} as the first message of a connection. Got: ${excerpt}`,
    );
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(body));
  } catch (error) {
    return fail((error as Error).message);
  }
  const message = parsed as { type?: unknown; id?: unknown } | null;
  if (typeof message !== "object" || message === null) return fail("not a JSON object");
  if (message.type !== "id" && message.type !== "client-id") return fail(`unknown type ${JSON.stringify(message.type)}`);
  if (typeof message.id !== "string") return fail("id must be a string");
  return { type: message.type, id: message.id };
}
