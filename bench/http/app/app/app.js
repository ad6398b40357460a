// The hello app for `npm run bench:http`: one route, one action, same answer as the references.
t.get("/").action("hello");
