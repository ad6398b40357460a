//! Framing for byte-stream transports (tcp, unix): every message, the JSON handshake included,
//! is a u32 BE length followed by that many bytes. [`FrameDecoder`] reassembles frames from
//! chunks of any size and refuses an oversized frame from its length prefix, before buffering it.

use bytes::{Bytes, BytesMut};

use crate::decode::DecodeLimits;
use crate::error::{DecodeError, EncodeError, HandshakeError};
use crate::handshake::Handshake;
use crate::packet::Packet;

/// The largest frame accepted by default: 16 MiB, Netron's `DEFAULT_MAX_PACKET_SIZE`.
pub const DEFAULT_MAX_FRAME_LEN: usize = 16 * 1024 * 1024;

const LENGTH_PREFIX_LEN: usize = 4;

/// How much of a declared frame is reserved up front; the rest grows as bytes arrive, so a peer
/// that declares a large frame and sends nothing does not pin that much memory.
const INITIAL_RESERVE: usize = 64 * 1024;

/// One frame's body (without its length prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    body: Bytes,
}

impl Frame {
    /// A frame whose boundaries the transport itself gives (one WebSocket message).
    pub(crate) fn from_message(body: Bytes) -> Self {
        Self { body }
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body, without copying.
    pub fn into_body(self) -> Bytes {
        self.body
    }

    /// Netron's rule for telling a handshake message from a packet before the first packet has
    /// arrived: text starts with `{` or `[`. See the crate README for the whole rule.
    pub fn is_json_text(&self) -> bool {
        matches!(self.body.first(), Some(b'{' | b'['))
    }

    /// Decodes the body as a packet.
    pub fn packet(&self, limits: &DecodeLimits) -> Result<Packet, DecodeError> {
        Packet::decode_with(&self.body, limits)
    }

    /// Parses the body as a JSON handshake message.
    pub fn handshake(&self) -> Result<Handshake, HandshakeError> {
        Handshake::parse(&self.body)
    }
}

/// Reassembles length-prefixed frames from a byte stream.
///
/// After an error (an oversized frame) the stream cannot be resynchronised: the decoder keeps
/// returning that error and the connection should be closed.
#[derive(Debug)]
pub struct FrameDecoder {
    max_frame_len: usize,
    prefix: [u8; LENGTH_PREFIX_LEN],
    prefix_filled: usize,
    /// The length of the frame being collected, once its prefix is complete.
    body_len: Option<usize>,
    body: BytesMut,
    /// Stream offset of the next byte pushed, for error messages.
    stream_offset: usize,
    failed: Option<DecodeError>,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameDecoder {
    /// A decoder with the default 16 MiB frame limit.
    pub fn new() -> Self {
        Self::with_max_frame_len(DEFAULT_MAX_FRAME_LEN)
    }

    /// A decoder that refuses frames longer than `max_frame_len` bytes (prefix not counted).
    pub fn with_max_frame_len(max_frame_len: usize) -> Self {
        Self {
            max_frame_len,
            prefix: [0; LENGTH_PREFIX_LEN],
            prefix_filled: 0,
            body_len: None,
            body: BytesMut::new(),
            stream_offset: 0,
            failed: None,
        }
    }

    /// Bytes received but not yet part of a complete frame.
    pub fn buffered_len(&self) -> usize {
        self.prefix_filled + self.body.len()
    }

    /// Feeds the next chunk of the stream and returns every frame it completes, in order.
    /// On an error the frames the chunk completed before it are lost; a connection that must
    /// still handle them uses [`FrameDecoder::push_into`].
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<Frame>, DecodeError> {
        let mut frames = Vec::new();
        self.push_into(chunk, &mut frames)?;
        Ok(frames)
    }

    /// Like [`FrameDecoder::push`], but appends completed frames to `frames`, so those that
    /// came before an oversized prefix in the same chunk are kept.
    pub fn push_into(
        &mut self,
        mut chunk: &[u8],
        frames: &mut Vec<Frame>,
    ) -> Result<(), DecodeError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        loop {
            match self.body_len {
                None => {
                    if chunk.is_empty() {
                        break;
                    }
                    let take = (LENGTH_PREFIX_LEN - self.prefix_filled).min(chunk.len());
                    self.prefix[self.prefix_filled..self.prefix_filled + take]
                        .copy_from_slice(&chunk[..take]);
                    self.prefix_filled += take;
                    chunk = &chunk[take..];
                    if self.prefix_filled < LENGTH_PREFIX_LEN {
                        break;
                    }
                    let declared = u32::from_be_bytes(self.prefix) as usize;
                    if declared > self.max_frame_len {
                        let err = DecodeError::Oversized {
                            size: declared,
                            max: self.max_frame_len,
                            offset: self.stream_offset,
                        };
                        self.prefix_filled = 0;
                        self.failed = Some(err.clone());
                        return Err(err);
                    }
                    self.body.reserve(declared.min(INITIAL_RESERVE));
                    self.body_len = Some(declared);
                }
                Some(body_len) => {
                    let take = (body_len - self.body.len()).min(chunk.len());
                    self.body.extend_from_slice(&chunk[..take]);
                    chunk = &chunk[take..];
                    if self.body.len() < body_len {
                        break;
                    }
                    frames.push(Frame {
                        body: self.body.split().freeze(),
                    });
                    self.stream_offset += LENGTH_PREFIX_LEN + body_len;
                    self.prefix_filled = 0;
                    self.body_len = None;
                }
            }
        }
        Ok(())
    }
}

/// Appends `body` to `out` as one frame.
pub fn write_frame(out: &mut Vec<u8>, body: &[u8]) -> Result<(), EncodeError> {
    let len = u32::try_from(body.len()).map_err(|_| EncodeError::TooLong {
        what: "frame",
        len: body.len(),
    })?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    Ok(())
}

impl Packet {
    /// Encodes the packet as one length-prefixed frame, without an intermediate copy.
    pub fn encode_frame(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = vec![0; LENGTH_PREFIX_LEN];
        self.encode_into(&mut out)?;
        let body_len = out.len() - LENGTH_PREFIX_LEN;
        let len = u32::try_from(body_len).map_err(|_| EncodeError::TooLong {
            what: "frame",
            len: body_len,
        })?;
        out[..LENGTH_PREFIX_LEN].copy_from_slice(&len.to_be_bytes());
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PacketType, Value};

