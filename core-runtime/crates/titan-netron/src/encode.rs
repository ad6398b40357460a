//! Value → bytes, reproducing Netron's encoder byte for byte: msgpack primitives through `rmp`
//! (whose writers choose the same smallest forms), Netron's extension types written here.

use rmp::encode as mp;

use crate::error::EncodeError;
use crate::ext;
use crate::value::{Definition, JsError, Long, TitanError, Value};

/// How deep values may nest, on both sides: the decoder refuses deeper input, so the encoder
/// refuses to produce it (and a runaway recursive structure fails instead of overflowing the stack).
pub const DEFAULT_MAX_DEPTH: usize = 128;

impl Value {
    /// Encodes the value as Netron's serializer would.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Appends the encoding to `out` (nothing is appended on error).
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        let result = write_value(out, self, 0);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }
}

/// Writing into a `Vec` cannot fail; this keeps that fact in one place.
fn infallible<T, E: std::fmt::Debug>(result: Result<T, E>) -> T {
    result.expect("writing msgpack into a Vec<u8> cannot fail")
}

fn wire_len(what: &'static str, len: usize) -> Result<u32, EncodeError> {
    u32::try_from(len).map_err(|_| EncodeError::TooLong { what, len })
}

fn nested(depth: usize) -> Result<usize, EncodeError> {
    if depth >= DEFAULT_MAX_DEPTH {
        return Err(EncodeError::NestingTooDeep {
            max: DEFAULT_MAX_DEPTH,
        });
    }
    Ok(depth + 1)
}

/// Netron's number rule (JS `v >>> 0 === v` / `v >> 0 === v`): integers in `[-2^31, 2^32)`
/// take the smallest int form, anything else float64. `-0` passes the JS test, so it is sent as
/// the integer 0 too.
pub(crate) fn write_number(out: &mut Vec<u8>, number: f64) {
    if number.fract() == 0.0 && (-2_147_483_648.0..4_294_967_296.0).contains(&number) {
        infallible(mp::write_sint(out, number as i64));
    } else {
        infallible(mp::write_f64(out, number));
    }
}

pub(crate) fn write_str(out: &mut Vec<u8>, text: &str) -> Result<(), EncodeError> {
    infallible(mp::write_str_len(out, wire_len("string", text.len())?));
    out.extend_from_slice(text.as_bytes());
    Ok(())
}

/// The recursion: every case is a plain out-of-line function (no closures or iterator
/// adapters, which add frames in a debug build), so a nesting level costs little stack (see the
/// stack test in `decode.rs`).
fn write_value(out: &mut Vec<u8>, value: &Value, depth: usize) -> Result<(), EncodeError> {
    match value {
        Value::Array(items) => write_array(out, items, depth),
        Value::Object(entries) => write_object(out, entries, depth),
        // These must agree with `ext::holds_values`, which the decoder uses.
        Value::Set(items) => write_set(out, items, depth),
        Value::Map(entries) => write_map(out, entries, depth),
        Value::Error(error) => write_js_error(out, error, depth),
        Value::TitanError(error) => write_titan_error(out, error, depth),
        Value::Definition(definition) => write_definition(out, definition, depth),
        scalar => write_scalar(out, scalar),
    }
}

#[inline(never)]
fn write_array(out: &mut Vec<u8>, items: &[Value], depth: usize) -> Result<(), EncodeError> {
    let depth = nested(depth)?;
    infallible(mp::write_array_len(out, wire_len("array", items.len())?));
    for item in items {
        write_value(out, item, depth)?;
    }
    Ok(())
}

#[inline(never)]
fn write_object(
    out: &mut Vec<u8>,
    entries: &[(String, Value)],
    depth: usize,
) -> Result<(), EncodeError> {
    let depth = nested(depth)?;
    infallible(mp::write_map_len(out, wire_len("object", entries.len())?));
    for (key, item) in entries {
        write_str(out, key)?;
        write_value(out, item, depth)?;
    }
    Ok(())
}

#[inline(never)]
fn write_set(out: &mut Vec<u8>, items: &[Value], depth: usize) -> Result<(), EncodeError> {
    let depth = nested(depth)?;
    let mut payload = wire_len("Set", items.len())?.to_be_bytes().to_vec();
    for item in items {
        write_value(&mut payload, item, depth)?;
    }
    write_ext(out, ext::SET, &payload)
}

#[inline(never)]
fn write_map(
    out: &mut Vec<u8>,
    entries: &[(Value, Value)],
    depth: usize,
) -> Result<(), EncodeError> {
    let depth = nested(depth)?;
    let mut payload = wire_len("Map", entries.len())?.to_be_bytes().to_vec();
    for (key, item) in entries {
        write_value(&mut payload, key, depth)?;
        write_value(&mut payload, item, depth)?;
    }
    write_ext(out, ext::MAP, &payload)
}

