//! A minimal dispatcher, the seed of the Netron server: accept peers, handshake, answer PING
//! itself and hand every other packet to a synchronous handler (JS services are synchronous).

use std::sync::Arc;

use super::connection::ServerSession;
use super::error::TransportError;
use super::listener::{Incoming, Listener};
use crate::packet::{Impulse, Packet, PacketType};

/// How one connection ended, for logging and tests.
#[derive(Debug)]
pub struct ConnectionEnd {
    /// The client's id, if it sent one.
    pub client_id: Option<String>,
    /// `Ok` when the client closed cleanly.
    pub result: Result<(), TransportError>,
}

/// Settings of [`serve`].
#[derive(Clone)]
pub struct ServeOptions {
    /// The peer id sent in the handshake.
    pub server_id: String,
    /// Called once per connection when it ends.
    pub on_connection_end: Option<Arc<dyn Fn(ConnectionEnd) + Send + Sync>>,
}

impl ServeOptions {
    /// Options with `server_id` and no connection-end callback.
    pub fn new(server_id: impl Into<String>) -> Self {
        Self {
            server_id: server_id.into(),
            on_connection_end: None,
        }
    }
}

/// Accepts peers until accepting fails, each on its own task: a failing connection (an
/// oversized frame, a bad handshake) ends only itself. PING requests are answered here with the
/// same id, impulse 0 and the request's data echoed, as Netron's connections do; every other
/// packet goes to `handler`, whose `Some` answer is sent back.
pub async fn serve<H>(listener: Listener, options: ServeOptions, handler: H) -> std::io::Error
where
    H: Fn(Packet) -> Option<Packet> + Send + Sync + 'static,
{
    let handler = Arc::new(handler);
    loop {
        let incoming = match listener.accept().await {
            Ok(incoming) => incoming,
            Err(err) => return err,
        };
        let handler = Arc::clone(&handler);
        let options = options.clone();
        tokio::spawn(async move {
            let mut client_id = None;
            let result =
                serve_connection(incoming, &options.server_id, &*handler, &mut client_id).await;
            if let Some(report) = &options.on_connection_end {
                report(ConnectionEnd { client_id, result });
            }
        });
    }
}

async fn serve_connection<H>(
    incoming: Incoming,
    server_id: &str,
    handler: &H,
    client_id: &mut Option<String>,
) -> Result<(), TransportError>
where
    H: Fn(Packet) -> Option<Packet>,
{
    let mut session = ServerSession::accept(incoming.open().await?, server_id).await?;
    loop {
        let next = session.next_packet().await;
        *client_id = session.client_id().map(str::to_owned);
        let Some(packet) = next? else {
            return Ok(());
        };
        let answer = if packet.packet_type == PacketType::Ping {
            match packet.impulse {
                Impulse::Request => Some(packet.response(packet.data.clone())),
                // A pong to a ping we never sent: nothing to resolve.
                Impulse::Response => None,
            }
        } else {
            handler(packet)
        };
        if let Some(answer) = answer {
            session.send_packet(&answer).await?;
        }
    }
}
