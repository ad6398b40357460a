//! Netron transports from an extension: implement [`Transport`] (a URL scheme and a factory of
//! sessions) and [`Session`] (one connection's byte transformation), and register the transport
//! from `init` with [`register`]. Apps then listen on `SCHEME://HOST:PORT`.
//!
//! The model is sans-IO, like rustls: the runtime owns the TCP socket and its I/O loop (on the
//! worker's own thread), and a session only transforms bytes. For each accepted connection the
//! runtime calls [`Transport::new_session`], hands the session what it reads from the socket
//! ([`Session::read_tls`]), sends what the session gives ([`Session::write_tls`]), and once
//! [`Session::is_handshaking`] is false exchanges Netron's frames as plaintext
//! ([`Session::read_plain`], [`Session::write_plain`]). "tls" in the names means the bytes on
//! the wire, whatever the transport puts there.
//!
//! ```ignore
//! use titan_ext::transport::{self, PlainRead, Session, Transport, TransportError};
//!
//! fn init(config: serde_json::Value) -> Result<(), String> {
//!     let tls = MyTls::from_config(&config)?;     // read certificates, keys...
//!     transport::register(tls).map_err(|e| e.to_string())
//! }
//!
//! titan_ext::extension! { functions: [], init: init }
//! ```
//!
//! An error from a session, or a panic in it, drops that connection only; a session that
//! panicked answers every later call with that panic's message. The transport is shared by
//! every connection on every worker (`Send + Sync`); a session is used by one thread at a time
//! but may move between threads (`Send`). The transport lives as long as listeners or
//! connections use it, which may be after the extension's state was dropped (`unload`).

use std::ffi::{CString, c_void};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use titan_ext_sys::*;

use crate::private::{error_value, free_value, init_host, panic_message};
use crate::value::json_into_value;

/// A Netron transport for `SCHEME://HOST:PORT` addresses.
pub trait Transport: Send + Sync + 'static {
    /// One connection's state.
    type Session: Session;

    /// The URL scheme it serves, lower case: a letter, then letters, digits, `+`, `-` or `.`
    /// (`tls`). `tcp`, `unix` and `ws` are built in and cannot be taken.
    fn scheme(&self) -> &str;

    /// A session for a connection just accepted. An error drops that connection.
    fn new_session(&self) -> Result<Self::Session, TransportError>;
}

/// One connection, as bytes in and out. Only transforms bytes: never touches a socket.
pub trait Session: Send + 'static {
    /// Takes bytes read from the socket; an empty `wire` means the socket reached end of stream.
    /// Returns how many it took (at most `wire.len()`): the rest is offered again once
    /// [`Session::read_plain`] has made room. Taking none while `read_plain` has nothing either
    /// is a stall, and the runtime drops the connection.
    fn read_tls(&mut self, wire: &[u8]) -> Result<usize, TransportError>;

    /// Gives plaintext: copies into `buf` and says how much, or that none is ready yet, or that
    /// the stream ended.
    fn read_plain(&mut self, buf: &mut [u8]) -> Result<PlainRead, TransportError>;

    /// Takes plaintext to send and returns how much it took (at most `data.len()`); 0 when its
    /// buffer is full (the runtime sends [`Session::write_tls`]'s bytes, then offers it again).
    fn write_plain(&mut self, data: &[u8]) -> Result<usize, TransportError>;

    /// Gives bytes to send on the socket: copies into `buf` and returns how many.
    fn write_tls(&mut self, buf: &mut [u8]) -> Result<usize, TransportError>;

    /// Whether [`Session::write_tls`] has bytes to give.
    fn wants_write(&self) -> bool;

    /// Whether the handshake is still running. No plaintext flows before it ends.
    fn is_handshaking(&self) -> bool;

    /// Queues the end of the stream for the peer (TLS's `close_notify`), given through
    /// [`Session::write_tls`]. The default does nothing.
    fn close(&mut self) {}

    /// Who the peer proved to be, asked once when the handshake has ended (a JSON object, such
    /// as `{"certificate": "<hex DER>"}` for a client certificate). Services see it as the
    /// caller's `peer`. The default: nothing proved.
    fn peer_identity(&self) -> Result<Option<serde_json::Value>, TransportError> {
        Ok(None)
    }
}

