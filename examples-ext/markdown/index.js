// Runs in every worker after the natives are bound, with `t` in scope: a friendlier API on top.
// A page: the rendered HTML with a table of contents built from the headings.
t.markdown.page = (markdown) => {
  const toc = t.markdown.headings(markdown).map((h) => `<li class="h${h.level}">${h.text}</li>`).join("");
  return `<nav><ul>${toc}</ul></nav>\n<article>${t.markdown.render(markdown)}</article>`;
};
