//! Property tests: any value or packet survives encode → decode unchanged, frames survive any
//! chunking, and arbitrary or corrupted bytes only ever produce `Ok` or `Err`, never a panic.

use proptest::collection::vec;
use proptest::prelude::*;
use titan_netron::{
    DecodeLimits, Definition, FrameDecoder, Impulse, JsError, JsErrorClass, Long, Packet,
    PacketType, RawExt, Reference, RegExp, StreamPosition, StreamReference, TitanError, Value, ext,
    write_frame,
};

/// Any number except NaN (NaN != NaN would fail equality; its encoding is tested elsewhere).
/// Integers are over-represented because the int/float boundary is where encoders go wrong.
fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<i32>().prop_map(f64::from),
        any::<u32>().prop_map(f64::from),
        (-(1i64 << 53)..(1i64 << 53)).prop_map(|n| n as f64),
        any::<f64>().prop_filter("NaN never equals itself", |n| !n.is_nan()),
        Just(-0.0),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{0,8}",
        any::<String>(),
        // Across the fixstr / str8 / str16 boundaries (31, 32, 255, 256 bytes).
        (0usize..300).prop_map(|n| "x".repeat(n)),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Undefined),
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number().prop_map(Value::Number),
        text().prop_map(Value::String),
        vec(any::<u8>(), 0..300).prop_map(Value::Binary),
        any::<i128>().prop_map(|n| Value::BigInt(n.to_string())),
        any::<i64>().prop_map(|n| Value::Long(Long::Signed(n))),
        any::<u64>().prop_map(|n| Value::Long(Long::Unsigned(n))),
        // What a JS Date holds (±8.64e15 ms); later times are refused as bad input.
        (0..=8_640_000_000_000_000u64).prop_map(Value::Date),
        (text(), "[dgimsuy]{0,3}")
            .prop_map(|(source, flags)| Value::RegExp(Box::new(RegExp { source, flags }))),
        text().prop_map(|def_id| Value::Reference(Reference { def_id })),
        (any::<u32>(), any::<bool>(), any::<bool>(), text()).prop_map(
            |(id, writable, live, peer_id)| {
                Value::StreamReference(Box::new(StreamReference {
                    stream_id: id.to_string(),
                    writable,
                    live,
                    peer_id,
                }))
            }
        ),
        (
            any::<i8>().prop_filter("Netron's own types have their own variants", |t| {
                !ext::is_netron_type(*t)
            }),
            vec(any::<u8>(), 0..40)
        )
            .prop_map(|(type_id, data)| Value::Ext(RawExt { type_id, data })),
    ]
}

fn js_error_class() -> impl Strategy<Value = JsErrorClass> {
    (1u16..=7).prop_map(|id| JsErrorClass::from_wire_id(id).unwrap())
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec((text(), inner.clone()), 0..6)
                .prop_map(|entries| Value::Object(js_object(entries))),
            vec(inner.clone(), 0..6).prop_map(|items| Value::Set(distinct(items, js_primitive))),
            vec((inner.clone(), inner.clone()), 0..4)
                .prop_map(|entries| Value::Map(distinct(entries, |(key, _)| js_primitive(key)))),
            (
                js_error_class(),
                text(),
                text(),
                inner.clone(),
                vec((text(), inner.clone()), 0..3)
            )
                .prop_map(|(class, name, message, stack, fields)| {
                    Value::from(JsError {
                        class,
                        name,
                        message,
                        stack,
                        fields: js_object(fields),
                    })
                }),
            (vec(inner.clone(), 13), any::<bool>()).prop_map(|(fields, _)| {
                let mut error = TitanError::default();
                for (slot, field) in error_fields(&mut error).into_iter().zip(fields) {
                    *slot = field;
                }
                Value::from(error)
            }),
            (text(), text(), text(), inner).prop_map(|(id, parent_id, peer_id, meta)| {
                Value::from(Definition {
                    id,
                    parent_id,
                    peer_id,
                    meta,
                })
            }),
        ]
    })
}

/// A JS peer collapses repeated keys and puts array-index keys first (src/js_keys.rs), so a
/// value that survives the wire unchanged has neither: generated ones keep the first of each.
fn js_object(entries: Vec<(String, Value)>) -> Vec<(String, Value)> {
    let is_index = |key: &str| !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit());
    let entries = entries
        .into_iter()
        .filter(|(key, _)| !is_index(key))
        .collect();
    distinct(entries, |(key, _)| Some(key.clone()))
}

/// A JS primitive's identity under SameValueZero (the number strategy has no NaN; -0 is 0);
/// objects, arrays and class instances have none, they are always distinct.
fn js_primitive(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(format!("{:?}", Value::Number(n + 0.0))),
        Value::Undefined | Value::Null | Value::Bool(_) | Value::String(_) | Value::BigInt(_) => {
            Some(format!("{value:?}"))
        }
        _ => None,
    }
}

