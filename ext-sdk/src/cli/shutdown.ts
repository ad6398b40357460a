// Graceful shutdown on SIGINT/SIGTERM for the long-running commands (dev, start): close once,
// exit 0 when done; a second signal exits at once.

import { printError } from "./output.js";

export function closeOnSignals(close: () => Promise<void>, log: (line: string) => void): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) {
      log(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    closing = true;
    log(`${signal}: shutting down, finishing requests in flight...`);
    close().then(
      () => {
        log("stopped");
        process.exit(0);
      },
      (error: unknown) => {
        printError(error);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}
