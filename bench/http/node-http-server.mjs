// The baseline for `npm run bench:http`: the hello JSON answer from a plain, single-process
// node:http server, written the way a small Node service would be (serialize per request).
//
// Usage: node bench/http/node-http-server.mjs [--port N]   (0 = ephemeral; default 0)
// Prints `listening on http://127.0.0.1:PORT` once it accepts connections.

import { createServer } from "node:http";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { port: { type: "string", default: "0" } } });
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`node-http-server: --port must be 0..65535, got ${JSON.stringify(values.port)}`);
  process.exit(2);
}

const server = createServer((request, response) => {
  const body = JSON.stringify({ message: "hello" });
  response.writeHead(200, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  response.end(body);
});

server.listen(port, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
