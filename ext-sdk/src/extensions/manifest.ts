// An extension's manifest, `titan.json`, checked with zod (the Rust core checks the same rules
// with serde when it loads one): Titan's own form (`native.library`), a Node-API addon
// (`"kind": "napi"` + `node.addon`) and Titan Planet's classic form (`native.path` +
// `native.functions`). Problems name the field and the fix.

import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { CliError } from "../errors.js";
import type { ExtensionSpec } from "../runtime/contract.js";

/** Node's `platform-arch`, the key of per-platform libraries (`linux-x64`). */
export const PLATFORM_KEY = `${process.platform}-${process.arch}`;

const identifier = z.string().regex(/^[A-Za-z_$][\w$]*$/, "must be a JS identifier (letters, digits, _), e.g. \"mydb\"");
const classicParam = z.enum(["string", "f64", "number", "bool", "boolean", "json", "buffer"]);
const classicResult = z.enum(["string", "f64", "number", "bool", "boolean", "json", "void"]);

export const nativeManifestSchema = z.object({
  $schema: z.string().optional(),
  name: z.string().min(1),
  version: z.string().optional(),
  description: z.string().optional(),
  kind: z.literal("native").optional(),
  namespace: identifier.optional(),
  entry: z.string().min(1).optional(),
  /** A hand-written .d.ts for what the JS entry adds: it augments `TitanExtensions.<namespace>`. */
  types: z.string().min(1).optional(),
  native: z.strictObject({
    library: z.union([z.string().min(1), z.record(z.string(), z.string().min(1))]),
  }),
});

export const classicManifestSchema = z.object({
  name: z.string().min(1),
  main: z.string().min(1).optional(),
  native: z.object({
    path: z.string().min(1),
    free: z.string().min(1).optional(),
    functions: z.record(
      z.string(),
      z.object({ symbol: z.string().min(1), parameters: z.array(classicParam).optional(), result: classicResult.optional() }),
    ),
  }),
});

/** The toolchains `titan build ext` drives for a Node-API addon. */
const NAPI_TOOLCHAINS = ["napi-rs", "neon"] as const;

/**
 * A Node-API addon (napi-rs or neon), loaded in every worker isolate (DESIGN.md, kind `napi`).
 * `node.addon` has the same shapes as `native.library`: one path, or one per platform, which
 * `titan build ext` records; it may be absent before the first build.
 */
export const napiManifestSchema = z.object({
  $schema: z.string().optional(),
  name: z.string().min(1),
  version: z.string().optional(),
  description: z.string().optional(),
  kind: z.literal("napi"),
  namespace: identifier.optional(),
  entry: z.string().min(1).optional(),
  node: z.strictObject({
    toolchain: z.enum(NAPI_TOOLCHAINS),
    addon: z.union([z.string().min(1), z.record(z.string(), z.string().min(1))]).optional(),
    /** Declarations of the addon's exports (`export declare function ...`), written by hand:
     * required in practice for neon, which has no type generator; overrides napi-rs's. */
    types: z.string().min(1).optional(),
  }),
});

export type NativeManifest = z.infer<typeof nativeManifestSchema>;
export type ClassicManifest = z.infer<typeof classicManifestSchema>;
export type NapiManifest = z.infer<typeof napiManifestSchema>;
export type ExtensionManifest =
  | { form: "native"; manifest: NativeManifest }
  | { form: "classic"; manifest: ClassicManifest }
  | { form: "napi"; manifest: NapiManifest };

