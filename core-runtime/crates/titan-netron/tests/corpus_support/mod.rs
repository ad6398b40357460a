//! Reading tests/corpus/corpus.json (shared by the corpus replay and the mutation fuzzer).
//! The file's `about` field documents the format; core-runtime/js/netron/corpus.test.ts reads it
//! the same way.

#![allow(dead_code)] // each test binary uses a different part

use serde_json::{Map, Value as Json};

/// Which decoder an entry is fed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// `Value::decode`.
    Value,
    /// `Packet::decode`.
    Packet,
    /// `FrameDecoder::push_into`, chunk by chunk.
    FrameStream,
    /// `Handshake::parse`.
    Handshake,
}

/// One corpus entry.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub layer: Layer,
    input: Vec<u8>,
    chunk_sizes: Option<Vec<usize>>,
    expect: Map<String, Json>,
    /// A substring the error message must contain (checked on both codecs).
    pub contains: Option<String>,
    /// Why the TypeScript codec ends this entry differently (its `ts.divergence`), if it does.
    pub ts_divergence: Option<String>,
}

impl Entry {
    /// The bytes fed to the decoder.
    pub fn input(&self) -> Vec<u8> {
        self.input.clone()
    }

    /// The input cut into the entry's chunk sizes (one chunk when it names none); a size list
    /// that does not add up to the input is a mistake in the manifest.
    pub fn chunks<'a>(&self, input: &'a [u8]) -> Vec<&'a [u8]> {
        let Some(sizes) = &self.chunk_sizes else {
            return vec![input];
        };
        assert_eq!(
            sizes.iter().sum::<usize>(),
            input.len(),
            "{}: chunk sizes must add up to the input length",
            self.name
        );
        let mut rest = input;
        sizes
            .iter()
            .map(|&size| {
                let (chunk, after) = rest.split_at(size);
                rest = after;
                chunk
            })
            .collect()
    }

    /// The expected outcome with hex normalised (repeat tokens expanded, no spaces) and without
    /// `contains`, ready to compare with what the codec produced.
    pub fn expected(&self) -> Json {
        let mut expect = self.expect.clone();
        expect.remove("contains");
        if let Some(Json::String(hex)) = expect.get("decodes") {
            let canonical = to_hex(&hex_bytes(hex));
            expect.insert("decodes".into(), Json::String(canonical));
        }
        if let Some(Json::Array(frames)) = expect.get("frames") {
            let frames = frames
                .iter()
                .map(|frame| Json::String(to_hex(&hex_bytes(frame.as_str().unwrap()))))
                .collect();
            expect.insert("frames".into(), Json::Array(frames));
        }
        Json::Object(expect)
    }
}

/// Every entry of the manifest.
pub fn corpus() -> Vec<Entry> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/corpus.json");
    let text = std::fs::read_to_string(path).expect("tests/corpus/corpus.json is readable");
    let manifest: Json = serde_json::from_str(&text).expect("corpus.json is JSON");
    manifest["entries"]
        .as_array()
        .expect("corpus.json has an entries array")
        .iter()
        .map(entry)
        .collect()
}

fn entry(json: &Json) -> Entry {
    let name = json["name"]
        .as_str()
        .expect("every entry has a name")
        .to_owned();
    let layer = match json["layer"].as_str() {
        Some("value") => Layer::Value,
        Some("packet") => Layer::Packet,
        Some("frame-stream") => Layer::FrameStream,
        Some("handshake") => Layer::Handshake,
        other => panic!("{name}: unknown layer {other:?}"),
    };
    let input = match (json.get("hex"), json.get("text")) {
        (Some(Json::String(hex)), None) => hex_bytes(hex),
        (None, Some(Json::String(text))) => text.as_bytes().to_vec(),
        _ => panic!("{name}: give exactly one of hex and text"),
    };
    let chunk_sizes = json.get("chunks").map(|sizes| {
        sizes
            .as_array()
            .expect("chunks is an array")
            .iter()
            .map(|size| size.as_u64().expect("chunk sizes are numbers") as usize)
            .collect()
    });
    let expect = json["expect"]
        .as_object()
        .unwrap_or_else(|| panic!("{name}: expect must be an object"))
        .clone();
    let contains = expect
        .get("contains")
        .map(|text| text.as_str().expect("contains is a string").to_owned());
    let ts_divergence = json.get("ts").map(|ts| {
        assert!(
            ts.get("expect").is_some(),
            "{name}: ts needs its own expect"
        );
        ts["divergence"].as_str().unwrap_or_default().to_owned()
    });
    Entry {
        name,
        layer,
        input,
        chunk_sizes,
        expect,
        contains,
        ts_divergence,
    }
}

/// Hex with whitespace ignored; a token `XX*N` is the byte XX repeated N times.
pub fn hex_bytes(text: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    for token in text.split_whitespace() {
        let (digits, repeat) = match token.split_once('*') {
            Some((byte, count)) => (byte, count.parse::<usize>().expect("a repeat count")),
            None => (token, 1),
        };
        assert!(
            digits.len() % 2 == 0,
            "odd number of hex digits in {token:?}"
        );
        let chunk: Vec<u8> = (0..digits.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).expect("hex digits"))
            .collect();
        for _ in 0..repeat {
            bytes.extend_from_slice(&chunk);
        }
    }
    bytes
}

/// Lowercase hex without separators.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
