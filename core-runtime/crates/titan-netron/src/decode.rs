//! Bytes → Value: msgpack markers classified by `rmp`, Netron's extension payloads parsed here.
//! Untrusted input: every length is checked against the bytes that remain, allocations are
//! bounded by the input size, and nesting is capped so hostile input cannot overflow the stack.

use rmp::Marker;

use crate::encode::{DEFAULT_MAX_DEPTH, is_decimal_integer};
use crate::error::DecodeError;
use crate::ext;
use crate::frame::DEFAULT_MAX_FRAME_LEN;
use crate::js_keys;
use crate::value::{
    Definition, JsError, JsErrorClass, Long, RawExt, Reference, RegExp, StreamReference,
    TitanError, Value,
};

/// Limits applied while decoding input from a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// How many arrays, objects and extension values may enclose one another.
    pub max_depth: usize,
    /// The largest packet accepted by [`crate::Packet::decode_with`], in bytes.
    pub max_packet_len: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_depth: DEFAULT_MAX_DEPTH,
            max_packet_len: DEFAULT_MAX_FRAME_LEN,
        }
    }
}

impl Value {
    /// Decodes exactly one value filling all of `bytes`, with the default limits.
    pub fn decode(bytes: &[u8]) -> Result<Value, DecodeError> {
        Self::decode_with(bytes, &DecodeLimits::default())
    }

    /// Decodes exactly one value filling all of `bytes`.
    pub fn decode_with(bytes: &[u8], limits: &DecodeLimits) -> Result<Value, DecodeError> {
        let mut reader = Reader::new(bytes);
        let value = reader.value(limits, 0)?;
        reader.finish("value")?;
        Ok(value)
    }
}