    fn framed(bodies: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for body in bodies {
            write_frame(&mut out, body).unwrap();
        }
        out
    }

    #[test]
    fn reassembles_frames_from_chunks_of_every_size() {
        let stream = framed(&[b"{\"type\":\"id\",\"id\":\"a\"}", b"", &[0, 0, 0, 1, 3, 5]]);
        for chunk_len in 1..=stream.len() {
            let mut decoder = FrameDecoder::new();
            let mut bodies = Vec::new();
            for chunk in stream.chunks(chunk_len) {
                bodies.extend(
                    decoder
                        .push(chunk)
                        .unwrap()
                        .into_iter()
                        .map(Frame::into_body),
                );
            }
            assert_eq!(bodies.len(), 3, "chunk length {chunk_len}");
            assert_eq!(&bodies[0][..], b"{\"type\":\"id\",\"id\":\"a\"}");
            assert!(bodies[1].is_empty());
            assert_eq!(&bodies[2][..], &[0, 0, 0, 1, 3, 5]);
            assert_eq!(decoder.buffered_len(), 0);
        }
    }

    #[test]
    fn keeps_a_partial_frame_until_the_rest_arrives() {
        let mut decoder = FrameDecoder::new();
        assert!(decoder.push(&[0, 0, 0, 3, b'a']).unwrap().is_empty());
        assert_eq!(decoder.buffered_len(), 5);
        let frames = decoder.push(b"bc\x00\x00").unwrap();
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].body(), b"abc");
        assert_eq!(decoder.buffered_len(), 2);
    }

    #[test]
    fn refuses_an_oversized_frame_from_its_prefix_and_stays_failed() {
        let mut decoder = FrameDecoder::with_max_frame_len(10);
        let frames = decoder.push(&framed(&[b"0123456789"])).unwrap();
        assert_eq!(frames.len(), 1, "exactly the limit is accepted");
        // Only the prefix of the 11-byte frame is sent: it is refused before any body arrives.
        let err = decoder.push(&[0, 0, 0, 11]).unwrap_err();
        assert_eq!(
            err,
            DecodeError::Oversized {
                size: 11,
                max: 10,
                offset: 14
            }
        );
        assert!(
            err.to_string().contains("exceeds the limit of 10 bytes"),
            "{err}"
        );
        assert_eq!(decoder.buffered_len(), 0);
        assert_eq!(decoder.push(b"more").unwrap_err(), err);
    }

    #[test]
    fn push_into_keeps_the_frames_before_an_oversized_prefix() {
        let mut decoder = FrameDecoder::with_max_frame_len(10);
        let mut chunk = framed(&[b"ok"]);
        chunk.extend_from_slice(&[0, 0, 0, 11]);
        let mut frames = Vec::new();
        let err = decoder.push_into(&chunk, &mut frames).unwrap_err();
        assert!(matches!(err, DecodeError::Oversized { size: 11, .. }));
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].body(), b"ok");
    }

    #[test]
    fn the_default_limit_is_16_mib() {
        let mut decoder = FrameDecoder::new();
        let too_big = u32::try_from(DEFAULT_MAX_FRAME_LEN + 1)
            .unwrap()
            .to_be_bytes();
        assert!(matches!(
            decoder.push(&too_big),
            Err(DecodeError::Oversized {
                max: DEFAULT_MAX_FRAME_LEN,
                ..
            })
        ));
    }

    #[test]
    fn packets_round_trip_through_frames() {
        let packet = Packet::request(
            9,
            PacketType::Get,
            Value::Array(vec!["d1".into(), "count".into()]),
        );
        let bytes = packet.encode_frame().unwrap();
        assert_eq!(&bytes[..4], &(bytes.len() as u32 - 4).to_be_bytes());
        let frames = FrameDecoder::new().push(&bytes).unwrap();
        assert!(!frames[0].is_json_text());
        assert_eq!(frames[0].packet(&DecodeLimits::default()).unwrap(), packet);
    }
}
