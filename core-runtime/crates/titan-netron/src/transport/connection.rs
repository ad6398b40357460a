//! One peer's connection: frames in and out over a byte stream ([`FramedConnection`]) or as
//! WebSocket messages ([`WsConnection`]), either one as a [`Connection`], and the server's view of
//! a Netron session on top of it ([`ServerSession`]: id handshake, then packets).

use std::collections::VecDeque;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::error::TransportError;
use super::ws::WsConnection;
use crate::decode::DecodeLimits;
use crate::frame::{Frame, FrameDecoder, write_frame};
use crate::handshake::Handshake;
use crate::packet::Packet;

/// A bidirectional byte stream a framed connection runs on (a tcp or unix socket).
pub trait ByteStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> ByteStream for T {}

const READ_CHUNK: usize = 64 * 1024;

/// Length-prefixed frames over a byte stream. The frame cap is checked on each length prefix
/// before the body is buffered (see [`FrameDecoder`]).
pub struct FramedConnection {
    io: Box<dyn ByteStream>,
    decoder: FrameDecoder,
    /// Frames completed by an earlier read but not yet returned: one read may carry many.
    ready: VecDeque<Frame>,
    /// A framing error met after the frames in `ready`: reported once they are handed out, so
    /// a handshake that arrived in the same read as a bad prefix is still seen.
    failed: Option<crate::error::DecodeError>,
    read_buf: Box<[u8]>,
    /// Who the peer proved to be in the transport's handshake (a JSON object), if it did.
    pub(crate) peer_identity: Option<String>,
}

impl std::fmt::Debug for FramedConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FramedConnection")
            .field("decoder", &self.decoder)
            .field("ready", &self.ready.len())
            .finish_non_exhaustive()
    }
}

impl FramedConnection {
    /// Frames `io` with the default 16 MiB cap.
    pub fn new(io: Box<dyn ByteStream>) -> Self {
        Self::with_decoder(io, FrameDecoder::new())
    }

    /// Frames `io` with a decoder of your choosing (a tighter cap, for example).
    pub fn with_decoder(io: Box<dyn ByteStream>, decoder: FrameDecoder) -> Self {
        Self {
            io,
            decoder,
            ready: VecDeque::new(),
            failed: None,
            read_buf: vec![0; READ_CHUNK].into_boxed_slice(),
            peer_identity: None,
        }
    }

    /// The next frame, or `None` when the peer closed the connection between frames.
    pub async fn recv_frame(&mut self) -> Result<Option<Frame>, TransportError> {
        loop {
            if let Some(frame) = self.ready.pop_front() {
                return Ok(Some(frame));
            }
            if let Some(err) = &self.failed {
                return Err(TransportError::Frame(err.clone()));
            }
            let read = self.io.read(&mut self.read_buf).await?;
            if read == 0 {
                return match self.decoder.buffered_len() {
                    0 => Ok(None),
                    buffered => Err(TransportError::TruncatedFrame { buffered }),
                };
            }
            let mut frames = Vec::new();
            if let Err(err) = self.decoder.push_into(&self.read_buf[..read], &mut frames) {
                self.failed = Some(err);
            }
            self.ready.extend(frames);
        }
    }

    /// Sends one frame with `body`.
    pub async fn send_frame(&mut self, body: &[u8]) -> Result<(), TransportError> {
        let mut out = Vec::with_capacity(body.len() + 4);
        write_frame(&mut out, body)?;
        self.send_raw(&out).await
    }

    /// Sends one packet as a frame.
    pub async fn send_packet(&mut self, packet: &Packet) -> Result<(), TransportError> {
        let out = packet.encode_frame()?;
        self.send_raw(&out).await
    }

    /// Sends one frame per body in one write.
    pub async fn send_frames(&mut self, bodies: &[Bytes]) -> Result<(), TransportError> {
        let mut out = Vec::with_capacity(bodies.iter().map(|b| b.len() + 4).sum());
        for body in bodies {
            write_frame(&mut out, body)?;
        }
        self.send_raw(&out).await
    }