/// A cursor over `buf[..end]`. Extension payloads get a reader over the same buffer with a
/// nearer `end`, so every offset in an error is relative to the start of the whole input.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self {
            buf,
            pos: 0,
            end: buf.len(),
        }
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.end - self.pos
    }

    pub(crate) fn take(
        &mut self,
        needed: usize,
        what: &'static str,
    ) -> Result<&'a [u8], DecodeError> {
        if needed > self.remaining() {
            return Err(DecodeError::Truncated {
                what,
                offset: self.pos,
                needed,
                available: self.remaining(),
            });
        }
        let bytes = &self.buf[self.pos..self.pos + needed];
        self.pos += needed;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N, what)?;
        let mut array = [0; N];
        array.copy_from_slice(bytes);
        Ok(array)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        self.array(what).map(u16::from_be_bytes)
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        self.array(what).map(u32::from_be_bytes)
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        self.array(what).map(u64::from_be_bytes)
    }

    /// Fails if anything is left: Netron rejects trailing bytes, and exact re-encoding needs it.
    pub(crate) fn finish(&self, what: &'static str) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(DecodeError::TrailingBytes {
                what,
                offset: self.pos,
                count,
            }),
        }
    }

    /// Reads one msgpack value. `depth` counts the containers around it.
    ///
    /// This function and the container readers form the recursion, so they stay small and the
    /// many scalar cases live out of line: a debug build would otherwise give every match arm
    /// its own stack slots and a 128-level value would need megabytes of stack.
    pub(crate) fn value(
        &mut self,
        limits: &DecodeLimits,
        depth: usize,
    ) -> Result<Value, DecodeError> {
        let start = self.pos;
        let marker_byte = self.u8("msgpack marker")?;
        match Marker::from_u8(marker_byte) {
            Marker::FixArray(len) => self.array_items(limits, depth, start, u32::from(len)),
            Marker::FixMap(len) => self.object_entries(limits, depth, start, u32::from(len)),
            Marker::Array16 | Marker::Array32 | Marker::Map16 | Marker::Map32 => {
                self.long_container(limits, depth, start, marker_byte)
            }
            Marker::FixExt1
            | Marker::FixExt2
            | Marker::FixExt4
            | Marker::FixExt8
            | Marker::FixExt16
            | Marker::Ext8
            | Marker::Ext16
            | Marker::Ext32 => self.ext(limits, depth, start, marker_byte),
            marker => self.scalar(marker, start, marker_byte),
        }
    }

    #[inline(never)]
    fn long_container(
        &mut self,
        limits: &DecodeLimits,
        depth: usize,
        start: usize,
        marker_byte: u8,
    ) -> Result<Value, DecodeError> {
        match Marker::from_u8(marker_byte) {
            Marker::Array16 => {
                let len = self.u16("array16 length")?;
                self.array_items(limits, depth, start, u32::from(len))
            }
            Marker::Array32 => {
                let len = self.u32("array32 length")?;
                self.array_items(limits, depth, start, len)
            }
            Marker::Map16 => {
                let len = self.u16("map16 length")?;
                self.object_entries(limits, depth, start, u32::from(len))
            }
            _ => {
                let len = self.u32("map32 length")?;
                self.object_entries(limits, depth, start, len)
            }
        }
    }

    /// Everything that does not contain other values.
    #[inline(never)]
    fn scalar(
        &mut self,
        marker: Marker,
        start: usize,
        marker_byte: u8,
    ) -> Result<Value, DecodeError> {
        Ok(match marker {
            Marker::Null => Value::Null,
            Marker::True => Value::Bool(true),
            Marker::False => Value::Bool(false),
            Marker::FixPos(n) => Value::Number(f64::from(n)),
            Marker::FixNeg(n) => Value::Number(f64::from(n)),
            Marker::U8 => Value::Number(f64::from(self.u8("uint8")?)),
            Marker::U16 => Value::Number(f64::from(self.u16("uint16")?)),
            Marker::U32 => Value::Number(f64::from(self.u32("uint32")?)),
            Marker::I8 => Value::Number(f64::from(self.u8("int8")? as i8)),
            Marker::I16 => Value::Number(f64::from(self.u16("int16")? as i16)),
            Marker::I32 => Value::Number(f64::from(self.u32("int32")? as i32)),
            // Never written by Netron; exact values beyond 2^53 become BigInts (see README).
            Marker::U64 => Value::from(self.u64("uint64")?),
            Marker::I64 => Value::from(self.u64("int64")? as i64),
            Marker::F32 => Value::Number(f64::from(f32::from_bits(self.u32("float32")?))),
            Marker::F64 => Value::Number(f64::from_bits(self.u64("float64")?)),
            Marker::FixStr(len) => Value::String(self.str_body(start, usize::from(len))?),
            Marker::Str8 => {
                let len = self.u8("str8 length")?;
                Value::String(self.str_body(start, usize::from(len))?)
            }
            Marker::Str16 => {
                let len = self.u16("str16 length")?;
                Value::String(self.str_body(start, usize::from(len))?)
            }
            Marker::Str32 => {
                let len = self.u32("str32 length")?;
                Value::String(self.str_body(start, len as usize)?)
            }
            Marker::Bin8 => {
                let len = self.u8("bin8 length")?;
                Value::Binary(self.take(usize::from(len), "binary body")?.to_vec())
            }
            Marker::Bin16 => {
                let len = self.u16("bin16 length")?;
                Value::Binary(self.take(usize::from(len), "binary body")?.to_vec())
            }
            Marker::Bin32 => {
                let len = self.u32("bin32 length")?;
                Value::Binary(self.take(len as usize, "binary body")?.to_vec())
            }
            _ => {
                return Err(DecodeError::InvalidMarker {
                    marker: marker_byte,
                    offset: start,
                });
            }
        })
    }

    fn str_body(&mut self, start: usize, len: usize) -> Result<String, DecodeError> {
        let body_offset = self.pos;
        let bytes = self.take(len, "string body")?;
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(text.to_owned()),
            Err(err) => Err(DecodeError::InvalidUtf8 {
                offset: start,
                bad_byte_offset: body_offset + err.valid_up_to(),
            }),
        }
    }

    fn enter(
        &self,
        limits: &DecodeLimits,
        depth: usize,
        start: usize,
    ) -> Result<usize, DecodeError> {
        if depth >= limits.max_depth {
            return Err(DecodeError::NestingTooDeep {
                max: limits.max_depth,
                offset: start,
            });
        }
        Ok(depth + 1)
    }

    /// Every item takes at least `min_item_len` bytes, so a count the input cannot hold is
    /// rejected up front and never turns into a huge allocation.
    fn check_count(
        &self,
        count: u32,
        min_item_len: usize,
        what: &'static str,
    ) -> Result<usize, DecodeError> {
        let count = count as usize;
        let needed = count.saturating_mul(min_item_len);
        if needed > self.remaining() {
            return Err(DecodeError::Truncated {
                what,
                offset: self.pos,
                needed,
                available: self.remaining(),
            });
        }
        Ok(count)
    }

    fn array_items(
        &mut self,
        limits: &DecodeLimits,
        depth: usize,
        start: usize,
        count: u32,
    ) -> Result<Value, DecodeError> {
        let depth = self.enter(limits, depth, start)?;
        let count = self.check_count(count, 1, "array items")?;
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(self.value(limits, depth)?);
        }
        Ok(Value::Array(items))
    }

    fn object_entries(
        &mut self,
        limits: &DecodeLimits,
        depth: usize,
        start: usize,
        count: u32,
    ) -> Result<Value, DecodeError> {
        let depth = self.enter(limits, depth, start)?;
        let count = self.check_count(count, 2, "object entries")?;
        let mut entries = Vec::with_capacity(count);
        for _ in 0..count {
            let key_offset = self.pos;
            let key = match self.value(limits, depth)? {
                Value::String(key) => key,
                other => {
                    return Err(DecodeError::NonStringKey {
                        offset: key_offset,
                        found: other.kind_name(),
                    });
                }
            };
            entries.push((key, self.value(limits, depth)?));
        }
        js_keys::object(&mut entries);
        Ok(Value::Object(entries))
    }

    #[inline(never)]
    fn ext(
        &mut self,
        limits: &DecodeLimits,
        depth: usize,
        start: usize,
        marker_byte: u8,
    ) -> Result<Value, DecodeError> {
        let len = match Marker::from_u8(marker_byte) {
            Marker::FixExt1 => 1,
            Marker::FixExt2 => 2,
            Marker::FixExt4 => 4,
            Marker::FixExt8 => 8,
            Marker::FixExt16 => 16,
            Marker::Ext8 => usize::from(self.u8("ext8 length")?),
            Marker::Ext16 => usize::from(self.u16("ext16 length")?),
            _ => self.u32("ext32 length")? as usize,
        };
        let type_id = self.u8("extension type")? as i8;
        let payload_offset = self.pos;
        let payload = self.take(len, "extension payload")?;
        if !ext::is_netron_type(type_id) {
            return Ok(Value::Ext(RawExt {
                type_id,
                data: payload.to_vec(),
            }));
        }
        let depth = if ext::holds_values(type_id) {
            self.enter(limits, depth, start)?
        } else {
            depth
        };
        let mut inner = Reader {
            buf: self.buf,
            pos: payload_offset,
            end: payload_offset + len,
        };
        match inner.ext_payload(limits, depth, type_id) {
            Ok(value) => match inner.finish(payload_name(type_id)) {
                Ok(()) => Ok(value),
                Err(err) => Err(err),
            },
            Err(err) => Err(truncation_is_a_bad_payload(err, type_id, len)),
        }
    }

    fn bad_ext(&self, type_id: i8, offset: usize, reason: String) -> DecodeError {
        DecodeError::BadExt {
            ext_type: type_id,
            ext_name: ext::name(type_id),
            offset,
            reason,
        }
    }

    fn ext_string(
        &mut self,
        limits: &DecodeLimits,
        depth: usize,
        type_id: i8,
        field: &str,
    ) -> Result<String, DecodeError> {
        let offset = self.pos;
        match self.value(limits, depth)? {
            Value::String(text) => Ok(text),
            other => Err(self.bad_ext(
                type_id,
                offset,
                format!("{field} must be a string, found {}", other.kind_name()),
            )),
        }
    }

    fn ext_flag(&mut self, type_id: i8, field: &str) -> Result<bool, DecodeError> {
        let offset = self.pos;
        match self.u8("flag byte")? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(self.bad_ext(
                type_id,
                offset,
                format!("{field} flag must be 0 or 1, found {other}"),
            )),
        }
    }

    fn ext_payload(
        &mut self,
        limits: &DecodeLimits,
        depth: usize,
        type_id: i8,
    ) -> Result<Value, DecodeError> {
        match type_id {
            ext::SET => self.set_payload(limits, depth),
            ext::MAP => self.map_payload(limits, depth),
            ext::TITAN_ERROR => self.titan_error_payload(limits, depth),
            ext::DEFINITION => self.definition_payload(limits, depth, type_id),
            ext::ERROR => Ok(Value::Error(Box::new(
                self.js_error(limits, depth, type_id)?,
            ))),
            _ => self.scalar_ext_payload(limits, depth, type_id),
        }
    }

    /// The extension types that hold no nested values.
    #[inline(never)]
    fn scalar_ext_payload(
        &mut self,
        limits: &DecodeLimits,
        depth: usize,
        type_id: i8,
    ) -> Result<Value, DecodeError> {
        let start = self.pos;
        Ok(match type_id {
            ext::UNDEFINED => {
                if self.remaining() != 1 || self.buf[start] != 0 {
                    return Err(self.bad_ext(
                        type_id,
                        start,
                        format!(
                            "undefined is written as d4 00 00 (one zero byte), found {} payload \
                             byte(s)",
                            self.remaining()
                        ),
                    ));
                }
                self.pos += 1;
                Value::Undefined
            }
            ext::STREAM_REFERENCE => {
                let stream_id = self.ext_string(limits, depth, type_id, "streamId")?;
                // Netron's peers read it with Number(): anything but digits would become NaN.
                if stream_id.is_empty() || !stream_id.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(self.bad_ext(type_id, start, format!("streamId {stream_id:?} is not a stream number (decimal digits)")));
                }
                let writable = self.ext_flag(type_id, "stream type (1 = writable)")?;
                let live = self.ext_flag(type_id, "isLive")?;
                let peer_id = self.ext_string(limits, depth, type_id, "peerId")?;
                Value::StreamReference(Box::new(StreamReference {
                    stream_id,
                    writable,
                    live,
                    peer_id,
                }))
            }
            ext::REFERENCE => Value::Reference(Reference {
                def_id: self.ext_string(limits, depth, type_id, "defId")?,
            }),
            ext::LONG => {
                let unsigned = self.ext_flag(type_id, "unsigned")?;
                let bits = self.u64("Long value")?;
                Value::Long(if unsigned {
                    Long::Unsigned(bits)
                } else {
                    Long::Signed(bits as i64)
                })
            }
            ext::BIGINT => {
                let digits = self.ext_string(limits, depth, type_id, "the decimal digits")?;
                if !is_decimal_integer(&digits) {
                    return Err(self.bad_ext(
                        type_id,
                        start,
                        format!("{digits:?} is not a decimal integer (-?[0-9]+)"),
                    ));
                }
                Value::BigInt(canonical_decimal(digits))
            }
            ext::REGEXP => Value::RegExp(Box::new(RegExp {
                source: self.ext_string(limits, depth, type_id, "source")?,
                flags: self.ext_string(limits, depth, type_id, "flags")?,
            })),
            ext::DATE => {
                let ms = self.u64("Date milliseconds")?;
                if ms > MAX_DATE_MS {
                    return Err(self.bad_ext(type_id, start, format!("a Date of {ms} ms is past what a JS Date holds ({MAX_DATE_MS} ms)")));
                }
                Value::Date(ms)
            }
            _ => unreachable!("ext::is_netron_type lists exactly the types handled here"),
        })
    }

    #[inline(never)]
    fn set_payload(&mut self, limits: &DecodeLimits, depth: usize) -> Result<Value, DecodeError> {
        let count = self.u32("Set size")?;
        let count = self.check_count(count, 1, "Set items")?;
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(self.value(limits, depth)?);
        }
        js_keys::set(&mut items);
        Ok(Value::Set(items))
    }

    #[inline(never)]
    fn map_payload(&mut self, limits: &DecodeLimits, depth: usize) -> Result<Value, DecodeError> {
        let count = self.u32("Map size")?;
        let count = self.check_count(count, 2, "Map entries")?;
        let mut entries = Vec::with_capacity(count);
        for _ in 0..count {
            let key = self.value(limits, depth)?;
            entries.push((key, self.value(limits, depth)?));
        }
        js_keys::map(&mut entries);
        Ok(Value::Map(entries))
    }

    #[inline(never)]
    fn titan_error_payload(
        &mut self,
        limits: &DecodeLimits,
        depth: usize,
    ) -> Result<Value, DecodeError> {
        // Filled in place on the heap: 13 values on the stack would make this the largest frame
        // of the recursion.
        let mut error = Box::<TitanError>::default();
        for field in error.fields_mut() {
            *field = self.value(limits, depth)?;
        }
        Ok(Value::TitanError(error))
    }

    #[inline(never)]
    fn definition_payload(
        &mut self,
        limits: &DecodeLimits,
        depth: usize,
        type_id: i8,
    ) -> Result<Value, DecodeError> {
        Ok(Value::Definition(Box::new(Definition {
            id: self.ext_string(limits, depth, type_id, "id")?,
            parent_id: self.ext_string(limits, depth, type_id, "parentId")?,
            peer_id: self.ext_string(limits, depth, type_id, "peerId")?,
            meta: self.value(limits, depth)?,
        })))
    }

    #[inline(never)]
    fn js_error(
        &mut self,
        limits: &DecodeLimits,
        depth: usize,
        type_id: i8,
    ) -> Result<JsError, DecodeError> {
        let class_offset = self.pos;
        let class_id = self.u16("Error class id")?;
        let class = JsErrorClass::from_wire_id(class_id).ok_or_else(|| {
            self.bad_ext(
                type_id,
                class_offset,
                format!(
                    "error class id {class_id} is not one Netron defines (1 Error .. 7 URIError)"
                ),
            )
        })?;
        let name = self.ext_string(limits, depth, type_id, "name")?;
        let stack = self.value(limits, depth)?;
        let message = self.ext_string(limits, depth, type_id, "message")?;
        let count = self.u16("Error field count")?;
        let count = self.check_count(u32::from(count), 2, "Error fields")?;
        let mut fields = Vec::with_capacity(count);
        for _ in 0..count {
            let key = self.ext_string(limits, depth, type_id, "a field name")?;
            fields.push((key, self.value(limits, depth)?));
        }
        js_keys::object(&mut fields);
        Ok(JsError {
            class,
            name,
            message,
            stack,
            fields,
        })
    }
}

