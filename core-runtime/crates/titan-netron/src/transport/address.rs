//! Listen addresses: `tcp://HOST:PORT`, `unix:///path`, `ws://HOST:PORT[/path]`, and
//! `SCHEME://HOST:PORT` for a transport an extension provides (`tls://...`), parsed into an enum
//! with errors that list the accepted forms.

use std::fmt;
use std::path::PathBuf;

use super::error::AddressError;

/// Where a Netron server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddress {
    /// A TCP socket. `host` is a name or an IP literal, without IPv6 brackets.
    Tcp {
        /// Host name or IP address.
        host: String,
        /// Port; 0 asks the OS for a free one.
        port: u16,
    },
    /// A Unix domain socket at an absolute path.
    Unix(PathBuf),
    /// WebSocket over TCP, upgrading requests for `path` and anything below it.
    Ws {
        /// Host name or IP address.
        host: String,
        /// Port; 0 asks the OS for a free one.
        port: u16,
        /// The mount path, `""` for every path, otherwise starting with `/` (no trailing `/`).
        path: String,
    },
    /// A transport registered by an extension (see [`super::StreamTransport`]): a TCP socket whose
    /// connections the transport transforms (TLS, for example) before frames flow.
    Extension {
        /// The URL scheme, lower case (`tls`).
        scheme: String,
        /// Host name or IP address.
        host: String,
        /// Port; 0 asks the OS for a free one.
        port: u16,
    },
}

impl ListenAddress {
    /// The URL scheme (`tcp`, `unix`, `ws`, or an extension's).
    pub fn scheme(&self) -> &str {
        match self {
            Self::Tcp { .. } => "tcp",
            Self::Unix(_) => "unix",
            Self::Ws { .. } => "ws",
            Self::Extension { scheme, .. } => scheme,
        }
    }
}

impl fmt::Display for ListenAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp { host, port } if host.contains(':') => write!(f, "tcp://[{host}]:{port}"),
            Self::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            Self::Unix(path) => write!(f, "unix://{}", path.display()),
            Self::Ws { host, port, path } if host.contains(':') => {
                write!(f, "ws://[{host}]:{port}{path}")
            }
            Self::Ws { host, port, path } => write!(f, "ws://{host}:{port}{path}"),
            Self::Extension { scheme, host, port } if host.contains(':') => {
                write!(f, "{scheme}://[{host}]:{port}")
            }
            Self::Extension { scheme, host, port } => write!(f, "{scheme}://{host}:{port}"),
        }
    }
}

/// Parses `tcp://HOST:PORT`, `unix:///absolute/path`, `ws://HOST:PORT[/path]`, or
/// `SCHEME://HOST:PORT` for an extension's transport. Whether a transport serves that scheme is
/// only known when binding (see [`super::TransportRegistry`]).
pub fn parse_listen_address(input: &str) -> Result<ListenAddress, AddressError> {
    let fail = |reason: &str| AddressError {
        input: input.to_owned(),
        reason: reason.to_owned(),
    };
    if let Some(rest) = input.strip_prefix("tcp://") {
        let (host, port) = parse_host_port(rest).map_err(|reason| fail(&reason))?;
        return Ok(ListenAddress::Tcp { host, port });
    }
    if let Some(path) = input.strip_prefix("unix://") {
        if !path.starts_with('/') {
            return Err(fail(
                "a unix socket path must be absolute, which gives three slashes: unix:///run/app.sock",
            ));
        }
        return Ok(ListenAddress::Unix(PathBuf::from(path)));
    }
    if let Some(rest) = input.strip_prefix("ws://") {
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if path.contains(['?', '#']) {
            return Err(fail(
                "a ws listen path cannot hold a query or fragment; give only the path, ws://HOST:PORT/netron",
            ));
        }
        let (host, port) = parse_host_port(authority).map_err(|reason| fail(&reason))?;
        // "/netron/" and "/netron" mount the same endpoint; "/" mounts everything.
        let path = path.trim_end_matches('/').to_owned();
        return Ok(ListenAddress::Ws { host, port, path });
    }
    if input.starts_with("wss://") {
        return Err(fail(
            "wss (TLS) is not built in; listen on ws:// behind a TLS-terminating proxy",
        ));
    }
    if input.starts_with("http://") || input.starts_with("https://") {
        return Err(fail(
            "Netron over HTTP is served on the runtime's HTTP port (POST /netron/invoke), not as a listen address",
        ));
    }
    if let Some((scheme, rest)) = input.split_once("://") {
        if is_scheme(scheme) {
            if rest.contains('/') {
                return Err(fail(&format!(
                    "a {scheme}:// address is HOST:PORT with no path, {scheme}://0.0.0.0:7443"
                )));
            }
            let (host, port) = parse_host_port(rest).map_err(|reason| fail(&reason))?;
            return Ok(ListenAddress::Extension {
                scheme: scheme.to_owned(),
                host,
                port,
            });
        }
    }
    Err(fail(
        "expected tcp://HOST:PORT, unix:///absolute/path, ws://HOST:PORT[/path], or SCHEME://HOST:PORT for a transport an extension provides",
    ))
}

