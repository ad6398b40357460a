// The cargo side of `titan build ext`: the extension's package and resolved titan-ext version
// (`cargo metadata`), the titan-ext version this CLI expects, and the build itself, whose JSON
// messages name the built library.

import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { CliError } from "../../errors.js";
import { PACKAGE_ROOT } from "../../package-info.js";

export interface ExtensionCrate {
  /** Cargo's package id, as in the build's JSON messages. */
  id: string;
  name: string;
  manifestPath: string;
  /** The resolved version of its `titan-ext` dependency, or null when it has none. */
  titanExtVersion: string | null;
  /** Resolved versions of its direct dependencies, by crate name as Rust code spells it (`napi_derive`). */
  dependencyVersions: Map<string, string>;
}

interface MetadataPackage {
  id: string;
  name: string;
  version: string;
  manifest_path: string;
}
interface Metadata {
  packages: MetadataPackage[];
  resolve: { nodes: { id: string; deps: { name: string; pkg: string }[] }[] } | null;
}

function run(command: string, args: string[], cwd: string, stderr: "pipe" | "inherit", onStdoutLine?: (line: string) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", stderr] });
    let stdout = "";
    let err = "";
    let pending = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      if (!onStdoutLine) {
        stdout += chunk;
        return;
      }
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) onStdoutLine(line);
    });
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => (err += chunk));
    child.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") {
        reject(new CliError(`\`${command}\` is not installed (or not on PATH)`, { hint: "install Rust with rustup (https://rustup.rs), then run `titan build ext` again" }));
      } else reject(error);
    });
    child.once("close", (code) => {
      if (onStdoutLine && pending !== "") onStdoutLine(pending);
      resolve({ code, stdout, stderr: err });
    });
  });
}

/** The extension's crate (the package whose manifest is `<extDir>/Cargo.toml`) and its resolved titan-ext. */
export async function readExtensionCrate(extDir: string): Promise<ExtensionCrate> {
  const manifestPath = path.join(extDir, "Cargo.toml");
  if (!existsSync(manifestPath)) {
    throw new CliError(`${manifestPath} does not exist`, { hint: "a native extension is a Rust crate (crate-type = [\"cdylib\"]) next to its titan.json" });
  }
  const result = await run("cargo", ["metadata", "--format-version", "1", "--manifest-path", manifestPath], extDir, "pipe");
  if (result.code !== 0) {
    throw new CliError(`\`cargo metadata\` failed in ${extDir}`, { details: result.stderr.trim().split("\n"), hint: "fix Cargo.toml (the errors above), then run `titan build ext` again" });
  }
  const metadata = JSON.parse(result.stdout) as Metadata;
  const same = (a: string, b: string) => path.resolve(a) === path.resolve(b);
  const pkg = metadata.packages.find((candidate) => same(candidate.manifest_path, manifestPath));
  if (!pkg) throw new CliError(`cargo metadata does not list the package of ${manifestPath}`, { hint: "is Cargo.toml a virtual workspace manifest? run `titan build ext` in the extension crate's directory" });
  const node = metadata.resolve?.nodes.find((candidate) => candidate.id === pkg.id);
  const versions = new Map<string, string>();
  for (const dep of node?.deps ?? []) {
    const resolved = metadata.packages.find((candidate) => candidate.id === dep.pkg);
    if (resolved) versions.set(dep.name, resolved.version);
  }
  return { id: pkg.id, name: pkg.name, manifestPath: pkg.manifest_path, titanExtVersion: versions.get("titan_ext") ?? null, dependencyVersions: versions };
}

/** `version = "x"` of a TOML section (enough TOML for Cargo.toml's package headers). */
function tomlSectionVersion(text: string, section: string): { version?: string; workspace?: boolean } {
  let inSection = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*$/, "").trim();
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      inSection = header[1]!.trim() === section;
      continue;
    }
    if (!inSection) continue;
    const plain = /^version\s*=\s*"([^"]+)"$/.exec(line);
    if (plain) return { version: plain[1]! };
    if (/^version\.workspace\s*=\s*true$/.test(line) || /^version\s*=\s*\{\s*workspace\s*=\s*true\s*\}$/.test(line)) return { workspace: true };
  }
  return {};
}

