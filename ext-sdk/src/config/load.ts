// Reads and validates `titan.config.json`, turning every problem into a message that names the
// file, the key, the bad value and the form expected.

import { readFileSync } from "node:fs";
import path from "node:path";
import type { z } from "zod";
import { CliError } from "../errors.js";
import { closestMatch } from "../util/did-you-mean.js";
import { CONFIG_FIELDS, CONFIG_KEYS, titanConfigSchema, type TitanConfig } from "./schema.js";

export const CONFIG_FILE_NAME = "titan.config.json";

export interface LoadedConfig {
  /** Absolute path of the file read, or null when the app has none (all defaults). */
  file: string | null;
  config: TitanConfig;
}

/** Loads `<appDir>/titan.config.json`; a missing file means all defaults. Throws CliError when invalid. */
export function loadConfig(appDir: string): LoadedConfig {
  const file = path.join(appDir, CONFIG_FILE_NAME);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { file: null, config: {} };
    throw new CliError(`cannot read ${CONFIG_FILE_NAME}: ${(error as Error).message}`, {
      hint: "check the file's permissions",
    });
  }
  return { file, config: parseConfigText(text, CONFIG_FILE_NAME) };
}

/** Parses and validates config text; `fileLabel` is how messages name the file. */
export function parseConfigText(text: string, fileLabel: string): TitanConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw jsonSyntaxError(text, fileLabel, error as SyntaxError);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CliError(`${fileLabel} must hold a JSON object, got ${describeValue(value)}`, {
      hint: `write it as an object, e.g. { "port": 3000 }`,
    });
  }
  const result = titanConfigSchema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((issue) => describeIssue(issue, value as Record<string, unknown>, fileLabel));
  throw new CliError(problems.length === 1 ? problems[0]! : `${fileLabel} has ${problems.length} problems`, {
    details: problems.length === 1 ? [] : problems,
    hint: `fix ${fileLabel}; valid keys are ${CONFIG_KEYS.filter((k) => k !== "$schema").join(", ")}`,
  });
}

/** Keys and expected forms inside an `extensions` entry. */
const EXTENSION_ENTRY_FIELDS: Record<string, string> = {
  path: "a non-empty string: the extension's directory, relative to the app",
  config: "any JSON value, given to the extension's init",
};

function describeIssue(issue: z.core.$ZodIssue, input: Record<string, unknown>, fileLabel: string): string[] {
  const nested = issue.path.length > 1 || (issue.code === "unrecognized_keys" && issue.path.length > 0);
  const inExtensions = issue.path[0] === "extensions" && nested;
  if (issue.code === "unrecognized_keys") {
    const where = issue.path.length > 0 ? `\`${issue.path.map(String).join(".")}\` has ` : "";
    const known = inExtensions ? Object.keys(EXTENSION_ENTRY_FIELDS) : CONFIG_KEYS;
    return issue.keys.map((key) => {
      const suggestion = closestMatch(key, known);
      return `${fileLabel}: ${where}unknown key \`${key}\`${suggestion ? ` — did you mean \`${suggestion}\`?` : ""}`;
    });
  }
  const key = String(issue.path[0] ?? "");
  const keyPath = issue.path.map(String).join(".") || "(root)";
  const leaf = String(issue.path[issue.path.length - 1] ?? "");
  const expected =
    (inExtensions ? EXTENSION_ENTRY_FIELDS[leaf] : undefined) ??
    (nested ? issue.message : (CONFIG_FIELDS as Record<string, { expected: string } | undefined>)[key]?.expected) ??
    issue.message;
  // The value at the issue's own path, not the top-level key's.
  const actual = issue.path.reduce<unknown>((value, segment) => (value as Record<PropertyKey, unknown> | undefined)?.[segment as PropertyKey], input);
  return [`${fileLabel}: \`${keyPath}\` is ${describeValue(actual)}, expected ${expected}`];
}

/** A short rendering of a JSON value for messages: `"3000"` (a string), `-1`, `an array`. */
function describeValue(value: unknown): string {
  if (value === undefined) return "missing";
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  if (typeof value === "object") return "an object";
  const json = JSON.stringify(value);
  return json.length > 40 ? `${json.slice(0, 37)}...` : json;
}

/** Turns JSON.parse's "at position N" into line and column, with the offending line and a caret. */
function jsonSyntaxError(text: string, fileLabel: string, error: SyntaxError): CliError {
  const positionMatch = /position (\d+)/.exec(error.message);
  const offset = positionMatch ? Number(positionMatch[1]) : text.length; // no position: unexpected end
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const column = offset - (before.lastIndexOf("\n") + 1) + 1;
  const sourceLine = (text.split("\n")[line - 1] ?? "").replace(/\r$/, "");
  // V8's message repeats the position ("... in JSON at position 12"); keep only the reason.
  const reason = error.message.replace(/\s*in JSON at position \d+.*$/s, "").replace(/^JSON\.parse: /, "");
  return new CliError(`${fileLabel}:${line}:${column}: invalid JSON: ${reason}`, {
    details: [`  ${line} | ${sourceLine}`, `  ${" ".repeat(String(line).length)} | ${" ".repeat(Math.max(0, column - 1))}^`],
    hint: "JSON needs double-quoted keys and strings, and no trailing commas or comments",
  });
}
