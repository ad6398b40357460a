// `titan build` implementation: builds the app and prints a summary.

import path from "node:path";
import { buildApp, type BuildResult } from "../../build/pipeline.js";
import { paint, useColor } from "../../cli/terminal.js";
import { displayPath, formatBytes, formatMs } from "../../util/format.js";
import type { BuildCommandOptions } from "./options.js";

export async function runBuild(options: BuildCommandOptions, log: (line: string) => void = console.log): Promise<BuildResult> {
  const appDir = path.resolve(options.cwd);
  const outDir = path.resolve(appDir, options.out);
  log(paint.dim(`building ${path.basename(appDir)} ...`));
  const result = await buildApp({ appDir, outDir, color: useColor(process.stderr) });
  for (const file of result.typeFilesWritten) log(paint.dim(`updated ${file}`));
  log(summary(result, appDir));
  return result;
}

function summary(result: BuildResult, appDir: string): string {
  const { manifest, timings } = result;
  const typeCheck = timings.typeCheckMs === undefined ? "" : `, type-check ${formatMs(timings.typeCheckMs)}`;
  const routes = manifest.routes.map((route) => {
    const target = "action" in route ? `→ ${route.action}` : paint.dim(`→ reply (${route.reply.contentType})`);
    return `    ${route.method.padEnd(7)} ${route.path} ${target}`;
  });
  return [
    `${paint.green("built")} ${displayPath(appDir, result.outDir)}/ in ${formatMs(timings.totalMs)}${typeCheck}`,
    `  routes   ${manifest.routes.length}`,
    ...routes,
    `  actions  ${manifest.actions.length}${manifest.actions.length > 0 ? `: ${manifest.actions.join(", ")}` : ""}`,
    ...(manifest.services?.length ? [`  services ${manifest.services.length}: ${manifest.services.map((s) => `${s.name}@${s.version}`).join(", ")}`] : []),
    `  bundle   ${manifest.bundle} ${formatBytes(result.bundleBytes)}`,
    `  port     ${manifest.config.port}, workers ${manifest.config.workers}`,
    ...(manifest.config.netron?.listen?.length ? [`  netron   ${manifest.config.netron.listen.join(", ")}`] : []),
  ].join("\n");
}
