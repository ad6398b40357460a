// Netron addresses as the client accepts them (tcp://, unix://, ws://, wss://, tls://), parsed into
// what node:net, node:tls and ws need, with errors that list the accepted forms.

import { ErrorCode, NetronClientError } from "./errors.js";

/** Where a Netron server listens, parsed. `text` is the address as given. */
export type NetronAddress =
  | { kind: "tcp" | "tls"; text: string; host: string; port: number }
  | { kind: "unix"; text: string; path: string }
  | { kind: "ws"; text: string; url: string; secure: boolean };

/** The forms {@link parseAddress} accepts, for error messages and docs. */
export const ACCEPTED_ADDRESS_FORMS = ["tcp://host:port", "unix:///absolute/path.sock", "ws://host:port[/path]", "wss://host:port[/path]", "tls://host:port"];

function badAddress(text: string, reason: string): NetronClientError {
  return new NetronClientError(
    "bad-address",
    ErrorCode.BAD_REQUEST,
    `invalid Netron address ${JSON.stringify(text)}: ${reason}. Accepted forms: ${ACCEPTED_ADDRESS_FORMS.join(", ")}`,
    { details: { address: text } },
  );
}

/** Parses a Netron address; throws a {@link NetronClientError} (400, reason "bad-address") naming the problem. */
export function parseAddress(text: string): NetronAddress {
  if (typeof text !== "string" || text.trim() === "") throw badAddress(String(text), "the address is empty");
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    const reason = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? "it does not parse as a URL (is the port a number from 1 to 65535?)" : "it has no scheme such as tcp://";
    throw badAddress(text, reason);
  }
  const scheme = url.protocol.slice(0, -1);
  switch (scheme) {
    case "tcp":
    case "tls": {
      if (url.username || url.password) throw badAddress(text, `${scheme}:// addresses carry no user name or password (authenticate with the auth option)`);
      if ((url.pathname !== "" && url.pathname !== "/") || url.search || url.hash) throw badAddress(text, `${scheme}:// addresses have no path or query: use ${scheme}://host:port`);
      const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
      if (host === "") throw badAddress(text, "the host is missing");
      if (url.port === "") throw badAddress(text, `the port is missing: use ${scheme}://${url.hostname}:PORT`);
      const port = Number(url.port);
      if (port === 0) throw badAddress(text, "port 0 means \"any free port\" when listening; connect to the port the server actually listens on");
      return { kind: scheme, text, host, port };
    }
    case "unix": {
      if (url.host !== "") {
        throw badAddress(text, `the socket path must be absolute, written with three slashes (unix:///run/app.sock); "${url.host}" was read as a host`);
      }
      const path = decodeURIComponent(url.pathname);
      if (!path.startsWith("/") || path === "/") throw badAddress(text, "the socket path is missing: use unix:///absolute/path.sock");
      return { kind: "unix", text, path };
    }
    case "ws":
    case "wss":
      if (url.hostname === "") throw badAddress(text, "the host is missing");
      if (url.hash) throw badAddress(text, "a WebSocket address cannot have a #fragment");
      return { kind: "ws", text, url: url.href, secure: scheme === "wss" };
    default:
      throw badAddress(text, `unsupported scheme "${scheme}:"`);
  }
}
