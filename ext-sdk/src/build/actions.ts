// Finds the action files under app/actions/ and writes the bundle's entry module, which names
// every exported function an action: by its export name, or by the file's base name for a default export.

import { readdirSync } from "node:fs";
import path from "node:path";
import { displayPath } from "../util/format.js";

const ACTION_FILE = /\.(?:m?js|m?ts)$/;
// Declarations and tests sit beside actions without being actions.
const NOT_ACTION_FILE = /(?:\.d\.m?ts|\.(?:test|spec)\.m?[jt]s)$/;

export interface ActionFile {
  /** Absolute path. */
  file: string;
  /** Path relative to the app root, forward slashes ("app/actions/users/get.ts"). */
  displayName: string;
  /** Name a default export is registered under ("get"). */
  baseName: string;
}

/** Every action file under `actionsDir`, sorted so builds are reproducible; none when the folder is missing. */
export function findActionFiles(appDir: string, actionsDir: string): ActionFile[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (ACTION_FILE.test(entry.name) && !NOT_ACTION_FILE.test(entry.name)) files.push(full);
    }
  };
  walk(actionsDir);
  return files.sort().map((file) => ({
    file,
    displayName: displayPath(appDir, file),
    baseName: path.basename(file).replace(ACTION_FILE, ""),
  }));
}

/**
 * Prefix of the error the entry throws for two actions with one name; the build recognizes it
 * and reports it as a build error rather than a crash of the user's code.
 */
export const DUPLICATE_ACTION_ERROR = "TitanDuplicateAction";

/**
 * The source of the bundle's entry: imports each action module and exports `actions`. Which
 * exports are functions is only known once the modules run, so the entry decides at load time;
 * the build loads it once to learn the names (and to catch duplicates) before the runtime does.
 */
export function actionsEntrySource(actionFiles: readonly ActionFile[], serviceFiles: readonly ActionFile[] = []): string {
  const imports = actionFiles.map((action, index) => `import * as actionModule${index} from ${JSON.stringify(action.file)};`);
  const serviceImports = serviceFiles.map((service, index) => `import * as serviceModule${index} from ${JSON.stringify(service.file)};`);
  const serviceTable = serviceFiles.map((service, index) => `  [${JSON.stringify(service.displayName)}, serviceModule${index}],`);
  const table = actionFiles.map(
    (action, index) => `  [${JSON.stringify(action.displayName)}, ${JSON.stringify(action.baseName)}, actionModule${index}],`,
  );
  return `${imports.join("\n")}
${serviceImports.join("\n")}
const actionModules = [
${table.join("\n")}
];
function collectActions(modules) {
  const actions = {};
  const sourceOf = new Map();
  for (const [file, baseName, exports] of modules) {
    for (const [exportName, value] of Object.entries(exports)) {
      if (typeof value !== "function") continue;
      const name = exportName === "default" ? baseName : exportName;
      const earlier = sourceOf.get(name);
      if (earlier !== undefined) {
        const error = new Error(\`two actions are named "\${name}": \${earlier} and \${file}\`);
        error.name = ${JSON.stringify(DUPLICATE_ACTION_ERROR)};
        throw error;
      }
      sourceOf.set(name, file);
      actions[name] = value;
    }
  }
  return actions;
}
export const actions = collectActions(actionModules);
// Netron services: every export of app/services/ that defineService returned (an object with a
// name, a version and methods), default or named.
const serviceModules = [
${serviceTable.join("\n")}
];
function collectServices(modules) {
  const services = [];
  for (const [file, exports] of modules) {
    for (const value of Object.values(exports)) {
      if (value && typeof value === "object" && typeof value.name === "string" && typeof value.version === "string" && value.methods && typeof value.methods === "object") {
        if (!services.includes(value)) services.push(value);
      }
    }
  }
  return services;
}
export const services = collectServices(serviceModules);
`;
}
