//! The Titan native extension ABI, version 1: `#[repr(C)]` structs and constants only.
//!
//! This crate is the contract between a Titan runtime (the host) and a native extension (a
//! `cdylib`). Extension authors use the safe `titan-ext` crate instead; this one exists so the
//! host and the SDK share one definition, and so an extension can be written in C or Zig from
//! `include/titan_ext.h`, which mirrors it. `core-runtime/docs/abi.md` explains every rule.
//!
//! Compatibility rules, as in SQLite's `sqlite3_api_routines`: every struct starts with its own
//! size (and the top-level ones with the ABI version); fields are only ever appended, grouped by
//! the version that added them; a reader checks `struct_size` before touching a field newer than
//! the ones it knows. A change that cannot be expressed by appending is a new ABI version.

#![no_std]
#![allow(non_camel_case_types)]

use core::ffi::{c_char, c_void};

/// The ABI version this crate describes.
pub const TITAN_ABI_VERSION: u32 = 1;

/// The one symbol a native extension exports, NUL-terminated for `dlsym`.
pub const TITAN_ENTRY_SYMBOL: &[u8] = b"titan_extension_entry\0";

/// The entry point: receives the host's ABI version, returns the extension's descriptor (static,
/// never freed), or null when the extension cannot work with that host at all.
pub type titan_entry_fn = unsafe extern "C" fn(host_abi_version: u32) -> *const titan_extension;

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/// `titan_value.kind`: JS `null` / `undefined` / Rust `()`.
pub const TITAN_NULL: u32 = 0;
/// `titan_value.kind`: `payload.boolean`.
pub const TITAN_BOOL: u32 = 1;
/// `titan_value.kind`: `payload.number` (JS number).
pub const TITAN_F64: u32 = 2;
/// `titan_value.kind`: `payload.integer` (JS BigInt).
pub const TITAN_I64: u32 = 3;
/// `titan_value.kind`: `payload.buffer`, UTF-8 text, not NUL-terminated.
pub const TITAN_STRING: u32 = 4;
/// `titan_value.kind`: `payload.buffer`, bytes (JS Uint8Array).
pub const TITAN_BYTES: u32 = 5;
/// `titan_value.kind`: `payload.buffer`, a structured value (object or array) as UTF-8 JSON text.
pub const TITAN_JSON: u32 = 6;

/// A pointer and a length. Who owns the memory depends on where the value is (see
/// `titan_value`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct titan_buffer {
    /// First byte; may be null when `len` is 0.
    pub ptr: *const u8,
    /// Number of bytes.
    pub len: usize,
}

/// The payload of a `titan_value`, selected by its `kind`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union titan_payload {
    /// `TITAN_BOOL`.
    pub boolean: bool,
    /// `TITAN_F64`.
    pub number: f64,
    /// `TITAN_I64`.
    pub integer: i64,
    /// `TITAN_STRING`, `TITAN_BYTES`, `TITAN_JSON`.
    pub buffer: titan_buffer,
}

/// One argument or result. Arguments are borrowed from the host for the duration of the call.
/// A result's buffer belongs to the extension until the host hands it back through
/// `titan_extension.free_value`: whoever allocates, frees.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct titan_value {
    /// One of the `TITAN_*` kinds.
    pub kind: u32,
    /// Zero in ABI 1.
    pub reserved: u32,
    /// The value.
    pub payload: titan_payload,
}

impl titan_value {
    /// `TITAN_NULL`.
    pub const NULL: Self = Self { kind: TITAN_NULL, reserved: 0, payload: titan_payload { integer: 0 } };
}

// ---------------------------------------------------------------------------------------------
// Calls
// ---------------------------------------------------------------------------------------------

/// Status of a call, `init` or `worker_init`.
pub type titan_status = i32;
/// Success: the result (or out-parameter) is set.
pub const TITAN_OK: titan_status = 0;
/// Failure: the result holds a `TITAN_STRING` message owned by the extension.
pub const TITAN_ERR: titan_status = 1;

/// What the host passes to every call.
#[repr(C)]
pub struct titan_call {
    /// `size_of::<titan_call>()` as the host built it.
    pub struct_size: u32,
    /// The calling worker (isolate); stable for the worker's life.
    pub worker_id: u32,
    /// What `init` returned.
    pub extension_state: *mut c_void,
    /// What `worker_init` returned for this worker (null without `worker_init`).
    pub worker_state: *mut c_void,
}

