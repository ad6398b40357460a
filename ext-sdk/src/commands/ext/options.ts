// `titan ext add|list|remove` options.

import { Command } from "commander";

export interface ExtAddOptions {
  /** The app's root; `path` is relative to it. */
  cwd: string;
  /** The extension's directory, as given. */
  path: string;
  /** `--config`: JSON text given to the extension's init. */
  config?: string | undefined;
}

export interface ExtListOptions {
  cwd: string;
  json?: boolean | undefined;
}

export interface ExtRemoveOptions {
  cwd: string;
  /** A registered extension's name, namespace or path. */
  target: string;
}

export interface ExtCommandActions {
  add(path: string, flags: { cwd: string; config?: string }): Promise<void> | void;
  list(flags: { cwd: string; json?: boolean }): Promise<void> | void;
  remove(target: string, flags: { cwd: string }): Promise<void> | void;
}

export function extCommand(actions: ExtCommandActions): Command {
  const ext = new Command("ext").description("manage the app's native extensions (titan.config.json `extensions`)");
  ext.addCommand(
    new Command("add")
      .description("register an extension directory (holding its titan.json) with the app")
      .argument("<path>", "the extension's directory, relative to the app")
      .option("--config <json>", "JSON given to the extension's init, e.g. '{\"url\":\"...\"}'")
      .option("--cwd <dir>", "the app's directory", ".")
      .action(actions.add),
  );
  ext.addCommand(
    new Command("list")
      .description("list the registered extensions, whether each is built and passes the ABI check")
      .option("--json", "print JSON")
      .option("--cwd <dir>", "the app's directory", ".")
      .action(actions.list),
  );
  ext.addCommand(
    new Command("remove")
      .description("unregister an extension")
      .argument("<name>", "its name, namespace or path")
      .option("--cwd <dir>", "the app's directory", ".")
      .action(actions.remove),
  );
  return ext;
}
