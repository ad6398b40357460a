//! The one trait transports from extensions implement, and the registry that maps URL schemes to
//! them. Such a transport accepts on a TCP socket the core owns and transforms each connection
//! (a TLS handshake, say) into the byte stream Netron's length-prefixed frames travel on; the core
//! keeps the sockets, the framing and the session, so an extension never sees a packet.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use tokio::net::TcpStream;

use super::connection::ByteStream;

/// The future [`StreamTransport::accept`] returns.
pub type AcceptFuture = Pin<Box<dyn Future<Output = io::Result<Accepted>> + Send>>;

/// A connection a transport has accepted: the stream frames travel on, and who the peer proved
/// to be during the handshake.
pub struct Accepted {
    /// Plaintext: Netron's length-prefixed frames.
    pub stream: Box<dyn ByteStream>,
    /// A JSON object describing the peer's proven identity (a client certificate), if any.
    pub peer_identity: Option<String>,
}

impl Accepted {
    /// A stream whose peer proved nothing.
    pub fn anonymous(stream: Box<dyn ByteStream>) -> Self {
        Self { stream, peer_identity: None }
    }
}

/// A Netron transport for `SCHEME://HOST:PORT` addresses, provided by an extension.
pub trait StreamTransport: Send + Sync + 'static {
    /// The URL scheme it serves, lower case (`tls`).
    fn scheme(&self) -> &str;

    /// The server side of a freshly accepted TCP connection: runs whatever the transport needs
    /// first (the TLS handshake) and returns the stream frames are read from and written to,
    /// with the peer's proven identity. An error drops this connection only.
    fn accept(&self, socket: TcpStream) -> AcceptFuture;
}

/// Transports by scheme. Cheap to clone; shared by every worker.
#[derive(Clone, Default)]
pub struct TransportRegistry {
    transports: Arc<RwLock<HashMap<String, Arc<dyn StreamTransport>>>>,
}

impl fmt::Debug for TransportRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportRegistry").field("schemes", &self.schemes()).finish()
    }
}

/// Why a transport could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    /// tcp, unix and ws are built in and cannot be replaced.
    #[error("the {0}:// transport is built in; an extension cannot replace it (pick another scheme)")]
    BuiltIn(String),
    /// Another transport serves this scheme already.
    #[error("a transport for {0}:// is registered already (two extensions provide it: keep one in titan.config.json)")]
    Taken(String),
}

const BUILT_IN: [&str; 3] = ["tcp", "unix", "ws"];

impl TransportRegistry {
    /// Registers `transport` for its scheme.
    pub fn register(&self, transport: Arc<dyn StreamTransport>) -> Result<(), RegisterError> {
        let scheme = transport.scheme().to_ascii_lowercase();
        if BUILT_IN.contains(&scheme.as_str()) {
            return Err(RegisterError::BuiltIn(scheme));
        }
        let mut transports = self.transports.write().unwrap_or_else(|e| e.into_inner());
        if transports.contains_key(&scheme) {
            return Err(RegisterError::Taken(scheme));
        }
        transports.insert(scheme, transport);
        Ok(())
    }

    /// Removes the transport for `scheme` (its extension is unloading). Listeners bound before
    /// keep their transport until they close.
    pub fn unregister(&self, scheme: &str) -> bool {
        self.transports.write().unwrap_or_else(|e| e.into_inner()).remove(scheme).is_some()
    }

    /// The transport for `scheme`.
    pub fn get(&self, scheme: &str) -> Option<Arc<dyn StreamTransport>> {
        self.transports.read().unwrap_or_else(|e| e.into_inner()).get(scheme).cloned()
    }

    /// Registered schemes, sorted.
    pub fn schemes(&self) -> Vec<String> {
        let mut schemes: Vec<String> = self.transports.read().unwrap_or_else(|e| e.into_inner()).keys().cloned().collect();
        schemes.sort();
        schemes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Plain(&'static str);

    impl StreamTransport for Plain {
        fn scheme(&self) -> &str {
            self.0
        }
        fn accept(&self, socket: TcpStream) -> AcceptFuture {
            Box::pin(async move { Ok(Accepted::anonymous(Box::new(socket))) })
        }
    }

    #[test]
    fn registers_once_per_scheme_and_never_a_built_in() {
        let registry = TransportRegistry::default();
        registry.register(Arc::new(Plain("tls"))).unwrap();
        assert_eq!(
            registry.register(Arc::new(Plain("tls"))).unwrap_err(),
            RegisterError::Taken("tls".into())
        );
        let err = registry.register(Arc::new(Plain("ws"))).unwrap_err();
        assert!(err.to_string().contains("built in"), "{err}");
        assert_eq!(registry.schemes(), ["tls"]);
        assert!(registry.get("tls").is_some());
        assert!(registry.unregister("tls"));
        assert!(registry.get("tls").is_none());
    }
}
