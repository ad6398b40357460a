//! The codec's typed errors. Every decode error names the byte offset (from the start of the
//! buffer handed to the decoder: the packet or frame body) and says what the sender got wrong.

use thiserror::Error;

/// Why bytes from a peer could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input ended inside a value or header.
    #[error(
        "truncated Netron data: {what} at byte offset {offset} needs {needed} byte(s) but only \
         {available} remain; the message was cut short or its length prefix is wrong"
    )]
    Truncated {
        /// What was being read (`"uint32"`, `"string body"`, ...).
        what: &'static str,
        /// Where it starts.
        offset: usize,
        /// How many bytes it needs.
        needed: usize,
        /// How many were left.
        available: usize,
    },
    /// The flags byte names a packet type outside 0–7.
    #[error(
        "unknown Netron packet type {type_bits} in the flags byte at offset {offset}; valid types \
         are 0-7 (PING, GET, SET, CALL, TASK, STREAM, STREAM_ERROR, STREAM_CLOSE), so the peer is \
         not speaking this Netron protocol version"
    )]
    UnknownPacketType {
        /// The type bits (flags & 0x0f).
        type_bits: u8,
        /// The offset of the flags byte.
        offset: usize,
    },
    /// A byte that msgpack never uses as a marker (0xc1).
    #[error(
        "invalid msgpack marker 0x{marker:02x} at byte offset {offset}; the data is not msgpack or \
         an earlier length was wrong"
    )]
    InvalidMarker {
        /// The marker byte.
        marker: u8,
        /// Where it was.
        offset: usize,
    },
    /// A Netron extension's payload does not have the layout Netron writes.
    #[error(
        "bad payload for msgpack extension {ext_type} ({ext_name}) at byte offset {offset}: {reason}"
    )]
    BadExt {
        /// The extension type id.
        ext_type: i8,
        /// What Netron calls that type.
        ext_name: &'static str,
        /// Where the offending part of the payload is.
        offset: usize,
        /// What is wrong and what was expected.
        reason: String,
    },
    /// A msgpack string that is not UTF-8.
    #[error(
        "the string at byte offset {offset} is not valid UTF-8 (first bad byte at offset \
         {bad_byte_offset}); Netron strings are UTF-8, send binary data as a Buffer instead"
    )]
    InvalidUtf8 {
        /// Where the string's marker is.
        offset: usize,
        /// Where decoding failed.
        bad_byte_offset: usize,
    },
    /// A msgpack map (a JS object) with a key that is not a string.
    #[error(
        "the map key at byte offset {offset} is {found}, but msgpack maps are JS objects in Netron \
         and need string keys; send a JS Map (ext 124) for other keys"
    )]
    NonStringKey {
        /// Where the key is.
        offset: usize,
        /// What it was instead.
        found: &'static str,
    },
    /// Arrays, objects or extensions nested deeper than the decoder allows.
    #[error(
        "value nesting exceeds the limit of {max} levels at byte offset {offset}; flatten the \
         value or raise DecodeLimits::max_depth"
    )]
    NestingTooDeep {
        /// The configured limit.
        max: usize,
        /// Where the value that went one level too deep starts.
        offset: usize,
    },
    /// Bytes left over after a complete value, packet or extension payload.
    #[error(
        "{count} unexpected byte(s) after the end of the {what} at byte offset {offset}; the \
         length prefix is wrong or the sender wrote extra data"
    )]
    TrailingBytes {
        /// What was complete (`"packet"`, `"Date payload"`, ...).
        what: &'static str,
        /// Where the extra bytes start.
        offset: usize,
        /// How many there are.
        count: usize,
    },
    /// A frame or packet larger than the configured cap.
    #[error(
        "Netron frame of {size} bytes (length prefix at byte offset {offset}) exceeds the limit of \
         {max} bytes; the connection must be closed. Split the payload or raise the frame limit \
         on both peers"
    )]
    Oversized {
        /// The declared (or actual) size.
        size: usize,
        /// The limit.
        max: usize,
        /// Where the size was read from in the stream.
        offset: usize,
    },
}

/// Why a value or packet could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// The value nests deeper than the encoder allows (the peer's decoder would refuse it too).
    #[error("value nesting exceeds the limit of {max} levels; flatten the value before sending it")]
    NestingTooDeep {
        /// The limit.
        max: usize,
    },
    /// A string, binary, array, map or extension longer than msgpack can describe.
    #[error("{what} of {len} items/bytes is longer than msgpack allows (2^32 - 1)")]
    TooLong {
        /// What was too long.
        what: &'static str,
        /// Its length.
        len: usize,
    },
    /// A value a Netron peer could not rebuild (for example a BigInt that is not decimal digits).
    #[error("cannot encode {what}: {reason}")]
    InvalidValue {
        /// Which value.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// STREAM packets need a stream position; other packet types must not have one.
    #[error(
        "packet type {packet_type:?} {problem}: STREAM packets carry a stream id and index after \
         the value, other packet types do not"
    )]
    StreamPosition {
        /// The packet's type.
        packet_type: crate::PacketType,
        /// `"has no stream position"` or `"has a stream position"`.
        problem: &'static str,
    },
}

/// Why a handshake message could not be read.
#[derive(Debug, Error)]
#[error(
    "not a Netron handshake message ({reason}); expected JSON text such as \
     {{\"type\":\"client-id\",\"id\":\"...\"}} as the first message of a connection. Got: {excerpt}"
)]
pub struct HandshakeError {
    /// What was wrong.
    pub reason: String,
    /// The start of the offending message, for the log.
    pub excerpt: String,
}
