//! `#[function]` and `extension!` as an author uses them, called through the descriptor they
//! build: `static_entry` (the built-in engines' form), an empty function list, names that the
//! generated glue must not shadow, and types that only serde knows (`usize`).

#![allow(unsafe_code)] // the test plays the host

use std::ffi::CStr;

use titan_ext::function;
use titan_ext_sys::*;

/// Named like the glue's own parameters.
#[function]
fn result(call: u32, args: &str) -> String {
    format!("{call} {args}")
}

/// `usize` is not a direct type: it crosses through serde, from a JS number.
#[function]
fn repeat(text: &str, times: usize) -> String {
    text.repeat(times)
}

mod nested {
    /// Reached through a path in `extension!`.
    #[titan_ext::function(name = "nestedName")]
    pub fn inner() -> &'static str {
        "inner"
    }
}

titan_ext::extension! {
    functions: [result, repeat, nested::inner],
    static_entry: engine_descriptor,
}

mod empty {
    titan_ext::extension! { functions: [], static_entry: empty_descriptor }
}

fn call(def: &titan_function_def, args: &[titan_value]) -> (titan_status, String) {
    let call = titan_call { struct_size: size_of::<titan_call>() as u32, worker_id: 0, extension_state: std::ptr::null_mut(), worker_state: std::ptr::null_mut() };
    let mut out = titan_value::NULL;
    // SAFETY: a valid call, `args.len()` arguments, a writable result.
    let status = unsafe { (def.call)(&call, args.as_ptr(), args.len(), &mut out) };
    assert_eq!(out.kind, TITAN_STRING);
    // SAFETY: a string result owned by the extension until free_value.
    let text = unsafe { String::from_utf8_lossy(std::slice::from_raw_parts(out.payload.buffer.ptr, out.payload.buffer.len)).into_owned() };
    // SAFETY: freed once.
    unsafe { ((*engine_descriptor()).free_value)(&mut out) };
    (status, text)
}

fn number(n: f64) -> titan_value {
    titan_value { kind: TITAN_F64, reserved: 0, payload: titan_payload { number: n } }
}

fn string(s: &str) -> titan_value {
    titan_value { kind: TITAN_STRING, reserved: 0, payload: titan_payload { buffer: titan_buffer { ptr: s.as_ptr(), len: s.len() } } }
}

#[test]
fn static_entry_builds_a_complete_descriptor() {
    // SAFETY: a static descriptor.
    let ext = unsafe { &*engine_descriptor() };
    assert_eq!(ext.abi_version, TITAN_ABI_VERSION);
    // SAFETY: static NUL-terminated strings.
    let name = |p| unsafe { CStr::from_ptr(p) }.to_str().unwrap();
    assert_eq!(name(ext.name), "titan-ext", "the crate that invoked extension!");
    assert_eq!(name(ext.sdk_version), env!("CARGO_PKG_VERSION"));
    // SAFETY: `function_count` entries.
    let functions = unsafe { std::slice::from_raw_parts(ext.functions, ext.function_count) };
    let names: Vec<&str> = functions.iter().map(|f| name(f.name)).collect();
    assert_eq!(names, ["result", "repeat", "nestedName"]);

    assert_eq!(call(&functions[0], &[number(7.0), string("ok")]), (TITAN_OK, "7 ok".into()));
    assert_eq!(call(&functions[1], &[string("ab"), number(3.0)]), (TITAN_OK, "ababab".into()));
    assert_eq!(call(&functions[1], &[string("ab"), number(1.5)]).0, TITAN_ERR);
    assert_eq!(call(&functions[2], &[]), (TITAN_OK, "inner".into()));
}

#[test]
fn an_extension_may_export_no_functions() {
    // SAFETY: a static descriptor.
    let ext = unsafe { &*empty::empty_descriptor() };
    assert_eq!(ext.function_count, 0);
    assert!(ext.init.is_some(), "a stateless init still records the host table");
    assert!(ext.worker_init.is_none() && ext.worker_drop.is_none());
}
