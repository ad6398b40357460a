//! Drives kitchen-sink through the raw ABI, in-process and without a host: the entry symbol, the
//! descriptor, hand-built `titan_value` arguments, results and errors handed back through
//! `free_value`, `init` with a config, `worker_init` / `worker_drop`, `unload`. This is the
//! SDK's (titan-ext's) own check that the glue it generates keeps the ABI's promises.

// Playing the host means holding raw pointers and reading the union, as the host does.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_void};
use std::sync::{Mutex, OnceLock};

use serde_json::json;
use titan_ext_sys::*;

// The symbol the rlib defines; the linker resolves it exactly as `dlsym` would in the cdylib.
unsafe extern "C" {
    fn titan_extension_entry(host_abi_version: u32) -> *const titan_extension;
}

// Keep the rlib linked even though nothing is named from it directly.
use kitchen_sink as _;

fn extension() -> &'static titan_extension {
    // SAFETY: the entry point returns a static descriptor (never null for our own ABI).
    unsafe { titan_extension_entry(TITAN_ABI_VERSION).as_ref() }.expect("a descriptor")
}

fn text(ptr: *const std::ffi::c_char) -> &'static str {
    // SAFETY: descriptor strings are static and NUL-terminated.
    unsafe { CStr::from_ptr(ptr) }.to_str().expect("UTF-8")
}

fn functions() -> &'static [titan_function_def] {
    let ext = extension();
    // SAFETY: `functions` points to `function_count` static entries.
    unsafe { std::slice::from_raw_parts(ext.functions, ext.function_count) }
}

fn function(name: &str) -> &'static titan_function_def {
    functions().iter().find(|f| text(f.name) == name).unwrap_or_else(|| panic!("no function `{name}`"))
}

// --- the host's side of values -------------------------------------------------------------------

fn null() -> titan_value {
    titan_value::NULL
}
fn boolean(b: bool) -> titan_value {
    titan_value { kind: TITAN_BOOL, reserved: 0, payload: titan_payload { boolean: b } }
}
fn number(n: f64) -> titan_value {
    titan_value { kind: TITAN_F64, reserved: 0, payload: titan_payload { number: n } }
}
fn bigint(n: i64) -> titan_value {
    titan_value { kind: TITAN_I64, reserved: 0, payload: titan_payload { integer: n } }
}
/// Borrowed: the bytes must outlive the call, as the host guarantees.
fn buffer(kind: u32, bytes: &[u8]) -> titan_value {
    titan_value { kind, reserved: 0, payload: titan_payload { buffer: titan_buffer { ptr: bytes.as_ptr(), len: bytes.len() } } }
}
fn string(s: &str) -> titan_value {
    buffer(TITAN_STRING, s.as_bytes())
}

/// A result, copied out of the extension's memory before `free_value`.
#[derive(Debug, PartialEq)]
enum Out {
    Null,
    Bool(bool),
    F64(f64),
    I64(i64),
    Str(String),
    Bytes(Vec<u8>),
    Json(serde_json::Value),
}

/// Copies a result out, then hands it back to the extension exactly once.
fn take(mut value: titan_value) -> Out {
    // SAFETY: each arm reads the payload member its kind names; buffers are the extension's,
    // alive until `free_value`.
    let out = unsafe {
        let bytes = |v: &titan_value| {
            let b = v.payload.buffer;
            assert!(!b.ptr.is_null() || b.len == 0, "a buffer with a length has a pointer");
            if b.len == 0 { Vec::new() } else { std::slice::from_raw_parts(b.ptr, b.len).to_vec() }
        };
        match value.kind {
            TITAN_NULL => Out::Null,
            TITAN_BOOL => Out::Bool(value.payload.boolean),
            TITAN_F64 => Out::F64(value.payload.number),
            TITAN_I64 => Out::I64(value.payload.integer),
            TITAN_STRING => Out::Str(String::from_utf8(bytes(&value)).expect("results are UTF-8")),
            TITAN_BYTES => Out::Bytes(bytes(&value)),
            TITAN_JSON => Out::Json(serde_json::from_slice(&bytes(&value)).expect("JSON results parse")),
            other => panic!("unknown kind {other}"),
        }
    };
    // SAFETY: a value the extension produced, freed once.
    unsafe { (extension().free_value)(&mut value) };
    assert_eq!(value.kind, TITAN_NULL, "free_value leaves a null behind");
    out
}

