// A module resolve hook for extension tests run by `titan test ext`: `import ... from
// "titan/harness"` resolves to this CLI's own package when the extension has no node_modules of
// its own (right after `titan create ext`, before any `npm install`). An installed `titan` wins.

import { register } from "node:module";

register(new URL("./resolve-titan-hooks.js", import.meta.url));
