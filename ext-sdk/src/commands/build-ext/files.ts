// What `titan build ext` writes into the extension: the library under native/<platform>/ (kept
// out of git), and `native.library` (a Node-API addon: `node.addon`) in titan.json for this
// platform, edited in place so the file keeps its formatting and comments.

import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { applyEdits, modify, type FormattingOptions } from "jsonc-parser";
import { PLATFORM_KEY, type NapiManifest, type NativeManifest } from "../../extensions/manifest.js";

/** `native/<platform>/<file>`, relative to the extension, with forward slashes (as titan.json records it). */
export function nativeLibraryPath(builtLibrary: string): string {
  return `native/${PLATFORM_KEY}/${path.basename(builtLibrary)}`;
}

/** Copies the library into place through a temp file and a rename, so a process that has the old one loaded keeps a valid mapping. */
export function copyLibrary(builtLibrary: string, extDir: string, relative: string): string {
  const dest = path.join(extDir, ...relative.split("/"));
  mkdirSync(path.dirname(dest), { recursive: true });
  const temp = `${dest}.${process.pid}.tmp`;
  copyFileSync(builtLibrary, temp);
  renameSync(temp, dest);
  return dest;
}

/** Adds `native/` to the extension's .gitignore (creating it) unless it is already ignored there; returns whether it wrote. */
export function ignoreNativeDir(extDir: string): boolean {
  const file = path.join(extDir, ".gitignore");
  const text = existsSync(file) ? readFileSync(file, "utf8") : "";
  const lines = text.split(/\r?\n/).map((line) => line.trim());
  if (lines.some((line) => ["native", "native/", "/native", "/native/", "native/*", "/native/*"].includes(line))) return false;
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const prefix = text === "" || text.endsWith("\n") ? "" : eol;
  writeFileSync(file, `${text}${prefix}# native libraries built by \`titan build ext\`${eol}native/${eol}`);
  return true;
}

function formattingOf(text: string): FormattingOptions {
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const indent = /^([ \t]+)\S/m.exec(text)?.[1] ?? "  ";
  return indent.startsWith("\t") ? { insertSpaces: false, tabSize: 1, eol } : { insertSpaces: true, tabSize: indent.length, eol };
}

/**
 * Points `native.library` at `relative` for this platform (the per-platform object form), unless
 * it already does. Returns the new text, or null when nothing changes.
 */
export function updateManifestLibrary(text: string, manifest: NativeManifest, extDir: string, relative: string): string | null {
  return recordPlatformPath(text, ["native", "library"], manifest.native.library, relative);
}

/** The same for a Node-API addon's `node.addon` (absent before the first build). */
export function updateManifestAddon(text: string, manifest: NapiManifest, relative: string): string | null {
  return recordPlatformPath(text, ["node", "addon"], manifest.node.addon, relative);
}

function recordPlatformPath(text: string, field: [string, string], current: string | Record<string, string> | undefined, relative: string): string | null {
  if (typeof current === "object" && current[PLATFORM_KEY] === relative) {
    return null;
  }
  const formattingOptions = formattingOf(text);
  const edits =
    typeof current === "object"
      ? modify(text, [...field, PLATFORM_KEY], relative, { formattingOptions })
      : modify(text, field, { [PLATFORM_KEY]: relative }, { formattingOptions });
  return applyEdits(text, edits);
}