/// An RFC 3986 scheme in lower case: a letter, then letters, digits, `+`, `-` or `.`.
fn is_scheme(scheme: &str) -> bool {
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '+' | '-' | '.'))
}

/// `HOST:PORT` with an IPv6 host in brackets; the error is the reason only.
fn parse_host_port(authority: &str) -> Result<(String, u16), String> {
    let (host, port) = authority
        .rsplit_once(':')
        .ok_or_else(|| "the port is missing".to_owned())?;
    let host = match host.strip_prefix('[') {
        Some(inner) => inner
            .strip_suffix(']')
            .ok_or_else(|| "an IPv6 host must be written in brackets, [::1]".to_owned())?,
        None if host.contains(':') => {
            return Err("an IPv6 host must be written in brackets, [::1]".to_owned());
        }
        None => host,
    };
    if host.is_empty() {
        return Err("the host is missing".to_owned());
    }
    let port = port
        .parse::<u16>()
        .map_err(|_| format!("the port {port:?} is not a number from 0 to 65535"))?;
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tcp_and_unix_addresses() {
        assert_eq!(
            parse_listen_address("tcp://0.0.0.0:7100").unwrap(),
            ListenAddress::Tcp {
                host: "0.0.0.0".into(),
                port: 7100
            }
        );
        let v6 = parse_listen_address("tcp://[::1]:0").unwrap();
        assert_eq!(
            v6,
            ListenAddress::Tcp {
                host: "::1".into(),
                port: 0
            }
        );
        assert_eq!(v6.to_string(), "tcp://[::1]:0");
        assert_eq!(
            parse_listen_address("unix:///run/titan.sock").unwrap(),
            ListenAddress::Unix("/run/titan.sock".into())
        );
    }

    #[test]
    fn parses_ws_addresses_with_and_without_a_path() {
        let mounted = parse_listen_address("ws://0.0.0.0:8080/netron/").unwrap();
        assert_eq!(
            mounted,
            ListenAddress::Ws {
                host: "0.0.0.0".into(),
                port: 8080,
                path: "/netron".into()
            }
        );
        assert_eq!(mounted.to_string(), "ws://0.0.0.0:8080/netron");
        for everything in ["ws://[::1]:0", "ws://[::1]:0/"] {
            let address = parse_listen_address(everything).unwrap();
            assert_eq!(
                address,
                ListenAddress::Ws {
                    host: "::1".into(),
                    port: 0,
                    path: String::new()
                }
            );
            assert_eq!(address.to_string(), "ws://[::1]:0");
        }
    }

    #[test]
    fn other_schemes_are_left_to_extension_transports() {
        let address = parse_listen_address("tls://127.0.0.1:7443").unwrap();
        assert_eq!(
            address,
            ListenAddress::Extension {
                scheme: "tls".into(),
                host: "127.0.0.1".into(),
                port: 7443
            }
        );
        assert_eq!(address.scheme(), "tls");
        assert_eq!(address.to_string(), "tls://127.0.0.1:7443");
        let v6 = parse_listen_address("quic+x://[::1]:0").unwrap();
        assert_eq!(v6.to_string(), "quic+x://[::1]:0");
    }

    #[test]
    fn errors_name_the_problem_and_the_accepted_forms() {
        let cases = [
            ("tcp://localhost", "the port is missing"),
            ("tcp://:7100", "the host is missing"),
            ("tcp://h:70000", "not a number from 0 to 65535"),
            ("tcp://::1:7100", "must be written in brackets"),
            ("unix://run/x.sock", "must be absolute"),
            ("ws://h", "the port is missing"),
            ("ws://h:x/netron", "not a number from 0 to 65535"),
            ("ws://:1/netron", "the host is missing"),
            ("ws://h:1/netron?token=t", "cannot hold a query"),
            ("wss://h:1", "behind a TLS-terminating proxy"),
            ("http://h:1", "POST /netron/invoke"),
            ("tcp//h:1", "SCHEME://HOST:PORT for a transport an extension provides"),
            ("TLS://h:1", "SCHEME://HOST:PORT for a transport an extension provides"),
            ("tls://h:1/x", "no path"),
            ("tls://h", "the port is missing"),
        ];
        for (input, reason) in cases {
            let message = parse_listen_address(input).unwrap_err().to_string();
            assert!(message.contains(reason), "{input}: {message}");
            assert!(
                message.contains("tcp://HOST:PORT")
                    && message.contains("unix:///")
                    && message.contains("ws://HOST:PORT[/path]"),
                "{message}"
            );
        }
    }
}
