// The cases of `npm run bench:ext`, shared by the runner (for --cases and the report) and the
// worker (which builds the arguments). Each case calls one function of titan-bench-ext through
// `t.bench.<titan>` and the same function of napi-direct as `<napi>`.

/** A flat one-byte (ASCII) string of `length` characters, as a request body or header would be. */
export function asciiString(length) {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = 97 + (i % 26); // a..z
  return Buffer.from(bytes).toString("utf8");
}

function bytes(length, kind) {
  const array = kind === "buffer" ? Buffer.alloc(length) : new Uint8Array(length);
  for (let i = 0; i < length; i++) array[i] = i % 251;
  return array;
}

/**
 * `key`: for --cases and the JSON. `goal`: whether the case counts for "≤ 1.5× for scalars and
 * strings". `args()`: the arguments, made once and reused by every call. `expect`: what both
 * sides must return (checked before timing).
 */
export const CASES = [
  { key: "noop", label: "no args", titan: "noop", napi: "noop", goal: true, args: () => [], expect: null },
  { key: "add", label: "two numbers", titan: "add", napi: "add", goal: true, args: () => [1.5, 2], expect: 3.5 },
  { key: "str100", label: "100 B string in", titan: "str_len", napi: "strLen", goal: true, args: () => [asciiString(100)], expect: 100 },
  { key: "str10k", label: "10 KiB string in", titan: "str_len", napi: "strLen", goal: true, args: () => [asciiString(10 * 1024)], expect: 10 * 1024 },
  { key: "echo100", label: "100 B string in+out", titan: "echo", napi: "echo", goal: true, args: () => [asciiString(100)], expect: asciiString(100) },
  { key: "buf1k", label: "1 KiB Buffer in", titan: "bytes_sum", napi: "bytesSum", goal: false, args: () => [bytes(1024, "buffer")], expect: sumBytes(1024) },
  { key: "u8a1k", label: "1 KiB Uint8Array in", titan: "bytes_sum", napi: "bytesSum", goal: false, args: () => [bytes(1024, "uint8array")], expect: sumBytes(1024) },
  { key: "small", label: "small object in", titan: "small", napi: "small", goal: false, args: () => [{ id: 1, name: "x", tags: ["a", "b"] }], expect: 3 },
];

function sumBytes(length) {
  let sum = 0;
  for (let i = 0; i < length; i++) sum += i % 251;
  return sum;
}
