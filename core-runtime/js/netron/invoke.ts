// Netron's HTTP JSON invocation rides on the app's HTTP port as an internal action: the host adds
// this route when the app has services, and the worker answers it from its service registry.

import type { RouteSpec } from "../types.js";

/** The internal action name; `$` cannot start an action the build names. */
export const NETRON_INVOKE_ACTION = "$netron.invoke";

/** The app's routes plus `POST /netron/invoke`, unless the app routes that path itself. */
export function withNetronInvokeRoute(routes: readonly RouteSpec[]): RouteSpec[] {
  const taken = routes.some((route) => route.method === "POST" && route.path === "/netron/invoke");
  return taken ? [...routes] : [...routes, { method: "POST", path: "/netron/invoke", action: NETRON_INVOKE_ACTION }];
}
