// The extension's JS entry (titan.json "entry"): runs in every worker after the Rust functions
// are bound, as a plain script with `t` in scope (not a module: no import or export). Build a
// friendlier JS API on top of the natives here; what you add is part of t.{{namespace}}.
// `extension` is { name, namespace, config } (`config`: what init got from titan.config.json).

// `t.{{namespace}}.greetAll(["Ada", "Linus"])` → "Hello, Ada!\nHello, Linus!": one native call per name.
t.{{namespace}}.greetAll = (names) => names.map((name) => t.{{namespace}}.greet(name)).join("\n");