let expected: string | null | undefined;

/**
 * The titan-ext version this CLI speaks: ext-sdk/crates/titan-ext/Cargo.toml's version (or the
 * workspace's `[workspace.package] version` it inherits). Null when the crate is not next to the CLI.
 */
export function expectedTitanExtVersion(): string | null {
  if (expected !== undefined) return expected;
  expected = null;
  const crateToml = path.join(PACKAGE_ROOT, "crates", "titan-ext", "Cargo.toml");
  if (!existsSync(crateToml)) return expected;
  const own = tomlSectionVersion(readFileSync(crateToml, "utf8"), "package");
  if (own.version) return (expected = own.version);
  if (!own.workspace) return expected;
  // The workspace root is the nearest ancestor Cargo.toml with a [workspace] section.
  for (let dir = path.dirname(path.dirname(crateToml)); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "Cargo.toml");
    if (existsSync(candidate)) {
      const text = readFileSync(candidate, "utf8");
      if (/^\s*\[workspace\]/m.test(text)) return (expected = tomlSectionVersion(text, "workspace.package").version ?? null);
    }
    if (path.dirname(dir) === dir) return expected;
  }
}

/** Refuses an extension whose resolved titan-ext is not the version this CLI expects. */
export function checkTitanExtVersion(crate: ExtensionCrate, extDir: string, want: string | null): void {
  if (crate.titanExtVersion === null) {
    throw new CliError(`the crate ${crate.name} does not depend on titan-ext`, {
      hint: "`titan build ext` builds extensions written with titan-ext: add it to [dependencies] in Cargo.toml",
    });
  }
  if (want !== null && crate.titanExtVersion !== want) {
    throw new CliError(`${crate.name} resolves titan-ext ${crate.titanExtVersion}, but this titan CLI expects titan-ext ${want}`, {
      hint: `run \`cargo update -p titan-ext\` in ${extDir} (to build against titan-ext ${want}), or update the titan CLI to the one that ships titan-ext ${crate.titanExtVersion}`,
    });
  }
}

const LIBRARY_SUFFIX: Record<string, string> = { linux: ".so", darwin: ".dylib", win32: ".dll" };

interface CargoMessage {
  reason?: string;
  package_id?: string;
  manifest_path?: string;
  target?: { kind?: string[] };
  filenames?: string[];
}

/**
 * `cargo build` in the extension's directory: cargo's progress and diagnostics go to stderr as
 * usual; its JSON messages on stdout name the built cdylib. Returns the library's path.
 */
export async function cargoBuild(crate: ExtensionCrate, extDir: string, release: boolean): Promise<string> {
  const args = ["build", ...(release ? ["--release"] : []), "--message-format=json-render-diagnostics", "--manifest-path", crate.manifestPath];
  const suffix = LIBRARY_SUFFIX[process.platform] ?? ".so";
  let library: string | null = null;
  let sawCdylib = false;
  const result = await run("cargo", args, extDir, "inherit", (line) => {
    if (!line.startsWith("{")) {
      if (line.trim() !== "") process.stderr.write(`${line}\n`);
      return;
    }
    let message: CargoMessage;
    try {
      message = JSON.parse(line) as CargoMessage;
    } catch {
      return;
    }
    if (message.reason !== "compiler-artifact" || !message.target?.kind?.includes("cdylib")) return;
    const ours = message.package_id === crate.id || (message.manifest_path !== undefined && path.resolve(message.manifest_path) === path.resolve(crate.manifestPath));
    if (!ours) return;
    sawCdylib = true;
    library = message.filenames?.find((file) => file.endsWith(suffix)) ?? library;
  });
  if (result.code !== 0) {
    throw new CliError(`cargo build failed for ${crate.name} (exit code ${result.code ?? "signal"})`, { hint: "fix the errors above, then run `titan build ext` again" });
  }
  if (library === null) {
    throw new CliError(
      sawCdylib ? `cargo built ${crate.name} but reported no ${suffix} library` : `cargo built no cdylib for ${crate.name}`,
      { hint: 'a native extension is a cdylib: set `crate-type = ["cdylib"]` under [lib] in its Cargo.toml' },
    );
  }
  return library;
}