/// What a worker passes along with each call.
#[derive(Clone, Copy)]
struct Worker {
    id: u32,
    state: *mut c_void,
    worker_state: *mut c_void,
}

fn call_as(worker: Worker, name: &str, args: &[titan_value]) -> Result<Out, String> {
    let def = function(name);
    let call = titan_call {
        struct_size: size_of::<titan_call>() as u32,
        worker_id: worker.id,
        extension_state: worker.state,
        worker_state: worker.worker_state,
    };
    // Poisoned, so a slot the extension forgets to write is noticed.
    let mut result = titan_value { kind: 99, reserved: 0, payload: titan_payload { integer: -1 } };
    // SAFETY: a valid call, `args.len()` arguments and a writable result slot.
    let status = unsafe { (def.call)(&call, args.as_ptr(), args.len(), &mut result) };
    match (status, take(result)) {
        (TITAN_OK, out) => Ok(out),
        (TITAN_ERR, Out::Str(message)) => Err(message),
        (status, out) => panic!("status {status} with {out:?}"),
    }
}

/// Calls without state (functions that need none).
fn call(name: &str, args: &[titan_value]) -> Result<Out, String> {
    call_as(Worker { id: 0, state: std::ptr::null_mut(), worker_state: std::ptr::null_mut() }, name, args)
}

// --- the host table --------------------------------------------------------------------------------

static LOG: Mutex<Vec<(u32, String)>> = Mutex::new(Vec::new());

unsafe extern "C" fn record_log(_host_data: *mut c_void, level: u32, msg: *const u8, len: usize) {
    // SAFETY: the extension passes `len` bytes of UTF-8.
    let msg = unsafe { std::slice::from_raw_parts(msg, len) };
    LOG.lock().unwrap().push((level, String::from_utf8(msg.to_vec()).unwrap()));
}

unsafe extern "C" fn no_transports(_host_data: *mut c_void, _transport: *const c_void) -> titan_status {
    TITAN_ERR
}

struct Host(titan_host);
// SAFETY: the table is immutable and its functions are thread-safe.
unsafe impl Sync for Host {}

/// Static: the extension may keep the pointer until `unload`.
static HOST: Host = Host(titan_host {
    abi_version: TITAN_ABI_VERSION,
    struct_size: size_of::<titan_host>() as u32,
    host_data: std::ptr::null_mut(),
    log: record_log,
    register_transport: no_transports,
    data_dir: titan_buffer { ptr: std::ptr::null(), len: 0 },
});

fn init(config: &str) -> Result<*mut c_void, String> {
    let init = extension().init.expect("kitchen-sink declares init");
    let mut state = std::ptr::dangling_mut::<c_void>();
    let mut error = null();
    // SAFETY: the host table is static, the config outlives the call, the slots are writable.
    let status = unsafe { init(&HOST.0, config.as_ptr(), config.len(), &mut state, &mut error) };
    match (status, take(error)) {
        (TITAN_OK, Out::Null) => Ok(state),
        (TITAN_ERR, Out::Str(message)) => Err(message),
        (status, error) => panic!("init: status {status} with {error:?}"),
    }
}

fn start_worker(state: *mut c_void, id: u32) -> Result<Worker, String> {
    let worker_init = extension().worker_init.expect("kitchen-sink declares worker_init");
    let mut worker_state = std::ptr::null_mut();
    let mut error = null();
    // SAFETY: `state` came from init; the slots are writable.
    let status = unsafe { worker_init(state, id, &mut worker_state, &mut error) };
    match (status, take(error)) {
        (TITAN_OK, Out::Null) => Ok(Worker { id, state, worker_state }),
        (TITAN_ERR, Out::Str(message)) => Err(message),
        (status, error) => panic!("worker_init: status {status} with {error:?}"),
    }
}

fn stop_worker(worker: Worker) {
    let worker_drop = extension().worker_drop.expect("worker_init comes with worker_drop");
    // SAFETY: the state worker_init made for this worker, dropped once.
    unsafe { worker_drop(worker.state, worker.id, worker.worker_state) };
}

