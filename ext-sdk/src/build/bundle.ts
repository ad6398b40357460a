// esbuild steps of a build: the actions bundle the runtime loads, and the route module the build
// evaluates. Both bundle the app's imports (npm packages included) into one ES module.

import * as esbuild from "esbuild";
import { stripVTControlCharacters } from "node:util";
import { BuildError } from "../errors.js";
import { actionsEntrySource, type ActionFile } from "./actions.js";

// Bundled CommonJS packages call require() for Node built-ins; ESM output has no require, so give it one.
const REQUIRE_SHIM = `import { createRequire as __titanCreateRequire } from "node:module";
const require = __titanCreateRequire(import.meta.url);`;

const COMMON_OPTIONS: esbuild.BuildOptions = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // Inline so the build directory is self-contained and stack traces point at the user's files.
  sourcemap: "inline",
  sourcesContent: false,
  banner: { js: REQUIRE_SHIM },
  logLevel: "silent",
  metafile: true,
  write: true,
  // Text assets imported from actions (`import page from "./page.md"`) are bundled as strings.
  loader: { ".md": "text", ".txt": "text", ".html": "text", ".sql": "text" },
  // Nothing is done for `t` and `defineAction`: they are globals the worker defines before loading the bundle.
};

/** Bundles the action modules into `outfile`; returns its size in bytes. */
export async function bundleActions(options: {
  appDir: string;
  actionFiles: readonly ActionFile[];
  /** Modules under app/services/ (Netron services). */
  serviceFiles?: readonly ActionFile[];
  outfile: string;
  color: boolean;
}): Promise<number> {
  const result = await runEsbuild(
    {
      ...COMMON_OPTIONS,
      stdin: {
        contents: actionsEntrySource(options.actionFiles, options.serviceFiles ?? []),
        resolveDir: options.appDir,
        sourcefile: "titan:actions-entry.js",
        loader: "js",
      },
      absWorkingDir: options.appDir,
      outfile: options.outfile,
    },
    "the actions",
    options.color,
  );
  return result.metafile?.outputs[Object.keys(result.metafile.outputs)[0] ?? ""]?.bytes ?? 0;
}

/** Bundles app/app.{js,ts} into `outfile`, to be run once by the route recorder. */
export async function bundleRouteModule(options: {
  appDir: string;
  entry: string;
  outfile: string;
  color: boolean;
}): Promise<void> {
  await runEsbuild(
    { ...COMMON_OPTIONS, entryPoints: [options.entry], absWorkingDir: options.appDir, outfile: options.outfile },
    "the routes",
    options.color,
  );
}

async function runEsbuild(options: esbuild.BuildOptions, what: string, color: boolean): Promise<esbuild.BuildResult> {
  try {
    return await esbuild.build(options);
  } catch (error) {
    const failure = error as esbuild.BuildFailure;
    if (!Array.isArray(failure.errors)) throw error;
    const report = (await esbuild.formatMessages(failure.errors, { kind: "error", color })).join("");
    const plain = (await esbuild.formatMessages(failure.errors, { kind: "error", color: false })).map((text) =>
      stripVTControlCharacters(text).trim(),
    );
    throw new BuildError("build_error", `could not bundle ${what}: ${failure.errors.length} error(s)`, {
      diagnostics: plain,
      report,
      hint: "fix the errors above; the build runs again on save in `titan dev`",
    });
  }
}
