//! How Rust values cross the boundary. Scalars, strings and bytes cross without serialization
//! (strings and bytes are borrowed from the caller for `&str` / `&[u8]` parameters); any other
//! serde type crosses as JSON text. The `#[function]` macro picks the path from each type.

use serde::Serialize;
use serde::de::DeserializeOwned;
use titan_ext_sys::*;

/// Why an argument could not become the parameter's type; the message names the parameter.
#[derive(Debug)]
pub struct ArgError(pub String);

fn kind_name(kind: u32) -> &'static str {
    match kind {
        TITAN_NULL => "null",
        TITAN_BOOL => "a boolean",
        TITAN_F64 => "a number",
        TITAN_I64 => "a bigint",
        TITAN_STRING => "a string",
        TITAN_BYTES => "a Uint8Array",
        TITAN_JSON => "an object or array",
        _ => "an unknown kind of value",
    }
}

fn mismatch<T>(expected: &str, value: &titan_value) -> Result<T, ArgError> {
    Err(ArgError(format!("must be {expected}, got {}", kind_name(value.kind))))
}

/// The bytes of a string, bytes or JSON value.
///
/// The host guarantees `ptr`/`len` describe a live buffer for the duration of the call.
fn buffer(value: &titan_value) -> &[u8] {
    // SAFETY: only called for buffer kinds, whose payload is `buffer`; the host (or the
    // extension, for results) keeps the memory alive while the value is borrowed.
    let buffer = unsafe { value.payload.buffer };
    if buffer.len == 0 || buffer.ptr.is_null() {
        return &[];
    }
    // SAFETY: see above; `len` bytes from `ptr` are initialized.
    unsafe { std::slice::from_raw_parts(buffer.ptr, buffer.len) }
}

/// A parameter type that crosses without serialization.
pub trait FromValue<'a>: Sized {
    /// Converts an argument.
    fn from_value(value: &'a titan_value) -> Result<Self, ArgError>;
}

/// A result type that crosses without serialization.
pub trait IntoValue {
    /// Converts a result; buffers are allocated here and freed by `free_value`.
    fn into_value(self) -> titan_value;
}

impl FromValue<'_> for bool {
    fn from_value(value: &titan_value) -> Result<Self, ArgError> {
        match value.kind {
            // SAFETY: the kind says the payload is `boolean`.
            TITAN_BOOL => Ok(unsafe { value.payload.boolean }),
            _ => mismatch("a boolean", value),
        }
    }
}

impl FromValue<'_> for f64 {
    fn from_value(value: &titan_value) -> Result<Self, ArgError> {
        match value.kind {
            // SAFETY: the kind says the payload is `number`.
            TITAN_F64 => Ok(unsafe { value.payload.number }),
            _ => mismatch("a number", value),
        }
    }
}

impl FromValue<'_> for f32 {
    fn from_value(value: &titan_value) -> Result<Self, ArgError> {
        f64::from_value(value).map(|n| n as f32)
    }
}

macro_rules! small_integers {
    ($($t:ty),*) => {$(
        impl FromValue<'_> for $t {
            fn from_value(value: &titan_value) -> Result<Self, ArgError> {
                let n = f64::from_value(value)?;
                if n.fract() == 0.0 && n >= <$t>::MIN as f64 && n <= <$t>::MAX as f64 {
                    Ok(n as $t)
                } else {
                    Err(ArgError(format!("must be an integer from {} to {}, got {n}", <$t>::MIN, <$t>::MAX)))
                }
            }
        }
        impl IntoValue for $t {
            fn into_value(self) -> titan_value {
                f64::from(self).into_value()
            }
        }
    )*};
}
small_integers!(i8, i16, i32, u8, u16, u32);

impl FromValue<'_> for i64 {
    fn from_value(value: &titan_value) -> Result<Self, ArgError> {
        match value.kind {
            // SAFETY: the kind says the payload is `integer`.
            TITAN_I64 => Ok(unsafe { value.payload.integer }),
            // A JS number that holds an integer exactly is accepted too.
            TITAN_F64 => {
                // SAFETY: the kind says the payload is `number`.
                let n = unsafe { value.payload.number };
                if n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_991.0 {
                    Ok(n as i64)
                } else {
                    Err(ArgError(format!("must be an integer (a bigint for large values), got {n}")))
                }
            }
            _ => mismatch("a bigint", value),
        }
    }
}

impl FromValue<'_> for u64 {
    fn from_value(value: &titan_value) -> Result<Self, ArgError> {
        let n = i64::from_value(value)?;
        u64::try_from(n).map_err(|_| ArgError(format!("must not be negative, got {n}")))
    }
}

impl<'a> FromValue<'a> for &'a str {
    fn from_value(value: &'a titan_value) -> Result<Self, ArgError> {
        match value.kind {
            TITAN_STRING => std::str::from_utf8(buffer(value)).map_err(|_| ArgError("is not valid UTF-8".into())),
            _ => mismatch("a string", value),
        }
    }
}

impl FromValue<'_> for String {
    fn from_value(value: &titan_value) -> Result<Self, ArgError> {
        <&str>::from_value(value).map(str::to_owned)
    }
}

impl<'a> FromValue<'a> for &'a [u8] {
    fn from_value(value: &'a titan_value) -> Result<Self, ArgError> {
        match value.kind {
            TITAN_BYTES => Ok(buffer(value)),
            _ => mismatch("a Uint8Array", value),
        }
    }
}

impl FromValue<'_> for Vec<u8> {
    fn from_value(value: &titan_value) -> Result<Self, ArgError> {
        <&[u8]>::from_value(value).map(<[u8]>::to_vec)
    }
}

