// What the CLI knows about the terminal it runs in: interactivity, colors, and how it prints.

import { styleText } from "node:util";

/** True when CI is set to anything but "", "0" or "false". */
export function isCI(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.CI;
  return value !== undefined && value !== "" && value !== "0" && value.toLowerCase() !== "false";
}

/** Prompts are allowed only with a terminal on both ends and outside CI, so scripts never hang on stdin. */
export function isInteractive(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY) && !isCI(env);
}

/** Colors only on a TTY, and never when NO_COLOR is set (https://no-color.org). */
export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR;
}

type Style = Parameters<typeof styleText>[0];

function painter(style: Style, stream: NodeJS.WriteStream) {
  return (text: string): string => (useColor(stream) ? styleText(style, text) : text);
}

/** Styles for stdout; `paintErr` for stderr (each checks its own stream for a TTY). */
export const paint = {
  bold: painter("bold", process.stdout),
  dim: painter("dim", process.stdout),
  green: painter("green", process.stdout),
  cyan: painter("cyan", process.stdout),
  yellow: painter("yellow", process.stdout),
  red: painter("red", process.stdout),
};
export const paintErr = {
  red: painter("red", process.stderr),
  dim: painter("dim", process.stderr),
  yellow: painter("yellow", process.stderr),
};
