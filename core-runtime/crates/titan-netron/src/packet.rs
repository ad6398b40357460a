//! Netron packets: u32 BE id, a flags byte, one msgpack value, and for STREAM packets a
//! u32 BE stream id and u32 BE chunk index after the value.

use crate::decode::{DecodeLimits, Reader};
use crate::error::{DecodeError, EncodeError};
use crate::value::{TitanError, Value};

const TYPE_MASK: u8 = 0x0f;
const EOS_BIT: u8 = 1 << 4;
const LIVE_BIT: u8 = 1 << 5;
const IMPULSE_BIT: u8 = 1 << 6;
const ERROR_BIT: u8 = 1 << 7;

/// What a packet asks for (flags bits 0–3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// Liveness check; the response echoes the data.
    Ping = 0,
    /// Read a service property: `[defId, name]`.
    Get = 1,
    /// Write a service property: `[defId, name, value]`.
    Set = 2,
    /// Call a service method: `[defId, method, ...args]`.
    Call = 3,
    /// Run a peer task: `[taskName, ...args]` (`query_interface`, `subscribe`, `emit`, ...).
    Task = 4,
    /// One chunk of a stream; carries a [`StreamPosition`].
    Stream = 5,
    /// A stream failed: `{streamId, message}`.
    StreamError = 6,
    /// A stream was closed: `{streamId, reason}`.
    StreamClose = 7,
}

impl PacketType {
    /// The type for the flags' type bits, or `None` for 8–15.
    pub fn from_bits(bits: u8) -> Option<Self> {
        Some(match bits {
            0 => Self::Ping,
            1 => Self::Get,
            2 => Self::Set,
            3 => Self::Call,
            4 => Self::Task,
            5 => Self::Stream,
            6 => Self::StreamError,
            7 => Self::StreamClose,
            _ => return None,
        })
    }
}

/// Whether a packet starts an exchange or answers one (flags bit 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Impulse {
    /// Bit 6 clear: the answer to the request with the same id.
    Response,
    /// Bit 6 set: a request (stream chunks are sent as requests too).
    Request,
}

/// Where a STREAM packet's chunk belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct StreamPosition {
    /// The stream's id.
    pub stream_id: u32,
    /// The chunk's index within the stream, from 0.
    pub index: u32,
}

/// One Netron packet.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// Correlates a response with its request.
    pub id: u32,
    /// What the packet asks for.
    pub packet_type: PacketType,
    /// Request or response.
    pub impulse: Impulse,
    /// Flags bit 7: the data is an error (a `TitanError`) instead of a result.
    pub error: bool,
    /// Flags bit 4: the last chunk of a stream.
    pub eos: bool,
    /// Flags bit 5: a chunk of a live stream.
    pub live: bool,
    /// Present exactly when `packet_type` is [`PacketType::Stream`].
    pub stream: Option<StreamPosition>,
    /// The payload.
    pub data: Value,
}

impl Packet {
    /// A request of `packet_type` (not for streams: see [`Packet::stream_chunk`]).
    pub fn request(id: u32, packet_type: PacketType, data: Value) -> Self {
        Self {
            id,
            packet_type,
            impulse: Impulse::Request,
            error: false,
            eos: false,
            live: false,
            stream: None,
            data,
        }
    }

    /// A STREAM chunk, as Netron sends it (impulse set).
    pub fn stream_chunk(
        id: u32,
        position: StreamPosition,
        eos: bool,
        live: bool,
        data: Value,
    ) -> Self {
        Self {
            id,
            packet_type: PacketType::Stream,
            impulse: Impulse::Request,
            error: false,
            eos,
            live,
            stream: Some(position),
            data,
        }
    }

    /// The successful answer to this packet: same id and type, impulse 0, no other flags.
    pub fn response(&self, data: Value) -> Self {
        Self {
            id: self.id,
            packet_type: self.packet_type,
            impulse: Impulse::Response,
            error: false,
            eos: false,
            live: false,
            stream: self
                .stream
                .filter(|_| self.packet_type == PacketType::Stream),
            data,
        }
    }

    /// The failed answer to this packet: like [`Packet::response`] with the error bit set and
    /// the `TitanError` as data.
    pub fn error_response(&self, error: TitanError) -> Self {
        Self {
            error: true,
            ..self.response(Value::from(error))
        }
    }

    /// The flags byte these fields make.
    pub fn flags(&self) -> u8 {
        let mut flags = self.packet_type as u8;
        if self.eos {
            flags |= EOS_BIT;
        }
        if self.live {
            flags |= LIVE_BIT;
        }
        if self.impulse == Impulse::Request {
            flags |= IMPULSE_BIT;
        }
        if self.error {
            flags |= ERROR_BIT;
        }
        flags
    }

