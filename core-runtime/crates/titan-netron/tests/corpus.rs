//! Replays tests/corpus/corpus.json, the hostile-peer corpus: every entry must end exactly as its
//! `expect` says (the canonical re-encoding of what decoded, or the error variant and offset).
//! core-runtime/js/netron/corpus.test.ts replays the same file through the TypeScript codec.

mod corpus_support;

use corpus_support::{Entry, Layer, corpus, hex_bytes, to_hex};
use serde_json::{Value as Json, json};
use titan_netron::{DecodeError, FrameDecoder, Handshake, Packet, Value};

/// The enum variant's name, which is what the manifest's `fails` names.
fn variant(err: &DecodeError) -> (&'static str, usize) {
    match err {
        DecodeError::Truncated { offset, .. } => ("Truncated", *offset),
        DecodeError::UnknownPacketType { offset, .. } => ("UnknownPacketType", *offset),
        DecodeError::InvalidMarker { offset, .. } => ("InvalidMarker", *offset),
        DecodeError::BadExt { offset, .. } => ("BadExt", *offset),
        DecodeError::InvalidUtf8 { offset, .. } => ("InvalidUtf8", *offset),
        DecodeError::NonStringKey { offset, .. } => ("NonStringKey", *offset),
        DecodeError::NestingTooDeep { offset, .. } => ("NestingTooDeep", *offset),
        DecodeError::TrailingBytes { offset, .. } => ("TrailingBytes", *offset),
        DecodeError::Oversized { offset, .. } => ("Oversized", *offset),
    }
}

fn failure(err: &DecodeError) -> (Json, String) {
    let (name, offset) = variant(err);
    (json!({ "fails": name, "offset": offset }), err.to_string())
}

/// What this codec makes of the entry, in the manifest's `expect` shape, plus the error
/// message (if any) that `contains` is checked against.
fn outcome(entry: &Entry) -> (Json, String) {
    let input = entry.input();
    match entry.layer {
        Layer::Value => match Value::decode(&input) {
            Ok(value) => match value.encode() {
                Ok(bytes) => (json!({ "decodes": to_hex(&bytes) }), String::new()),
                Err(err) => (json!({ "reencode_fails": true }), err.to_string()),
            },
            Err(err) => failure(&err),
        },
        Layer::Packet => match Packet::decode(&input) {
            Ok(packet) => match packet.encode() {
                Ok(bytes) => (json!({ "decodes": to_hex(&bytes) }), String::new()),
                Err(err) => (json!({ "reencode_fails": true }), err.to_string()),
            },
            Err(err) => failure(&err),
        },
        Layer::FrameStream => {
            let mut decoder = FrameDecoder::new();
            let mut frames = Vec::new();
            for chunk in entry.chunks(&input) {
                if let Err(err) = decoder.push_into(chunk, &mut frames) {
                    let (name, offset) = variant(&err);
                    let bodies: Vec<String> = frames.iter().map(|f| to_hex(f.body())).collect();
                    return (
                        json!({ "frames": bodies, "fails": name, "offset": offset }),
                        err.to_string(),
                    );
                }
            }
            let bodies: Vec<String> = frames.iter().map(|f| to_hex(f.body())).collect();
            (
                json!({ "frames": bodies, "buffered": decoder.buffered_len() }),
                String::new(),
            )
        }
        Layer::Handshake => match Handshake::parse(&input) {
            Ok(handshake) => {
                let kind = match handshake {
                    Handshake::ServerId { .. } => "id",
                    Handshake::ClientId { .. } => "client-id",
                };
                (
                    json!({ "handshake": { "type": kind, "id": handshake.id() } }),
                    String::new(),
                )
            }
            Err(err) => (json!({ "fails": "HandshakeError" }), err.to_string()),
        },
    }
}

#[test]
fn every_corpus_entry_ends_as_the_manifest_says() {
    let entries = corpus();
    let mut mismatches = Vec::new();
    for entry in &entries {
        let (got, message) = outcome(entry);
        let want = entry.expected();
        if got != want {
            mismatches.push(format!(
                "{}: expected {want}, got {got} {message}",
                entry.name
            ));
        } else if let Some(needle) = &entry.contains {
            if !message.contains(needle.as_str()) {
                mismatches.push(format!(
                    "{}: the message should contain {needle:?}: {message}",
                    entry.name
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} corpus entries disagree with tests/corpus/corpus.json:\n{}",
        mismatches.len(),
        entries.len(),
        mismatches.join("\n")
    );
}

/// The manifest stays reviewable: small entries, unique names, and every entry that decodes
/// says so in canonical form (re-encoding that form gives the same bytes).
#[test]
fn the_corpus_is_small_and_well_formed() {
    let entries = corpus();
    assert!(entries.len() >= 30, "only {} entries", entries.len());
    let mut names = std::collections::HashSet::new();
    for entry in &entries {
        assert!(names.insert(&entry.name), "duplicate name {:?}", entry.name);
        assert!(
            entry.input().len() < 1024,
            "{}: entries must stay under 1 KiB",
            entry.name
        );
        if let Some(why) = &entry.ts_divergence {
            assert!(
                why.len() > 20,
                "{}: a ts override must say why the codecs differ",
                entry.name
            );
        }
        if let Some(Json::String(canonical)) = entry.expected().get("decodes") {
            let bytes = hex_bytes(canonical);
            let again = match entry.layer {
                Layer::Value => Value::decode(&bytes).map(|v| v.encode().unwrap()),
                Layer::Packet => Packet::decode(&bytes).map(|p| p.encode().unwrap()),
                _ => unreachable!("only values and packets decode to bytes"),
            };
            assert_eq!(
                again.map(|b| to_hex(&b)),
                Ok(canonical.clone()),
                "{}: the canonical form is not a fixed point",
                entry.name
            );
        }
    }
}
