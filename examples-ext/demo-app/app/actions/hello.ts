// Every exported function of a file in app/actions/ is an action, named after its export.
export const hello = defineAction((req) => {
  t.log.info("greeting", { name: req.params.name });
  return { message: "hi " + req.params.name };
});

export const moved = defineAction(() => t.response.redirect("/", { status: 301 }));
