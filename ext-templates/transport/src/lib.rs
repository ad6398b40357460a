//! `{{project-name}}`: {{description}}
//!
//! The skeleton of a Netron transport: how Titan's RPC layer moves bytes to and from addresses
//! of one URL scheme (`{{ project-name | replace: "_", "-" }}://host:port`), next to the built-in tcp, unix and ws.
//!
//! Where it stands: the extension ABI reserves `titan_host.register_transport` for this, and
//! the host answers it with an error until the Netron layer defines the transport table
//! (`titan_transport_def`). Until then this crate is an ordinary native extension: `Transport`
//! has the transport's shape (its scheme, `listen`, `connect`) with stubs that say they are not
//! wired yet, and `t.{{namespace}}.scheme()` / `t.{{namespace}}.parseAddress()` are callable from
//! JS so the extension builds, loads and is tested today. README.md says what will change.

use std::fmt;

use titan_ext::function;

/// This transport's URL scheme: Netron sends `<SCHEME>://...` addresses here.
pub const SCHEME: &str = "{{ project-name | replace: "_", "-" }}";

/// Why a transport operation failed. Becomes the JS exception's message through `Display`.
#[derive(Debug, PartialEq)]
pub enum TransportError {
    /// The address is not `<SCHEME>://...`.
    WrongScheme {
        /// The address as given.
        address: String,
    },
    /// Nothing follows `<SCHEME>://`.
    MissingTarget {
        /// The address as given.
        address: String,
    },
    /// The Netron layer cannot drive extension transports yet (see README.md).
    NotWired {
        /// `"listen"` or `"connect"`.
        operation: &'static str,
    },
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::WrongScheme { address } => write!(f, "{address:?} is not a {SCHEME}:// address"),
            TransportError::MissingTarget { address } => write!(f, "{address:?} has nothing after {SCHEME}:// (expected host:port)"),
            TransportError::NotWired { operation } => write!(
                f,
                "{SCHEME} {operation} is not wired yet: Netron registers extension transports once the ABI defines titan_transport_def"
            ),
        }
    }
}

impl std::error::Error for TransportError {}

/// The transport: what the Netron layer will call to accept and open connections for
/// `<SCHEME>://` addresses. It holds no state yet; per-transport settings from the app's config
/// would live here (built in `init`, see the `native` template).
#[derive(Debug, Default)]
pub struct Transport;

impl Transport {
    /// The URL scheme this transport serves.
    pub fn scheme(&self) -> &'static str {
        SCHEME
    }

    /// The target of `<SCHEME>://<target>` (e.g. `host:port`), checked to be for this transport.
    pub fn target<'a>(&self, address: &'a str) -> Result<&'a str, TransportError> {
        let rest = address
            .strip_prefix(SCHEME)
            .and_then(|rest| rest.strip_prefix("://"))
            .ok_or_else(|| TransportError::WrongScheme { address: address.to_owned() })?;
        if rest.is_empty() {
            return Err(TransportError::MissingTarget { address: address.to_owned() });
        }
        Ok(rest)
    }

    /// Starts accepting connections on `address`. A stub: the `Ok` type becomes the Netron
    /// layer's listener handle when it can register transports.
    pub fn listen(&self, address: &str) -> Result<(), TransportError> {
        self.target(address)?;
        Err(TransportError::NotWired { operation: "listen" })
    }

    /// Opens a connection to `address`. A stub, like `listen`.
    pub fn connect(&self, address: &str) -> Result<(), TransportError> {
        self.target(address)?;
        Err(TransportError::NotWired { operation: "connect" })
    }
}

/// The transport's URL scheme: `t.{{namespace}}.scheme()` → `"{{ project-name | replace: "_", "-" }}"`.
#[function]
pub fn scheme() -> &'static str {
    Transport.scheme()
}

/// The target of one of this transport's addresses, `"{{ project-name | replace: "_", "-" }}://db:7000"` → `"db:7000"`;
/// any other address throws, saying why.
#[function(name = "parseAddress")]
pub fn parse_address(address: &str) -> Result<String, TransportError> {
    Transport.target(address).map(str::to_owned)
}

titan_ext::extension! {
    functions: [scheme, parse_address],
}

// Unit tests of the Rust side: `cargo test`. tests/*.test.js load the built extension into a
// real worker isolate (`npm test`).
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_is_a_valid_url_scheme() {
        // RFC 3986: a letter, then letters, digits, '+', '-' or '.'.
        let mut chars = SCHEME.chars();
        assert!(chars.next().is_some_and(|c| c.is_ascii_alphabetic()), "{SCHEME}");
        assert!(chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)), "{SCHEME}");
    }

    #[test]
    fn parses_its_own_addresses_only() {
        let transport = Transport;
        assert_eq!(transport.target(&format!("{SCHEME}://db:7000")), Ok("db:7000"));
        assert_eq!(transport.target("tcp://db:7000"), Err(TransportError::WrongScheme { address: "tcp://db:7000".into() }));
        let empty = format!("{SCHEME}://");
        assert_eq!(transport.target(&empty), Err(TransportError::MissingTarget { address: empty.clone() }));
    }

    #[test]
    fn listen_and_connect_say_they_are_not_wired_yet() {
        let address = format!("{SCHEME}://127.0.0.1:7000");
        assert_eq!(Transport.listen(&address), Err(TransportError::NotWired { operation: "listen" }));
        let error = Transport.connect(&address).unwrap_err();
        assert_eq!(error.to_string(), format!("{SCHEME} connect is not wired yet: Netron registers extension transports once the ABI defines titan_transport_def"));
        // A wrong address is reported before the stub.
        assert!(matches!(Transport.connect("ws://x"), Err(TransportError::WrongScheme { .. })));
    }
}
