// Renders a Markdown page with the example native extension `t.markdown` (examples-ext/markdown).
import welcome from "../../content/welcome.md";

export const docs = defineAction(() => t.response.html(t.markdown.page(welcome)));

export const wordCount = defineAction((req) => ({
  words: t.markdown.word_count(typeof req.body === "string" ? req.body : ""),
}));
