//! Support for the code `#[function]` and `extension!` generate. Not a public API: its shape
//! follows the macros.
#![doc(hidden)]

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::ffi::{CStr, c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicPtr, Ordering};

pub use serde_json;
pub use titan_ext_sys as sys;
use titan_ext_sys::*;

use crate::context::{Context, SharedState, WorkerState};
use crate::value::{ArgError, FromValue, IntoValue, json_from_value, json_into_value, owned_buffer};

/// Makes a struct of raw pointers usable in a `static`: descriptors are immutable and live as
/// long as the library.
#[repr(transparent)]
pub struct Static<T>(pub T);
// SAFETY: wrapped values are immutable descriptors whose pointers reference 'static data.
unsafe impl<T> Sync for Static<T> {}

/// A function definition for the descriptor table.
pub const fn function_def(name: &'static CStr, arity: u32, call: titan_fn, signature: &'static CStr) -> titan_function_def {
    titan_function_def {
        struct_size: std::mem::size_of::<titan_function_def>() as u32,
        arity,
        name: name.as_ptr(),
        call,
        signature: signature.as_ptr(),
    }
}

pub(crate) fn error_value(message: String) -> titan_value {
    owned_buffer(TITAN_STRING, message.into_bytes())
}

pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// Runs one call: converts, calls, converts back; an `Err` or a panic becomes `TITAN_ERR`
/// with a message, and never unwinds into the host.
///
/// # Safety
/// The pointers are the host's, valid for the call, as the ABI states.
pub unsafe fn invoke(
    call: *const titan_call,
    args: *const titan_value,
    argc: usize,
    result: *mut titan_value,
    body: impl FnOnce(&Context<'_>, &[titan_value]) -> Result<titan_value, String>,
) -> titan_status {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the host passes a valid call and `argc` arguments for the call's duration.
        let (call, args) = unsafe { (&*call, if argc == 0 { &[][..] } else { std::slice::from_raw_parts(args, argc) }) };
        body(&Context { call }, args)
    }));
    let (status, value) = match outcome {
        Ok(Ok(value)) => (TITAN_OK, value),
        Ok(Err(message)) => (TITAN_ERR, error_value(message)),
        Err(payload) => (TITAN_ERR, error_value(format!("panicked: {}", panic_message(payload.as_ref())))),
    };
    // SAFETY: the host passes a writable result slot.
    unsafe { result.write(value) };
    status
}

/// Argument `index`, converted without serialization.
pub fn arg<'a, T: FromValue<'a>>(args: &'a [titan_value], index: usize, name: &str) -> Result<T, String> {
    T::from_value(args.get(index).unwrap_or(&titan_value::NULL)).map_err(|ArgError(why)| format!("argument `{name}` {why}"))
}

/// Argument `index`, any serde type through JSON.
pub fn arg_json<T: serde::de::DeserializeOwned>(args: &[titan_value], index: usize, name: &str) -> Result<T, String> {
    json_from_value(args.get(index).unwrap_or(&titan_value::NULL)).map_err(|ArgError(why)| format!("argument `{name}` {why}"))
}

/// A result that crosses without serialization.
pub fn ret<T: IntoValue>(value: T) -> Result<titan_value, String> {
    Ok(value.into_value())
}

/// A serde result, as JSON.
pub fn ret_json<T: serde::Serialize>(value: T) -> Result<titan_value, String> {
    json_into_value(&value)
}

/// `Result<T, E: Display>` → the message of `E`.
pub fn err<E: std::fmt::Display>(error: E) -> String {
    error.to_string()
}

// --- lifecycle -----------------------------------------------------------------------------

static HOST: AtomicPtr<titan_host> = AtomicPtr::new(std::ptr::null_mut());

/// The app data directory from the host table `init` received, copied out of it: `unload`
/// forgets the host pointer (and the built-in engines, linked into one image, share these
/// globals), but the directory stays readable for the life of the process.
static DATA_DIR: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Records the host table `init` received: the pointer for logging, and a copy of its data
/// directory when the host's table is new enough to have one.
///
/// # Safety
/// `host` is null or the host's table, valid for this call.
unsafe fn record_host(host: *const titan_host) -> Option<PathBuf> {
    HOST.store(host as *mut titan_host, Ordering::Release);
    // SAFETY: see above; `data_dir` is read only when the host's `struct_size` covers it.
    let data_dir = unsafe { host.as_ref() }.filter(|h| titan_host::has_data_dir(h.struct_size)).and_then(|h| {
        let buffer = h.data_dir;
        if buffer.ptr.is_null() || buffer.len == 0 {
            return None;
        }
        // SAFETY: the host passes `len` bytes of UTF-8, valid for the call at least.
        let bytes = unsafe { std::slice::from_raw_parts(buffer.ptr, buffer.len) };
        std::str::from_utf8(bytes).ok().map(PathBuf::from)
    });
    *DATA_DIR.lock().unwrap_or_else(|e| e.into_inner()) = data_dir.clone();
    data_dir
}