    async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        self.io.write_all(bytes).await?;
        self.io.flush().await?;
        Ok(())
    }

    /// Closes the writing side so the peer sees end of stream.
    pub async fn shutdown(&mut self) -> Result<(), TransportError> {
        self.io.shutdown().await?;
        Ok(())
    }
}

/// A connection of any built-in transport: the frames a Netron session reads and writes, cut
/// either by a length prefix (tcp, unix) or by WebSocket message boundaries (ws).
///
/// An enum rather than a trait object: there are two ways to cut frames, both known here, and
/// async methods on a trait object would cost a boxed future per frame. Transports from
/// extensions (through the ABI) will be a third variant, and the point to revisit this.
#[derive(Debug)]
pub enum Connection {
    /// Length-prefixed frames on a byte stream (tcp, unix).
    Framed(FramedConnection),
    /// One frame per WebSocket message (ws).
    Ws(WsConnection),
}

impl From<FramedConnection> for Connection {
    fn from(connection: FramedConnection) -> Self {
        Self::Framed(connection)
    }
}

impl From<WsConnection> for Connection {
    fn from(connection: WsConnection) -> Self {
        Self::Ws(connection)
    }
}

impl Connection {
    /// Who the peer proved to be in its transport's handshake (a JSON object: a client
    /// certificate, say); `None` for the built-in transports and anonymous peers.
    pub fn peer_identity(&self) -> Option<&str> {
        match self {
            Self::Framed(connection) => connection.peer_identity.as_deref(),
            Self::Ws(_) => None,
        }
    }

    /// The next frame, or `None` when the peer closed the connection between frames.
    pub async fn recv_frame(&mut self) -> Result<Option<Frame>, TransportError> {
        match self {
            Self::Framed(connection) => connection.recv_frame().await,
            Self::Ws(connection) => connection.recv_frame().await,
        }
    }

    /// Sends one frame with `body`.
    pub async fn send_frame(&mut self, body: &[u8]) -> Result<(), TransportError> {
        match self {
            Self::Framed(connection) => connection.send_frame(body).await,
            Self::Ws(connection) => connection.send_frame(body).await,
        }
    }

    /// Sends one frame per body, flushed together.
    pub async fn send_frames(&mut self, bodies: &[Bytes]) -> Result<(), TransportError> {
        match self {
            Self::Framed(connection) => connection.send_frames(bodies).await,
            Self::Ws(connection) => connection.send_frames(bodies).await,
        }
    }

    /// Sends one packet as a frame.
    pub async fn send_packet(&mut self, packet: &Packet) -> Result<(), TransportError> {
        match self {
            Self::Framed(connection) => connection.send_packet(packet).await,
            Self::Ws(connection) => connection.send_packet(packet).await,
        }
    }

    /// Closes the connection from our side (end of stream, or a WebSocket close).
    pub async fn shutdown(&mut self) -> Result<(), TransportError> {
        match self {
            Self::Framed(connection) => connection.shutdown().await,
            Self::Ws(connection) => connection.shutdown().await,
        }
    }
}

/// The server side of a Netron session: sends the server id, takes the client's id, then yields
/// packets. PING is not answered here (see `serve`), so a caller sees every packet.
#[derive(Debug)]
pub struct ServerSession {
    connection: Connection,
    limits: DecodeLimits,
    client_id: Option<String>,
    /// Netron's receiver switches to binary mode after the first packet decodes; from then on
    /// every frame is a packet and JSON-looking text is no longer special.
    binary_mode: bool,
    dropped_frames: u64,
}

impl ServerSession {
    /// Opens the session: sends `{"type":"id","id":<server_id>}` at once. (Netron's server
    /// waits about 10 ms first; its clients do not depend on that delay.)
    pub async fn accept(
        connection: impl Into<Connection>,
        server_id: &str,
    ) -> Result<Self, TransportError> {
        let mut connection = connection.into();
        let hello = Handshake::ServerId {
            id: server_id.to_owned(),
        };
        connection.send_frame(hello.to_json().as_bytes()).await?;
        Ok(Self {
            connection,
            limits: DecodeLimits::default(),
            client_id: None,
            binary_mode: false,
            dropped_frames: 0,
        })
    }