/// A function exported to JS. May run on several worker threads at once.
pub type titan_fn = unsafe extern "C" fn(
    call: *const titan_call,
    args: *const titan_value,
    argc: usize,
    result: *mut titan_value,
) -> titan_status;

/// One exported function.
#[repr(C)]
pub struct titan_function_def {
    /// `size_of::<titan_function_def>()`.
    pub struct_size: u32,
    /// Declared parameter count (the host passes exactly this many, missing ones as null).
    pub arity: u32,
    /// JS name, NUL-terminated (`t.<namespace>.<name>`).
    pub name: *const c_char,
    /// The implementation.
    pub call: titan_fn,
    /// NUL-terminated JSON describing parameters and result, for generated `.d.ts` and docs:
    /// `{"params":[{"name":"key","type":"string","rust":"&str"}],"returns":"string | null",
    /// "rust_returns":"Option<String>","fallible":true,"doc":"..."}` (`rust*` and `doc` may be
    /// absent in extensions not built with `titan-ext`).
    pub signature: *const c_char,
}

// ---------------------------------------------------------------------------------------------
// The host
// ---------------------------------------------------------------------------------------------

/// `titan_host.log` levels.
pub const TITAN_LOG_DEBUG: u32 = 10;
/// Info.
pub const TITAN_LOG_INFO: u32 = 20;
/// Warn.
pub const TITAN_LOG_WARN: u32 = 30;
/// Error.
pub const TITAN_LOG_ERROR: u32 = 40;

/// What the host offers an extension. The extension may keep the pointer until `unload`.
#[repr(C)]
pub struct titan_host {
    /// `TITAN_ABI_VERSION` of the host.
    pub abi_version: u32,
    /// `size_of::<titan_host>()` as the host built it.
    pub struct_size: u32,
    /// Opaque; pass back to every host function.
    pub host_data: *mut c_void,
    /// Writes a structured log line attributed to the extension (`msg` is UTF-8, not
    /// NUL-terminated). Callable from any thread.
    pub log: unsafe extern "C" fn(host_data: *mut c_void, level: u32, msg: *const u8, len: usize),
    /// Registers a Netron transport: `transport` points to a `titan_transport_def`, read during
    /// the call (the host copies what it keeps). Only during `init`; `TITAN_ERR` when the host
    /// refuses it (a built-in or taken scheme, a malformed definition, a reload): the host then
    /// fails the extension's load with the reason, whatever `init` returns. A host built before
    /// transports existed answers `TITAN_ERR` to every call.
    pub register_transport: unsafe extern "C" fn(host_data: *mut c_void, transport: *const c_void) -> titan_status,
    // -- appended in ABI 1 (titan-ext 0.1): read only when `struct_size` covers it --
    /// The app's data directory (UTF-8 path, not NUL-terminated; `len` 0 when the host has
    /// none), for files the extension keeps (a database, a cache). Valid until `unload`.
    pub data_dir: titan_buffer,
}

impl titan_host {
    /// Whether a host table of `struct_size` bytes has `data_dir`: an older host's table ends
    /// before it.
    pub const fn has_data_dir(struct_size: u32) -> bool {
        struct_size as usize >= core::mem::offset_of!(titan_host, data_dir) + core::mem::size_of::<titan_buffer>()
    }
}

// ---------------------------------------------------------------------------------------------
// Transports
// ---------------------------------------------------------------------------------------------

/// `titan_transport_def.read_plain` only: the peer closed the stream cleanly (a TLS
/// `close_notify`, or the end of the socket for a transport without one); no more plaintext
/// will come.
pub const TITAN_CLOSED: titan_status = 2;