/// Keeps the first of the items that share a key (`None`: no key, always kept).
fn distinct<T>(items: Vec<T>, key: impl Fn(&T) -> Option<String>) -> Vec<T> {
    let mut seen = std::collections::HashSet::new();
    items
        .into_iter()
        .filter(|item| key(item).is_none_or(|key| seen.insert(key)))
        .collect()
}

fn error_fields(error: &mut TitanError) -> [&mut Value; 13] {
    [
        &mut error.name,
        &mut error.code,
        &mut error.message,
        &mut error.details,
        &mut error.context,
        &mut error.timestamp,
        &mut error.request_id,
        &mut error.correlation_id,
        &mut error.span_id,
        &mut error.trace_id,
        &mut error.stack,
        &mut error.cause,
        &mut error.extras,
    ]
}

fn packet() -> impl Strategy<Value = Packet> {
    (
        any::<u32>(),
        0u8..8,
        any::<[bool; 4]>(),
        any::<(u32, u32)>(),
        value(),
    )
        .prop_map(
            |(id, type_bits, [request, error, eos, live], (stream_id, index), data)| {
                let packet_type = PacketType::from_bits(type_bits).unwrap();
                Packet {
                    id,
                    packet_type,
                    impulse: if request {
                        Impulse::Request
                    } else {
                        Impulse::Response
                    },
                    error,
                    eos,
                    live,
                    stream: (packet_type == PacketType::Stream)
                        .then_some(StreamPosition { stream_id, index }),
                    data,
                }
            },
        )
}

/// Decoding must not panic; and whatever it accepts must re-encode, and that encoding must be
/// stable (decode → encode → decode → encode gives the same bytes).
fn check_untrusted_value(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(value) = Value::decode(bytes) {
        let encoded = value
            .encode()
            .map_err(|err| TestCaseError::fail(format!("{err}")))?;
        let again = Value::decode(&encoded).map_err(|err| TestCaseError::fail(format!("{err}")))?;
        prop_assert_eq!(again.encode().unwrap(), encoded);
    }
    Ok(())
}

fn check_untrusted_packet(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(packet) = Packet::decode(bytes) {
        let encoded = packet
            .encode()
            .map_err(|err| TestCaseError::fail(format!("{err}")))?;
        let again =
            Packet::decode(&encoded).map_err(|err| TestCaseError::fail(format!("{err}")))?;
        prop_assert_eq!(again.encode().unwrap(), encoded);
    }
    Ok(())
}

// 256 cases per property by default; PROPTEST_CASES=30000 for a longer fuzzing run.
proptest! {
    #[test]
    fn any_value_round_trips(value in value()) {
        let bytes = value.encode().unwrap();
        prop_assert_eq!(Value::decode(&bytes).unwrap(), value);
    }

    #[test]
    fn any_packet_round_trips_alone_and_framed(packet in packet()) {
        let bytes = packet.encode().unwrap();
        prop_assert_eq!(bytes[4], packet.flags());
        prop_assert_eq!(&Packet::decode(&bytes).unwrap(), &packet);
        let frames = FrameDecoder::new().push(&packet.encode_frame().unwrap()).unwrap();
        prop_assert_eq!(frames.len(), 1);
        prop_assert_eq!(frames[0].packet(&DecodeLimits::default()).unwrap(), packet);
    }

    #[test]
    fn frames_survive_any_chunking(
        bodies in vec(vec(any::<u8>(), 0..64), 0..8),
        cuts in vec(any::<prop::sample::Index>(), 0..10),
    ) {
        let mut stream = Vec::new();
        for body in &bodies {
            write_frame(&mut stream, body).unwrap();
        }
        let mut cut_points: Vec<usize> = cuts.iter().map(|cut| cut.index(stream.len() + 1)).collect();
        cut_points.sort_unstable();
        let mut decoder = FrameDecoder::new();
        let mut received = Vec::new();
        let mut from = 0;
        for to in cut_points.into_iter().chain([stream.len()]) {
            received.extend(decoder.push(&stream[from..to]).unwrap().into_iter().map(|f| f.body().to_vec()));
            from = to;
        }
        prop_assert_eq!(received, bodies);
        prop_assert_eq!(decoder.buffered_len(), 0);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..256)) {
        check_untrusted_value(&bytes)?;
        check_untrusted_packet(&bytes)?;
        let mut decoder = FrameDecoder::with_max_frame_len(64);
        for chunk in bytes.chunks(7) {
            if let Ok(frames) = decoder.push(chunk) {
                for frame in frames {
                    let _ = frame.packet(&DecodeLimits::default());
                    let _ = frame.handshake();
                }
            }
        }
    }

    /// Random bytes rarely get past the first marker; corrupting valid encodings reaches the
    /// extension payloads and length fields.
    #[test]
    fn corrupted_encodings_never_panic(
        value in value(),
        flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = value.encode().unwrap();
        for (at, byte) in flips {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        check_untrusted_value(&bytes)?;
        bytes.truncate(cut.index(bytes.len() + 1));
        check_untrusted_value(&bytes)?;
    }
}
