//! ABI-level smoke test: the db engine exports itself through the same descriptor as any user
//! extension (`titan_ext::extension!` with `static_entry`), and works when driven only through
//! that descriptor, as the runtime drives it: init with its config, worker_init, calls with
//! `titan_value` arguments, results and errors handed back through `free_value`, worker_drop,
//! unload.

// Playing the host means holding raw pointers and reading the union, as the host does.
#![allow(unsafe_code)]

mod common;

use std::ffi::{CStr, c_char, c_void};
use std::ptr;

use common::temp_dir;
use serde_json::{Value, json};
use titan_engine_db::db_extension;
use titan_ext_sys::*;

fn text(ptr: *const c_char) -> &'static str {
    // SAFETY: descriptor strings are static and NUL-terminated.
    unsafe { CStr::from_ptr(ptr) }.to_str().expect("UTF-8")
}

fn descriptor() -> &'static titan_extension {
    // SAFETY: a static descriptor, never null for our own ABI version.
    unsafe { db_extension().as_ref() }.expect("a descriptor")
}

fn functions() -> &'static [titan_function_def] {
    let ext = descriptor();
    // SAFETY: `functions` points to `function_count` static entries.
    unsafe { std::slice::from_raw_parts(ext.functions, ext.function_count) }
}

fn string(s: &str) -> titan_value {
    titan_value { kind: TITAN_STRING, reserved: 0, payload: titan_payload { buffer: titan_buffer { ptr: s.as_ptr(), len: s.len() } } }
}

fn json_arg(s: &str) -> titan_value {
    titan_value { kind: TITAN_JSON, reserved: 0, payload: titan_payload { buffer: titan_buffer { ptr: s.as_ptr(), len: s.len() } } }
}

/// Copies a result out as JSON (strings as JSON strings), then frees it through the extension.
fn take(mut value: titan_value) -> Value {
    // SAFETY: each arm reads the member its kind names; buffers live until free_value.
    let out = unsafe {
        let bytes = |v: &titan_value| {
            let b = v.payload.buffer;
            if b.len == 0 { Vec::new() } else { std::slice::from_raw_parts(b.ptr, b.len).to_vec() }
        };
        match value.kind {
            TITAN_NULL => Value::Null,
            TITAN_BOOL => Value::Bool(value.payload.boolean),
            TITAN_F64 => json!(value.payload.number),
            TITAN_STRING => Value::String(String::from_utf8(bytes(&value)).unwrap()),
            TITAN_JSON => serde_json::from_slice(&bytes(&value)).unwrap(),
            other => panic!("unexpected kind {other}"),
        }
    };
    // SAFETY: a value this extension produced, freed once.
    unsafe { (descriptor().free_value)(&mut value) };
    out
}

struct Worker {
    state: *mut c_void,
    worker_state: *mut c_void,
}

impl Worker {
    fn call(&self, name: &str, args: &[titan_value]) -> Result<Value, String> {
        let def = functions().iter().find(|f| text(f.name) == name).unwrap_or_else(|| panic!("no function {name}"));
        assert_eq!(def.arity as usize, args.len(), "{name}'s arity");
        let call = titan_call { struct_size: size_of::<titan_call>() as u32, worker_id: 1, extension_state: self.state, worker_state: self.worker_state };
        let mut result = titan_value::NULL;
        // SAFETY: valid call, arguments and result slot for the call's duration.
        let status = unsafe { (def.call)(&call, args.as_ptr(), args.len(), &mut result) };
        let value = take(result);
        match status {
            TITAN_OK => Ok(value),
            _ => Err(value.as_str().expect("errors are strings").to_owned()),
        }
    }
}

unsafe extern "C" fn log(_host_data: *mut c_void, _level: u32, _msg: *const u8, _len: usize) {}
unsafe extern "C" fn register_transport(_host_data: *mut c_void, _transport: *const c_void) -> titan_status {
    TITAN_ERR
}