thread_local! {
    /// The data directory of the `init` running on this thread: exact even when the host
    /// initializes this image more than once at the same time (one library, several loads).
    static INIT_DATA_DIR: RefCell<Option<Option<PathBuf>>> = const { RefCell::new(None) };
    /// The host table of the `init` running on this thread, for `transport::register`: host
    /// functions that only make sense during `init` reach the right host this way.
    static INIT_HOST: Cell<*const titan_host> = const { Cell::new(std::ptr::null()) };
}

/// The host table of the `init` running on this thread; `None` outside `init`.
pub(crate) fn init_host() -> Option<&'static titan_host> {
    let host = INIT_HOST.with(Cell::get);
    // SAFETY: set only while `init` runs, from the table the host passed to it, which the host
    // keeps alive until `unload` (longer than `init`).
    (!host.is_null()).then(|| unsafe { &*host })
}

/// See `crate::data_dir`.
pub(crate) fn data_dir() -> Option<PathBuf> {
    if let Some(during_init) = INIT_DATA_DIR.with(|dir| dir.borrow().clone()) {
        return during_init;
    }
    DATA_DIR.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Runs an author's `init` with `data_dir()` and `transport::register` answering for this
/// host table.
fn with_init_context<T>(host: *const titan_host, dir: Option<PathBuf>, init: impl FnOnce() -> T) -> T {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            INIT_DATA_DIR.with(|dir| dir.borrow_mut().take());
            INIT_HOST.with(|host| host.set(std::ptr::null()));
        }
    }
    INIT_DATA_DIR.with(|slot| *slot.borrow_mut() = Some(dir));
    INIT_HOST.with(|slot| slot.set(host));
    let _reset = Reset;
    init()
}

/// The host table `init` received, for `titan_ext::log`.
pub(crate) fn host() -> Option<&'static titan_host> {
    let host = HOST.load(Ordering::Acquire);
    // SAFETY: the host keeps its table alive until `unload`, as the ABI states.
    (!host.is_null()).then(|| unsafe { &*host })
}

/// `init` for extensions with state: parses the config and calls the author's `init`.
///
/// # Safety
/// The pointers are the host's, as the ABI states.
pub unsafe fn init_with<S: Any + Send + Sync, E: std::fmt::Display>(
    host: *const titan_host,
    config: *const u8,
    config_len: usize,
    state: *mut *mut c_void,
    error: *mut titan_value,
    init: fn(serde_json::Value) -> Result<S, E>,
) -> titan_status {
    // SAFETY: the host's table, valid for the call.
    let data_dir = unsafe { record_host(host) };
    let outcome = with_init_context(host, data_dir, || catch_unwind(|| {
        // SAFETY: the host passes `config_len` bytes of UTF-8 JSON.
        let text = if config_len == 0 { &[][..] } else { unsafe { std::slice::from_raw_parts(config, config_len) } };
        let config: serde_json::Value = if text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(text).map_err(|e| format!("config is not valid JSON: {e}"))?
        };
        init(config).map_err(|e| e.to_string())
    }));
    match outcome {
        Ok(Ok(value)) => {
            let shared = Box::new(SharedState(Box::new(value)));
            // SAFETY: the host passes a writable slot.
            unsafe { state.write(Box::into_raw(shared).cast()) };
            TITAN_OK
        }
        Ok(Err(message)) => {
            // SAFETY: the host passes a writable slot.
            unsafe { error.write(error_value(message)) };
            TITAN_ERR
        }
        Err(payload) => {
            // SAFETY: as above.
            unsafe { error.write(error_value(format!("init panicked: {}", panic_message(payload.as_ref())))) };
            TITAN_ERR
        }
    }
}

/// `init` for extensions without state: only records the host.
///
/// # Safety
/// As the ABI states.
pub unsafe extern "C" fn init_stateless(
    host: *const titan_host,
    _config: *const u8,
    _config_len: usize,
    state: *mut *mut c_void,
    _error: *mut titan_value,
) -> titan_status {
    // SAFETY: the host's table, valid for the call.
    let _ = unsafe { record_host(host) };
    // SAFETY: the host passes a writable slot.
    unsafe { state.write(std::ptr::null_mut()) };
    TITAN_OK
}

