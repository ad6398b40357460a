// The route DSL of app/app.{js,ts} (Titan Planet style): what the route recorder captures while
// the file runs at build time, and its validation into the RouteSpec list the runtime serves.

import type { HttpMethod, ReplySpec, RouteSpec } from "../runtime/contract.js";
import { closestMatch } from "../util/did-you-mean.js";

export const ROUTE_METHODS = ["get", "post", "put", "patch", "delete", "head", "options"] as const;
export const PARAM_TYPES = ["number", "int", "uuid"] as const;

/** Where a call was made in the app's source ("app/app.ts:4:1"), for error messages. */
export type SourceLocation = string;

/**
 * What `.action(name)` / `.reply(value)` recorded. A reply value is turned to text where it lived
 * (JSON.stringify can run only there); `replySpecFor` decides what the runtime answers.
 */
export type RecordedTarget =
  | { kind: "action"; name: unknown }
  | { kind: "reply"; valueType: string; text?: string; json?: string; jsonError?: string };

/** One `t.<method>(path)` call as the recorder saw it. */
export interface RecordedRoute {
  method: string;
  path: unknown;
  at: SourceLocation;
  targets: RecordedTarget[];
}

export interface RecordedStart {
  port: unknown;
  message: unknown;
  at: SourceLocation;
}

/** Everything app/app.{js,ts} declared. */
export interface RecordedApp {
  routes: RecordedRoute[];
  start: RecordedStart | null;
}

/** A problem in the route table; `at` points into the app's source. */
export interface RouteProblem {
  at: SourceLocation;
  message: string;
}

/** The constant response for `.reply(value)`: strings as text, everything JSON can hold as JSON. */
export function replySpecFor(target: Extract<RecordedTarget, { kind: "reply" }>): ReplySpec | { problem: string } {
  if (target.valueType === "string" && target.text !== undefined) {
    return { status: 200, contentType: "text/plain; charset=utf-8", body: target.text };
  }
  if (target.jsonError !== undefined) return { problem: `.reply() value cannot be sent as JSON: ${target.jsonError}` };
  if (target.json === undefined) {
    return { problem: `.reply() needs a string, number, boolean, null, object or array, got ${target.valueType}` };
  }
  return { status: 200, contentType: "application/json", body: target.json };
}

/** Checks a route path; returns the problem or null. Params are normalized so conflicts compare equal. */
export function checkRoutePath(path: string): { problem: string } | { shape: string } {
  if (!path.startsWith("/")) return { problem: `path "${path}" must start with "/"` };
  const segments = path.slice(1).split("/");
  const paramNames = new Set<string>();
  const shape: string[] = [];
  for (const [index, segment] of segments.entries()) {
    const isLast = index === segments.length - 1;
    if (segment === "") {
      // "/" and a trailing slash are fine; "//" in the middle is a typo.
      if (isLast) {
        shape.push("");
        continue;
      }
      return { problem: `path "${path}" has an empty segment ("//")` };
    }
    if (segment.startsWith(":") || segment.startsWith("*")) {
      const catchAll = segment.startsWith("*");
      const match = /^[:*]([A-Za-z_][A-Za-z0-9_]*)(?:<([^>]*)>)?$/.exec(segment);
      if (!match) {
        return {
          problem: `path "${path}": "${segment}" is not a valid parameter; write :name, :name<number|int|uuid> or *name`,
        };
      }
      const [, name, type] = match as unknown as [string, string, string | undefined];
      if (catchAll && type !== undefined) return { problem: `path "${path}": catch-all *${name} cannot have a type` };
      if (catchAll && !isLast) return { problem: `path "${path}": catch-all *${name} must be the last segment` };
      if (type !== undefined && !(PARAM_TYPES as readonly string[]).includes(type)) {
        return {
          problem: `path "${path}": unknown parameter type <${type}> for :${name}; use ${PARAM_TYPES.map((t) => `<${t}>`).join(", ")}`,
        };
      }
      if (paramNames.has(name)) return { problem: `path "${path}" uses the parameter name "${name}" twice` };
      paramNames.add(name);
      shape.push(catchAll ? "*" : ":");
      continue;
    }
    if (/[:*<>]/.test(segment)) {
      return { problem: `path "${path}": segment "${segment}" mixes text with ":", "*" or "<>"; a parameter takes the whole segment` };
    }
    shape.push(segment);
  }
  return { shape: `/${shape.join("/")}` };
}

