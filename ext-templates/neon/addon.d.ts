// The addon's exports, declared by hand: neon generates no TypeScript. `titan build ext` turns
// this file into index.d.ts (t.{{namespace}} typed by it), so keep it in step with src/lib.rs:
// one `export declare` per #[neon::export], named as JS sees it (camelCase).

/** "Hello, World!" → "hello-world". */
export declare function slugify(text: string): string;

export interface TextStats {
  /** Runs of non-whitespace. */
  words: number;
  /** Lines (a last line without a newline counts). */
  lines: number;
  /** Length in UTF-8 bytes. */
  bytes: number;
}

/** Words, lines and UTF-8 bytes of a text. */
export declare function stats(text: string): TextStats;

/**
 * A TCP port number from text.
 * @throws {Error} when the text is not a port number from 1 to 65535.
 */
export declare function parsePort(text: string): number;
