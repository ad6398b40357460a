// A default export is an action named after its file: "echo".
export default defineAction((req) => ({ received: req.body }));
