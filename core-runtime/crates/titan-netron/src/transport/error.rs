//! Typed errors of the transport layer; each message says what went wrong and what to do.

use crate::error::{DecodeError, EncodeError, HandshakeError};

/// A listen address that `parse_listen_address` could not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid Netron listen address {input:?}: {reason}. Accepted forms: tcp://HOST:PORT \
     (tcp://0.0.0.0:7100, tcp://[::1]:7100), unix:///absolute/path.sock and \
     ws://HOST:PORT[/path] (ws://0.0.0.0:8080/netron)"
)]
pub struct AddressError {
    /// The address as given.
    pub input: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Why a connection ended with an error. The listener keeps serving other peers either way.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The socket failed.
    #[error("Netron connection I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// A frame could not be read (an oversized length prefix): the stream cannot be
    /// resynchronised, so the connection is closed.
    #[error("closed the Netron connection: {0}")]
    Frame(#[source] DecodeError),
    /// The peer closed the connection part-way through a frame.
    #[error(
        "the peer closed the Netron connection in the middle of a frame ({buffered} bytes of it \
         received); the partial frame was dropped"
    )]
    TruncatedFrame {
        /// Bytes of the unfinished frame (prefix included) that had arrived.
        buffered: usize,
    },
    /// The client's handshake message was not valid JSON of the expected shape.
    #[error("closed the Netron connection: {0}")]
    Handshake(#[source] HandshakeError),
    /// The client sent a server's `{"type":"id"}` message instead of its `client-id`.
    #[error(
        "closed the Netron connection: the peer sent a server id message ({got}) where a client \
         sends {{\"type\":\"client-id\",\"id\":\"...\"}}; connect a Netron client, not a server"
    )]
    UnexpectedHandshake {
        /// The message received, as JSON.
        got: String,
    },
    /// The WebSocket layer failed (a protocol violation by the peer, or the socket under it).
    #[error("closed the Netron ws connection: {0}")]
    WebSocket(#[source] Box<tokio_tungstenite::tungstenite::Error>),
    /// The peer did not finish the WebSocket upgrade in time.
    #[error(
        "closed the connection: the peer did not complete the WebSocket upgrade within {0:?}; \
         connect with a WebSocket client (ws://...), not a plain tcp one"
    )]
    UpgradeTimeout(std::time::Duration),
    /// The peer asked to upgrade on a path this listener does not serve; it was answered 404.
    #[error(
        "refused a WebSocket upgrade for path {requested:?} with 404: this Netron server listens \
         on {mount:?}; connect to ws://HOST:PORT{mount}"
    )]
    WrongPath {
        /// The path (and query) the client asked for.
        requested: String,
        /// The path the listener is mounted at.
        mount: String,
    },
    /// A packet to send could not be encoded.
    #[error("could not encode a Netron packet to send: {0}")]
    Encode(#[from] EncodeError),
}
