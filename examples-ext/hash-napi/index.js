// Runs in every worker after the addon's exports are bound as t.hash, with `t` in scope (a plain
// script): a friendlier API on top of the natives.

// A strong ETag for a response body. XXH3 is fast, and a cache validator needs no cryptography.
t.hash.etag = (body) => `"${t.hash.xxh3(body)}"`;