/// The latest time a JS Date holds (ECMAScript: ±8.64e15 ms around the epoch); past it a JS peer
/// would read an Invalid Date.
const MAX_DATE_MS: u64 = 8_640_000_000_000_000;

/// The digits as JS's `BigInt(text).toString()` gives them back: no leading zeros, no `-0`. A
/// JS peer reads `"007"` as `7n`, so this side must too.
fn canonical_decimal(digits: String) -> String {
    let (negative, magnitude) = match digits.strip_prefix('-') {
        Some(magnitude) => (true, magnitude),
        None => (false, digits.as_str()),
    };
    let significant = magnitude.trim_start_matches('0');
    if significant.len() == magnitude.len() {
        return digits;
    }
    match (negative, significant) {
        (_, "") => "0".to_owned(),
        (true, _) => format!("-{significant}"),
        (false, _) => significant.to_owned(),
    }
}

/// Running out of payload bytes means the extension payload is malformed, not the message
/// around it, so the error says which extension it was.
#[inline(never)]
fn truncation_is_a_bad_payload(err: DecodeError, type_id: i8, len: usize) -> DecodeError {
    match err {
        DecodeError::Truncated {
            what,
            offset,
            needed,
            available,
        } => DecodeError::BadExt {
            ext_type: type_id,
            ext_name: ext::name(type_id),
            offset,
            reason: format!(
                "the {len}-byte payload ends early: {what} at byte offset {offset} needs \
                 {needed} byte(s), {available} left"
            ),
        },
        other => other,
    }
}

