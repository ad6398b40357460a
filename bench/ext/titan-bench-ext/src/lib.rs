//! The Titan side of `npm run bench:ext`: each function does almost nothing, so a call's time
//! is the crossing (JS wrapper, `extCall`, argument conversion, the ABI call, the result).
//! `bench/ext/napi-direct` exports the same functions, with the same bodies, as a plain napi-rs
//! addon: keep the two in step.

use serde::Deserialize;
use titan_ext::function;

/// No arguments, no result: the bare cost of a call.
#[function]
fn noop() {}

/// Two numbers in, one out.
#[function]
fn add(a: f64, b: f64) -> f64 {
    a + b
}

/// A string in (borrowed): its length in UTF-8 bytes.
#[function]
fn str_len(s: &str) -> u32 {
    u32::try_from(s.len()).unwrap_or(u32::MAX)
}

/// A string in and out.
#[function]
fn echo(s: String) -> String {
    s
}

/// Bytes in (borrowed): the sum of the bytes.
#[function]
fn bytes_sum(b: &[u8]) -> u32 {
    b.iter().fold(0u32, |sum, &x| sum.wrapping_add(u32::from(x)))
}

/// A small object, as serde sees it.
#[derive(Deserialize)]
pub struct Small {
    /// A number.
    pub id: f64,
    /// A short string.
    pub name: String,
    /// A few strings.
    pub tags: Vec<String>,
}

/// A small object in: `id + tags.len()`.
#[function]
fn small(o: Small) -> f64 {
    o.id + o.tags.len() as f64
}

titan_ext::extension! {
    functions: [noop, add, str_len, echo, bytes_sum, small],
}
