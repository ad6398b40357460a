// The two Node-API toolchains `titan build ext` drives for extensions of kind `napi`: napi-rs,
// through its own CLI (@napi-rs/cli builds the addon and generates its .d.ts), and neon, through
// plain cargo (its cdylib is the addon; neon has no type generator). Each checks first that the
// crate uses the crate versions this CLI can build, with the fix when it does not.

import { mkdtempSync, rmSync } from "node:fs";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { CliError } from "../../errors.js";
import { cargoBuild, type ExtensionCrate } from "./cargo.js";

const major = (version: string) => version.split(".")[0]!;

/** The @napi-rs/cli this CLI runs (a dependency of the `titan` package). */
export function napiCliVersion(): string {
  const require = createRequire(import.meta.url);
  return (require("@napi-rs/cli/package.json") as { version: string }).version;
}

/**
 * napi-rs's crates and CLI must share a major version: a mismatch builds, but silently produces
 * a broken .d.ts (napi-rs#2685). Refuses a crate that does not depend on napi/napi-derive, or
 * whose majors differ from the CLI's.
 */
export function checkNapiRsVersions(crate: ExtensionCrate, cliVersion: string, extDir: string): void {
  const napi = crate.dependencyVersions.get("napi");
  const derive = crate.dependencyVersions.get("napi_derive");
  const want = major(cliVersion);
  if (!napi || !derive) {
    throw new CliError(`the crate ${crate.name} does not depend on ${napi ? "napi-derive" : "napi"}, but its titan.json says "toolchain": "napi-rs"`, {
      hint: `add napi = "${want}" and napi-derive = "${want}" to [dependencies] (and napi-build = "2" to [build-dependencies]) in Cargo.toml, or set "toolchain": "neon" if it is a neon addon`,
    });
  }
  const wrong = [["napi", napi], ["napi-derive", derive]].filter(([, version]) => major(version!) !== want);
  if (wrong.length > 0) {
    const found = wrong.map(([name, version]) => `${name} ${version}`).join(" and ");
    throw new CliError(`${crate.name} resolves ${found}, but titan builds napi-rs addons with @napi-rs/cli ${cliVersion}: their major versions must match (a mismatch produces broken types)`, {
      hint: `set napi = "${want}" and napi-derive = "${want}" in ${crate.name}'s Cargo.toml and run \`cargo update -p napi -p napi-derive\` in ${extDir}, then \`titan build ext\``,
    });
  }
}

/** neon 1.x is what titan builds and documents; refuses a crate without it or on another major. */
export function checkNeonVersion(crate: ExtensionCrate, extDir: string): string {
  const neon = crate.dependencyVersions.get("neon");
  if (!neon) {
    throw new CliError(`the crate ${crate.name} does not depend on neon, but its titan.json says "toolchain": "neon"`, {
      hint: 'add neon = "1" to [dependencies] in Cargo.toml, or set "toolchain": "napi-rs" if it is a napi-rs addon',
    });
  }
  if (major(neon) !== "1") {
    throw new CliError(`${crate.name} resolves neon ${neon}, but titan builds neon 1.x addons`, {
      hint: `set neon = "1" in ${crate.name}'s Cargo.toml and run \`cargo update -p neon\` in ${extDir}`,
    });
  }
  return neon;
}

export interface BuiltAddon {
  /** The built `.node` file (in a temporary or cargo directory: copy it before the next build). */
  addon: string;
  /** The addon's declarations as the toolchain generated them, or null (neon, or typegen off). */
  declarations: string | null;
  /** Removes what the build left in temporary directories. */
  cleanup(): void;
}

interface NapiCliModule {
  NapiCli: new () => {
    build(options: Record<string, unknown>): Promise<{ task: Promise<{ kind: string; path: string }[]> }>;
  };
}

/**
 * `napi build --platform [--release]` through @napi-rs/cli's API: cargo's progress goes to the
 * terminal as usual; the addon and its generated declarations land in a temporary directory.
 */
export async function napiRsBuild(crate: ExtensionCrate, extDir: string, release: boolean): Promise<BuiltAddon> {
  let cli: NapiCliModule;
  try {
    // A variable specifier: @napi-rs/cli is large, and loaded only for napi-rs builds.
    const specifier: string = "@napi-rs/cli";
    cli = (await import(specifier)) as NapiCliModule;
  } catch (error) {
    throw new CliError(`cannot load @napi-rs/cli: ${(error as Error).message}`, { hint: "reinstall the titan CLI (`npm install`), which depends on it", cause: error });
  }
  const work = mkdtempSync(path.join(tmpdir(), "titan-napi-build-"));
  const cleanup = () => rmSync(work, { recursive: true, force: true });
  // napi-rs reads its settings (`napi.binaryName`, ...) from package.json; an extension without one gets a minimal one.
  let packageJsonPath = path.join(extDir, "package.json");
  if (!existsSync(packageJsonPath)) {
    packageJsonPath = path.join(work, "package.json");
    writeFileSync(packageJsonPath, JSON.stringify({ name: crate.name, private: true }));
  }
  let outputs: { kind: string; path: string }[];
  try {
    const { task } = await new cli.NapiCli().build({
      cwd: extDir,
      manifestPath: crate.manifestPath,
      packageJsonPath,
      outputDir: path.join(work, "out"),
      platform: true,
      noJsBinding: true,
      dts: "addon.d.ts",
      noDtsHeader: true,
      release,
    });
    outputs = await task;
  } catch (error) {
    cleanup();
    const message = (error as Error).message;
    throw new CliError(`napi-rs could not build ${crate.name}: ${message}`, {
      hint: /exit code/.test(message) ? "fix the errors above, then run `titan build ext` again" : "check the crate's Cargo.toml and package.json, then run `titan build ext` again",
      cause: error,
    });
  }
  const addon = outputs.find((output) => output.kind === "node")?.path;
  if (!addon) {
    cleanup();
    throw new CliError(`napi-rs built ${crate.name} but produced no .node addon`, { hint: 'a Node-API addon is a cdylib: set `crate-type = ["cdylib"]` under [lib] in its Cargo.toml' });
  }
  const dts = outputs.find((output) => output.kind === "dts")?.path;
  return { addon, declarations: dts && existsSync(dts) ? readFileSync(dts, "utf8") : null, cleanup };
}

/** A neon addon is the crate's cdylib, built by cargo (its JSON messages name the file). */
export async function neonBuild(crate: ExtensionCrate, extDir: string, release: boolean): Promise<BuiltAddon> {
  const addon = await cargoBuild(crate, extDir, release);
  return { addon, declarations: null, cleanup: () => {} };
}
