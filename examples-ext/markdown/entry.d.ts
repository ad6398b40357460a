// What the JS entry (index.js) adds to t.markdown. titan.json's "types" names this file: the app's
// build brings it in next to the generated index.d.ts, and `titan build ext` type-checks both.

export {};

declare global {
  namespace TitanExtensions {
    interface markdown {
      /** The rendered HTML with a table of contents built from the headings. */
      page(markdown: string): string;
    }
  }
}
