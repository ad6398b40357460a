//! The reference side of `npm run bench:ext`: titan-bench-ext's functions, with the same
//! bodies, as a plain napi-rs addon (each argument type as napi-rs takes it most cheaply:
//! `&str` / `String` copied out of V8, bytes borrowed from the Uint8Array or Buffer, the object
//! read field by field). Keep the two in step.

use napi::bindgen_prelude::Uint8ArraySlice;
use napi_derive::napi;

/// No arguments, no result: the bare cost of a call.
#[napi]
pub fn noop() {}

/// Two numbers in, one out.
#[napi]
pub fn add(a: f64, b: f64) -> f64 {
    a + b
}

/// A string in: its length in UTF-8 bytes. (napi-rs refuses `&str` parameters: a JS string
/// is always copied out into a `String`.)
#[napi]
pub fn str_len(s: String) -> u32 {
    u32::try_from(s.len()).unwrap_or(u32::MAX)
}

/// A string in and out.
#[napi]
pub fn echo(s: String) -> String {
    s
}

/// Bytes in (borrowed; a Buffer is a Uint8Array too): the sum of the bytes.
#[napi]
pub fn bytes_sum(b: Uint8ArraySlice) -> u32 {
    b.iter().fold(0u32, |sum, &x| sum.wrapping_add(u32::from(x)))
}

/// A small object, as napi-rs reads it.
#[napi(object)]
pub struct Small {
    /// A number.
    pub id: f64,
    /// A short string.
    pub name: String,
    /// A few strings.
    pub tags: Vec<String>,
}

/// A small object in: `id + tags.len()`.
#[napi]
pub fn small(o: Small) -> f64 {
    o.id + o.tags.len() as f64
}
