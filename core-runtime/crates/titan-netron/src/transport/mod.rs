//! Netron transports: listening on `tcp://`, `unix://` and `ws://` addresses, the length-prefixed
//! framing on byte streams and the one-message-per-frame WebSocket connection, the server side of
//! the id handshake, and a minimal packet dispatcher.
//!
//! Dispatch is by enum, not by trait object: tcp and unix share one framing implementation over
//! a boxed byte stream ([`ByteStream`], [`FramedConnection`]); ws cuts frames by message
//! ([`WsConnection`]); a [`Connection`] is one or the other, and everything above it
//! ([`ServerSession`], [`serve`]) is written once. Transports from extensions implement the one
//! trait [`StreamTransport`]: they turn an accepted TCP connection into a byte stream (TLS, say)
//! and the core frames it like tcp.

mod address;
mod connection;
mod error;
mod extension;
mod listener;
mod serve;
mod ws;

pub use address::{ListenAddress, parse_listen_address};
pub use connection::{ByteStream, Connection, FramedConnection, ServerSession, SessionEvent};
pub use error::{AddressError, TransportError};
pub use extension::{AcceptFuture, Accepted, RegisterError, StreamTransport, TransportRegistry};
pub use listener::{Incoming, Listener, no_transport};
pub use serve::{ConnectionEnd, ServeOptions, serve};
pub use ws::WsConnection;
