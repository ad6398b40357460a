// An extension's manifest, `titan.json`, checked with zod (the Rust core checks the same rules
// with serde when it loads one): Titan's own form (`native.library`) and Titan Planet's classic
// form (`native.path` + `native.functions`). Problems name the field and the fix.

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

export type NativeManifest = z.infer<typeof nativeManifestSchema>;
export type ClassicManifest = z.infer<typeof classicManifestSchema>;
export type ExtensionManifest = { form: "native"; manifest: NativeManifest } | { form: "classic"; manifest: ClassicManifest };

const FIXES: Record<string, string> = {
  name: 'name the extension, e.g. "name": "mydb"',
  native: 'add "native": { "library": "target/release/lib<crate>.so" }',
  "native.library": 'give the built library\'s path, e.g. "library": "target/release/libmydb.so"',
  namespace: 'a JS identifier for t.<namespace>, e.g. "mydb"',
  "native.path": 'give the built library\'s path, e.g. "path": "native/libext.so"',
};

/** Parses and checks a manifest's text; `file` names it in errors. */
export function parseExtensionManifest(text: string, file: string): ExtensionManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${file} is not valid JSON: ${(error as Error).message}`, { hint: "fix the syntax, then build again" });
  }
  const isClassic = typeof raw === "object" && raw !== null && typeof (raw as { native?: { functions?: unknown } }).native?.functions === "object";
  const result = isClassic ? classicManifestSchema.safeParse(raw) : nativeManifestSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const field = issue.path.join(".") || "(file)";
      const fix = FIXES[field] ?? FIXES[issue.path.slice(0, 2).join(".")] ?? "see core-runtime/docs/abi.md for the manifest format";
      return `\`${field}\`: ${issue.message} — ${fix}`;
    });
    throw new CliError(`${file} is not a valid extension manifest`, { details: lines, hint: lines[0] });
  }
  return isClassic ? { form: "classic", manifest: result.data as ClassicManifest } : { form: "native", manifest: result.data as NativeManifest };
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
