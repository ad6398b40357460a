// `:id<int>` in the route means the core has already refused anything that is not an integer
// (400), so `req.params.id` is a number here.
const USERS: Record<number, { id: number; name: string }> = {
  1: { id: 1, name: "Ada Lovelace" },
  2: { id: 2, name: "Alan Turing" },
};

export const getUser = defineAction((req) => {
  const user = USERS[req.params.id as number];
  return user ?? t.response.json({ error: "no such user" }, { status: 404 });
});

export const search = defineAction((req) => ({ query: req.query, userAgent: req.headers["user-agent"] ?? null }));