#[inline(never)]
fn write_titan_error(
    out: &mut Vec<u8>,
    error: &TitanError,
    depth: usize,
) -> Result<(), EncodeError> {
    let depth = nested(depth)?;
    let mut payload = Vec::new();
    for field in error.fields() {
        write_value(&mut payload, field, depth)?;
    }
    write_ext(out, ext::TITAN_ERROR, &payload)
}

#[inline(never)]
fn write_definition(
    out: &mut Vec<u8>,
    definition: &Definition,
    depth: usize,
) -> Result<(), EncodeError> {
    let depth = nested(depth)?;
    let mut payload = Vec::new();
    write_str(&mut payload, &definition.id)?;
    write_str(&mut payload, &definition.parent_id)?;
    write_str(&mut payload, &definition.peer_id)?;
    write_value(&mut payload, &definition.meta, depth)?;
    write_ext(out, ext::DEFINITION, &payload)
}

#[inline(never)]
fn write_js_error(out: &mut Vec<u8>, error: &JsError, depth: usize) -> Result<(), EncodeError> {
    let depth = nested(depth)?;
    let mut payload = error.class.wire_id().to_be_bytes().to_vec();
    write_str(&mut payload, &error.name)?;
    write_value(&mut payload, &error.stack, depth)?;
    write_str(&mut payload, &error.message)?;
    // Netron counts the extra fields in a u16.
    let count = u16::try_from(error.fields.len()).map_err(|_| EncodeError::TooLong {
        what: "Error field list (max 65535)",
        len: error.fields.len(),
    })?;
    payload.extend_from_slice(&count.to_be_bytes());
    for (key, item) in &error.fields {
        write_str(&mut payload, key)?;
        write_value(&mut payload, item, depth)?;
    }
    write_ext(out, ext::ERROR, &payload)
}

/// Writes an extension whose payload `write_payload` produces. Netron encodes each payload on
/// its own before writing the header, since the header holds the payload's length.
fn with_ext_payload(
    out: &mut Vec<u8>,
    type_id: i8,
    write_payload: impl FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    let mut payload = Vec::new();
    write_payload(&mut payload)?;
    write_ext(out, type_id, &payload)
}

fn write_ext(out: &mut Vec<u8>, type_id: i8, payload: &[u8]) -> Result<(), EncodeError> {
    infallible(mp::write_ext_meta(
        out,
        wire_len("extension payload", payload.len())?,
        type_id,
    ));
    out.extend_from_slice(payload);
    Ok(())
}

/// Every value that holds no other values, including the scalar Netron extensions. Each
/// extension layout is the one Netron's registered encoder writes (summarised in `ext.rs`).
#[inline(never)]
fn write_scalar(out: &mut Vec<u8>, value: &Value) -> Result<(), EncodeError> {
    match value {
        Value::Undefined => out.extend_from_slice(&[0xd4, ext::UNDEFINED as u8, 0x00]),
        Value::Null => infallible(mp::write_nil(out)),
        Value::Bool(flag) => infallible(mp::write_bool(out, *flag)),
        Value::Number(number) => write_number(out, *number),
        Value::String(text) => write_str(out, text)?,
        Value::Binary(bytes) => {
            infallible(mp::write_bin_len(out, wire_len("binary", bytes.len())?));
            out.extend_from_slice(bytes);
        }
        Value::BigInt(digits) => {
            if !is_decimal_integer(digits) {
                return Err(EncodeError::InvalidValue {
                    what: "a BigInt",
                    reason: format!(
                        "{digits:?} is not a decimal integer (-?[0-9]+), so a JS peer's BigInt() \
                         would throw"
                    ),
                });
            }
            with_ext_payload(out, ext::BIGINT, |payload| write_str(payload, digits))?;
        }
        Value::Long(long) => {
            let (unsigned, bits) = match long {
                Long::Signed(v) => (0, v.to_be_bytes()),
                Long::Unsigned(v) => (1, v.to_be_bytes()),
            };
            let mut payload = [0; 9];
            payload[0] = unsigned;
            payload[1..].copy_from_slice(&bits);
            write_ext(out, ext::LONG, &payload)?;
        }
        Value::Date(ms) => write_ext(out, ext::DATE, &ms.to_be_bytes())?,
        Value::RegExp(regexp) => with_ext_payload(out, ext::REGEXP, |payload| {
            write_str(payload, &regexp.source)?;
            write_str(payload, &regexp.flags)
        })?,
        Value::Reference(reference) => {
            with_ext_payload(out, ext::REFERENCE, |payload| {
                write_str(payload, &reference.def_id)
            })?;
        }
        Value::StreamReference(stream) => {
            with_ext_payload(out, ext::STREAM_REFERENCE, |payload| {
                write_str(payload, &stream.stream_id)?;
                payload.push(u8::from(stream.writable));
                payload.push(u8::from(stream.live));
                write_str(payload, &stream.peer_id)
            })?
        }
        Value::Ext(raw) => {
            if ext::is_netron_type(raw.type_id) {
                return Err(EncodeError::InvalidValue {
                    what: "a raw extension value",
                    reason: format!(
                        "type {} is Netron's {}; use the matching Value variant so the payload has \
                         the layout peers expect",
                        raw.type_id,
                        ext::name(raw.type_id)
                    ),
                });
            }
            write_ext(out, raw.type_id, &raw.data)?;
        }
        Value::Array(_)
        | Value::Object(_)
        | Value::Set(_)
        | Value::Map(_)
        | Value::Error(_)
        | Value::TitanError(_)
        | Value::Definition(_) => unreachable!("write_value handles {} itself", value.kind_name()),
    }
    Ok(())
}