const FIXES: Record<string, string> = {
  name: 'name the extension, e.g. "name": "mydb"',
  native: 'add "native": { "library": "target/release/lib<crate>.so" }',
  "native.library": 'give the built library\'s path, e.g. "library": "target/release/libmydb.so"',
  namespace: 'a JS identifier for t.<namespace>, e.g. "mydb"',
  "native.path": 'give the built library\'s path, e.g. "path": "native/libext.so"',
  node: '"node" takes "toolchain" ("napi-rs" or "neon"), "addon" and "types", e.g. "node": { "toolchain": "napi-rs" }',
  "node.toolchain": 'say how the addon is built: "toolchain": "napi-rs" or "toolchain": "neon"',
  "node.addon": '`titan build ext` records it; or give the built addon\'s path, e.g. "addon": { "linux-x64": "native/linux-x64/myaddon.node" }',
  "node.types": 'the path of a hand-written .d.ts declaring the addon\'s exports, e.g. "types": "addon.d.ts"',
  kind: 'use "kind": "napi" for a Node-API addon, "native" (or leave it out) for a titan-ext library',
};

/** Parses and checks a manifest's text; `file` names it in errors. */
export function parseExtensionManifest(text: string, file: string): ExtensionManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${file} is not valid JSON: ${(error as Error).message}`, { hint: "fix the syntax, then build again" });
  }
  const form = manifestForm(raw);
  const result = form === "napi" ? napiManifestSchema.safeParse(raw) : form === "classic" ? classicManifestSchema.safeParse(raw) : nativeManifestSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const field = issue.path.join(".") || "(file)";
      const fix = FIXES[field] ?? FIXES[issue.path.slice(0, 2).join(".")] ?? "see core-runtime/docs/abi.md for the manifest format";
      return `\`${field}\`: ${issue.message} — ${fix}`;
    });
    throw new CliError(`${file} is not a valid extension manifest`, { details: lines, hint: lines[0] });
  }
  return { form, manifest: result.data } as ExtensionManifest;
}

/** Which form a parsed titan.json claims: `"kind": "napi"`, classic (`native.functions`), or native. */
function manifestForm(raw: unknown): ExtensionManifest["form"] {
  if (typeof raw !== "object" || raw === null) return "native";
  const object = raw as { kind?: unknown; native?: { functions?: unknown } };
  if (object.kind === "napi") return "napi";
  return typeof object.native?.functions === "object" ? "classic" : "native";
}

/** The library for this platform, from `native.library` (a path, or paths per platform). */
export function libraryFor(manifest: NativeManifest, file: string): string {
  const library = manifest.native.library;
  if (typeof library === "string") return library;
  const forHere = library[PLATFORM_KEY];
  if (!forHere) {
    throw new CliError(`${file}: \`native.library\` has no build for ${PLATFORM_KEY} (it has ${Object.keys(library).join(", ") || "none"})`, {
      hint: "build the extension on this machine (`titan build ext`), which records the library for this platform",
    });
  }
  return forHere;
}

/** The addon for this platform, from `node.addon` (a path, or paths per platform). */
export function addonFor(manifest: NapiManifest, file: string): string {
  const addon = manifest.node.addon;
  if (typeof addon === "string") return addon;
  const forHere = addon?.[PLATFORM_KEY];
  if (!forHere) {
    const built = addon ? Object.keys(addon) : [];
    throw new CliError(`${file}: \`node.addon\` has no build for ${PLATFORM_KEY} (${built.length > 0 ? `it has ${built.join(", ")}` : "it was never built"})`, {
      hint: "build the addon on this machine (`titan build ext`), which records it for this platform",
    });
  }
  return forHere;
}

/** A short content hash: the same bytes give the same name, a rebuild gives a new one. */
export function contentHash(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex").slice(0, 16);
}

function claimNamespace(namespaces: Map<string, string>, namespace: string, name: string) {
  const taken = namespaces.get(namespace);
  if (taken) {
    throw new CliError(`extensions ${taken} and ${name} both use the namespace t.${namespace}`, { hint: 'set a distinct "namespace" in one of their titan.json files' });
  }
  namespaces.set(namespace, name);
}

