//! Plain C functions as Titan Planet's classic extensions export them, exercising every type and
//! arities Titan Planet's own loader cannot dispatch. Strings come in as NUL-terminated UTF-8 and
//! go out as `char*` allocated here and freed by `planet_free` (named by `native.free`).
// These are C entry points called through libffi, never from Rust: their raw-pointer parameters
// are the C contract, so they stay safe-looking `extern "C"` functions as a C library would export.
#![allow(unsafe_code, clippy::missing_safety_doc, clippy::not_unsafe_ptr_arg_deref)]

use std::ffi::{CStr, CString, c_char};
use std::sync::atomic::{AtomicU32, Ordering};

fn text(ptr: *const c_char) -> String {
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: the host passes NUL-terminated strings that live for the call.
    unsafe { CStr::from_ptr(ptr) }.to_string_lossy().into_owned()
}

fn out(s: String) -> *mut c_char {
    CString::new(s).unwrap_or_default().into_raw()
}

/// Frees strings returned by this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn planet_free(ptr: *mut c_char) {
    if !ptr.is_null() {
        // SAFETY: made by `out` (CString::into_raw), freed once.
        drop(unsafe { CString::from_raw(ptr) });
    }
}

/// `(f64, f64) -> f64`, the Titan Planet template's example.
#[unsafe(no_mangle)]
pub extern "C" fn planet_add(a: f64, b: f64) -> f64 {
    a + b
}

/// `(string) -> string`.
#[unsafe(no_mangle)]
pub extern "C" fn planet_greet(name: *const c_char) -> *mut c_char {
    out(format!("hello, {}", text(name)))
}

/// `(f64) -> bool`.
#[unsafe(no_mangle)]
pub extern "C" fn planet_is_even(n: f64) -> bool {
    n % 2.0 == 0.0
}

/// `(json) -> json`: sums the numbers of an array, returns `{ "sum": n, "count": k }`.
#[unsafe(no_mangle)]
pub extern "C" fn planet_stats(json: *const c_char) -> *mut c_char {
    let values: Vec<f64> = serde_json::from_str(&text(json)).unwrap_or_default();
    out(serde_json::json!({ "sum": values.iter().sum::<f64>(), "count": values.len() }).to_string())
}

/// `(buffer) -> f64`: the sum of the bytes (a buffer is `const uint8_t*, size_t`).
#[unsafe(no_mangle)]
pub extern "C" fn planet_byte_sum(data: *const u8, len: usize) -> f64 {
    if data.is_null() {
        return 0.0;
    }
    // SAFETY: `len` bytes at `data`, borrowed for the call.
    unsafe { std::slice::from_raw_parts(data, len) }.iter().map(|b| f64::from(*b)).sum()
}

/// Seven parameters of every type: `(string, f64, bool, json, buffer, f64, string) -> string`.
#[unsafe(no_mangle)]
pub extern "C" fn planet_everything(
    s: *const c_char,
    n: f64,
    flag: bool,
    json: *const c_char,
    data: *const u8,
    len: usize,
    m: f64,
    t: *const c_char,
) -> *mut c_char {
    // SAFETY: as in planet_byte_sum.
    let bytes = if data.is_null() { &[][..] } else { unsafe { std::slice::from_raw_parts(data, len) } };
    out(format!("{}|{n}|{flag}|{}|{:?}|{m}|{}", text(s), text(json), bytes, text(t)))
}

static CALLS: AtomicU32 = AtomicU32::new(0);

/// `() -> void`, with a side effect.
#[unsafe(no_mangle)]
pub extern "C" fn planet_touch() {
    CALLS.fetch_add(1, Ordering::SeqCst);
}

/// `() -> f64`: how many times `touch` ran.
#[unsafe(no_mangle)]
pub extern "C" fn planet_touches() -> f64 {
    f64::from(CALLS.load(Ordering::SeqCst))
}
