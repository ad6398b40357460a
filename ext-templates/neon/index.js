// The extension's JS entry (titan.json "entry"): runs in every worker after the addon's exports
// are bound, as a plain script with `t` in scope (not a module: no import or export). Build a
// friendlier JS API on top of the natives here; what you add is part of t.{{namespace}}.
// `extension` is { name, namespace, config }: `config` is this extension's entry in the app's
// titan.config.json, and an addon (which has no init) reads it here.

// `t.{{namespace}}.slugifyAll(["Hello, World!", "Ada Lovelace"])` → ["hello-world", "ada-lovelace"].
t.{{namespace}}.slugifyAll = (titles) => titles.map((title) => t.{{namespace}}.slugify(title));