/**
 * Validates what app/app.{js,ts} declared against the known actions and returns the routes, or
 * every problem found (all of them at once, so one build shows everything to fix).
 */
export function validateRoutes(
  recorded: RecordedApp,
  knownActions: readonly string[],
): { routes: RouteSpec[]; problems: RouteProblem[]; startPort: number | undefined; startMessage: string | undefined } {
  const routes: RouteSpec[] = [];
  const problems: RouteProblem[] = [];
  const seen = new Map<string, RecordedRoute>();

  for (const route of recorded.routes) {
    const method = route.method.toUpperCase() as HttpMethod;
    if (typeof route.path !== "string") {
      problems.push({ at: route.at, message: `t.${route.method}() needs a path string, got ${typeof route.path}` });
      continue;
    }
    const label = `${method} ${route.path}`;
    const checked = checkRoutePath(route.path);
    if ("problem" in checked) {
      problems.push({ at: route.at, message: checked.problem });
      continue;
    }
    const key = `${method} ${checked.shape}`;
    const earlier = seen.get(key);
    if (earlier) {
      const same = earlier.path === route.path ? "is declared twice" : `conflicts with ${method} ${String(earlier.path)}`;
      problems.push({ at: route.at, message: `route ${label} ${same} (first at ${earlier.at})` });
      continue;
    }
    seen.set(key, route);

    if (route.targets.length === 0) {
      problems.push({ at: route.at, message: `route ${label} has no .action(name) or .reply(value)` });
      continue;
    }
    if (route.targets.length > 1) {
      problems.push({ at: route.at, message: `route ${label} has more than one .action()/.reply(); keep one` });
      continue;
    }
    const target = route.targets[0]!;
    if (target.kind === "reply") {
      const reply = replySpecFor(target);
      if ("problem" in reply) problems.push({ at: route.at, message: `route ${label}: ${reply.problem}` });
      else routes.push({ method, path: route.path, reply });
    } else if (typeof target.name !== "string" || target.name === "") {
      problems.push({ at: route.at, message: `route ${label}: .action() needs an action name (a string)` });
    } else if (!knownActions.includes(target.name)) {
      problems.push({ at: route.at, message: unknownActionMessage(label, target.name, knownActions) });
    } else {
      routes.push({ method, path: route.path, action: target.name });
    }
  }

  let startPort: number | undefined;
  let startMessage: string | undefined;
  const start = recorded.start;
  if (start) {
    if (start.port !== undefined && start.port !== null) {
      if (typeof start.port === "number" && Number.isInteger(start.port) && start.port >= 0 && start.port <= 65535) {
        startPort = start.port;
      } else {
        problems.push({ at: start.at, message: `t.start() port must be an integer from 0 to 65535, got ${JSON.stringify(start.port)}` });
      }
    }
    if (start.message !== undefined && start.message !== null) startMessage = String(start.message);
  }
  return { routes, problems, startPort, startMessage };
}

function unknownActionMessage(label: string, name: string, knownActions: readonly string[]): string {
  if (knownActions.length === 0) {
    return `route ${label} uses action "${name}", but app/actions/ exports no actions yet`;
  }
  const suggestion = closestMatch(name, knownActions);
  return (
    `route ${label} uses action "${name}", which no file in app/actions/ exports` +
    (suggestion ? ` — did you mean "${suggestion}"?` : "") +
    ` Known actions: ${[...knownActions].sort().join(", ")}`
  );
}