    /// Who the peer proved to be in its transport's handshake (see [`Connection::peer_identity`]).
    pub fn peer_identity(&self) -> Option<&str> {
        self.connection.peer_identity()
    }

    /// The client's peer id, once its `client-id` message has arrived. A client that sends
    /// packets without one is still served (this stays `None`).
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// Frames that were neither a handshake message nor a decodable packet. Netron drops them
    /// and keeps the connection (its `handleData` hands them on as raw data nobody consumes),
    /// and so does this session: a bad packet has no trustworthy id to answer.
    pub fn dropped_frames(&self) -> u64 {
        self.dropped_frames
    }

    /// The next packet, or `None` when the client closed the connection.
    pub async fn next_packet(&mut self) -> Result<Option<Packet>, TransportError> {
        loop {
            match self.next_event().await? {
                None => return Ok(None),
                Some(SessionEvent::Packet { packet, .. }) => return Ok(Some(packet)),
                Some(SessionEvent::UnknownType { .. }) => self.dropped_frames += 1,
            }
        }
    }

    /// The next packet with its encoded body (to hand on without encoding it again), or a packet
    /// of a type Netron does not define, whose id and flags are trustworthy enough to answer;
    /// `None` when the client closed the connection. Other undecodable frames are dropped and
    /// counted, as Netron drops them.
    pub async fn next_event(&mut self) -> Result<Option<SessionEvent>, TransportError> {
        loop {
            let Some(frame) = self.connection.recv_frame().await? else {
                return Ok(None);
            };
            // Only the first JSON message is the handshake (Netron's server listens for it with
            // `once`); later text is dropped and counted like any frame that is not a packet.
            if !self.binary_mode && frame.is_json_text() && self.client_id.is_none() {
                match frame.handshake().map_err(TransportError::Handshake)? {
                    Handshake::ClientId { id } => self.client_id = Some(id),
                    other @ Handshake::ServerId { .. } => {
                        return Err(TransportError::UnexpectedHandshake {
                            got: other.to_json(),
                        });
                    }
                }
                continue;
            }
            match frame.packet(&self.limits) {
                Ok(packet) => {
                    self.binary_mode = true;
                    return Ok(Some(SessionEvent::Packet {
                        packet,
                        body: frame.into_body(),
                    }));
                }
                Err(crate::error::DecodeError::UnknownPacketType { type_bits, .. }) => {
                    let body = frame.body();
                    let id = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
                    return Ok(Some(SessionEvent::UnknownType {
                        id,
                        flags: body[4],
                        type_bits,
                    }));
                }
                Err(_) => self.dropped_frames += 1,
            }
        }
    }

    /// Sends a packet to the client.
    pub async fn send_packet(&mut self, packet: &Packet) -> Result<(), TransportError> {
        self.connection.send_packet(packet).await
    }

    /// Sends already-encoded packets, one frame each, flushed together.
    pub async fn send_frames(&mut self, bodies: &[Bytes]) -> Result<(), TransportError> {
        self.connection.send_frames(bodies).await
    }

    /// Closes the connection from our side.
    pub async fn shutdown(&mut self) -> Result<(), TransportError> {
        self.connection.shutdown().await
    }
}

/// What [`ServerSession::next_event`] read.
#[derive(Debug)]
pub enum SessionEvent {
    /// A packet, and the frame body it was decoded from.
    Packet {
        /// The decoded packet.
        packet: Packet,
        /// Its encoding, as received.
        body: Bytes,
    },
    /// A frame with a packet header whose type bits name no Netron packet type.
    UnknownType {
        /// The packet id.
        id: u32,
        /// The flags byte as received.
        flags: u8,
        /// The type bits (8 to 15).
        type_bits: u8,
    },
}
