// Helpers for core-runtime's own tests (not part of the runtime; excluded from the build).

import { get as httpGet } from "node:http";

/** A GET on a new connection (no keep-alive pool), so whichever worker is idle accepts it: a
 * pooled connection may belong to a worker that is busy. */
export function getOnNewConnection(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpGet(url, { agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    }).on("error", reject);
  });
}