impl<'a, T: FromValue<'a>> FromValue<'a> for Option<T> {
    fn from_value(value: &'a titan_value) -> Result<Self, ArgError> {
        match value.kind {
            TITAN_NULL => Ok(None),
            _ => T::from_value(value).map(Some),
        }
    }
}

impl FromValue<'_> for serde_json::Value {
    fn from_value(value: &titan_value) -> Result<Self, ArgError> {
        json_from_value(value)
    }
}

/// Any serde type: JSON values parse directly; scalars and strings pass through serde.
pub fn json_from_value<T: DeserializeOwned>(value: &titan_value) -> Result<T, ArgError> {
    let parsed = match value.kind {
        TITAN_JSON => serde_json::from_slice(buffer(value)),
        TITAN_NULL => serde_json::from_value(serde_json::Value::Null),
        TITAN_BOOL | TITAN_F64 | TITAN_I64 | TITAN_STRING => {
            let scalar = match value.kind {
                TITAN_BOOL => serde_json::Value::from(bool::from_value(value)?),
                TITAN_F64 => json_number(f64::from_value(value)?),
                TITAN_I64 => serde_json::Value::from(i64::from_value(value)?),
                _ => serde_json::Value::from(<&str>::from_value(value)?),
            };
            serde_json::from_value(scalar)
        }
        _ => return mismatch("a JSON value", value),
    };
    parsed.map_err(|err| ArgError(format!("does not have the expected shape: {err}")))
}

/// A JS number as serde sees it: an integral one as an integer, so that `usize`, `i128` or a
/// newtype around `u32` accept `5` (serde_json refuses a float for an integer type, while an
/// `f64` accepts an integer).
fn json_number(n: f64) -> serde_json::Value {
    const SAFE: f64 = 9_007_199_254_740_991.0;
    if n.fract() == 0.0 && n.abs() <= SAFE {
        serde_json::Value::from(n as i64)
    } else {
        serde_json::Value::from(n)
    }
}

/// Any serde type, as JSON text.
pub fn json_into_value<T: Serialize>(value: &T) -> Result<titan_value, String> {
    serde_json::to_vec(value).map(|json| owned_buffer(TITAN_JSON, json)).map_err(|err| format!("the result could not be serialized: {err}"))
}

/// A result buffer; `free_value` gives it back.
pub fn owned_buffer(kind: u32, bytes: Vec<u8>) -> titan_value {
    let boxed: Box<[u8]> = bytes.into_boxed_slice();
    let len = boxed.len();
    let ptr = Box::into_raw(boxed) as *const u8;
    titan_value { kind, reserved: 0, payload: titan_payload { buffer: titan_buffer { ptr, len } } }
}

/// Frees a buffer made by `owned_buffer`; other kinds own nothing.
///
/// # Safety
/// `value` must come from this crate's `owned_buffer` (a result or error of this extension)
/// and not have been freed before.
pub unsafe fn free_owned(value: &mut titan_value) {
    if matches!(value.kind, TITAN_STRING | TITAN_BYTES | TITAN_JSON) {
        // SAFETY: buffer kinds carry `buffer`; the caller promises it came from owned_buffer.
        let buffer = unsafe { value.payload.buffer };
        if !buffer.ptr.is_null() {
            let slice = std::ptr::slice_from_raw_parts_mut(buffer.ptr as *mut u8, buffer.len);
            // SAFETY: this is the Box<[u8]> owned_buffer leaked, given back exactly once.
            drop(unsafe { Box::from_raw(slice) });
        }
    }
    *value = titan_value::NULL;
}

impl IntoValue for () {
    fn into_value(self) -> titan_value {
        titan_value::NULL
    }
}

impl IntoValue for bool {
    fn into_value(self) -> titan_value {
        titan_value { kind: TITAN_BOOL, reserved: 0, payload: titan_payload { boolean: self } }
    }
}

impl IntoValue for f64 {
    fn into_value(self) -> titan_value {
        titan_value { kind: TITAN_F64, reserved: 0, payload: titan_payload { number: self } }
    }
}

impl IntoValue for f32 {
    fn into_value(self) -> titan_value {
        f64::from(self).into_value()
    }
}

impl IntoValue for i64 {
    fn into_value(self) -> titan_value {
        titan_value { kind: TITAN_I64, reserved: 0, payload: titan_payload { integer: self } }
    }
}

impl IntoValue for u64 {
    fn into_value(self) -> titan_value {
        // Values past i64::MAX cannot cross as an i64; they saturate rather than wrap.
        i64::try_from(self).unwrap_or(i64::MAX).into_value()
    }
}

impl IntoValue for String {
    fn into_value(self) -> titan_value {
        owned_buffer(TITAN_STRING, self.into_bytes())
    }
}

impl IntoValue for &str {
    fn into_value(self) -> titan_value {
        owned_buffer(TITAN_STRING, self.as_bytes().to_vec())
    }
}

impl IntoValue for Vec<u8> {
    fn into_value(self) -> titan_value {
        owned_buffer(TITAN_BYTES, self)
    }
}

impl IntoValue for &[u8] {
    fn into_value(self) -> titan_value {
        owned_buffer(TITAN_BYTES, self.to_vec())
    }
}

impl<T: IntoValue> IntoValue for Option<T> {
    fn into_value(self) -> titan_value {
        self.map_or(titan_value::NULL, IntoValue::into_value)
    }
}

impl IntoValue for serde_json::Value {
    fn into_value(self) -> titan_value {
        json_into_value(&self).unwrap_or(titan_value::NULL)
    }
}