/// One shared state for the tests that only need one (`{"greeting":"hi"}`). Stored as an
/// address: raw pointers are not `Sync`, but the extension's state is.
fn shared_state() -> *mut c_void {
    static STATE: OnceLock<usize> = OnceLock::new();
    *STATE.get_or_init(|| init(r#"{"greeting":"hi"}"#).expect("init") as usize) as *mut c_void
}

// --- the tests -------------------------------------------------------------------------------------

#[test]
fn descriptor_header_and_function_table() {
    let ext = extension();
    assert_eq!(ext.abi_version, TITAN_ABI_VERSION);
    assert_eq!(ext.struct_size as usize, size_of::<titan_extension>());
    assert_eq!(text(ext.name), "kitchen-sink");
    assert_eq!(text(ext.version), "0.1.0");
    assert!(!text(ext.sdk_version).is_empty());
    assert!(ext.unload.is_some());

    let names: Vec<&str> = functions().iter().map(|f| text(f.name)).collect();
    assert_eq!(names.len(), 32);
    assert!(names.contains(&"camelName") && !names.contains(&"snake_name"), "renamed by #[function(name)]");
    for def in functions() {
        assert_eq!(def.struct_size as usize, size_of::<titan_function_def>());
        let signature: serde_json::Value = serde_json::from_str(text(def.signature)).expect("signature is JSON");
        assert_eq!(signature["params"].as_array().unwrap().len(), def.arity as usize, "{}", text(def.name));
    }
    // Context parameters are not JS parameters.
    assert_eq!(function("greet").arity, 1);
    assert_eq!(function("count").arity, 0);
    let add: serde_json::Value = serde_json::from_str(text(function("add_i32").signature)).unwrap();
    assert_eq!(add["params"][0]["name"], "a");
    assert_eq!(add["params"][0]["type"], "number");
    assert_eq!(add["fallible"], true);
    assert_eq!(add["returns"], "number");
}

#[test]
fn scalars_cross_both_ways() {
    assert_eq!(call("nothing", &[]), Ok(Out::Null));
    assert_eq!(call("not", &[boolean(false)]), Ok(Out::Bool(true)));
    assert_eq!(call("add", &[number(0.5), number(2.25)]), Ok(Out::F64(2.75)));
    assert_eq!(call("add_i32", &[number(-3.0), number(10.0)]), Ok(Out::F64(7.0)));
    assert_eq!(call("byte", &[number(255.0)]), Ok(Out::F64(255.0)));
    assert_eq!(call("half", &[number(3.0)]), Ok(Out::F64(1.5)));
    assert_eq!(call("big", &[bigint(1 << 40)]), Ok(Out::I64(1 << 41)));
    assert_eq!(call("big", &[number(21.0)]), Ok(Out::I64(42)), "a safe-integer number is accepted as i64");
    assert_eq!(call("big_unsigned", &[bigint(41)]), Ok(Out::I64(42)));
}

#[test]
fn bad_arguments_are_errors_naming_the_parameter() {
    assert_eq!(call("add_i32", &[number(1.5), number(1.0)]), Err("argument `a` must be an integer from -2147483648 to 2147483647, got 1.5".into()));
    assert_eq!(call("add_i32", &[number(1.0), number(2147483648.0)]), Err("argument `b` must be an integer from -2147483648 to 2147483647, got 2147483648".into()));
    assert_eq!(call("add_i32", &[number(2147483647.0), number(1.0)]), Err("2147483647 + 1 overflows i32".into()));
    assert_eq!(call("byte", &[number(256.0)]), Err("argument `n` must be an integer from 0 to 255, got 256".into()));
    assert_eq!(call("add", &[string("1"), number(1.0)]), Err("argument `a` must be a number, got a string".into()));
    assert_eq!(call("not", &[]), Err("argument `b` must be a boolean, got null".into()), "a missing argument is null");
    assert_eq!(call("big", &[number(9007199254740992.0)]), Err("argument `n` must be an integer (a bigint for large values), got 9007199254740992".into()));
    assert_eq!(call("big_unsigned", &[bigint(-1)]), Err("argument `n` must not be negative, got -1".into()));
    assert_eq!(call("shout", &[buffer(TITAN_STRING, &[0xff, 0xfe])]), Err("argument `s` is not valid UTF-8".into()));
    assert_eq!(call("reverse", &[string("abc")]), Err("argument `b` must be a Uint8Array, got a string".into()));
}

#[test]
fn strings_and_bytes_cross_without_serialization() {
    assert_eq!(call("shout", &[string("hey")]), Ok(Out::Str("HEY!".into())));
    assert_eq!(call("shout", &[string("")]), Ok(Out::Str("!".into())));
    assert_eq!(call("len", &[string("é")]), Ok(Out::F64(2.0)));
    assert_eq!(call("repeat", &[string("ab"), number(2.0)]), Ok(Out::Str("abab".into())));
    assert_eq!(call("reverse", &[buffer(TITAN_BYTES, &[1, 2, 3])]), Ok(Out::Bytes(vec![3, 2, 1])));
    assert_eq!(call("reverse", &[buffer(TITAN_BYTES, &[])]), Ok(Out::Bytes(vec![])));
    // An empty buffer may come with a null pointer.
    let empty = titan_value { kind: TITAN_BYTES, reserved: 0, payload: titan_payload { buffer: titan_buffer { ptr: std::ptr::null(), len: 0 } } };
    assert_eq!(call("reverse", &[empty]), Ok(Out::Bytes(vec![])));
    assert_eq!(call("maybe", &[null()]), Ok(Out::Null));
    assert_eq!(call("maybe", &[string("so")]), Ok(Out::Str("maybe so".into())));
    assert_eq!(call("version", &[]), Ok(Out::Str("0.1.0".into())));
    assert_eq!(call("camelName", &[]), Ok(Out::Str("snake_name".into())));
}

#[test]
fn structured_values_cross_as_json() {
    let user = br#"{"name":"Ada","tags":["b","a"],"age":36}"#;
    assert_eq!(
        call("describe", &[buffer(TITAN_JSON, user)]),
        Ok(Out::Json(json!({"label": "Ada (2 tags)", "sorted_tags": ["a", "b"], "age_next_year": 37})))
    );
    let err = call("describe", &[buffer(TITAN_JSON, br#"{"name":"Ada"}"#)]).unwrap_err();
    assert!(err.starts_with("argument `user` does not have the expected shape: missing field `tags`"), "{err}");
    assert_eq!(call("user_name", &[null()]), Ok(Out::Null));
    assert_eq!(call("user_name", &[buffer(TITAN_JSON, user)]), Ok(Out::Str("Ada".into())));
    assert_eq!(
        call("users", &[number(2.0)]),
        Ok(Out::Json(json!([{"name": "user0", "tags": [], "age": 0}, {"name": "user1", "tags": [], "age": 1}])))
    );
    assert_eq!(call("sum", &[buffer(TITAN_JSON, b"[1, 2.5, 3]")]), Ok(Out::F64(6.5)));
    let value = json!({"a": [1, null, true, "x"], "b": {"c": 1.5}});
    let text = value.to_string();
    assert_eq!(call("echo_json", &[buffer(TITAN_JSON, text.as_bytes())]), Ok(Out::Json(value)));
    assert_eq!(call("echo_json", &[string("plain")]), Ok(Out::Json(json!("plain"))));
    assert_eq!(call("echo_json", &[null()]), Ok(Out::Json(json!(null))));
    assert!(call("sum", &[buffer(TITAN_JSON, b"[1,")]).unwrap_err().starts_with("argument `values` does not have the expected shape"));
}

#[test]
fn errors_and_panics_come_back_as_titan_err_with_the_message() {
    assert_eq!(call("fail", &[string("nope")]), Err("nope".into()));
    assert_eq!(call("boom", &[]), Err("panicked: boom: kitchen-sink panicked on purpose".into()));
    // The extension is still fine afterwards.
    assert_eq!(call("not", &[boolean(true)]), Ok(Out::Bool(false)));
    // State accessors fail the call (not the process) when there is no state.
    let err = call("greet", &[string("x")]).unwrap_err();
    assert!(err.starts_with("panicked: this extension has no state"), "{err}");
}

#[test]
fn init_reads_the_config() {
    let worker = Worker { id: 1, state: shared_state(), worker_state: std::ptr::null_mut() };
    assert_eq!(call_as(worker, "greet", &[string("Ada")]), Ok(Out::Str("hi, Ada!".into())));

    let defaults = init("").expect("an absent config is null");
    let worker = Worker { id: 1, state: defaults, worker_state: std::ptr::null_mut() };
    assert_eq!(call_as(worker, "greet", &[string("Ada")]), Ok(Out::Str("hello, Ada!".into())));
    let null_config = init("null").expect("a null config");
    assert_eq!(call_as(Worker { state: null_config, ..worker }, "greet", &[string("Bo")]), Ok(Out::Str("hello, Bo!".into())));

    assert_eq!(init(r#"{"fail_init":"no database"}"#), Err("no database".into()));
    assert_eq!(init(r#"{"panic_init":true}"#), Err("init panicked: kitchen-sink init panicked on purpose".into()));
    assert!(init("{").unwrap_err().starts_with("config is not valid JSON"));
    assert!(init(r#"{"greeting":5}"#).unwrap_err().starts_with("kitchen-sink config: invalid type"));
}

#[test]
fn lifecycle_worker_state_logging_unload() {
    let state = init(r#"{"greeting":"yo","fail_worker_init":13}"#).expect("init");

    LOG.lock().unwrap().clear();
    call("log", &[string("warn"), string("careful")]).expect("log");
    call("log", &[string("debug"), string("détail")]).expect("log");
    assert!(LOG.lock().unwrap().ends_with(&[(TITAN_LOG_WARN, "careful".into()), (TITAN_LOG_DEBUG, "détail".into())]));
    assert_eq!(call("log", &[string("loud"), string("x")]), Err("unknown log level `loud`".into()));

    let live = |w| match call_as(w, "live_workers", &[]) {
        Ok(Out::F64(n)) => n,
        other => panic!("{other:?}"),
    };
    let a = start_worker(state, 7).expect("worker 7");
    let b = start_worker(state, 8).expect("worker 8");
    assert_eq!(start_worker(state, 13).map(|_| ()), Err("kitchen-sink refuses worker 13".into()));
    assert_eq!(live(a), 2.0);
    for expected in 1..=3 {
        assert_eq!(call_as(a, "count", &[]), Ok(Out::F64(f64::from(expected))));
    }
    assert_eq!(call_as(b, "count", &[]), Ok(Out::F64(1.0)), "each worker has its own counter");
    assert_eq!(call_as(a, "worker_id", &[]), Ok(Out::F64(7.0)));
    assert_eq!(call_as(b, "worker_id", &[]), Ok(Out::F64(8.0)));
    assert_eq!(call_as(a, "greet", &[string("Cy")]), Ok(Out::Str("yo, Cy!".into())));
    assert!(call_as(Worker { id: 9, ..a }, "worker_id", &[]).unwrap_err().contains("worker 9 was handed worker 7's state"));

    stop_worker(a);
    assert_eq!(live(b), 1.0);
    stop_worker(b);
    assert_eq!(live(b), 0.0);

    // SAFETY: `state` came from init; no call uses it afterwards.
    unsafe { (extension().unload.expect("unload"))(state) };
}

#[test]
fn calls_run_concurrently() {
    let threads: Vec<_> = (0..4).map(|_| std::thread::spawn(|| call("sleep_ms", &[number(150.0)]))).collect();
    for thread in threads {
        assert_eq!(thread.join().unwrap(), Ok(Out::Null));
    }
    match call("max_concurrency", &[]) {
        Ok(Out::F64(n)) => assert!(n >= 2.0, "calls overlapped: {n}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn results_are_owned_until_free_value() {
    assert_eq!(call("alloc", &[number(1000.0)]), Ok(Out::Bytes(vec![232; 1000])));
    assert_eq!(call("alloc", &[number(0.0)]), Ok(Out::Bytes(vec![])));
    assert_eq!(call("alloc_string", &[number(3.0)]), Ok(Out::Str("xxx".into())));
    assert!(matches!(call("heap_in_use", &[]), Ok(Out::F64(n)) if n > 0.0));
    // free_value on a value without a buffer is harmless.
    assert_eq!(take(number(1.0)), Out::F64(1.0));
    assert_eq!(take(null()), Out::Null);
}