/// What [`Session::read_plain`] had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlainRead {
    /// This many bytes were copied (more than 0).
    Data(usize),
    /// Nothing yet: more bytes from the socket are needed.
    Pending,
    /// The peer closed the stream; nothing more will come.
    Closed,
}

/// Why a session (or a new one) failed: its connection is dropped and the message logged.
/// Any error type converts with `?`; [`TransportError::new`] makes one from a message.
pub struct TransportError {
    message: String,
}

impl TransportError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl<E: std::error::Error> From<E> for TransportError {
    fn from(error: E) -> Self {
        Self::new(error.to_string())
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TransportError({:?})", self.message)
    }
}

/// Why [`register`] failed. When the runtime refused the transport, it fails the extension's
/// load with its own, more precise reason (a built-in or taken scheme, say) whatever `init`
/// returns; this error only lets `init` stop early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterError {
    message: String,
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RegisterError {}

/// Registers `transport` with the runtime: from then on `SCHEME://HOST:PORT` listen addresses
/// are served by it. Call it from the extension's `init` (declared in
/// `titan_ext::extension!`); anywhere else there is no runtime to register with.
pub fn register<T: Transport>(transport: T) -> Result<(), RegisterError> {
    let scheme = transport.scheme().to_owned();
    let Some(host) = init_host() else {
        return Err(RegisterError {
            message: format!(
                "cannot register the {scheme}:// transport outside init: call titan_ext::transport::register from the function declared as `init` in titan_ext::extension!"
            ),
        });
    };
    let scheme_c = CString::new(scheme.clone()).map_err(|_| RegisterError { message: format!("the transport scheme {scheme:?} contains a NUL byte") })?;
    let state = Box::into_raw(Box::new(transport));
    let def = definition::<T>(scheme_c.as_ptr(), state.cast());
    // SAFETY: the host table `init` received, alive during `init`; `def` and the scheme are
    // read during the call only.
    let status = unsafe { (host.register_transport)(host.host_data, (&def as *const titan_transport_def).cast()) };
    if status == TITAN_OK {
        // The state is the host's now; it gives it back through `free_state`.
        return Ok(());
    }
    // SAFETY: refused: the state is still ours, made by `Box::into_raw` above.
    drop(unsafe { Box::from_raw(state) });
    Err(RegisterError { message: format!("the runtime refused the {scheme}:// transport; the extension's load error says why") })
}

/// The ABI table for transport `T`, with its state and scheme.
fn definition<T: Transport>(scheme: *const std::ffi::c_char, state: *mut c_void) -> titan_transport_def {
    titan_transport_def {
        struct_size: size_of::<titan_transport_def>() as u32,
        reserved: 0,
        scheme,
        state,
        session_new: session_new::<T>,
        session_free: session_free::<T::Session>,
        read_tls: read_tls::<T::Session>,
        read_plain: read_plain::<T::Session>,
        write_plain: write_plain::<T::Session>,
        write_tls: write_tls::<T::Session>,
        wants_write: wants_write::<T::Session>,
        is_handshaking: is_handshaking::<T::Session>,
        close: Some(close::<T::Session>),
        free_state: Some(free_state::<T>),
        free_value,
        peer_identity: Some(peer_identity::<T::Session>),
    }
}

/// A session as the host holds it: the author's session, and the message of a panic that
/// poisoned it.
struct SessionCell<S> {
    session: S,
    panicked: Option<String>,
}

/// Writes `message` into the host's error slot.
///
/// # Safety
/// `error` is the host's writable slot.
unsafe fn fail(error: *mut titan_value, message: String) -> titan_status {
    // SAFETY: see above.
    unsafe { error.write(error_value(message)) };
    TITAN_ERR
}

