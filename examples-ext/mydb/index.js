// Runs in every worker after the natives are bound, with `t` in scope: transaction(fn) on top
// of begin/commit/rollback, and a set() whose type error says what to do with non-strings.

const mydb = t.mydb;
const nativeSet = mydb.set;

function describe(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `${typeof value === "object" ? "an" : "a"} ${typeof value}`;
}

/** Stores `value` under `key`. Values are strings: JSON.stringify anything else. */
mydb.set = function set(key, value) {
  if (typeof value !== "string") {
    throw new TypeError(`mydb.set: the value must be a string, got ${describe(value)}; store JSON.stringify(value) and JSON.parse what get() returns`);
  }
  return nativeSet(key, value);
};

/**
 * Runs `fn` in a transaction on this worker's connection and returns its result: everything it
 * writes commits together when it returns, or nothing does if it throws (the error is rethrown).
 * A transaction() inside another joins it: its writes are committed with the outer one, and if
 * it throws only its own writes are undone.
 */
mydb.transaction = function transaction(fn) {
  if (typeof fn !== "function") {
    throw new TypeError(`mydb.transaction: expects a function, got ${describe(fn)}; call it as t.mydb.transaction(() => { ... })`);
  }
  mydb.begin();
  let result;
  try {
    result = fn();
  } catch (err) {
    mydb.rollback();
    throw err;
  }
  if (result !== null && (typeof result === "object" || typeof result === "function") && typeof result.then === "function") {
    // Its writes would happen after the commit, outside the transaction.
    mydb.rollback();
    throw new TypeError("mydb.transaction: the function returned a Promise; transactions are synchronous, so remove async/await (nothing was written)");
  }
  // A failed commit has already rolled back (see Store::commit): nothing to undo here.
  mydb.commit();
  return result;
};
