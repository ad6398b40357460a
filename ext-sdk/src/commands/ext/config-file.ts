// Edits `titan.config.json` in place: jsonc-parser's `modify` touches only the edited part, so the
// rest of the file keeps its bytes; the result is validated before it replaces the file atomically.

import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { applyEdits, findNodeAtLocation, format, modify, parseTree, type FormattingOptions, type JSONPath } from "jsonc-parser";
import { CONFIG_FILE_NAME, parseConfigText } from "../../config/load.js";
import type { TitanConfig } from "../../config/schema.js";
import { CliError } from "../../errors.js";

export interface ConfigForEdit {
  /** Absolute path of the config file. */
  file: string;
  /** Its text; a missing file reads as an empty object (written only on change). */
  text: string;
  exists: boolean;
  /** The text, parsed and validated. */
  config: TitanConfig;
}

/** Reads and validates the app's config; a syntax or schema error throws the loader's CliError. */
export function readConfigForEdit(appDir: string): ConfigForEdit {
  const file = path.join(appDir, CONFIG_FILE_NAME);
  if (!existsSync(file)) return { file, text: "{}\n", exists: false, config: {} };
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`, { hint: "check the file's permissions" });
  }
  return { file, text, exists: true, config: parseConfigText(text, CONFIG_FILE_NAME) };
}

/** The file's own indentation and line ending, so inserted text looks like the rest. */
export function detectFormatting(text: string): FormattingOptions {
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const indent = /^([ \t]+)\S/m.exec(text)?.[1];
  if (indent?.startsWith("\t")) return { insertSpaces: false, tabSize: 1, eol };
  return { insertSpaces: true, tabSize: indent ? indent.length : 2, eol };
}

/**
 * Sets (or with `undefined`, removes) the value at `jsonPath`; `insert` appends to an array.
 * Only the inserted text is formatted (in the file's own style): jsonc-parser's own formatting
 * would also reformat the whole line the edit starts on, e.g. a sibling written on one line.
 */
export function editJson(text: string, jsonPath: JSONPath, value: unknown, options: { insert?: boolean } = {}): string {
  const edits = modify(text, jsonPath, value, { isArrayInsertion: options.insert === true });
  const edited = applyEdits(text, edits);
  const edit = edits.length === 1 ? edits[0]! : undefined;
  if (!edit || edit.content.length === 0) return edited;
  const start = edit.offset;
  const end = edit.offset + edit.content.length;
  const layout = format(edited, { offset: start, length: end - start }, { ...detectFormatting(text), keepLines: false }).filter(
    (change) => change.offset >= start && change.offset + change.length <= end,
  );
  return applyEdits(edited, layout);
}

/**
 * Removes element `index` of the array at `arrayPath` with the separator on one side, leaving the
 * surrounding bytes as they were (jsonc-parser's own removal of a last element also eats the line
 * break before the closing bracket). An array's only element leaves `[]`.
 */
export function removeArrayElement(text: string, arrayPath: JSONPath, index: number): string {
  const array = findNodeAtLocation(parseTree(text) ?? { type: "null", offset: 0, length: 0 }, arrayPath);
  const items = array?.type === "array" ? (array.children ?? []) : [];
  const item = items[index];
  if (!item) throw new Error(`no element ${index} at ${arrayPath.join(".")}`);
  if (items.length === 1) return editJson(text, arrayPath, []);
  const end = (node: { offset: number; length: number }) => node.offset + node.length;
  const [from, to] = index > 0 ? [end(items[index - 1]!), end(item)] : [item.offset, items[1]!.offset];
  return text.slice(0, from) + text.slice(to);
}

/** Validates `text` with the config schema, then replaces the file atomically (temp file + rename). */
export function writeConfigAtomically(file: string, text: string): TitanConfig {
  const config = parseConfigText(text, CONFIG_FILE_NAME);
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(temp, text);
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new CliError(`cannot write ${file}: ${(error as Error).message}`, { hint: "check that the app directory is writable" });
  }
  return config;
}
