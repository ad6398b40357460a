//! The host's test fixture for the SDK half of the handshake: a descriptor of the host's own ABI
//! whose `sdk_version` says titan-ext 0.2.0, a series this runtime (titan-ext 0.1.x) does not
//! speak. Written directly against `titan-ext-sys` so it can claim that version. The structs
//! line up, so only the version check can stop the host; every hook aborts if it is called.

// Exporting an unmangled symbol and sharing a struct of raw pointers in a static are unsafe by
// the language's rules; there is nothing else here.
#![allow(unsafe_code)]

use std::ffi::c_void;

use titan_ext_sys::*;

unsafe extern "C" fn free_must_not_be_called(_value: *mut titan_value) {
    // Aborting (rather than unwinding, which must never cross the boundary) makes a host that
    // ignored the mismatch fail its test at once.
    eprintln!("sdk-mismatch: the host called into an extension it should have refused");
    std::process::abort();
}

unsafe extern "C" fn init_must_not_be_called(
    _host: *const titan_host,
    _config: *const u8,
    _config_len: usize,
    _state: *mut *mut c_void,
    _error: *mut titan_value,
) -> titan_status {
    eprintln!("sdk-mismatch: the host ran init on an extension it should have refused");
    std::process::abort();
}

struct Descriptor(titan_extension);
// SAFETY: immutable, and every pointer in it references static data.
unsafe impl Sync for Descriptor {}

static DESCRIPTOR: Descriptor = Descriptor(titan_extension {
    abi_version: TITAN_ABI_VERSION,
    struct_size: size_of::<titan_extension>() as u32,
    name: c"sdk-mismatch".as_ptr(),
    version: c"0.1.0".as_ptr(),
    sdk_version: c"0.2.0".as_ptr(),
    functions: std::ptr::null(),
    function_count: 0,
    init: Some(init_must_not_be_called),
    worker_init: None,
    worker_drop: None,
    unload: None,
    free_value: free_must_not_be_called,
});

/// The entry point: the descriptor, whatever the host's version.
#[unsafe(no_mangle)]
pub extern "C" fn titan_extension_entry(_host_abi_version: u32) -> *const titan_extension {
    &DESCRIPTOR.0
}