#[test]
fn descriptor_names_the_engine_and_its_functions() {
    let ext = descriptor();
    assert_eq!(ext.abi_version, TITAN_ABI_VERSION);
    assert_eq!(ext.struct_size as usize, size_of::<titan_extension>());
    assert_eq!(text(ext.name), "db");
    assert_eq!(text(ext.version), env!("CARGO_PKG_VERSION"));
    assert!(ext.init.is_some() && ext.worker_init.is_some() && ext.worker_drop.is_some() && ext.unload.is_some());

    let names: Vec<&str> = functions().iter().map(|f| text(f.name)).collect();
    assert_eq!(names, ["query", "exec", "execBatch", "begin", "commit", "rollback", "inTransaction"]);
    for def in functions() {
        let signature: Value = serde_json::from_str(text(def.signature)).expect("signatures are JSON");
        assert!(!signature["doc"].as_str().unwrap().is_empty(), "{} has a doc comment", text(def.name));
        assert_eq!(signature["params"].as_array().unwrap().len(), def.arity as usize);
    }
    let query = functions().iter().find(|f| text(f.name) == "query").unwrap();
    let signature: Value = serde_json::from_str(text(query.signature)).unwrap();
    assert_eq!(signature["params"][0]["name"], "sql");
    assert_eq!(signature["fallible"], true);
}

#[test]
fn driven_through_the_descriptor_alone() {
    let dir = temp_dir("abi");
    let ext = descriptor();
    let host = titan_host {
        abi_version: TITAN_ABI_VERSION,
        struct_size: size_of::<titan_host>() as u32,
        host_data: ptr::null_mut(),
        log,
        register_transport,
        data_dir: titan_buffer { ptr: ptr::null(), len: 0 },
    };

    // init: a bad config is refused with a message; a good one gives the state.
    let mut state = ptr::null_mut();
    let mut error = titan_value::NULL;
    let bad = br#"{"path":"relative.db"}"#;
    // SAFETY: the host side of init, as the ABI states.
    let status = unsafe { (ext.init.unwrap())(&host, bad.as_ptr(), bad.len(), &mut state, &mut error) };
    assert_eq!(status, TITAN_ERR);
    assert!(take(error).as_str().unwrap().contains("must be absolute"));

    let config = json!({ "path": dir.path().join("abi.db") }).to_string();
    let mut error = titan_value::NULL;
    // SAFETY: as above.
    let status = unsafe { (ext.init.unwrap())(&host, config.as_ptr(), config.len(), &mut state, &mut error) };
    assert_eq!(status, TITAN_OK);
    assert!(!state.is_null());

    let mut worker_state = ptr::null_mut();
    // SAFETY: the host side of worker_init.
    let status = unsafe { (ext.worker_init.unwrap())(state, 1, &mut worker_state, &mut error) };
    assert_eq!(status, TITAN_OK);
    let worker = Worker { state, worker_state };

    let null = titan_value::NULL;
    worker.call("execBatch", &[string("CREATE TABLE kv (k TEXT PRIMARY KEY, v)")]).unwrap();
    let inserted = worker.call("exec", &[string("INSERT INTO kv VALUES (?, ?), (?, ?)"), json_arg(r#"["a", 1, "b", {"$bigint": "9007199254740993"}]"#)]).unwrap();
    assert_eq!(inserted, json!({ "changes": 2.0, "lastInsertRowid": 2.0 }));
    let rows = worker.call("query", &[string("SELECT v, k FROM kv ORDER BY k"), null]).unwrap();
    assert_eq!(rows, json!([{ "v": 1, "k": "a" }, { "v": { "$bigint": "9007199254740993" }, "k": "b" }]));

    worker.call("begin", &[]).unwrap();
    assert_eq!(worker.call("inTransaction", &[]).unwrap(), json!(true));
    worker.call("exec", &[string("DELETE FROM kv"), null]).unwrap();
    worker.call("rollback", &[]).unwrap();
    assert_eq!(worker.call("inTransaction", &[]).unwrap(), json!(false));
    assert_eq!(worker.call("query", &[string("SELECT count(*) AS n FROM kv"), null]).unwrap(), json!([{ "n": 2 }]));

    // Errors come back as values; bad arguments are named by the glue.
    let err = worker.call("query", &[string("SELEC 1"), null]).unwrap_err();
    assert!(err.contains("syntax error") && err.contains("SELEC 1"), "{err}");
    let err = worker.call("exec", &[string("SELECT ?"), json_arg(r#"[[1]]"#)]).unwrap_err();
    assert!(err.starts_with("params[0]: arrays cannot be bound"), "{err}");
    let err = worker.call("query", &[null, null]).unwrap_err();
    assert!(err.contains("argument `sql`"), "{err}");

    // SAFETY: the host side of teardown: each worker's state once, then the extension's.
    unsafe {
        (ext.worker_drop.unwrap())(state, 1, worker_state);
        (ext.unload.unwrap())(state);
    }
}
