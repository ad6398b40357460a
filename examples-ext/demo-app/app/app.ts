// The routes, read once by `titan build` and `titan dev`. In this file `t` is the route table;
// in actions it is the runtime (see titan-env.d.ts).
declare const t: TitanRoutes;
export {};

t.get("/").reply({ app: "demo-app", try: ["/hello/ada", "/users/1", "/users/abc", "/search?q=titan&tag=a&tag=b", "/docs", "/visits"] });
t.get("/hello/:name").action("hello");
t.get("/users/:id<int>").action("getUser");
t.get("/search").action("search");
t.post("/echo").action("echo");
t.get("/old-home").action("moved");
t.get("/docs").action("docs");
t.get("/visits").action("visit");
t.post("/word-count").action("wordCount");
