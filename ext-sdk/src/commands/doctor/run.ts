// `titan doctor`: checks what Titan needs (Node, npm, the Rust toolchain for extensions, the core
// addon) and, in an app, its config and each registered extension. Every problem says what to do.

import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { paint } from "../../cli/terminal.js";
import { CONFIG_FILE_NAME, loadConfig } from "../../config/load.js";
import { CliError } from "../../errors.js";
import { inspectExtension, loadCoreAddon } from "../../extensions/inspect.js";
import { CLI_VERSION } from "../../package-info.js";
import type { DoctorOptions } from "./options.js";

type Log = (line: string) => void;

export type CheckStatus = "ok" | "warn" | "fail";

export interface DoctorCheck {
  status: CheckStatus;
  label: string;
  detail: string;
  /** What to do; set for every warn and fail. */
  fix?: string | undefined;
}

export interface DoctorResult {
  checks: DoctorCheck[];
  /** True when any check failed (the CLI exits 1). */
  broken: boolean;
}

const MIN_NODE = [20, 17] as const;

/** `<tool> --version`'s first line, or null when the tool is not installed or fails. */
function toolVersion(tool: string): string | null {
  try {
    const out = execFileSync(tool, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 15_000, shell: process.platform === "win32" });
    return out.trim().split("\n")[0] ?? "";
  } catch {
    return null;
  }
}

function toolchainChecks(): DoctorCheck[] {
  const checks: DoctorCheck[] = [];
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  const nodeOk = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
  checks.push(
    nodeOk
      ? { status: "ok", label: "node", detail: process.version }
      : { status: "fail", label: "node", detail: `${process.version} (Titan needs ≥ ${MIN_NODE.join(".")})`, fix: "install Node.js 20.17 or newer (https://nodejs.org, or `nvm install 22`)" },
  );
  const npm = toolVersion("npm");
  checks.push(npm ? { status: "ok", label: "npm", detail: npm } : { status: "warn", label: "npm", detail: "not found", fix: "install npm (it ships with Node.js: https://nodejs.org)" });
  for (const tool of ["cargo", "rustc"]) {
    const version = toolVersion(tool);
    checks.push(
      version
        ? { status: "ok", label: tool, detail: version }
        : { status: "warn", label: tool, detail: "not found (needed only to build native extensions)", fix: "install Rust with rustup: https://rustup.rs (`curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh`)" },
    );
  }
  checks.push({ status: "ok", label: "titan CLI", detail: CLI_VERSION });
  return checks;
}

function coreChecks(): DoctorCheck[] {
  const core = loadCoreAddon();
  if (!core.ok) {
    return [{ status: "fail", label: "core addon", detail: `does not load: ${core.error}`, fix: "build it: `npm run build` at the root of the Titan repository (or reinstall @titan/core)" }];
  }
  try {
    const abi = core.addon.extAbiVersion();
    return [
      { status: "ok", label: "core addon", detail: `loads (${core.file})` },
      { status: "ok", label: "extension ABI", detail: `version ${abi}` },
    ];
  } catch (error) {
    return [{ status: "fail", label: "core addon", detail: `loads but extAbiVersion() failed: ${(error as Error).message}`, fix: "rebuild the core: `npm run build` at the root of the Titan repository" }];
  }
}

function appChecks(appDir: string): DoctorCheck[] {
  if (!existsSync(path.join(appDir, CONFIG_FILE_NAME))) {
    return [{ status: "ok", label: "app", detail: `no ${CONFIG_FILE_NAME} in ${appDir}; app checks skipped (run in an app, or pass --cwd <app>)` }];
  }
  let extensions: { path: string }[];
  try {
    extensions = loadConfig(appDir).config.extensions ?? [];
  } catch (error) {
    const cli = error instanceof CliError ? error : new CliError(String(error));
    return [{ status: "fail", label: "config", detail: [cli.message, ...cli.details].join("\n    "), fix: cli.hint ?? `fix ${CONFIG_FILE_NAME}` }];
  }
  const checks: DoctorCheck[] = [{ status: "ok", label: "config", detail: `${CONFIG_FILE_NAME} is valid, ${extensions.length} extension(s)` }];
  for (const entry of extensions) {
    const report = inspectExtension(appDir, entry.path);
    const label = `extension ${report.name ?? entry.path}`;
    if (report.problem) {
      checks.push({ status: "fail", label, detail: report.problem.message, fix: report.problem.hint });
      continue;
    }
    const abi = report.abi.status === "ok" ? `ABI ok, ${report.abi.functions.length} function(s)` : `ABI ${report.abi.status === "skipped" ? report.abi.reason : "?"}`;
    checks.push({ status: "ok", label, detail: `t.${report.namespace} (${report.kind}) ${entry.path}: manifest ok, built, ${abi}` });
  }
  return checks;
}

export async function runDoctor(options: DoctorOptions, log: Log = console.log): Promise<DoctorResult> {
  const appDir = path.resolve(options.cwd);
  const checks = [...toolchainChecks(), ...coreChecks(), ...appChecks(appDir)];
  const broken = checks.some((check) => check.status === "fail");
  if (options.json) {
    log(JSON.stringify({ broken, checks }, null, 2));
    return { checks, broken };
  }
  const mark = { ok: paint.green("✓"), warn: paint.yellow("!"), fail: paint.red("✗") };
  for (const check of checks) {
    log(`${mark[check.status]} ${check.label}: ${check.detail}`);
    if (check.fix) log(`    → ${check.fix}`);
  }
  const problems = checks.filter((c) => c.status === "fail").length;
  const warnings = checks.filter((c) => c.status === "warn").length;
  log(broken ? paint.red(`\n${problems} problem(s) found`) : `\n${paint.green("no problems found")}${warnings > 0 ? ` (${warnings} warning(s))` : ""}`);
  return { checks, broken };
}
