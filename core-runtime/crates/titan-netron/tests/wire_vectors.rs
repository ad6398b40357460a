//! Every byte string Netron's own encoder produced (tests/wire-vectors.json) must decode to the
//! described value or packet, and the described value or packet must encode to the same bytes.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use titan_netron::{
    Definition, Impulse, Packet, PacketType, Reference, StreamPosition, TitanError, Value,
};

/// JSON parsed with object keys in file order (serde_json's own map sorts them, and key order
/// is part of the wire bytes).
#[derive(Debug, Clone)]
enum Json {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct JsonVisitor;
        impl<'de> Visitor<'de> for JsonVisitor {
            type Value = Json;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
                Ok(Json::Bool(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
                Ok(Json::Number(v as f64))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
                Ok(Json::Number(v as f64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
                Ok(Json::Number(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Json, E> {
                Ok(Json::String(v.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Json::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Json::Object(entries))
            }
        }
        deserializer.deserialize_any(JsonVisitor)
    }
}

impl Json {
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn field(&self, key: &str) -> &Json {
        self.get(key)
            .unwrap_or_else(|| panic!("missing {key:?} in {self:?}"))
    }

    fn str(&self) -> &str {
        match self {
            Json::String(text) => text,
            other => panic!("expected a string, got {other:?}"),
        }
    }

    fn num(&self) -> f64 {
        match self {
            Json::Number(n) => *n,
            other => panic!("expected a number, got {other:?}"),
        }
    }

    fn items(&self) -> &[Json] {
        match self {
            Json::Array(items) => items,
            other => panic!("expected an array, got {other:?}"),
        }
    }

    /// The vectors' tagged JSON (`{"$date": ms}`, ...) → the Value it describes.
    fn to_value(&self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(flag) => Value::Bool(*flag),
            Json::Number(n) => Value::Number(*n),
            Json::String(text) => Value::String(text.clone()),
            Json::Array(items) => Value::Array(items.iter().map(Json::to_value).collect()),
            Json::Object(entries) => match entries.as_slice() {
                [(tag, inner)] if tag.starts_with('$') => tagged(tag, inner),
                _ => Value::Object(
                    entries
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_value()))
                        .collect(),
                ),
            },
        }
    }
}

fn tagged(tag: &str, inner: &Json) -> Value {
    match tag {
        "$undefined" => Value::Undefined,
        "$bigint" => Value::BigInt(inner.str().to_owned()),
        "$date" => Value::Date(inner.num() as u64),
        "$map" => Value::Map(
            inner
                .items()
                .iter()
                .map(|pair| (pair.items()[0].to_value(), pair.items()[1].to_value()))
                .collect(),
        ),
        "$set" => Value::Set(inner.items().iter().map(Json::to_value).collect()),
        "$bytes" => Value::Binary(from_hex(inner.str())),
        "$reference" => Value::Reference(Reference {
            def_id: inner.field("defId").str().to_owned(),
        }),
        "$definition" => Value::from(Definition {
            id: inner.field("id").str().to_owned(),
            parent_id: inner.field("parentId").str().to_owned(),
            peer_id: inner.field("peerId").str().to_owned(),
            meta: inner.field("meta").to_value(),
        }),
        "$titanError" => {
            // The vectors summarise a TitanError; the fields they leave out hold the defaults
            // Netron's constructor gives them, which is what TitanError::new fills in.
            let mut error = TitanError::new(0, "");
            error.name = inner.field("name").to_value();
            error.code = inner.field("code").to_value();
            error.message = inner.field("message").to_value();
            error.details = inner.field("details").to_value();
            error.timestamp = inner.field("timestamp").to_value();
            Value::from(error)
        }
        other => panic!("unknown tag {other}"),
    }
}

fn from_hex(hex: &str) -> Vec<u8> {
    assert!(hex.len() % 2 == 0, "odd-length hex {hex}");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn expected_packet(vector: &Json) -> Packet {
    let flags = vector.field("flags").num() as u8;
    let packet_type = PacketType::from_bits(vector.field("type").num() as u8).expect("type 0-7");
    let stream = vector.get("streamId").map(|stream_id| StreamPosition {
        stream_id: stream_id.num() as u32,
        index: vector.field("streamIndex").num() as u32,
    });
    let packet = Packet {
        id: vector.field("id").num() as u32,
        packet_type,
        impulse: if vector.field("impulse").num() == 1.0 {
            Impulse::Request
        } else {
            Impulse::Response
        },
        error: vector.field("error").num() == 1.0,
        eos: matches!(vector.field("eos"), Json::Bool(true)),
        // The only flag the vectors do not spell out separately.
        live: flags & 0x20 != 0,
        stream,
        data: vector.field("data").to_value(),
    };
    assert_eq!(
        packet.flags(),
        flags,
        "flags composed from the described fields"
    );
    packet
}

fn load_vectors() -> Vec<Json> {
    let text = include_str!("wire-vectors.json");
    let file: Json = serde_json::from_str(text).expect("wire-vectors.json parses");
    file.field("vectors").items().to_vec()
}

#[test]
fn all_62_vectors_are_present() {
    assert_eq!(load_vectors().len(), 62);
}

#[test]
fn every_vector_decodes_to_the_described_value_and_encodes_to_the_same_bytes() {
    let mut failures = Vec::new();
    for vector in load_vectors() {
        let name = vector.field("name").str().to_owned();
        let hex = vector.field("hex").str().to_owned();
        let bytes = from_hex(&hex);
        match vector.field("kind").str() {
            "value" => {
                let expected = vector.field("value").to_value();
                match Value::decode(&bytes) {
                    Ok(decoded) if decoded == expected => {}
                    Ok(decoded) => failures.push(format!(
                        "{name}: decoded {decoded:?}, expected {expected:?}"
                    )),
                    Err(err) => failures.push(format!("{name}: decode failed: {err}")),
                }
                let encoded = to_hex(&expected.encode().expect("encodes"));
                if encoded != hex {
                    failures.push(format!("{name}: encoded {encoded}, Netron wrote {hex}"));
                }
            }
            "packet" => {
                let expected = expected_packet(&vector);
                match Packet::decode(&bytes) {
                    Ok(decoded) if decoded == expected => {}
                    Ok(decoded) => failures.push(format!(
                        "{name}: decoded {decoded:?}, expected {expected:?}"
                    )),
                    Err(err) => failures.push(format!("{name}: decode failed: {err}")),
                }
                let encoded = to_hex(&expected.encode().expect("encodes"));
                if encoded != hex {
                    failures.push(format!("{name}: encoded {encoded}, Netron wrote {hex}"));
                }
            }
            other => panic!("{name}: unknown kind {other}"),
        }
    }
    assert!(
        failures.is_empty(),
        "{} vector failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_error_response_constructor_reproduces_netrons_error_packet() {
    let vector = load_vectors()
        .into_iter()
        .find(|v| v.field("name").str() == "CALL error response")
        .expect("vector present");
    let request = Packet::request(6, PacketType::Call, Value::Null);
    let mut error = TitanError::new(404, "Method not found");
    error.timestamp = Value::Number(1_700_000_000_000.0);
    let answer = request.error_response(error);
    assert_eq!(to_hex(&answer.encode().unwrap()), vector.field("hex").str());
}
