// The names `titan create ext` derives from the one the user gives: checked against both cargo's
// and npm's rules (the name is the crate's and the package's), turned into the crate's snake_case
// name and the default `t.<namespace>`, with a valid suggestion when it is refused.

import validatePackageName from "validate-npm-package-name";

/** Rust's strict and reserved keywords: cargo refuses them as package names. */
const RUST_KEYWORDS = new Set(
  ("as async await break const continue crate dyn else enum extern false fn for gen if impl in let loop match mod move mut pub ref " +
    "return self Self static struct super trait true type unsafe use where while abstract become box do final macro override priv try " +
    "typeof unsized virtual yield").split(" "),
);

/** Names cargo refuses for other reasons, each with the reason it gives. */
const CARGO_RESERVED: Record<string, string> = {
  std: "it is the name of Rust's standard library",
  core: "it is the name of Rust's core library",
  alloc: "it is the name of Rust's alloc library",
  proc_macro: "it is the name of Rust's proc_macro library",
  test: "it is the name of Rust's built-in test library",
  build: "it is a directory name cargo uses in target/",
  deps: "it is a directory name cargo uses in target/",
  examples: "it is a directory name cargo uses in target/",
  incremental: "it is a directory name cargo uses in target/",
};

/** Windows device names: a crate with one of these names cannot be checked out on Windows. */
const WINDOWS_DEVICES = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])$/;

/** Names of what every generated extension depends on: a crate or package cannot depend on its own name. */
const DEPENDENCY_NAMES = new Set(["titan", "titan_ext", "titan_ext_sys", "titan_ext_macros", "serde", "serde_json"]);

/** The crate's name as Rust code sees it: `my-db` → `my_db` (cargo-generate's `crate_name`). */
export function crateNameOf(name: string): string {
  return name.replace(/-/g, "_");
}

/** The default namespace: the crate name in camelCase, `my_db` → `myDb` (JS style for `t.myDb`). */
export function defaultNamespace(name: string): string {
  const [first = "", ...rest] = crateNameOf(name).split("_").filter((part) => part !== "");
  return first + rest.map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join("");
}

/** Why `name` cannot name a new extension (crate and npm package), or undefined when it can. */
export function extensionNameProblem(name: string): string | undefined {
  if (name === "") return "the name is empty";
  const bad = [...new Set(name.replace(/[A-Za-z0-9_-]/g, ""))];
  if (bad.length > 0) {
    return `"${name}" has characters a crate name cannot have (${bad.map((c) => JSON.stringify(c)).join(", ")}): only ASCII letters, digits, '-' and '_' are allowed`;
  }
  if (/^[0-9]/.test(name)) return `"${name}" starts with a digit, which a crate name cannot`;
  if (/^[-_]/.test(name)) return `"${name}" starts with '${name[0]}': crate and npm package names start with a letter`;
  if (name !== name.toLowerCase()) return `"${name}" has uppercase letters, which a new npm package name cannot have`;
  const crate = crateNameOf(name);
  if (RUST_KEYWORDS.has(name) || RUST_KEYWORDS.has(crate)) return `"${name}" is a Rust keyword, which cargo refuses as a crate name`;
  const reserved = CARGO_RESERVED[crate];
  if (reserved) return `"${name}" is reserved by cargo: ${reserved}`;
  if (WINDOWS_DEVICES.test(crate)) return `"${name}" is a Windows device name, which cargo refuses as a crate name`;
  if (DEPENDENCY_NAMES.has(crate)) return `"${name}" is the name of a package every extension depends on, so the extension cannot be called that`;
  const npm = validatePackageName(name);
  if (!npm.validForNewPackages) {
    return `"${name}" is not a valid npm package name: ${[...(npm.errors ?? []), ...(npm.warnings ?? [])].join("; ")}`;
  }
  return undefined;
}

/**
 * A valid name close to a refused one, for the error's hint: lowercase, other characters as
 * '-', no leading digit or '-', then `-ext` appended or `my-` prepended if it is still refused.
 */
export function suggestExtensionName(name: string): string {
  const candidate = name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^[-_0-9]+/, "")
    .replace(/[-_]+$/, "")
    .slice(0, 60);
  if (candidate === "") return "my-ext";
  return [candidate, `${candidate}-ext`, `my-${candidate}`].find((name) => extensionNameProblem(name) === undefined) ?? "my-ext";
}

/** `t.*` names the runtime itself defines (core-runtime/types/titan-env.d.ts): an extension there would replace them. */
export const BUILT_IN_NAMESPACES = new Set(["log", "response", "fetch", "jwt", "password", "db"]);

/** Why `namespace` cannot be `t.<namespace>`, or undefined when it can. */
export function namespaceProblem(namespace: string): string | undefined {
  if (!/^[A-Za-z_$][\w$]*$/.test(namespace)) {
    return `"${namespace}" is not a JS identifier (letters, digits, '_' or '$', not starting with a digit), so it cannot be t.${namespace}`;
  }
  if (BUILT_IN_NAMESPACES.has(namespace)) return `t.${namespace} is one of Titan's built-in APIs`;
  return undefined;
}