/** A classic Titan Planet extension: bound as `t.<name>`, its `main` run with `t` in scope. */
function resolveClassic(manifest: ClassicManifest, text: string, dir: string, file: string, namespaces: Map<string, string>): ExtensionSpec {
  const library = path.resolve(dir, manifest.native.path);
  if (!existsSync(library)) {
    throw new CliError(`extension ${manifest.name}: its library ${library} is not built`, { hint: `build it (in ${dir}), then build the app again` });
  }
  claimNamespace(namespaces, manifest.name, manifest.name);
  const main = manifest.main ? path.resolve(dir, manifest.main) : null;
  if (main && !existsSync(main)) {
    throw new CliError(`${file}: its main ${main} does not exist`, { hint: 'fix "main", or remove it' });
  }
  return { name: manifest.name, namespace: manifest.name, kind: "classic", library, entry: main, config: null, manifest: text };
}

/** A Node-API addon: loaded in each worker isolate from a copy named by its content hash. */
function resolveNapi(manifest: NapiManifest, dir: string, file: string, config: unknown, namespaces: Map<string, string>): ExtensionSpec {
  const namespace = manifest.namespace ?? manifest.name.replace(/-/g, "_");
  const addon = path.resolve(dir, addonFor(manifest, file));
  if (!existsSync(addon)) {
    throw new CliError(`extension ${manifest.name}: its addon ${addon} is not built`, {
      hint: `build it: \`titan build ext\` in ${dir}, then build the app again`,
    });
  }
  claimNamespace(namespaces, namespace, manifest.name);
  const entryFile = manifest.entry ? path.resolve(dir, manifest.entry) : null;
  if (entryFile && !existsSync(entryFile)) {
    throw new CliError(`extension ${manifest.name}: its entry ${entryFile} does not exist`, { hint: 'fix "entry" in its titan.json, or remove it' });
  }
  // The hash makes a rebuilt addon a different spec, so a reload loads it instead of reusing the old one.
  return { name: manifest.name, namespace, kind: "napi", library: addon, addonHash: contentHash(addon), entry: entryFile, config };
}

/** Resolves the app's `extensions` entries into what the runtime loads. */
export function resolveExtensions(appDir: string, entries: readonly { path: string; config?: unknown }[]): ExtensionSpec[] {
  const specs: ExtensionSpec[] = [];
  const namespaces = new Map<string, string>();
  for (const entry of entries) {
    const dir = path.resolve(appDir, entry.path);
    const file = path.join(dir, "titan.json");
    if (!existsSync(file)) {
      throw new CliError(`extension ${entry.path}: ${file} does not exist`, {
        hint: existsSync(dir) ? "that directory is not a Titan extension (it has no titan.json)" : `check \`extensions[].path\` in titan.config.json (resolved from ${appDir})`,
      });
    }
    const text = readFileSync(file, "utf8");
    const parsed = parseExtensionManifest(text, file);
    if (parsed.form === "classic") {
      specs.push(resolveClassic(parsed.manifest, text, dir, file, namespaces));
      continue;
    }
    if (parsed.form === "napi") {
      specs.push(resolveNapi(parsed.manifest, dir, file, entry.config ?? null, namespaces));
      continue;
    }
    const manifest = parsed.manifest;
    const namespace = manifest.namespace ?? manifest.name.replace(/-/g, "_");
    const library = path.resolve(dir, libraryFor(manifest, file));
    if (!existsSync(library)) {
      throw new CliError(`extension ${manifest.name}: its library ${library} is not built`, {
        hint: `build it: \`cargo build\` in ${dir} (or \`titan build ext\`), then build the app again`,
      });
    }
    claimNamespace(namespaces, namespace, manifest.name);
    const entryFile = manifest.entry ? path.resolve(dir, manifest.entry) : null;
    if (entryFile && !existsSync(entryFile)) {
      throw new CliError(`extension ${manifest.name}: its entry ${entryFile} does not exist`, { hint: 'fix "entry" in its titan.json, or remove it' });
    }
    specs.push({ name: manifest.name, namespace, kind: "native", library, entry: entryFile, config: entry.config ?? null });
  }
  return specs;
}
