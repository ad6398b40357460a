//! `titan_ext::transport::register` from an extension's `init`, with the test playing the host:
//! the host receives a table it can drive (and owns the transport's state from then on), and a
//! refused registration leaves the state with the extension, which drops it.

#![allow(unsafe_code)] // the test plays the host

use std::ffi::{CStr, c_void};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use titan_ext::transport::{self, PlainRead, Session, Transport, TransportError};
use titan_ext_sys::*;

/// Live `Echo` transports: tells when the state was dropped.
static TRANSPORTS: AtomicUsize = AtomicUsize::new(0);

/// Passes bytes through unchanged; no handshake.
struct Echo;

impl Echo {
    fn new() -> Self {
        TRANSPORTS.fetch_add(1, Ordering::SeqCst);
        Self
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        TRANSPORTS.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Default)]
struct EchoSession {
    buffered: Vec<u8>,
}

impl Transport for Echo {
    type Session = EchoSession;
    fn scheme(&self) -> &str {
        "echo"
    }
    fn new_session(&self) -> Result<EchoSession, TransportError> {
        Ok(EchoSession::default())
    }
}

impl Session for EchoSession {
    fn read_tls(&mut self, wire: &[u8]) -> Result<usize, TransportError> {
        self.buffered.extend_from_slice(wire);
        Ok(wire.len())
    }
    fn read_plain(&mut self, buf: &mut [u8]) -> Result<PlainRead, TransportError> {
        let n = buf.len().min(self.buffered.len());
        if n == 0 {
            return Ok(PlainRead::Pending);
        }
        buf[..n].copy_from_slice(&self.buffered[..n]);
        self.buffered.drain(..n);
        Ok(PlainRead::Data(n))
    }
    fn write_plain(&mut self, _data: &[u8]) -> Result<usize, TransportError> {
        Ok(0)
    }
    fn write_tls(&mut self, _buf: &mut [u8]) -> Result<usize, TransportError> {
        Ok(0)
    }
    fn wants_write(&self) -> bool {
        false
    }
    fn is_handshaking(&self) -> bool {
        false
    }
}

fn start(_config: serde_json::Value) -> Result<(), String> {
    transport::register(Echo::new()).map_err(|e| e.to_string())
}

titan_ext::extension! { functions: [], init: start, static_entry: descriptor }

/// What the fake host does with a registration.
struct FakeHost {
    accept: bool,
    /// The scheme and table it accepted.
    accepted: Mutex<Option<(String, titan_transport_def)>>,
}

unsafe extern "C" fn log(_: *mut c_void, _: u32, _: *const u8, _: usize) {}

unsafe extern "C" fn register_transport(host_data: *mut c_void, transport: *const c_void) -> titan_status {
    // SAFETY: the FakeHost this test passes as host_data; the extension's table, read now.
    let (host, def) = unsafe { (&*(host_data as *const FakeHost), &*(transport as *const titan_transport_def)) };
    if !host.accept {
        return TITAN_ERR;
    }
    // SAFETY: a NUL-terminated scheme, valid during the call.
    let scheme = unsafe { CStr::from_ptr(def.scheme) }.to_str().unwrap().to_owned();
    // The table itself is read during the call only: keep a copy of its fields.
    let copy = titan_transport_def { scheme: std::ptr::null(), ..*def };
    *host.accepted.lock().unwrap() = Some((scheme, copy));
    TITAN_OK
}

/// Runs the extension's `init` against `host`; returns the error message when it fails.
fn init(host: &FakeHost) -> Result<*mut c_void, String> {
    let table = titan_host {
        abi_version: TITAN_ABI_VERSION,
        struct_size: size_of::<titan_host>() as u32,
        host_data: (host as *const FakeHost).cast_mut().cast(),
        log,
        register_transport,
        data_dir: titan_buffer { ptr: std::ptr::null(), len: 0 },
    };
    // SAFETY: a static descriptor.
    let ext = unsafe { &*descriptor() };
    let (mut state, mut error) = (std::ptr::null_mut(), titan_value::NULL);
    // SAFETY: the init contract: a host table, config bytes, writable slots.
    let status = unsafe { (ext.init.unwrap())(&table, b"null".as_ptr(), 4, &mut state, &mut error) };
    if status == TITAN_OK {
        return Ok(state);
    }
    // SAFETY: a string error the extension made, freed once.
    let message = unsafe { std::str::from_utf8(std::slice::from_raw_parts(error.payload.buffer.ptr, error.payload.buffer.len)).unwrap().to_owned() };
    // SAFETY: given back once.
    unsafe { (ext.free_value)(&mut error) };
    Err(message)
}

// One test: both cases count the same global `TRANSPORTS`.
#[test]
fn the_host_gets_a_table_it_owns_or_the_extension_keeps_its_state() {
    let refusing = FakeHost { accept: false, accepted: Mutex::new(None) };
    let message = init(&refusing).unwrap_err();
    assert_eq!(message, "the runtime refused the echo:// transport; the extension's load error says why");
    assert_eq!(TRANSPORTS.load(Ordering::SeqCst), 0, "a refused transport's state is dropped by the extension");

    let accepting = FakeHost { accept: true, accepted: Mutex::new(None) };
    let state = init(&accepting).unwrap();
    let (scheme, def) = accepting.accepted.lock().unwrap().take().expect("registered");
    assert_eq!(scheme, "echo");
    assert_eq!(TRANSPORTS.load(Ordering::SeqCst), 1, "the host owns the state now");

    // Drive one session as the runtime would.
    let (mut session, mut error) = (std::ptr::null_mut(), titan_value::NULL);
    // SAFETY: the registered table with its state; writable slots.
    assert_eq!(unsafe { (def.session_new)(def.state, &mut session, &mut error) }, TITAN_OK);
    let mut consumed = 0;
    // SAFETY: a live session, borrowed bytes.
    assert_eq!(unsafe { (def.read_tls)(session, b"ping".as_ptr(), 4, &mut consumed, &mut error) }, TITAN_OK);
    assert_eq!(consumed, 4);
    let mut buf = [0u8; 8];
    let mut read = 0;
    // SAFETY: as above.
    assert_eq!(unsafe { (def.read_plain)(session, buf.as_mut_ptr(), buf.len(), &mut read, &mut error) }, TITAN_OK);
    assert_eq!(&buf[..read], b"ping");

    // SAFETY: each given back once: the session, the extension's state, the transport's state.
    unsafe {
        (def.session_free)(session);
        let ext = &*descriptor();
        (ext.unload.unwrap())(state);
        assert_eq!(TRANSPORTS.load(Ordering::SeqCst), 1, "the transport outlives the extension's unload");
        (def.free_state.unwrap())(def.state);
    }
    assert_eq!(TRANSPORTS.load(Ordering::SeqCst), 0);
}
