// The routes, read once by `titan build` and `titan dev`. In this file `t` is the route table;
// in actions it is the runtime (see titan-env.d.ts).
declare const t: TitanRoutes;
export {};

t.get("/").reply({ ok: true });
t.get("/hello/:name").action("hello");
t.post("/echo").action("echo");