/// Runs `body` on the session behind `session`, catching panics (which poison it), and
/// reports through `count` and `error`. `body` returns the status and the count.
///
/// # Safety
/// `session` is a `SessionCell<S>` this module made, used by one thread at a time; `count`
/// and `error` are the host's writable slots.
unsafe fn with_session<S: Session>(
    session: *mut c_void,
    count: *mut usize,
    error: *mut titan_value,
    body: impl FnOnce(&mut S) -> Result<(titan_status, usize), TransportError>,
) -> titan_status {
    // SAFETY: see above.
    let cell = unsafe { &mut *(session as *mut SessionCell<S>) };
    // SAFETY: the host's slot.
    unsafe { count.write(0) };
    if let Some(message) = &cell.panicked {
        // SAFETY: the host's slot.
        return unsafe { fail(error, format!("the session panicked earlier ({message}); its connection is closed")) };
    }
    match catch_unwind(AssertUnwindSafe(|| body(&mut cell.session))) {
        Ok(Ok((status, n))) => {
            // SAFETY: the host's slot.
            unsafe { count.write(n) };
            status
        }
        // SAFETY: the host's slot.
        Ok(Err(err)) => unsafe { fail(error, err.message) },
        Err(payload) => {
            let message = format!("panicked: {}", panic_message(payload.as_ref()));
            cell.panicked = Some(message.clone());
            // SAFETY: the host's slot.
            unsafe { fail(error, message) }
        }
    }
}

/// A slice the host lends for one call.
///
/// # Safety
/// `ptr` points to `len` readable bytes (or `len` is 0).
unsafe fn borrowed<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    // SAFETY: see above.
    if len == 0 || ptr.is_null() { &[] } else { unsafe { std::slice::from_raw_parts(ptr, len) } }
}

/// A buffer the host lends for one call.
///
/// # Safety
/// `ptr` points to `cap` writable bytes (or `cap` is 0).
unsafe fn borrowed_mut<'a>(ptr: *mut u8, cap: usize) -> &'a mut [u8] {
    // SAFETY: see above.
    if cap == 0 || ptr.is_null() { &mut [] } else { unsafe { std::slice::from_raw_parts_mut(ptr, cap) } }
}

/// A count a session returned, checked against the buffer it describes: a session that claims
/// more than it was given is a bug the host must not act on.
fn within(n: usize, len: usize, what: &str) -> Result<(titan_status, usize), TransportError> {
    if n > len {
        return Err(TransportError::new(format!("the session's {what} returned {n} for a buffer of {len} bytes")));
    }
    Ok((TITAN_OK, n))
}

unsafe extern "C" fn session_new<T: Transport>(state: *mut c_void, session: *mut *mut c_void, error: *mut titan_value) -> titan_status {
    // SAFETY: `state` is the `T` `register` boxed; shared by every thread (T: Sync).
    let transport = unsafe { &*(state as *const T) };
    let message = match catch_unwind(AssertUnwindSafe(|| transport.new_session())) {
        Ok(Ok(new)) => {
            let cell = Box::new(SessionCell { session: new, panicked: None });
            // SAFETY: the host's writable slot.
            unsafe { session.write(Box::into_raw(cell).cast()) };
            return TITAN_OK;
        }
        Ok(Err(err)) => err.message,
        Err(payload) => format!("panicked: {}", panic_message(payload.as_ref())),
    };
    // SAFETY: the host's writable slots.
    unsafe {
        session.write(std::ptr::null_mut());
        fail(error, message)
    }
}

unsafe extern "C" fn session_free<S: Session>(session: *mut c_void) {
    if session.is_null() {
        return;
    }
    // SAFETY: a `SessionCell<S>` `session_new` made, freed once.
    let cell = unsafe { Box::from_raw(session as *mut SessionCell<S>) };
    // A panicking Drop must not unwind into the host; the memory is lost, not the process.
    let _ = catch_unwind(AssertUnwindSafe(move || drop(cell)));
}

unsafe extern "C" fn read_tls<S: Session>(session: *mut c_void, data: *const u8, len: usize, consumed: *mut usize, error: *mut titan_value) -> titan_status {
    // SAFETY: the host lends `len` bytes for the call; the slots are its own.
    unsafe {
        let wire = borrowed(data, len);
        with_session::<S>(session, consumed, error, |s| within(s.read_tls(wire)?, len, "read_tls"))
    }
}

unsafe extern "C" fn read_plain<S: Session>(session: *mut c_void, buf: *mut u8, cap: usize, read: *mut usize, error: *mut titan_value) -> titan_status {
    // SAFETY: the host lends `cap` writable bytes for the call; the slots are its own.
    unsafe {
        let buf = borrowed_mut(buf, cap);
        with_session::<S>(session, read, error, |s| match s.read_plain(buf)? {
            PlainRead::Data(n) => within(n, cap, "read_plain"),
            PlainRead::Pending => Ok((TITAN_OK, 0)),
            PlainRead::Closed => Ok((TITAN_CLOSED, 0)),
        })
    }
}

