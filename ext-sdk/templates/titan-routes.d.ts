// Types of the route DSL in app/app.ts, written by the `titan` CLI: do not edit, it is rewritten
// when the CLI changes. In app/app.ts, `t` is the route table (declare it with
// `declare const t: TitanRoutes;`); in actions, `t` is the runtime namespace from titan-env.d.ts.

export {};

declare global {
  /** What a route answers: an action, or a constant reply computed once at build time. */
  interface TitanRouteTarget {
    /** Run the action exported under this name from a file in app/actions/. */
    action(name: string): TitanRouteTarget;
    /** Answer with a constant: a string as text/plain, anything else as JSON. */
    reply(value: string | number | boolean | null | object): TitanRouteTarget;
  }

  /**
   * The route table. Paths start with "/"; `:name` is a parameter, `:name<number>`, `:name<int>`
   * and `:name<uuid>` are typed ones (400 when they do not parse), `*rest` catches the remainder.
   */
  interface TitanRoutes {
    get(path: string): TitanRouteTarget;
    post(path: string): TitanRouteTarget;
    put(path: string): TitanRouteTarget;
    patch(path: string): TitanRouteTarget;
    delete(path: string): TitanRouteTarget;
    head(path: string): TitanRouteTarget;
    options(path: string): TitanRouteTarget;
    /** Titan Planet compatibility: the port applies when titan.config.json sets none; the message is printed at startup. */
    start(port?: number, message?: string): void;
  }
}
