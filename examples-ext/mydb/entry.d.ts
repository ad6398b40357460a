// Types of what the JS entry (index.js) adds to t.mydb; titan.json's "types" names this file.

export {};

declare global {
  namespace TitanExtensions {
    interface mydb {
      /**
       * Runs `fn` in a transaction on this worker's connection and returns its result: its writes
       * commit together when it returns, or none do if it throws (the error is rethrown). Nested
       * calls join the outer transaction.
       */
      transaction<T>(fn: () => T): T;
    }
  }
}
