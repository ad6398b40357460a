// Types for what the JS entry (index.js) adds to t.{{namespace}}: titan.json "types" names this
// file. The Rust functions are typed in the generated index.d.ts (`titan build ext`); this file
// adds to the same interface, and `titan build ext` type-checks both together.

export {};

declare global {
  namespace TitanExtensions {
    interface {{namespace}} {
      /** Greets every name, one per line. */
      greetAll(names: string[]): string;
    }
  }
}
