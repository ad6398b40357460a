// The built-in SQLite engine: `t.db` (the file is .titan/app.db in the app; one connection per worker).
let ready = false;

export const visit = defineAction((req) => {
  if (!ready) {
    t.db.execBatch("create table if not exists visits (id integer primary key, path text, at text)");
    ready = true;
  }
  t.db.exec("insert into visits (path, at) values (?, ?)", [req.path, new Date().toISOString()]);
  const [row] = t.db.query<{ n: number }>("select count(*) as n from visits");
  return { visits: row?.n ?? 0 };
});