fn payload_name(type_id: i8) -> &'static str {
    match type_id {
        ext::UNDEFINED => "undefined payload",
        ext::STREAM_REFERENCE => "StreamReference payload",
        ext::REFERENCE => "Reference payload",
        ext::DEFINITION => "Definition payload",
        ext::TITAN_ERROR => "TitanError payload",
        ext::LONG => "Long payload",
        ext::BIGINT => "BigInt payload",
        ext::REGEXP => "RegExp payload",
        ext::SET => "Set payload",
        ext::MAP => "Map payload",
        ext::DATE => "Date payload",
        ext::ERROR => "Error payload",
        _ => "extension payload",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(hex: &str) -> Vec<u8> {
        let hex: String = hex.split_whitespace().collect();
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    fn decode_err(hex: &str) -> DecodeError {
        Value::decode(&bytes(hex)).unwrap_err()
    }

    #[test]
    fn truncated_input_names_what_and_where() {
        let err = decode_err("92 01 cd 01");
        assert_eq!(
            err,
            DecodeError::Truncated {
                what: "uint16",
                offset: 3,
                needed: 2,
                available: 1
            }
        );
        assert!(
            err.to_string()
                .contains("uint16 at byte offset 3 needs 2 byte(s)"),
            "{err}"
        );
    }

    #[test]
    fn huge_declared_counts_fail_without_allocating() {
        // array32 claiming 4 billion items in a 5-byte input.
        let err = decode_err("dd ffffffff");
        assert!(
            matches!(
                err,
                DecodeError::Truncated {
                    what: "array items",
                    ..
                }
            ),
            "{err}"
        );
        // A Set ext claiming 4 billion items.
        let err = decode_err("d6 7b ffffffff");
        assert!(
            matches!(err, DecodeError::BadExt { ext_type: 123, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("Set items"), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused_at_the_limit() {
        let mut input = vec![0x91; 200];
        input.push(0xc0);
        let err = Value::decode(&input).unwrap_err();
        assert_eq!(
            err,
            DecodeError::NestingTooDeep {
                max: 128,
                offset: 128
            }
        );
        let limits = DecodeLimits {
            max_depth: 200,
            ..DecodeLimits::default()
        };
        assert!(Value::decode_with(&input, &limits).is_ok());
        // Extensions that hold values count as a level (a Set), scalar ones do not (undefined).
        let mut input = vec![0x91; 128];
        input.extend(bytes("d4 00 00"));
        assert!(Value::decode(&input).is_ok());
        let mut input = vec![0x91; 128];
        input.extend(bytes("d6 7b 00000000"));
        assert_eq!(
            Value::decode(&input).unwrap_err(),
            DecodeError::NestingTooDeep {
                max: 128,
                offset: 128
            }
        );
    }

    #[test]
    fn bad_extension_payloads_are_reported_with_their_type() {
        let err = decode_err("d4 00 01");
        assert!(err.to_string().contains("extension 0 (undefined)"), "{err}");
        assert!(err.to_string().contains("d4 00 00"), "{err}");
        let err = decode_err("d7 7d 00000000000000"); // Date with 7 bytes declared as fixext8
        assert!(matches!(err, DecodeError::Truncated { .. }), "{err}");
        let err = decode_err("c7 07 7d 00000000000000"); // Date payload of 7 bytes
        assert!(err.to_string().contains("extension 125 (Date)"), "{err}");
        assert!(err.to_string().contains("ends early"), "{err}");
        let err = decode_err("c7 09 7d 000000000000000000"); // Date payload of 9 bytes
        assert_eq!(
            err,
            DecodeError::TrailingBytes {
                what: "Date payload",
                offset: 11,
                count: 1
            }
        );
        let err = decode_err("d6 78 a3 31 32 61"); // BigInt "12a"
        assert!(
            err.to_string().contains("\"12a\" is not a decimal integer"),
            "{err}"
        );
        let err = decode_err("c7 03 6c 92 c0 c0"); // Reference whose defId is an array
        assert!(
            err.to_string()
                .contains("defId must be a string, found an array"),
            "{err}"
        );
        let err = decode_err("c7 09 77 02 0000000000000001"); // Long with flag 2
        assert!(
            err.to_string()
                .contains("unsigned flag must be 0 or 1, found 2"),
            "{err}"
        );
        let err = decode_err("c7 07 7e 0009 a0 c0 a0 0000"); // Error class 9
        assert!(err.to_string().contains("error class id 9"), "{err}");
    }

    #[test]
    fn bigint_digits_are_read_as_js_reads_them() {
        let bigint = |hex: &str| match Value::decode(&bytes(hex)).unwrap() {
            Value::BigInt(digits) => digits,
            other => panic!("{other:?}"),
        };
        assert_eq!(bigint("d6 78 a3 303037"), "7"); // "007"
        assert_eq!(bigint("c7 03 78 a2 2d30"), "0"); // "-0"
        assert_eq!(bigint("d6 78 a3 2d3030"), "0"); // "-00"
        assert_eq!(bigint("d6 78 a3 2d3031"), "-1"); // "-01"
        assert_eq!(bigint("d5 78 a1 30"), "0");
        assert_eq!(bigint("d6 78 a3 2d3132"), "-12");
    }

    #[test]
    fn repeated_keys_collapse_as_in_js() {
        // {"a":1,"a":2} is {a: 2} to a JS peer.
        assert_eq!(
            Value::decode(&bytes("82 a161 01 a161 02")).unwrap(),
            Value::Object(vec![("a".into(), Value::Number(2.0))])
        );
        // Set {1, 1} is Set {1}; Map {1 => 2, 1 => 3} is Map {1 => 3}.
        assert_eq!(
            Value::decode(&bytes("c7 06 7b 00000002 01 01")).unwrap(),
            Value::Set(vec![Value::Number(1.0)])
        );
        assert_eq!(
            Value::decode(&bytes("d7 7c 00000002 01 02 01 03")).unwrap(),
            Value::Map(vec![(Value::Number(1.0), Value::Number(3.0))])
        );
    }

    #[test]
    fn object_keys_must_be_strings() {
        let err = decode_err("81 01 02");
        assert_eq!(
            err,
            DecodeError::NonStringKey {
                offset: 1,
                found: "a number"
            }
        );
        assert!(err.to_string().contains("send a JS Map (ext 124)"), "{err}");
    }

    #[test]
    fn invalid_utf8_and_reserved_marker_are_refused() {
        let err = decode_err("92 a2 61 ff");
        assert_eq!(
            err,
            DecodeError::InvalidUtf8 {
                offset: 1,
                bad_byte_offset: 3
            }
        );
        assert_eq!(
            decode_err("c1"),
            DecodeError::InvalidMarker {
                marker: 0xc1,
                offset: 0
            }
        );
    }

    #[test]
    fn trailing_bytes_after_a_value_are_refused() {
        assert_eq!(
            decode_err("01 02"),
            DecodeError::TrailingBytes {
                what: "value",
                offset: 1,
                count: 1
            }
        );
    }

    #[test]
    fn wide_and_foreign_number_forms_decode_exactly() {
        // uint64 / int64 are never written by Netron; exact values beyond 2^53 become BigInts.
        assert_eq!(
            Value::decode(&bytes("cf 0000000000000005")).unwrap(),
            Value::Number(5.0)
        );
        assert_eq!(
            Value::decode(&bytes("cf ffffffffffffffff")).unwrap(),
            Value::BigInt("18446744073709551615".into())
        );
        assert_eq!(
            Value::decode(&bytes("d3 8000000000000000")).unwrap(),
            Value::BigInt("-9223372036854775808".into())
        );
        assert_eq!(
            Value::decode(&bytes("ca 3fc00000")).unwrap(),
            Value::Number(1.5)
        );
        assert_eq!(
            Value::decode(&bytes("df 00000000")).unwrap(),
            Value::Object(vec![])
        );
    }

    #[test]
    fn unregistered_extensions_pass_through_raw() {
        let input = bytes("d5 05 0102");
        let value = Value::decode(&input).unwrap();
        assert_eq!(
            value,
            Value::Ext(RawExt {
                type_id: 5,
                data: vec![1, 2]
            })
        );
        assert_eq!(value.encode().unwrap(), input);
    }
}

#[cfg(test)]
mod stack_tests {
    use super::*;
    use crate::value::{Definition, JsError, JsErrorClass, TitanError};

    /// A value `levels` deep, cycling through every kind of value that nests.
    fn deepest_value(levels: usize) -> Value {
        let mut value = Value::Null;
        for level in 0..levels {
            value = match level % 7 {
                0 => Value::Array(vec![value]),
                1 => Value::Object(vec![("k".into(), value)]),
                2 => Value::Set(vec![value]),
                3 => Value::Map(vec![(Value::Null, value)]),
                4 => {
                    let mut error = TitanError::new(500, "x");
                    error.cause = value;
                    Value::from(error)
                }
                5 => Value::from(Definition {
                    id: "d".into(),
                    parent_id: String::new(),
                    peer_id: "p".into(),
                    meta: value,
                }),
                _ => {
                    let mut error = JsError::new(JsErrorClass::Error, "x");
                    error.stack = value;
                    Value::from(error)
                }
            };
        }
        value
    }

    /// Measured per nesting level: about 0.2-0.9 KiB in a release build, 1.3-6 KiB in a debug
    /// build (where every temporary gets its own stack slot). 1 MiB is half of a tokio or Rust
    /// test thread's stack; a frame that grows a lot makes this fail.
    #[test]
    fn the_deepest_accepted_value_fits_in_1_mib_of_stack_even_in_a_debug_build() {
        let worker = std::thread::Builder::new()
            .stack_size(1024 * 1024)
            .spawn(|| {
                let value = deepest_value(DEFAULT_MAX_DEPTH);
                let bytes = value.encode().unwrap();
                let decoded = Value::decode(&bytes).unwrap();
                assert_eq!(decoded, value);
                assert!(decoded.to_json().is_array() || decoded.to_json().is_object());
            })
            .unwrap();
        worker
            .join()
            .expect("128 nested levels must fit in the stack");
    }
}
