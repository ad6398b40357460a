//! `titan_ext::data_dir()` as an extension's `init` sees it, with the test playing the host: the
//! directory from a current host table, and none from a table built before `data_dir` was
//! appended (the extension must not read past an older host's `struct_size`).

#![allow(unsafe_code)] // the test plays the host

use std::ffi::c_void;
use std::path::PathBuf;

use titan_ext_sys::*;

/// What `init` saw, kept as the extension's state.
struct Seen(Option<PathBuf>);

fn start(_config: serde_json::Value) -> Result<Seen, String> {
    Ok(Seen(titan_ext::data_dir()))
}

/// The directory `init` saw, as text (`null` when it saw none).
#[titan_ext::function]
fn seen(cx: &titan_ext::Context) -> Option<String> {
    cx.state::<Seen>().0.as_ref().map(|p| p.display().to_string())
}

titan_ext::extension! { functions: [seen], init: start, static_entry: descriptor }

unsafe extern "C" fn log(_: *mut c_void, _: u32, _: *const u8, _: usize) {}
unsafe extern "C" fn register_transport(_: *mut c_void, _: *const c_void) -> titan_status {
    TITAN_ERR
}

/// Runs `init` with `host`, calls `seen`, unloads; returns what `init` saw.
fn init_and_ask(host: &titan_host) -> Option<String> {
    // SAFETY: a static descriptor.
    let ext = unsafe { &*descriptor() };
    let mut state = std::ptr::null_mut();
    let mut error = titan_value::NULL;
    // SAFETY: the init contract: a host table, config bytes, writable slots.
    let status = unsafe { (ext.init.unwrap())(host, b"null".as_ptr(), 4, &mut state, &mut error) };
    assert_eq!(status, TITAN_OK);
    let call = titan_call { struct_size: size_of::<titan_call>() as u32, worker_id: 0, extension_state: state, worker_state: std::ptr::null_mut() };
    let mut out = titan_value::NULL;
    // SAFETY: `functions` has one entry, `seen`, taking no arguments.
    let status = unsafe { ((*ext.functions).call)(&call, std::ptr::null(), 0, &mut out) };
    assert_eq!(status, TITAN_OK);
    let answer = (out.kind == TITAN_STRING).then(|| {
        // SAFETY: a string result, live until free_value.
        String::from_utf8(unsafe { std::slice::from_raw_parts(out.payload.buffer.ptr, out.payload.buffer.len) }.to_vec()).unwrap()
    });
    // SAFETY: each given back once; `state` is what init made.
    unsafe {
        (ext.free_value)(&mut out);
        (ext.unload.unwrap())(state);
    }
    answer
}

fn host_table(struct_size: u32, data_dir: &str) -> titan_host {
    titan_host {
        abi_version: TITAN_ABI_VERSION,
        struct_size,
        host_data: std::ptr::null_mut(),
        log,
        register_transport,
        data_dir: titan_buffer { ptr: data_dir.as_ptr(), len: data_dir.len() },
    }
}

#[test]
fn init_sees_the_data_dir_only_when_the_host_table_has_one() {
    assert_eq!(titan_ext::data_dir(), None, "no host yet");
    let current = host_table(size_of::<titan_host>() as u32, "/srv/my app/data");
    assert_eq!(init_and_ask(&current).as_deref(), Some("/srv/my app/data"));
    assert_eq!(titan_ext::data_dir(), Some(PathBuf::from("/srv/my app/data")), "still readable after unload");

    // A host built before `data_dir` existed: its table is 32 bytes and whatever follows is not
    // its memory. The bytes are set here, so reading them would show.
    let older = host_table(std::mem::offset_of!(titan_host, data_dir) as u32, "/must/not/be/read");
    assert_eq!(init_and_ask(&older), None);

    let without = host_table(size_of::<titan_host>() as u32, "");
    assert_eq!(init_and_ask(&without), None, "an empty directory means none");
}