/// What JS `BigInt.prototype.toString()` can produce: `-?[0-9]+`.
pub(crate) fn is_decimal_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{JsErrorClass, RawExt};

    fn hex(value: &Value) -> String {
        value
            .encode()
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn numbers_follow_netrons_32_bit_integer_rule() {
        assert_eq!(hex(&Value::Number(4294967295.0)), "ceffffffff");
        assert_eq!(hex(&Value::Number(4294967296.0)), "cb41f0000000000000");
        assert_eq!(hex(&Value::Number(-2147483648.0)), "d280000000");
        assert_eq!(hex(&Value::Number(-2147483649.0)), "cbc1e0000000200000");
        // JS: (-0 >>> 0) === -0, so Netron sends negative zero as the integer 0.
        assert_eq!(hex(&Value::Number(-0.0)), "00");
        assert_eq!(hex(&Value::Number(f64::NAN)), "cb7ff8000000000000");
        assert_eq!(hex(&Value::Number(f64::INFINITY)), "cb7ff0000000000000");
    }

    #[test]
    fn long_regexp_error_and_stream_reference_layouts() {
        assert_eq!(
            hex(&Value::Long(Long::Signed(-1))),
            "c70977 00ffffffffffffffff".replace(' ', "")
        );
        assert_eq!(
            hex(&Value::Long(Long::Unsigned(1))),
            "c7097701 0000000000000001".replace(' ', "")
        );
        let regexp = Value::RegExp(Box::new(crate::RegExp {
            source: "a+".into(),
            flags: "g".into(),
        }));
        assert_eq!(hex(&regexp), "c70579a2612ba167");
        let error = Value::from(JsError::new(JsErrorClass::TypeError, "bad"));
        // u16 class 3, "TypeError", stack undefined, "bad", u16 0 fields.
        assert_eq!(
            hex(&error),
            "c7157e0003a9547970654572726f72d40000a36261640000"
        );
        let stream = Value::StreamReference(Box::new(crate::StreamReference {
            stream_id: "7".into(),
            writable: true,
            live: false,
            peer_id: "p".into(),
        }));
        assert_eq!(hex(&stream), "c7066ba1370100a170");
    }

    #[test]
    fn refuses_values_a_netron_peer_could_not_rebuild() {
        let err = Value::BigInt("12a".into()).encode().unwrap_err();
        assert!(
            err.to_string().contains("\"12a\" is not a decimal integer"),
            "{err}"
        );
        let err = Value::Ext(RawExt {
            type_id: ext::DATE,
            data: vec![1],
        })
        .encode()
        .unwrap_err();
        assert!(
            err.to_string().contains("type 125 is Netron's Date"),
            "{err}"
        );
        // An unregistered type passes through untouched.
        let raw = Value::Ext(RawExt {
            type_id: 5,
            data: vec![1, 2, 3],
        });
        assert_eq!(hex(&raw), "c7030501 0203".replace(' ', ""));
    }

    #[test]
    fn refuses_nesting_deeper_than_the_limit_without_leaving_partial_output() {
        let mut value = Value::Null;
        for _ in 0..=DEFAULT_MAX_DEPTH {
            value = Value::Array(vec![value]);
        }
        let mut out = vec![0xaa];
        let err = value.encode_into(&mut out).unwrap_err();
        assert_eq!(
            err,
            EncodeError::NestingTooDeep {
                max: DEFAULT_MAX_DEPTH
            }
        );
        assert_eq!(out, vec![0xaa]);
        let Value::Array(mut inner) = value else {
            unreachable!()
        };
        assert!(
            inner.pop().unwrap().encode().is_ok(),
            "exactly the limit is allowed"
        );
    }
}
