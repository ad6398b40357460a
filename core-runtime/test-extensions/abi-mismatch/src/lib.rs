//! The host's test fixture for the versioned handshake: an extension built "from the future",
//! written directly against `titan-ext-sys` (no `titan-ext`). Its descriptor claims ABI 2 and
//! SDK 9.9.9. The frozen header (the first five fields of `titan_extension`: `abi_version`,
//! `struct_size`, `name`, `version`, `sdk_version`) is valid so the host can read it and say
//! exactly what to upgrade; the rest is shaped like ABI 1 but must never be touched. Every
//! function in it fails loudly, so a host that calls anything despite the mismatch is caught.

// Exporting an unmangled symbol and sharing a struct of raw pointers in a static are unsafe by
// the language's rules; there is nothing else here.
#![allow(unsafe_code)]

use std::ffi::c_void;

use titan_ext_sys::*;

/// The ABI this fixture claims to speak: one past the host's.
pub const CLAIMED_ABI_VERSION: u32 = TITAN_ABI_VERSION + 1;

unsafe extern "C" fn must_not_be_called(_value: *mut titan_value) {
    // Reached only by a host that ignored the mismatch. Aborting (rather than unwinding, which
    // must never cross the boundary) makes such a host's test fail at once.
    eprintln!("abi-mismatch: the host called into an extension it should have refused");
    std::process::abort();
}

unsafe extern "C" fn init_must_not_be_called(
    _host: *const titan_host,
    _config: *const u8,
    _config_len: usize,
    _state: *mut *mut c_void,
    _error: *mut titan_value,
) -> titan_status {
    eprintln!("abi-mismatch: the host ran init on an extension it should have refused");
    std::process::abort();
}

struct Descriptor(titan_extension);
// SAFETY: immutable, and every pointer in it references static data.
unsafe impl Sync for Descriptor {}

static DESCRIPTOR: Descriptor = Descriptor(titan_extension {
    abi_version: CLAIMED_ABI_VERSION,
    // An ABI-2 descriptor would be at least as large as ABI 1's; the header is what matters.
    struct_size: size_of::<titan_extension>() as u32,
    name: c"abi-mismatch".as_ptr(),
    version: c"0.1.0".as_ptr(),
    sdk_version: c"9.9.9".as_ptr(),
    functions: std::ptr::null(),
    function_count: 0,
    init: Some(init_must_not_be_called),
    worker_init: None,
    worker_drop: None,
    unload: None,
    free_value: must_not_be_called,
});

/// The entry point: answers with the ABI-2 descriptor whatever the host's version, as a real
/// extension does, so the host can explain the mismatch.
#[unsafe(no_mangle)]
pub extern "C" fn titan_extension_entry(_host_abi_version: u32) -> *const titan_extension {
    &DESCRIPTOR.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn the_header_claims_abi_2_and_sdk_9_9_9() {
        fn text(ptr: *const std::ffi::c_char) -> &'static str {
            // SAFETY: the descriptor's strings are static NUL-terminated literals.
            unsafe { CStr::from_ptr(ptr) }.to_str().unwrap()
        }
        // SAFETY: the entry point returns a pointer to a static descriptor.
        let ext = unsafe { &*titan_extension_entry(TITAN_ABI_VERSION) };
        assert_eq!(ext.abi_version, 2);
        assert_eq!(ext.struct_size as usize, size_of::<titan_extension>());
        assert_eq!(text(ext.name), "abi-mismatch");
        assert_eq!(text(ext.version), "0.1.0");
        assert_eq!(text(ext.sdk_version), "9.9.9");
    }
}