/// A Netron transport for `SCHEME://HOST:PORT` listen addresses, registered from `init` with
/// `titan_host.register_transport`.
///
/// Sans-IO, like rustls: the host owns the TCP socket and its I/O loop (on the worker's own
/// thread, no thread hop); a *session* only transforms bytes. For each accepted connection the
/// host calls `session_new`, feeds what it reads from the socket to `read_tls`, sends what
/// `write_tls` gives, and exchanges the stream's plaintext (Netron's length-prefixed frames)
/// through `read_plain` / `write_plain`; the connection carries frames once `is_handshaking` is
/// false. "tls" in the names means the wire bytes, whatever the transport puts there.
///
/// Every function that can fail returns `TITAN_OK`, or `TITAN_ERR` with a `TITAN_STRING`
/// message in `*error` that the host frees through this table's `free_value`; a failing (or
/// panicking: titan-ext catches it) session drops its own connection only. `state` is shared by
/// every session and used from any thread at once; one session is used by one thread at a time
/// but may move between threads. Counts written through out-parameters never exceed the
/// buffer's length (the host refuses the session if they do).
#[repr(C)]
pub struct titan_transport_def {
    /// `size_of::<titan_transport_def>()` as the extension built it.
    pub struct_size: u32,
    /// Zero.
    pub reserved: u32,
    /// The URL scheme it serves, NUL-terminated, lower case (`tls`); read during the call.
    pub scheme: *const c_char,
    /// The transport's state (its configuration: certificates, keys). On `TITAN_OK` it belongs
    /// to the host, which passes it to `free_state` once the last listener and connection using
    /// it are gone, possibly after the extension's `unload`; on `TITAN_ERR` it stays the
    /// extension's.
    pub state: *mut c_void,
    /// Starts a session for a new connection: sets `*session`.
    pub session_new: unsafe extern "C" fn(state: *mut c_void, session: *mut *mut c_void, error: *mut titan_value) -> titan_status,
    /// Ends a session (connection closed or failed), on any thread, once.
    pub session_free: unsafe extern "C" fn(session: *mut c_void),
    /// Bytes read from the socket (`len` 0: the socket reached end of stream). Sets
    /// `*consumed` (≤ `len`): the host passes the rest again later. Taking none while
    /// `read_plain` has nothing either is a stall, which drops the connection.
    pub read_tls: unsafe extern "C" fn(session: *mut c_void, data: *const u8, len: usize, consumed: *mut usize, error: *mut titan_value) -> titan_status,
    /// Decrypted bytes for the host: copies up to `cap` into `buf` and sets `*read`; `*read` 0
    /// with `TITAN_OK` means none yet (more socket bytes needed), `TITAN_CLOSED` the end.
    pub read_plain: unsafe extern "C" fn(session: *mut c_void, buf: *mut u8, cap: usize, read: *mut usize, error: *mut titan_value) -> titan_status,
    /// Plaintext to send: takes up to `len` bytes and sets `*consumed` (0 when its buffer is
    /// full: the host drains `write_tls` to the socket, then offers them again).
    pub write_plain: unsafe extern "C" fn(session: *mut c_void, data: *const u8, len: usize, consumed: *mut usize, error: *mut titan_value) -> titan_status,
    /// Bytes to send on the socket: copies up to `cap` into `buf` and sets `*written`.
    pub write_tls: unsafe extern "C" fn(session: *mut c_void, buf: *mut u8, cap: usize, written: *mut usize, error: *mut titan_value) -> titan_status,
    /// Whether `write_tls` has bytes to give.
    pub wants_write: unsafe extern "C" fn(session: *mut c_void) -> bool,
    /// Whether the handshake is still running: no plaintext flows before it ends.
    pub is_handshaking: unsafe extern "C" fn(session: *mut c_void) -> bool,
    /// Queues the end of the stream for the peer (a TLS `close_notify`), sent through
    /// `write_tls`. Optional.
    pub close: Option<unsafe extern "C" fn(session: *mut c_void)>,
    /// Frees `state`, on any thread, once. Optional.
    pub free_state: Option<unsafe extern "C" fn(state: *mut c_void)>,
    /// Frees the buffer of an error message this table's functions produced. Required.
    pub free_value: titan_free_value_fn,
    // -- appended in ABI 1 (titan-ext 0.1): read only when `struct_size` covers it --
    /// Who the peer proved to be, asked once when the handshake has ended: sets `*identity` to a
    /// `TITAN_JSON` object (freed through `free_value`), or `TITAN_NULL` when the peer proved
    /// nothing (no client certificate). Services see it as the caller's `peer`. Optional.
    pub peer_identity: Option<unsafe extern "C" fn(session: *mut c_void, identity: *mut titan_value, error: *mut titan_value) -> titan_status>,
}

