//! The ws transport: the HTTP upgrade on an accepted tcp socket, then one Netron frame per
//! WebSocket message (no length prefix), with the size cap enforced by tungstenite itself.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message, error::CapacityError};

use super::error::TransportError;
use crate::error::DecodeError;
use crate::frame::{DEFAULT_MAX_FRAME_LEN, Frame};
use crate::packet::Packet;

/// How long a peer may take to complete the HTTP upgrade. Without a bound, a client that opens
/// a socket and sends nothing would hold a task forever before any Netron traffic.
pub(crate) const UPGRADE_TIMEOUT: Duration = Duration::from_secs(10);

/// tungstenite's limits: one message and one wire frame may each carry at most `max_len` bytes.
/// The frame limit is checked on the frame header, before its payload is read, so an oversized
/// message is refused without being buffered (the same guarantee as the tcp length prefix).
fn config(max_len: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(max_len))
        .max_frame_size(Some(max_len))
}

/// True when a request path belongs to a listener mounted at `mount` (`""` accepts every path):
/// the path itself or anything below it, ignoring a query string, as Netron's `pathPrefix`.
fn path_matches(mount: &str, request_path: &str) -> bool {
    let path = request_path.split('?').next().unwrap_or_default();
    let mount = mount.trim_end_matches('/');
    mount.is_empty()
        || path == mount
        || path
            .strip_prefix(mount)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// A Netron connection over WebSocket: each frame is one message.
#[derive(Debug)]
pub struct WsConnection {
    stream: WebSocketStream<TcpStream>,
    max_len: usize,
}

impl WsConnection {
    /// Answers the HTTP upgrade on `socket` with the default 16 MiB message cap. A request for a
    /// path outside `mount` gets 404 and an error naming both paths.
    pub async fn upgrade(socket: TcpStream, mount: &str) -> Result<Self, TransportError> {
        Self::upgrade_with_max_len(socket, mount, DEFAULT_MAX_FRAME_LEN).await
    }

    /// Like [`WsConnection::upgrade`], with a message cap of your choosing.
    pub async fn upgrade_with_max_len(
        socket: TcpStream,
        mount: &str,
        max_len: usize,
    ) -> Result<Self, TransportError> {
        let mut refused_path = None;
        // The large `Err` is tungstenite's callback signature (an HTTP response), not ours.
        #[allow(clippy::result_large_err)]
        let check_path = |request: &Request, response: Response| {
            let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
            if path_matches(mount, path) {
                return Ok(response);
            }
            refused_path = Some(path.to_owned());
            let mut refusal = ErrorResponse::new(Some(format!(
                "no Netron endpoint at {path}; this server listens on {mount}\n"
            )));
            *refusal.status_mut() = StatusCode::NOT_FOUND;
            Err(refusal)
        };
        let upgrade = tokio_tungstenite::accept_hdr_async_with_config(
            socket,
            check_path,
            Some(config(max_len)),
        );
        let stream = match tokio::time::timeout(UPGRADE_TIMEOUT, upgrade).await {
            Err(_) => return Err(TransportError::UpgradeTimeout(UPGRADE_TIMEOUT)),
            Ok(Err(_)) if refused_path.is_some() => {
                return Err(TransportError::WrongPath {
                    requested: refused_path.unwrap_or_default(),
                    mount: mount.to_owned(),
                });
            }
            Ok(Err(err)) => return Err(ws_error(err)),
            Ok(Ok(stream)) => stream,
        };
        Ok(Self { stream, max_len })
    }

    /// The next message as a frame, text and binary alike (Netron's receiver does not look at
    /// the message type either), or `None` once the peer closed. Ping and pong are answered by
    /// tungstenite; a close is acknowledged by it and ends the stream.
    pub async fn recv_frame(&mut self) -> Result<Option<Frame>, TransportError> {
        loop {
            let message = match self.stream.next().await {
                None | Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => {
                    return Ok(None);
                }
                Some(Err(WsError::Capacity(CapacityError::MessageTooLong { size, max_size }))) => {
                    self.refuse_oversized().await;
                    return Err(TransportError::Frame(DecodeError::Oversized {
                        size,
                        max: max_size,
                        offset: 0,
                    }));
                }
                Some(Err(err)) => return Err(ws_error(err)),
                Some(Ok(message)) => message,
            };
            match message {
                Message::Binary(body) => return Ok(Some(Frame::from_message(body))),
                Message::Text(text) => return Ok(Some(Frame::from_message(text.into()))),
                // Reading on after a close lets tungstenite send its reply; the read after that
                // reports the connection closed, which ends the loop above.
                Message::Close(_) | Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
        }
    }

    /// Tells the peer why it is being dropped (close code 1009, "message too big"), best effort:
    /// the connection ends either way, and a peer that does not read must not hold us up.
    async fn refuse_oversized(&mut self) {
        let reason = format!("Netron message over the {} byte limit", self.max_len);
        let close = self.stream.close(Some(CloseFrame {
            code: CloseCode::Size,
            reason: reason.into(),
        }));
        let _ = tokio::time::timeout(Duration::from_secs(1), close).await;
    }

    /// Sends `body` as one binary message. Netron sends everything as binary, the handshake
    /// JSON included (its server writes `Buffer.from(JSON.stringify(...))`).
    pub async fn send_frame(&mut self, body: &[u8]) -> Result<(), TransportError> {
        self.send_message(body.to_vec()).await
    }

    /// Sends each body as one binary message, flushing once at the end.
    pub async fn send_frames(&mut self, bodies: &[bytes::Bytes]) -> Result<(), TransportError> {
        for body in bodies {
            self.stream
                .feed(Message::Binary(body.clone()))
                .await
                .map_err(ws_error)?;
        }
        self.stream.flush().await.map_err(ws_error)
    }

    /// Sends one packet as one binary message.
    pub async fn send_packet(&mut self, packet: &Packet) -> Result<(), TransportError> {
        self.send_message(packet.encode()?).await
    }

    async fn send_message(&mut self, body: Vec<u8>) -> Result<(), TransportError> {
        self.stream
            .send(Message::Binary(body.into()))
            .await
            .map_err(ws_error)
    }

    /// Starts the closing handshake (close code 1000) and waits for it to be written.
    pub async fn shutdown(&mut self) -> Result<(), TransportError> {
        match self.stream.close(None).await {
            Ok(()) | Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => Ok(()),
            Err(err) => Err(ws_error(err)),
        }
    }
}

fn ws_error(err: tokio_tungstenite::tungstenite::Error) -> TransportError {
    TransportError::WebSocket(Box::new(err))
}

#[cfg(test)]
mod tests {
    use super::path_matches;

    #[test]
    fn a_mount_takes_its_path_and_everything_below_it() {
        assert!(path_matches("", "/anything?x=1"));
        assert!(path_matches("/", "/anything"));
        assert!(path_matches("/netron", "/netron"));
        assert!(path_matches("/netron/", "/netron?token=t"));
        assert!(path_matches("/netron", "/netron/v2"));
        assert!(!path_matches("/netron", "/netronx"));
        assert!(!path_matches("/netron", "/"));
    }
}
