//! The msgpack extension type ids Netron's serializer registers, and their names for messages.
//! The payload layouts are described on the encoder (`encode.rs`) and mirrored by the decoder.

/// `undefined`: payload is one zero byte (`d4 00 00`).
pub const UNDEFINED: i8 = 0;
/// `StreamReference`: str streamId, u8 type (1 = writable), u8 isLive, str peerId.
pub const STREAM_REFERENCE: i8 = 107;
/// `Reference`: str defId.
pub const REFERENCE: i8 = 108;
/// `Definition`: str id, str parentId, str peerId, value meta.
pub const DEFINITION: i8 = 109;
/// `TitanError`: 13 values (name, code, message, details, context, timestamp, requestId,
/// correlationId, spanId, traceId, stack, cause, extras).
pub const TITAN_ERROR: i8 = 110;
/// long.js `Long`: u8 unsigned flag, then 8 bytes big-endian (two's complement when signed).
pub const LONG: i8 = 119;
/// `bigint`: its decimal string as a msgpack str.
pub const BIGINT: i8 = 120;
/// `RegExp`: str source, str flags.
pub const REGEXP: i8 = 121;
/// `Set`: u32 BE count, then that many values.
pub const SET: i8 = 123;
/// `Map`: u32 BE count, then that many key/value pairs.
pub const MAP: i8 = 124;
/// `Date`: u64 BE milliseconds since the epoch.
pub const DATE: i8 = 125;
/// Standard `Error`: u16 BE class id (1–7), name, stack, message, u16 BE field count, then
/// key/value pairs.
pub const ERROR: i8 = 126;

/// What Netron calls extension `type_id`, or `"unregistered"`.
pub fn name(type_id: i8) -> &'static str {
    match type_id {
        UNDEFINED => "undefined",
        STREAM_REFERENCE => "StreamReference",
        REFERENCE => "Reference",
        DEFINITION => "Definition",
        TITAN_ERROR => "TitanError",
        LONG => "Long",
        BIGINT => "BigInt",
        REGEXP => "RegExp",
        SET => "Set",
        MAP => "Map",
        DATE => "Date",
        ERROR => "Error",
        _ => "unregistered",
    }
}

/// Whether a value of this type can hold arbitrary values (and so counts as a nesting level,
/// like an array). The others hold only scalars and strings and are leaves.
pub(crate) fn holds_values(type_id: i8) -> bool {
    matches!(type_id, DEFINITION | TITAN_ERROR | SET | MAP | ERROR)
}

/// Whether this codec interprets `type_id` (as opposed to passing it through as raw bytes).
pub fn is_netron_type(type_id: i8) -> bool {
    name(type_id) != "unregistered"
}