/// `worker_init`: calls the author's function with the shared state.
///
/// # Safety
/// As the ABI states.
pub unsafe fn worker_init_with<S: Any + Send + Sync, W: Any, E: std::fmt::Display>(
    state: *mut c_void,
    worker_id: u32,
    worker_state: *mut *mut c_void,
    error: *mut titan_value,
    init: fn(Option<&S>, u32) -> Result<W, E>,
) -> titan_status {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let shared = (!state.is_null()).then(|| {
            // SAFETY: `state` is the SharedState `init_with` made.
            let shared = unsafe { &*(state as *const SharedState) };
            shared.0.downcast_ref::<S>().expect("state type matches the extension's init")
        });
        init(shared, worker_id).map_err(|e| e.to_string())
    }));
    let message = match outcome {
        Ok(Ok(value)) => {
            let boxed = Box::new(WorkerState(RefCell::new(Box::new(value))));
            // SAFETY: the host passes a writable slot.
            unsafe { worker_state.write(Box::into_raw(boxed).cast()) };
            return TITAN_OK;
        }
        Ok(Err(message)) => message,
        Err(payload) => format!("worker_init panicked: {}", panic_message(payload.as_ref())),
    };
    // SAFETY: the host passes a writable slot.
    unsafe { error.write(error_value(message)) };
    TITAN_ERR
}

/// `worker_drop`: drops the worker's state on its thread.
///
/// # Safety
/// `worker_state` is what `worker_init_with` produced, passed once.
pub unsafe extern "C" fn worker_drop(_state: *mut c_void, _worker_id: u32, worker_state: *mut c_void) {
    if !worker_state.is_null() {
        // SAFETY: see above.
        drop(unsafe { Box::from_raw(worker_state as *mut WorkerState) });
    }
}

/// `unload`: drops the shared state, then forgets the host.
///
/// # Safety
/// `state` is what `init` produced, passed once after the last call.
pub unsafe extern "C" fn unload(state: *mut c_void) {
    if !state.is_null() {
        // SAFETY: see above.
        drop(unsafe { Box::from_raw(state as *mut SharedState) });
    }
    HOST.store(std::ptr::null_mut(), Ordering::Release);
}

/// `free_value`.
///
/// # Safety
/// `value` is a result or error this extension produced, freed once.
pub unsafe extern "C" fn free_value(value: *mut titan_value) {
    if !value.is_null() {
        // SAFETY: see above.
        unsafe { crate::value::free_owned(&mut *value) };
    }
}

/// The descriptor, from the pieces `extension!` gathers.
pub const fn descriptor(
    name: &'static CStr,
    version: &'static CStr,
    functions: &'static [titan_function_def],
    init: Option<titan_init_fn>,
    worker_init: Option<titan_worker_init_fn>,
) -> titan_extension {
    titan_extension {
        abi_version: TITAN_ABI_VERSION,
        struct_size: std::mem::size_of::<titan_extension>() as u32,
        name: name.as_ptr(),
        version: version.as_ptr(),
        sdk_version: SDK_VERSION.as_ptr(),
        functions: functions.as_ptr(),
        function_count: functions.len(),
        init,
        worker_init,
        worker_drop: if worker_init.is_some() { Some(worker_drop) } else { None },
        unload: Some(unload),
        free_value,
    }
}

/// This crate's version, recorded in every descriptor.
pub const SDK_VERSION: &CStr = match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
    Ok(version) => version,
    Err(_) => panic!("version is NUL-terminated"),
};

/// The descriptor an entry point returns, or null for a host of another ABI.
pub fn entry(host_abi_version: u32, descriptor: &'static Static<titan_extension>) -> *const titan_extension {
    // The host checks versions and explains a mismatch; answering with the descriptor lets it
    // read which ABI and SDK built us. Only a host too old to read our header gets null.
    let _ = host_abi_version;
    &descriptor.0
}

/// Reads a C string the host gave us (for tests and diagnostics).
///
/// # Safety
/// `ptr` is a NUL-terminated string.
pub unsafe fn c_str<'a>(ptr: *const c_char) -> &'a str {
    // SAFETY: see above.
    unsafe { CStr::from_ptr(ptr) }.to_str().unwrap_or("")
}