unsafe extern "C" fn write_plain<S: Session>(session: *mut c_void, data: *const u8, len: usize, consumed: *mut usize, error: *mut titan_value) -> titan_status {
    // SAFETY: the host lends `len` bytes for the call; the slots are its own.
    unsafe {
        let data = borrowed(data, len);
        with_session::<S>(session, consumed, error, |s| within(s.write_plain(data)?, len, "write_plain"))
    }
}

unsafe extern "C" fn write_tls<S: Session>(session: *mut c_void, buf: *mut u8, cap: usize, written: *mut usize, error: *mut titan_value) -> titan_status {
    // SAFETY: the host lends `cap` writable bytes for the call; the slots are its own.
    unsafe {
        let buf = borrowed_mut(buf, cap);
        with_session::<S>(session, written, error, |s| within(s.write_tls(buf)?, cap, "write_tls"))
    }
}

/// A yes/no question to a session; a poisoned session, or one that panics answering, says no
/// (its next fallible call reports the panic and the host drops it).
///
/// # Safety
/// As `with_session`.
unsafe fn ask<S: Session>(session: *mut c_void, question: impl FnOnce(&S) -> bool) -> bool {
    // SAFETY: see above.
    let cell = unsafe { &mut *(session as *mut SessionCell<S>) };
    if cell.panicked.is_some() {
        return false;
    }
    match catch_unwind(AssertUnwindSafe(|| question(&cell.session))) {
        Ok(answer) => answer,
        Err(payload) => {
            cell.panicked = Some(format!("panicked: {}", panic_message(payload.as_ref())));
            false
        }
    }
}

unsafe extern "C" fn wants_write<S: Session>(session: *mut c_void) -> bool {
    // SAFETY: the host's session.
    unsafe { ask::<S>(session, S::wants_write) }
}

unsafe extern "C" fn is_handshaking<S: Session>(session: *mut c_void) -> bool {
    // SAFETY: the host's session.
    unsafe { ask::<S>(session, S::is_handshaking) }
}

unsafe extern "C" fn close<S: Session>(session: *mut c_void) {
    // SAFETY: the host's session.
    let cell = unsafe { &mut *(session as *mut SessionCell<S>) };
    if cell.panicked.is_none()
        && let Err(payload) = catch_unwind(AssertUnwindSafe(|| cell.session.close()))
    {
        cell.panicked = Some(format!("panicked: {}", panic_message(payload.as_ref())));
    }
}

unsafe extern "C" fn peer_identity<S: Session>(session: *mut c_void, identity: *mut titan_value, error: *mut titan_value) -> titan_status {
    // SAFETY: the host's writable slot, set on every path (NULL unless an identity is given).
    unsafe { identity.write(titan_value::NULL) };
    let give = |session: &mut S| {
        match session.peer_identity()? {
            None => {}
            Some(value @ serde_json::Value::Object(_)) => {
                let json = json_into_value(&value).map_err(TransportError::new)?;
                // SAFETY: the host's writable slot (see above).
                unsafe { identity.write(json) };
            }
            Some(other) => return Err(TransportError::new(format!("peer_identity must be a JSON object, not {other}"))),
        }
        Ok((TITAN_OK, 0))
    };
    let mut unused = 0;
    // SAFETY: the host's session and error slot.
    unsafe { with_session::<S>(session, &mut unused, error, give) }
}

unsafe extern "C" fn free_state<T: Transport>(state: *mut c_void) {
    if state.is_null() {
        return;
    }
    // SAFETY: the `T` `register` boxed, given back once.
    let transport = unsafe { Box::from_raw(state as *mut T) };
    let _ = catch_unwind(AssertUnwindSafe(move || drop(transport)));
}

