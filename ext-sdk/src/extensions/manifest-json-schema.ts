// The JSON Schema of an extension's titan.json, for editor completion (generated titan.json files
// point `$schema` at it): generated from the zod schemas in manifest.ts, so the two never drift.

import { z } from "zod";
import * as manifest from "./manifest.js";

/**
 * Every manifest form manifest.ts exports as `<form>ManifestSchema` is one `anyOf` branch, picked
 * up by that naming convention so a new form (e.g. `napi`) is in the schema without editing this
 * file. Titan's own form comes first, Titan Planet's classic one last.
 */
function manifestForms(): [string, z.ZodType][] {
  const order = ["nativeManifestSchema", "napiManifestSchema", "classicManifestSchema"];
  const forms = Object.entries(manifest as Record<string, unknown>).filter((entry): entry is [string, z.ZodType] => entry[0].endsWith("ManifestSchema") && entry[1] instanceof z.ZodType);
  const rank = (name: string) => (order.includes(name) ? order.indexOf(name) : order.length);
  return forms.sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
}

/** What editors show for each field, by its path in the manifest (fields of any form). */
const DESCRIPTIONS: Record<string, string> = {
  $schema: "Path or URL of this file's JSON Schema, for editor completion.",
  name: "The extension's name (its crate's name); errors from its functions read `<name>.<function>: ...`.",
  version: "The extension's version.",
  description: "One line saying what the extension does.",
  kind: "`native` (the default): a titan-ext library loaded by the Rust core; `napi`: a Node-API addon loaded in each worker.",
  namespace: "The JS identifier of its API, `t.<namespace>`; defaults to the name with '-' as '_'.",
  entry: "A JS file run in every worker after the functions are bound, with `t` in scope (a plain script), to add a friendlier API.",
  main: "Titan Planet's JS entry (classic form).",
  native: "The native library.",
  "native.library": "The built library: one path, or one per platform (`linux-x64`, `darwin-arm64`, ...), relative to this file. `titan build ext` records it.",
  "native.path": "Titan Planet's library path (classic form).",
  "native.free": "Titan Planet's free function (classic form).",
  "native.functions": "Titan Planet's functions: JS name → C symbol, parameter and result types (classic form).",
  node: "The Node-API addon.",
  "node.toolchain": "How the addon is built: napi-rs or neon.",
  "node.addon": "The built addon (.node): one path, or one per platform, relative to this file. `titan build ext` records it.",
  "node.types": "A hand-written .d.ts declaring the addon's exports.",
};

type JsonSchemaNode = { properties?: Record<string, JsonSchemaNode>; description?: string; [key: string]: unknown };

function describe(node: JsonSchemaNode, prefix: string): void {
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const field = prefix === "" ? key : `${prefix}.${key}`;
    const description = DESCRIPTIONS[field];
    if (description !== undefined && child.description === undefined) child.description = description;
    describe(child, field);
  }
}

/** The JSON Schema (draft 2020-12) of titan.json: one branch per manifest form. */
export function manifestJsonSchema(): Record<string, unknown> {
  const forms = manifestForms().map(([, schema]) => schema);
  const root = z.toJSONSchema(forms.length === 1 ? forms[0]! : z.union(forms as [z.ZodType, z.ZodType, ...z.ZodType[]]), { io: "input" }) as JsonSchemaNode & { anyOf?: JsonSchemaNode[] };
  for (const branch of root.anyOf ?? [root]) describe(branch, "");
  const { $schema, ...rest } = root;
  return { $schema, title: "titan.json", description: "A Titan extension's manifest (titan.json).", ...rest };
}
