// `titan start` implementation: serves a build directory with the runtime host.

import { existsSync } from "node:fs";
import path from "node:path";
import { CliError } from "../../errors.js";
import { resolveStartOverrides } from "../../config/resolve.js";
import { readBuildAppConfig, readBuildInfo, readBuildManifest } from "../../build/manifest.js";
import { listeningLine } from "../../cli/output.js";
import { loadRuntimeHost } from "../../runtime/host.js";
import type { TitanServer } from "../../runtime/contract.js";
import type { StartCommandOptions } from "./options.js";

export async function runStart(options: StartCommandOptions, log: (line: string) => void = console.log): Promise<TitanServer> {
  const buildDir = path.resolve(options.cwd, options.dir);
  const manifest = readBuildManifest(buildDir);
  if (!existsSync(path.join(buildDir, manifest.bundle))) {
    throw new CliError(`${buildDir} is incomplete: ${manifest.bundle} is missing`, { hint: "rebuild it with `titan build`" });
  }
  const overrides = resolveStartOverrides(readBuildAppConfig(buildDir) ?? {}, { portFlag: options.portFlag, env: options.env });
  const host = await loadRuntimeHost();
  // Data paths (db.path) resolve from where the app is started, as for `titan dev`.
  const server = await host.startServer({ buildDir, config: overrides, dev: false, log, dataDir: path.resolve(options.cwd) });
  log(listeningLine(server.host, server.port));
  const startMessage = readBuildInfo(buildDir)?.startMessage;
  if (startMessage) log(startMessage);
  return server;
}