impl titan_transport_def {
    /// Whether a definition of `struct_size` bytes has `peer_identity`: an older extension's
    /// ends before it.
    pub const fn has_peer_identity(struct_size: u32) -> bool {
        struct_size as usize >= core::mem::offset_of!(titan_transport_def, peer_identity) + core::mem::size_of::<usize>()
    }
}

// ---------------------------------------------------------------------------------------------
// The extension
// ---------------------------------------------------------------------------------------------

/// Called once, before any function: receives the host table and the extension's `config`
/// object from the app's `titan.config.json` (UTF-8 JSON, `null` when absent). Sets `*state`
/// (may stay null). On `TITAN_ERR`, `*error` holds a `TITAN_STRING` the host frees.
pub type titan_init_fn = unsafe extern "C" fn(
    host: *const titan_host,
    config_json: *const u8,
    config_len: usize,
    state: *mut *mut c_void,
    error: *mut titan_value,
) -> titan_status;

/// Called on each worker thread before its first call; sets `*worker_state` (per-worker state
/// without locks). Optional.
pub type titan_worker_init_fn = unsafe extern "C" fn(
    state: *mut c_void,
    worker_id: u32,
    worker_state: *mut *mut c_void,
    error: *mut titan_value,
) -> titan_status;

/// Called on the worker thread when the worker stops. Optional.
pub type titan_worker_drop_fn = unsafe extern "C" fn(state: *mut c_void, worker_id: u32, worker_state: *mut c_void);

/// Called once, after the last call, before the library is closed. Optional.
pub type titan_unload_fn = unsafe extern "C" fn(state: *mut c_void);

/// Frees the buffer of a value the extension produced (a result or an error).
pub type titan_free_value_fn = unsafe extern "C" fn(value: *mut titan_value);

/// The descriptor the entry point returns. Static for the life of the library.
#[repr(C)]
pub struct titan_extension {
    /// The ABI the extension was built for: must equal the host's.
    pub abi_version: u32,
    /// `size_of::<titan_extension>()` as the extension built it.
    pub struct_size: u32,
    /// Extension name, NUL-terminated (the crate name).
    pub name: *const c_char,
    /// Extension version, NUL-terminated.
    pub version: *const c_char,
    /// Version of the SDK (the `titan-ext` crate) that built it, NUL-terminated; named in
    /// mismatch messages so the fix is exact.
    pub sdk_version: *const c_char,
    /// Exported functions.
    pub functions: *const titan_function_def,
    /// Number of exported functions.
    pub function_count: usize,
    /// See `titan_init_fn`. Optional (null).
    pub init: Option<titan_init_fn>,
    /// See `titan_worker_init_fn`. Optional.
    pub worker_init: Option<titan_worker_init_fn>,
    /// See `titan_worker_drop_fn`. Optional.
    pub worker_drop: Option<titan_worker_drop_fn>,
    /// See `titan_unload_fn`. Optional.
    pub unload: Option<titan_unload_fn>,
    /// See `titan_free_value_fn`. Required.
    pub free_value: titan_free_value_fn,
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{align_of, size_of};

    /// The C header (`include/titan_ext.h`) states these sizes; they are the ABI.
    #[test]
    fn layout_is_the_documented_one() {
        assert_eq!(size_of::<titan_value>(), 24);
        assert_eq!(align_of::<titan_value>(), 8);
        assert_eq!(size_of::<titan_buffer>(), 16);
        assert_eq!(size_of::<titan_call>(), 24);
        assert_eq!(size_of::<titan_function_def>(), 32);
        assert_eq!(size_of::<titan_host>(), 48);
        assert_eq!(size_of::<titan_extension>(), 88);
        assert_eq!(size_of::<titan_transport_def>(), 120);
    }

    /// A table from a host built before `data_dir` was appended (32 bytes) does not have it.
    #[test]
    fn data_dir_is_read_only_from_tables_that_have_it() {
        assert!(!titan_host::has_data_dir(32));
        assert!(!titan_host::has_data_dir(47));
        assert!(titan_host::has_data_dir(48));
    }

    /// A transport built before `peer_identity` was appended (112 bytes) does not have it.
    #[test]
    fn peer_identity_is_read_only_from_definitions_that_have_it() {
        assert!(!titan_transport_def::has_peer_identity(112));
        assert!(titan_transport_def::has_peer_identity(120));
    }
}
