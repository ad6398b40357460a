// `buildApp`: the whole build of an app into a self-contained directory (type-check, bundle,
// evaluate routes, validate, write titan.build.json). Used by `titan build`, `titan dev` and code.

import { copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { BuildError } from "../errors.js";
import { CONFIG_FILE_NAME, loadConfig, type LoadedConfig } from "../config/load.js";
import { resolveConfig } from "../config/resolve.js";
import { BUILD_FORMAT, BUNDLE_FILE_NAME, MANIFEST_FILE_NAME, type BuildManifest } from "../runtime/contract.js";
import { displayPath } from "../util/format.js";
import { CLI_VERSION } from "../package-info.js";
import { DUPLICATE_ACTION_ERROR, findActionFiles } from "./actions.js";
import { loadApp, type ModuleLoadFailure } from "./app-loader.js";
import { createStagingDir, discardStaging, replaceWithStaging } from "./build-dir.js";
import { bundleActions, bundleRouteModule } from "./bundle.js";
import { BUILD_INFO_FILE_NAME, writeJson, type BuildInfo } from "./manifest.js";
import { resolveExtensions } from "../extensions/manifest.js";
import { validateRoutes } from "./routes.js";
import { syncTypeFiles } from "./type-files.js";
import { TypeChecker } from "./typecheck.js";

const APP_ENTRY_NAMES = ["app.ts", "app.js", "app.mts", "app.mjs"];

export interface BuildAppOptions {
  /** The app's root (where titan.config.json and app/ are). */
  appDir: string;
  /** Where the build goes; replaced as a whole when the build succeeds, untouched when it fails. */
  outDir: string;
  /** Keep one per app across rebuilds so type-checking is incremental. */
  typeChecker?: TypeChecker;
  /** Color in printed diagnostics. */
  color?: boolean;
  /** `--port`. */
  portFlag?: number | undefined;
  /** Where PORT is read from; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** A config already loaded (dev keeps the last valid one while the file is broken); read from disk otherwise. */
  config?: LoadedConfig;
}

export interface BuildResult {
  outDir: string;
  manifest: BuildManifest;
  bundleBytes: number;
  startMessage: string | undefined;
  /** Type files (titan-env.d.ts, titan-routes.d.ts) rewritten in the app because they were outdated. */
  typeFilesWritten: string[];
  timings: { typeCheckMs: number | undefined; totalMs: number };
}

/** Builds the app. Throws BuildError for type errors and app problems, CliError for a bad config. */
export async function buildApp(options: BuildAppOptions): Promise<BuildResult> {
  const started = performance.now();
  const { appDir, outDir } = options;
  const color = options.color ?? false;
  const loaded = options.config ?? loadConfig(appDir);
  const typeFilesWritten = syncTypeFiles(appDir, loaded.config.extensions ?? []);
  const appEntry = findAppEntry(appDir);
  const actionFiles = findActionFiles(appDir, path.join(appDir, "app", "actions"));
  const serviceFiles = findActionFiles(appDir, path.join(appDir, "app", "services"));

  const cacheDir = path.join(appDir, ".titan", "cache");
  mkdirSync(cacheDir, { recursive: true });
  // One file per process, so a `titan build` next to a running `titan dev` cannot clobber its routes module.
  const routesFile = path.join(cacheDir, `routes-${process.pid}.mjs`);
  const staging = createStagingDir(outDir);
  try {
    const actionsFile = path.join(staging, BUNDLE_FILE_NAME);
    // esbuild works in its own process: start it, then type-check on this thread meanwhile.
    const bundling = Promise.all([
      bundleActions({ appDir, actionFiles, serviceFiles, outfile: actionsFile, color }),
      bundleRouteModule({ appDir, entry: appEntry, outfile: routesFile, color }),
    ]);
    bundling.catch(() => {}); // observed below; keeps a failure during type-checking from being "unhandled"

    let typeCheckMs: number | undefined;
    if (existsSync(path.join(appDir, "tsconfig.json"))) {
      const checkStarted = performance.now();
      const checker = options.typeChecker ?? new TypeChecker(appDir);
      const checked = checker.check({ color });
      typeCheckMs = performance.now() - checkStarted;
      if (checked.errorCount > 0) {
        await bundling.catch(() => {});
        throw new BuildError("type_errors", `${checked.errorCount} type error${checked.errorCount === 1 ? "" : "s"}`, {
          diagnostics: checked.diagnostics,
          report: checked.report,
          hint: "fix them and save; `titan dev` rebuilds by itself",
        });
      }
    }
    const [bundleBytes] = await bundling;

    const loadedApp = await loadApp({ routesFile, actionsFile }).finally(() => rmSync(routesFile, { force: true }));
    if (!loadedApp.ok) throw moduleLoadError(loadedApp.failure, appDir, displayPath(appDir, appEntry));
    const { recorded, actionNames, services } = loadedApp.app;
    for (const route of recorded.routes) route.at = relativeToApp(route.at, appDir);
    if (recorded.start) recorded.start.at = relativeToApp(recorded.start.at, appDir);

    const validated = validateRoutes(recorded, actionNames);
    if (validated.problems.length > 0) {
      const count = validated.problems.length;
      throw new BuildError("build_error", `${count} problem${count === 1 ? "" : "s"} in the routes of ${displayPath(appDir, appEntry)}`, {
        diagnostics: validated.problems.map((problem) => `${problem.at}: ${problem.message}`),
        hint: "fix the routes and save; `titan dev` rebuilds by itself",
      });
    }

    const manifest: BuildManifest = {
      format: BUILD_FORMAT,
      bundle: BUNDLE_FILE_NAME,
      routes: validated.routes,
      actions: [...actionNames].sort(),
      config: resolveConfig(loaded.config, { portFlag: options.portFlag, env: options.env, startPort: validated.startPort }),
    };
    const extensions = resolveExtensions(appDir, loaded.config.extensions ?? []);
    if (extensions.length > 0) manifest.extensions = extensions;
    if (services.length > 0) manifest.services = services;
    writeJson(path.join(staging, MANIFEST_FILE_NAME), manifest);
    const info: BuildInfo = { cliVersion: CLI_VERSION, builtAt: new Date().toISOString() };
    if (validated.startMessage !== undefined) info.startMessage = validated.startMessage;
    writeJson(path.join(staging, BUILD_INFO_FILE_NAME), info);
    if (loaded.file) copyFileSync(loaded.file, path.join(staging, CONFIG_FILE_NAME));
    replaceWithStaging(staging, outDir);

    return {
      outDir,
      manifest,
      bundleBytes,
      startMessage: validated.startMessage,
      typeFilesWritten,
      timings: { typeCheckMs, totalMs: performance.now() - started },
    };
  } catch (error) {
    discardStaging(staging);
    throw error;
  }
}

function findAppEntry(appDir: string): string {
  const found = APP_ENTRY_NAMES.map((name) => path.join(appDir, "app", name)).filter((file) => existsSync(file));
  if (found.length === 1) return found[0]!;
  if (found.length === 0) {
    throw new BuildError("build_error", `no routes file: expected app/app.ts or app/app.js in ${appDir}`, {
      diagnostics: ["app/app.ts or app/app.js is missing"],
      hint: 'create it with your routes, e.g. t.get("/").reply({ ok: true }), or run `titan init` for a new app',
    });
  }
  const names = found.map((file) => displayPath(appDir, file));
  throw new BuildError("build_error", `more than one routes file: ${names.join(", ")}`, {
    diagnostics: [`keep one of ${names.join(", ")}`],
    hint: "delete or rename all but one",
  });
}

function moduleLoadError(failure: ModuleLoadFailure, appDir: string, appEntryName: string): BuildError {
  if (failure.name === DUPLICATE_ACTION_ERROR) {
    return new BuildError("build_error", failure.message, {
      diagnostics: [failure.message],
      hint: "rename one of the two exports (a default export takes its file's name)",
    });
  }
  const where = failure.phase === "routes" ? appEntryName : "an action module";
  const stack = relativeToApp(failure.stack, appDir)
    .split("\n")
    .filter((line) => !line.includes("node:internal") && !line.includes("[worker eval]"))
    .join("\n");
  return new BuildError("build_error", `${where} threw while loading at build time: ${failure.name}: ${failure.message}`, {
    diagnostics: [stack || `${failure.name}: ${failure.message}`],
    hint:
      "module-level code runs once at build time to read routes and find actions (t.* calls do nothing then); " +
      "fix the error, or move the code into an action",
  });
}

/** Shortens absolute paths and file URLs under the app to app-relative ones in messages. */
function relativeToApp(text: string, appDir: string): string {
  const prefix = appDir.endsWith(path.sep) ? appDir : appDir + path.sep;
  return text.split(`file://${prefix}`).join("").split(prefix).join("");
}
