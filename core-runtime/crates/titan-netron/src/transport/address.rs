//! Listen addresses: `tcp://HOST:PORT` and `unix:///path`, parsed into an enum with errors that
//! list the accepted forms.

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
}

impl fmt::Display for ListenAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp { host, port } if host.contains(':') => write!(f, "tcp://[{host}]:{port}"),
            Self::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            Self::Unix(path) => write!(f, "unix://{}", path.display()),
        }
    }
}

/// Parses `tcp://HOST:PORT` or `unix:///absolute/path`.
pub fn parse_listen_address(input: &str) -> Result<ListenAddress, AddressError> {
    let fail = |reason: &str| AddressError {
        input: input.to_owned(),
        reason: reason.to_owned(),
    };
    if let Some(rest) = input.strip_prefix("tcp://") {
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| fail("the port is missing"))?;
        let host = match host.strip_prefix('[') {
            Some(inner) => inner
                .strip_suffix(']')
                .ok_or_else(|| fail("an IPv6 host must be written in brackets, [::1]"))?,
            None if host.contains(':') => {
                return Err(fail("an IPv6 host must be written in brackets, [::1]"));
            }
            None => host,
        };
        if host.is_empty() {
            return Err(fail("the host is missing"));
        }
        let port = port.parse::<u16>().map_err(|_| {
            fail(&format!(
                "the port {port:?} is not a number from 0 to 65535"
            ))
        })?;
        return Ok(ListenAddress::Tcp {
            host: host.to_owned(),
            port,
        });
    }
    if let Some(path) = input.strip_prefix("unix://") {
        if !path.starts_with('/') {
            return Err(fail(
                "a unix socket path must be absolute, which gives three slashes: unix:///run/app.sock",
            ));
        }
        return Ok(ListenAddress::Unix(PathBuf::from(path)));
    }
    if input.starts_with("ws://") || input.starts_with("wss://") {
        return Err(fail("the ws transport is not built yet"));
    }
    Err(fail("unknown scheme"))
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
    fn errors_name_the_problem_and_the_accepted_forms() {
        let cases = [
            ("tcp://localhost", "the port is missing"),
            ("tcp://:7100", "the host is missing"),
            ("tcp://h:70000", "not a number from 0 to 65535"),
            ("tcp://::1:7100", "must be written in brackets"),
            ("unix://run/x.sock", "must be absolute"),
            ("ws://h:1", "ws transport is not built yet"),
            ("http://h:1", "unknown scheme"),
        ];
        for (input, reason) in cases {
            let message = parse_listen_address(input).unwrap_err().to_string();
            assert!(message.contains(reason), "{input}: {message}");
            assert!(
                message.contains("tcp://HOST:PORT") && message.contains("unix:///"),
                "{message}"
            );
        }
    }
}