    /// Encodes the packet as Netron's `encodePacket` does.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Appends the encoded packet to `out` (nothing is appended on error).
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let stream = match (self.packet_type, self.stream) {
            (PacketType::Stream, None) => {
                return Err(EncodeError::StreamPosition {
                    packet_type: self.packet_type,
                    problem: "has no stream position",
                });
            }
            (PacketType::Stream, position) => position,
            (_, Some(_)) => {
                return Err(EncodeError::StreamPosition {
                    packet_type: self.packet_type,
                    problem: "has a stream position",
                });
            }
            (_, None) => None,
        };
        let start = out.len();
        out.extend_from_slice(&self.id.to_be_bytes());
        out.push(self.flags());
        if let Err(err) = self.data.encode_into(out) {
            out.truncate(start);
            return Err(err);
        }
        if let Some(position) = stream {
            out.extend_from_slice(&position.stream_id.to_be_bytes());
            out.extend_from_slice(&position.index.to_be_bytes());
        }
        Ok(())
    }

    /// Decodes one whole packet with the default limits.
    pub fn decode(bytes: &[u8]) -> Result<Packet, DecodeError> {
        Self::decode_with(bytes, &DecodeLimits::default())
    }

    /// Decodes one whole packet; trailing bytes are an error, as in Netron's `decodePacket`.
    pub fn decode_with(bytes: &[u8], limits: &DecodeLimits) -> Result<Packet, DecodeError> {
        if bytes.len() > limits.max_packet_len {
            return Err(DecodeError::Oversized {
                size: bytes.len(),
                max: limits.max_packet_len,
                offset: 0,
            });
        }
        let mut reader = Reader::new(bytes);
        let id = reader.u32("packet id")?;
        let flags_offset = reader.position();
        let flags = reader.u8("packet flags")?;
        let type_bits = flags & TYPE_MASK;
        let packet_type =
            PacketType::from_bits(type_bits).ok_or(DecodeError::UnknownPacketType {
                type_bits,
                offset: flags_offset,
            })?;
        let data = reader.value(limits, 0)?;
        let stream = if packet_type == PacketType::Stream {
            Some(StreamPosition {
                stream_id: reader.u32("stream id")?,
                index: reader.u32("stream index")?,
            })
        } else {
            None
        };
        reader.finish("packet")?;
        Ok(Packet {
            id,
            packet_type,
            impulse: if flags & IMPULSE_BIT != 0 {
                Impulse::Request
            } else {
                Impulse::Response
            },
            error: flags & ERROR_BIT != 0,
            eos: flags & EOS_BIT != 0,
            live: flags & LIVE_BIT != 0,
            stream,
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_keep_id_and_type_and_clear_the_impulse() {
        let call = Packet::request(
            6,
            PacketType::Call,
            Value::Array(vec!["calculator@1.0.0".into(), "add".into()]),
        );
        assert_eq!(call.flags(), 0x43);
        let ok = call.response(Value::from(5));
        assert_eq!(
            (ok.id, ok.packet_type, ok.impulse, ok.flags()),
            (6, PacketType::Call, Impulse::Response, 0x03)
        );
        let failed = call.error_response(TitanError::new(404, "Method not found"));
        assert_eq!(failed.flags(), 0x83);
        assert!(matches!(failed.data, Value::TitanError(_)));
    }

    #[test]
    fn unknown_packet_types_are_refused_with_the_flags_offset() {
        let err = Packet::decode(&[0, 0, 0, 1, 0x48, 0xc0]).unwrap_err();
        assert_eq!(
            err,
            DecodeError::UnknownPacketType {
                type_bits: 8,
                offset: 4
            }
        );
        assert!(err.to_string().contains("valid types are 0-7"), "{err}");
    }

    #[test]
    fn stream_trailer_and_leftover_bytes_are_checked() {
        let err = Packet::decode(&[0, 0, 0, 1, 0x45, 0xc0, 0, 0, 0, 7, 0, 0]).unwrap_err();
        assert_eq!(
            err,
            DecodeError::Truncated {
                what: "stream index",
                offset: 10,
                needed: 4,
                available: 2
            }
        );
        let err = Packet::decode(&[0, 0, 0, 1, 0x43, 0xc0, 0xc0]).unwrap_err();
        assert_eq!(
            err,
            DecodeError::TrailingBytes {
                what: "packet",
                offset: 6,
                count: 1
            }
        );
        let err = Packet::decode(&[0, 0, 0]).unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::Truncated {
                    what: "packet id",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn oversized_packets_are_refused_before_decoding() {
        let limits = DecodeLimits {
            max_packet_len: 8,
            ..DecodeLimits::default()
        };
        let err = Packet::decode_with(&[0; 9], &limits).unwrap_err();
        assert_eq!(
            err,
            DecodeError::Oversized {
                size: 9,
                max: 8,
                offset: 0
            }
        );
    }

    #[test]
    fn stream_position_must_match_the_packet_type() {
        let mut chunk =
            Packet::stream_chunk(1, StreamPosition::default(), false, true, Value::Null);
        chunk.stream = None;
        let err = chunk.encode().unwrap_err();
        assert!(
            err.to_string().contains("Stream has no stream position"),
            "{err}"
        );
        let mut call = Packet::request(1, PacketType::Call, Value::Null);
        call.stream = Some(StreamPosition::default());
        let err = call.encode().unwrap_err();
        assert!(
            err.to_string().contains("Call has a stream position"),
            "{err}"
        );
    }
}
