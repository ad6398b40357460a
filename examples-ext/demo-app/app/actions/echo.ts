// A default export is an action named after its file: "echo". The body arrives parsed by its
// content type (JSON, urlencoded, text; bytes otherwise).
export default defineAction((req) => ({ received: req.body, contentType: req.headers["content-type"] ?? null }));
