// Small formatters for what the CLI prints: sizes, durations, relative paths, lists.

import path from "node:path";

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

export function formatMs(ms: number): string {
  return `${Math.round(ms)} ms`;
}

/** A path relative to `from` with forward slashes, as shown in messages ("app/actions/hello.ts"). */
export function displayPath(from: string, target: string): string {
  const relative = path.relative(from, target);
  if (relative === "") return ".";
  return relative.split(path.sep).join("/");
}

/** `a`, `a and b`, `a, b and c`. */
export function joinWords(words: readonly string[]): string {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`;
}
