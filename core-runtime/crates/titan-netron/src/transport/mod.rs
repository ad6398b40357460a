//! Netron transports: listening on `tcp://` and `unix://` addresses, the length-prefixed framing
//! on those byte streams, the server side of the id handshake, and a minimal packet dispatcher.
//!
//! Dispatch is by enum, not by trait object: the built-in transports share one framing
//! implementation over a boxed byte stream ([`ByteStream`]), so a [`Listener`] is an enum of the
//! socket kinds and a [`FramedConnection`] is the same type for all of them. ws (message-based,
//! no length prefix) and transports from extensions through the ABI will be further variants.

mod address;
mod connection;
mod error;
mod listener;
mod serve;

pub use address::{ListenAddress, parse_listen_address};
pub use connection::{ByteStream, FramedConnection, ServerSession};
pub use error::{AddressError, TransportError};
pub use listener::Listener;
pub use serve::{ConnectionEnd, ServeOptions, serve};