/// For the glue's tests: the table `register` hands the host, without a host.
#[cfg(test)]
fn leak_definition<T: Transport>(transport: T) -> (titan_transport_def, CString) {
    let scheme = CString::new(transport.scheme()).unwrap();
    let state = Box::into_raw(Box::new(transport));
    (definition::<T>(scheme.as_ptr(), state.cast()), scheme)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Upper-cases what it receives; its handshake is one `!` byte from the peer, answered with
    /// `?`. Panics on a `#` byte, fails on a `%` byte. A greeted peer's identity is
    /// `{"greeted": true}`; after a `@` byte it is the number 42 (not an object).
    struct Shout {
        sessions: Arc<AtomicUsize>,
    }

    struct ShoutSession {
        greeted: bool,
        reply_pending: bool,
        plain_in: Vec<u8>,
        wire_out: Vec<u8>,
        closed: bool,
        identity: Option<serde_json::Value>,
        alive: Arc<AtomicUsize>,
    }

    impl Drop for ShoutSession {
        fn drop(&mut self) {
            self.alive.fetch_sub(1, Ordering::SeqCst);
        }
    }

    impl Transport for Shout {
        type Session = ShoutSession;
        fn scheme(&self) -> &str {
            "shout"
        }
        fn new_session(&self) -> Result<ShoutSession, TransportError> {
            self.sessions.fetch_add(1, Ordering::SeqCst);
            Ok(ShoutSession { greeted: false, reply_pending: false, plain_in: Vec::new(), wire_out: Vec::new(), closed: false, identity: None, alive: self.sessions.clone() })
        }
    }

    impl Session for ShoutSession {
        fn read_tls(&mut self, wire: &[u8]) -> Result<usize, TransportError> {
            if wire.is_empty() {
                self.closed = true;
                return Ok(0);
            }
            let mut taken = 0;
            if !self.greeted {
                if wire[0] != b'!' {
                    return Err(TransportError::new("expected the greeting `!`"));
                }
                self.greeted = true;
                self.identity = Some(serde_json::json!({ "greeted": true }));
                self.reply_pending = true;
                taken = 1;
            }
            for &byte in &wire[taken..] {
                match byte {
                    b'#' => panic!("a # on the wire"),
                    b'%' => return Err(TransportError::new("a % on the wire")),
                    b'@' => self.identity = Some(serde_json::json!(42)),
                    _ => self.plain_in.push(byte.to_ascii_uppercase()),
                }
            }
            Ok(wire.len())
        }
        fn read_plain(&mut self, buf: &mut [u8]) -> Result<PlainRead, TransportError> {
            if self.plain_in.is_empty() {
                return Ok(if self.closed { PlainRead::Closed } else { PlainRead::Pending });
            }
            let n = buf.len().min(self.plain_in.len());
            buf[..n].copy_from_slice(&self.plain_in[..n]);
            self.plain_in.drain(..n);
            Ok(PlainRead::Data(n))
        }
        fn write_plain(&mut self, data: &[u8]) -> Result<usize, TransportError> {
            let room = 8usize.saturating_sub(self.wire_out.len());
            let n = room.min(data.len());
            self.wire_out.extend_from_slice(&data[..n]);
            Ok(n)
        }
        fn write_tls(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
            let mut written = 0;
            if self.reply_pending && !buf.is_empty() {
                buf[0] = b'?';
                self.reply_pending = false;
                written = 1;
            }
            let n = (buf.len() - written).min(self.wire_out.len());
            buf[written..written + n].copy_from_slice(&self.wire_out[..n]);
            self.wire_out.drain(..n);
            Ok(written + n)
        }
        fn wants_write(&self) -> bool {
            self.reply_pending || !self.wire_out.is_empty()
        }
        fn is_handshaking(&self) -> bool {
            !self.greeted
        }
        fn peer_identity(&self) -> Result<Option<serde_json::Value>, TransportError> {
            Ok(self.identity.clone())
        }
    }

    /// The host's side of the table, as the runtime calls it.
    struct Driver {
        def: titan_transport_def,
        _scheme: CString,
    }

    struct Call {
        status: titan_status,
        count: usize,
        error: Option<String>,
    }

    impl Driver {
        fn new(sessions: Arc<AtomicUsize>) -> Self {
            let (def, scheme) = leak_definition(Shout { sessions });
            Self { def, _scheme: scheme }
        }

        fn finish(&self, status: titan_status, count: usize, mut error: titan_value) -> Call {
            let message = (status == TITAN_ERR).then(|| {
                assert_eq!(error.kind, TITAN_STRING);
                // SAFETY: a string the glue made, freed right after.
                let text = unsafe { std::slice::from_raw_parts(error.payload.buffer.ptr, error.payload.buffer.len) };
                String::from_utf8(text.to_vec()).unwrap()
            });
            // SAFETY: the glue's own value, freed once.
            unsafe { (self.def.free_value)(&mut error) };
            Call { status, count, error: message }
        }

        fn session(&self) -> *mut c_void {
            let mut session = std::ptr::null_mut();
            let mut error = titan_value::NULL;
            // SAFETY: the glue's state and writable slots.
            let status = unsafe { (self.def.session_new)(self.def.state, &mut session, &mut error) };
            assert_eq!(status, TITAN_OK);
            session
        }

        fn read_tls(&self, session: *mut c_void, data: &[u8]) -> Call {
            let (mut count, mut error) = (usize::MAX, titan_value::NULL);
            // SAFETY: a live session, borrowed bytes, writable slots.
            let status = unsafe { (self.def.read_tls)(session, data.as_ptr(), data.len(), &mut count, &mut error) };
            self.finish(status, count, error)
        }

        fn read_plain(&self, session: *mut c_void, buf: &mut [u8]) -> Call {
            let (mut count, mut error) = (usize::MAX, titan_value::NULL);
            // SAFETY: as above.
            let status = unsafe { (self.def.read_plain)(session, buf.as_mut_ptr(), buf.len(), &mut count, &mut error) };
            self.finish(status, count, error)
        }

        fn write_plain(&self, session: *mut c_void, data: &[u8]) -> Call {
            let (mut count, mut error) = (usize::MAX, titan_value::NULL);
            // SAFETY: as above.
            let status = unsafe { (self.def.write_plain)(session, data.as_ptr(), data.len(), &mut count, &mut error) };
            self.finish(status, count, error)
        }

        fn write_tls(&self, session: *mut c_void, buf: &mut [u8]) -> Call {
            let (mut count, mut error) = (usize::MAX, titan_value::NULL);
            // SAFETY: as above.
            let status = unsafe { (self.def.write_tls)(session, buf.as_mut_ptr(), buf.len(), &mut count, &mut error) };
            self.finish(status, count, error)
        }

        /// The identity as JSON text (None for TITAN_NULL), or the error message.
        fn peer_identity(&self, session: *mut c_void) -> Result<Option<String>, String> {
            let (mut identity, mut error) = (titan_value::NULL, titan_value::NULL);
            // SAFETY: as above.
            let status = unsafe { (self.def.peer_identity.unwrap())(session, &mut identity, &mut error) };
            let call = self.finish(status, 0, error);
            if let Some(message) = call.error {
                assert_eq!(identity.kind, TITAN_NULL, "no identity with an error");
                return Err(message);
            }
            if identity.kind == TITAN_NULL {
                return Ok(None);
            }
            assert_eq!(identity.kind, TITAN_JSON);
            // SAFETY: the glue's JSON, freed right after.
            let text = unsafe { std::slice::from_raw_parts(identity.payload.buffer.ptr, identity.payload.buffer.len) };
            let json = String::from_utf8(text.to_vec()).unwrap();
            // SAFETY: the glue's own value, freed once.
            unsafe { (self.def.free_value)(&mut identity) };
            Ok(Some(json))
        }
    }

    impl Drop for Driver {
        fn drop(&mut self) {
            // SAFETY: the state, given back once.
            unsafe { (self.def.free_state.unwrap())(self.def.state) };
        }
    }

    #[test]
    fn the_table_describes_the_transport() {
        let driver = Driver::new(Arc::default());
        assert_eq!(driver.def.struct_size as usize, size_of::<titan_transport_def>());
        // SAFETY: the scheme CString the driver keeps.
        assert_eq!(unsafe { std::ffi::CStr::from_ptr(driver.def.scheme) }.to_str(), Ok("shout"));
        assert!(driver.def.close.is_some());
    }

    #[test]
    fn a_session_runs_its_handshake_then_moves_plaintext_both_ways() {
        let alive = Arc::new(AtomicUsize::new(0));
        let driver = Driver::new(alive.clone());
        let session = driver.session();
        assert_eq!(alive.load(Ordering::SeqCst), 1);
        // SAFETY: a live session.
        unsafe {
            assert!((driver.def.is_handshaking)(session));
            assert!(!(driver.def.wants_write)(session));
        }

        let fed = driver.read_tls(session, b"!hey");
        assert_eq!((fed.status, fed.count), (TITAN_OK, 4));
        // SAFETY: a live session.
        unsafe {
            assert!(!(driver.def.is_handshaking)(session));
            assert!((driver.def.wants_write)(session), "the handshake reply is waiting");
        }
        let mut buf = [0u8; 2];
        let read = driver.read_plain(session, &mut buf);
        assert_eq!((read.status, read.count, &buf), (TITAN_OK, 2, b"HE"));
        let read = driver.read_plain(session, &mut buf);
        assert_eq!((read.status, read.count, &buf[..1]), (TITAN_OK, 1, &b"Y"[..]));
        let read = driver.read_plain(session, &mut buf);
        assert_eq!((read.status, read.count), (TITAN_OK, 0), "nothing yet");

        // The session's buffer holds 8 bytes: the rest is refused until write_tls drains it.
        let written = driver.write_plain(session, b"0123456789");
        assert_eq!((written.status, written.count), (TITAN_OK, 8));
        assert_eq!(driver.write_plain(session, b"89").count, 0);
        let mut wire = [0u8; 16];
        let out = driver.write_tls(session, &mut wire);
        assert_eq!(&wire[..out.count], b"?01234567");

        let end = driver.read_tls(session, b"");
        assert_eq!((end.status, end.count), (TITAN_OK, 0));
        assert_eq!(driver.read_plain(session, &mut buf).status, TITAN_CLOSED);

        // SAFETY: freed once.
        unsafe { (driver.def.session_free)(session) };
        assert_eq!(alive.load(Ordering::SeqCst), 0, "the session was dropped");
    }

    #[test]
    fn the_peer_identity_is_a_json_object_or_nothing() {
        let driver = Driver::new(Arc::default());
        let session = driver.session();
        assert_eq!(driver.peer_identity(session), Ok(None), "nothing proved before the handshake");
        driver.read_tls(session, b"!");
        assert_eq!(driver.peer_identity(session), Ok(Some(r#"{"greeted":true}"#.to_owned())));
        driver.read_tls(session, b"@");
        assert_eq!(driver.peer_identity(session), Err("peer_identity must be a JSON object, not 42".to_owned()));
        // SAFETY: freed once.
        unsafe { (driver.def.session_free)(session) };
    }

    #[test]
    fn errors_are_messages_and_a_panic_poisons_only_its_session() {
        let driver = Driver::new(Arc::default());
        let failing = driver.session();
        let call = driver.read_tls(failing, b"x");
        assert_eq!((call.status, call.error.as_deref()), (TITAN_ERR, Some("expected the greeting `!`")));
        assert_eq!(call.count, 0);

        let panicking = driver.session();
        let call = driver.read_tls(panicking, b"!a#");
        assert_eq!(call.status, TITAN_ERR);
        assert_eq!(call.error.as_deref(), Some("panicked: a # on the wire"));
        let mut buf = [0u8; 4];
        let again = driver.read_plain(panicking, &mut buf);
        assert_eq!(again.error.as_deref(), Some("the session panicked earlier (panicked: a # on the wire); its connection is closed"));
        // SAFETY: a live session.
        assert!(!unsafe { (driver.def.wants_write)(panicking) });

        let healthy = driver.session();
        assert_eq!(driver.read_tls(healthy, b"!ok").status, TITAN_OK);
        let read = driver.read_plain(healthy, &mut buf);
        assert_eq!(&buf[..read.count], b"OK");
        // SAFETY: each freed once.
        unsafe {
            (driver.def.session_free)(failing);
            (driver.def.session_free)(panicking);
            (driver.def.session_free)(healthy);
        }
    }

    #[test]
    fn register_outside_init_says_where_it_belongs() {
        let err = register(Shout { sessions: Arc::default() }).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot register the shout:// transport outside init: call titan_ext::transport::register from the function declared as `init` in titan_ext::extension!"
        );
    }

    #[test]
    fn any_error_converts_with_the_question_mark() {
        fn parse(text: &str) -> Result<u16, TransportError> {
            Ok(text.parse::<u16>()?)
        }
        assert_eq!(parse("70000").unwrap_err().message(), "number too large to fit in target type");
    }
}
