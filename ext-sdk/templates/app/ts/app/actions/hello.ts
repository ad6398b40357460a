// Every exported function of a file in app/actions/ is an action, named after its export.
export const hello = defineAction((req) => ({ message: "hi " + req.params.name }));
