//! The host side of `titan_transport_def`: reading and checking the table an extension passes to
//! `register_transport`, and calling its sans-IO session functions. Safe types over the raw
//! pointers; `ext::transport` drives them over a socket.

use std::ffi::{CStr, c_void};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use titan_ext_sys::*;

use super::{LibraryImage, buffer_bytes, take_message};

/// An extension's transport table, checked, with its state. Keeps the extension's library
/// mapped while it lives (the functions below point into it), which may be after the
/// extension's `unload`: listeners and connections hold it.
pub(crate) struct TransportTable {
    extension: String,
    scheme: String,
    state: *mut c_void,
    session_new: unsafe extern "C" fn(*mut c_void, *mut *mut c_void, *mut titan_value) -> titan_status,
    session_free: unsafe extern "C" fn(*mut c_void),
    read_tls: unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut usize, *mut titan_value) -> titan_status,
    read_plain: unsafe extern "C" fn(*mut c_void, *mut u8, usize, *mut usize, *mut titan_value) -> titan_status,
    write_plain: unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut usize, *mut titan_value) -> titan_status,
    write_tls: unsafe extern "C" fn(*mut c_void, *mut u8, usize, *mut usize, *mut titan_value) -> titan_status,
    wants_write: unsafe extern "C" fn(*mut c_void) -> bool,
    is_handshaking: unsafe extern "C" fn(*mut c_void) -> bool,
    close: Option<unsafe extern "C" fn(*mut c_void)>,
    free_state: Option<unsafe extern "C" fn(*mut c_void)>,
    free_value: titan_free_value_fn,
    /// Absent in tables built before it was appended.
    peer_identity: Option<unsafe extern "C" fn(*mut c_void, *mut titan_value, *mut titan_value) -> titan_status>,
    /// Whether `state` is the host's to free: only once the registration succeeded (a refused
    /// one leaves it with the extension, as the ABI states).
    owns_state: AtomicBool,
    _image: Option<Arc<LibraryImage>>,
}

// SAFETY: the ABI requires a transport's state and functions to be usable from any thread at
// once; sessions (below) are handed to one thread at a time.
unsafe impl Send for TransportTable {}
// SAFETY: as above.
unsafe impl Sync for TransportTable {}

impl std::fmt::Debug for TransportTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportTable").field("extension", &self.extension).field("scheme", &self.scheme).finish_non_exhaustive()
    }
}

/// An RFC 3986 scheme in lower case (what listen addresses accept): a letter, then letters,
/// digits, `+`, `-` or `.`.
fn is_lower_case_scheme(scheme: &str) -> bool {
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase()) && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '+' | '-' | '.'))
}

impl TransportTable {
    /// Reads the table `register_transport` received, checking what can be checked: its size,
    /// its scheme. `image` is the library the functions live in (`None` when linked into the
    /// runtime). The state stays the extension's until [`TransportTable::adopt_state`].
    ///
    /// # Safety
    /// `def` is null or points to a `titan_transport_def` of at least its `struct_size` bytes,
    /// valid for this call, whose functions are the extension's (as the ABI states).
    pub(crate) unsafe fn read(def: *const c_void, extension: &str, image: Option<Arc<LibraryImage>>) -> Result<Self, String> {
        let def = def as *const titan_transport_def;
        if def.is_null() {
            return Err("register_transport was called with a null transport definition".into());
        }
        // SAFETY: `struct_size` is the first field of every version of the table.
        let struct_size = unsafe { (*def).struct_size };
        let size = struct_size as usize;
        // The table as ABI 1 first defined it; fields appended since are read when present.
        let needed = std::mem::offset_of!(titan_transport_def, peer_identity);
        if size < needed {
            return Err(format!("its transport definition is {size} bytes, this runtime needs {needed}: rebuild the extension with this runtime's titan-ext"));
        }
        // SAFETY: checked above: the first version of the table is there; later fields are read
        // only when `struct_size` covers them.
        let d = unsafe { &*def };
        let peer_identity = if titan_transport_def::has_peer_identity(struct_size) { d.peer_identity } else { None };
        if d.scheme.is_null() {
            return Err("its transport definition has no scheme".into());
        }
        // SAFETY: a NUL-terminated string, valid during the call.
        let scheme = unsafe { CStr::from_ptr(d.scheme) }.to_str().map_err(|_| "its transport scheme is not UTF-8".to_owned())?.to_owned();
        if !is_lower_case_scheme(&scheme) {
            return Err(format!(
                "its transport scheme {scheme:?} is not a lower-case URL scheme (a letter, then letters, digits, '+', '-' or '.'), as listen addresses write it"
            ));
        }
        Ok(Self {
            extension: extension.to_owned(),
            scheme,
            state: d.state,
            session_new: d.session_new,
            session_free: d.session_free,
            read_tls: d.read_tls,
            read_plain: d.read_plain,
            write_plain: d.write_plain,
            write_tls: d.write_tls,
            wants_write: d.wants_write,
            is_handshaking: d.is_handshaking,
            close: d.close,
            free_state: d.free_state,
            free_value: d.free_value,
            peer_identity,
            owns_state: AtomicBool::new(false),
            _image: image,
        })
    }

    /// The URL scheme it serves.
    pub(crate) fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The extension that registered it.
    pub(crate) fn extension(&self) -> &str {
        &self.extension
    }

    /// The registration succeeded: from now on the host frees the state (when this drops).
    pub(crate) fn adopt_state(&self) {
        self.owns_state.store(true, Ordering::Release);
    }

    /// Starts a session for a new connection.
    pub(crate) fn new_session(self: &Arc<Self>) -> Result<TransportSession, String> {
        let mut session = std::ptr::null_mut();
        let mut error = titan_value::NULL;
        // SAFETY: the ABI's session_new contract: the transport's state, writable slots.
        let status = unsafe { (self.session_new)(self.state, &mut session, &mut error) };
        if status != TITAN_OK {
            // SAFETY: on failure `error` is a value the extension owns.
            return Err(unsafe { take_message(&mut error, self.free_value) });
        }
        if session.is_null() {
            return Err("session_new succeeded without a session".into());
        }
        Ok(TransportSession { table: self.clone(), session })
    }
}

impl Drop for TransportTable {
    fn drop(&mut self) {
        if self.owns_state.load(Ordering::Acquire)
            && let Some(free_state) = self.free_state
        {
            // SAFETY: the last listener and session are gone (they hold this table); the state
            // is the host's since the registration, freed once; the library is still mapped
            // (`_image` drops after this).
            unsafe { free_state(self.state) };
        }
    }
}

/// What a session's `read_plain` had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlainRead {
    /// This many bytes.
    Data(usize),
    /// None yet.
    Pending,
    /// The stream ended.
    Closed,
}

/// One connection's session. Used by one thread at a time; freed when dropped.
pub(crate) struct TransportSession {
    table: Arc<TransportTable>,
    session: *mut c_void,
}

// SAFETY: the ABI lets a session move between threads as long as one thread uses it at a time,
// which `&mut self` (and the absence of `Sync`) guarantees.
unsafe impl Send for TransportSession {}

/// A count an extension wrote, checked against the buffer it describes before the host slices
/// with it.
fn checked(count: usize, len: usize, function: &str) -> Result<usize, String> {
    if count > len {
        return Err(format!("its {function} reported {count} bytes for a buffer of {len}"));
    }
    Ok(count)
}

impl TransportSession {
    /// The table it belongs to.
    pub(crate) fn table(&self) -> &TransportTable {
        &self.table
    }

    /// Calls a counting function: status, then the checked count.
    fn counted(&mut self, function: &str, len: usize, call: impl FnOnce(*mut c_void, *mut usize, *mut titan_value) -> titan_status) -> Result<(titan_status, usize), String> {
        let mut count = 0usize;
        let mut error = titan_value::NULL;
        let status = call(self.session, &mut count, &mut error);
        if status == TITAN_OK || status == TITAN_CLOSED {
            return Ok((status, checked(count, len, function)?));
        }
        // SAFETY: on failure `error` is a value the extension owns (or still null).
        Err(unsafe { take_message(&mut error, self.table.free_value) })
    }

    /// Gives the session bytes read from the socket (empty: end of stream); how many it took.
    pub(crate) fn read_tls(&mut self, data: &[u8]) -> Result<usize, String> {
        let f = self.table.read_tls;
        // SAFETY: a live session; `data` is borrowed for the call; writable slots.
        let (status, n) = self.counted("read_tls", data.len(), |s, count, error| unsafe { f(s, data.as_ptr(), data.len(), count, error) })?;
        if status != TITAN_OK {
            return Err(format!("its read_tls answered status {status}"));
        }
        Ok(n)
    }

    /// Takes plaintext into `buf`.
    pub(crate) fn read_plain(&mut self, buf: &mut [u8]) -> Result<PlainRead, String> {
        let f = self.table.read_plain;
        let cap = buf.len();
        // SAFETY: a live session; `buf` is writable for the call; writable slots.
        let (status, n) = self.counted("read_plain", cap, |s, count, error| unsafe { f(s, buf.as_mut_ptr(), cap, count, error) })?;
        Ok(match (status, n) {
            (TITAN_CLOSED, _) => PlainRead::Closed,
            (_, 0) => PlainRead::Pending,
            (_, n) => PlainRead::Data(n),
        })
    }

    /// Gives the session plaintext to send; how much it took.
    pub(crate) fn write_plain(&mut self, data: &[u8]) -> Result<usize, String> {
        let f = self.table.write_plain;
        // SAFETY: a live session; `data` is borrowed for the call; writable slots.
        let (status, n) = self.counted("write_plain", data.len(), |s, count, error| unsafe { f(s, data.as_ptr(), data.len(), count, error) })?;
        if status != TITAN_OK {
            return Err(format!("its write_plain answered status {status}"));
        }
        Ok(n)
    }

    /// Takes bytes to send on the socket into `buf`; how many.
    pub(crate) fn write_tls(&mut self, buf: &mut [u8]) -> Result<usize, String> {
        let f = self.table.write_tls;
        let cap = buf.len();
        // SAFETY: a live session; `buf` is writable for the call; writable slots.
        let (status, n) = self.counted("write_tls", cap, |s, count, error| unsafe { f(s, buf.as_mut_ptr(), cap, count, error) })?;
        if status != TITAN_OK {
            return Err(format!("its write_tls answered status {status}"));
        }
        Ok(n)
    }

    /// Whether `write_tls` has bytes to give.
    pub(crate) fn wants_write(&self) -> bool {
        // SAFETY: a live session, used by this thread only.
        unsafe { (self.table.wants_write)(self.session) }
    }

    /// Whether the handshake is still running.
    pub(crate) fn is_handshaking(&self) -> bool {
        // SAFETY: as above.
        unsafe { (self.table.is_handshaking)(self.session) }
    }

    /// Who the peer proved to be (a JSON object's text), asked once the handshake has ended;
    /// `None` when the transport has no such function or the peer proved nothing.
    pub(crate) fn peer_identity(&mut self) -> Result<Option<String>, String> {
        let Some(peer_identity) = self.table.peer_identity else { return Ok(None) };
        let (mut identity, mut error) = (titan_value::NULL, titan_value::NULL);
        // SAFETY: a live session used by this thread only; writable slots.
        let status = unsafe { peer_identity(self.session, &mut identity, &mut error) };
        if status != TITAN_OK {
            // SAFETY: the extension's values (or still null), freed once.
            unsafe { (self.table.free_value)(&mut identity) };
            // SAFETY: as above.
            return Err(unsafe { take_message(&mut error, self.table.free_value) });
        }
        let kind = identity.kind;
        let text = match kind {
            TITAN_NULL => None,
            // SAFETY: a JSON value carries a buffer the extension made, valid until freed below.
            TITAN_JSON => Some(String::from_utf8_lossy(unsafe { buffer_bytes(&identity) }).into_owned()),
            _ => None,
        };
        // SAFETY: the extension's value, freed once.
        unsafe { (self.table.free_value)(&mut identity) };
        match (kind, text) {
            (TITAN_NULL, _) => Ok(None),
            (TITAN_JSON, Some(text)) if text.trim_start().starts_with('{') => Ok(Some(text)),
            _ => Err(format!("its peer_identity gave a value of kind {kind}, not a JSON object (TITAN_JSON) or TITAN_NULL")),
        }
    }

    /// Queues the end of the stream for the peer, when the transport has such a thing.
    pub(crate) fn close(&mut self) {
        if let Some(close) = self.table.close {
            // SAFETY: as above.
            unsafe { close(self.session) };
        }
    }
}

impl Drop for TransportSession {
    fn drop(&mut self) {
        // SAFETY: a live session, freed once; the table (and so the library) outlives it.
        unsafe { (self.table.session_free)(self.session) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_are_lower_case_url_schemes() {
        for good in ["tls", "quic+x", "my-proto.v2", "h2"] {
            assert!(is_lower_case_scheme(good), "{good}");
        }
        for bad in ["", "TLS", "2fa", "tl s", "tls:", "ünï"] {
            assert!(!is_lower_case_scheme(bad), "{bad}");
        }
    }

    #[test]
    fn counts_beyond_the_buffer_are_refused() {
        assert_eq!(checked(4, 4, "read_tls"), Ok(4));
        assert_eq!(checked(5, 4, "read_tls").unwrap_err(), "its read_tls reported 5 bytes for a buffer of 4");
    }
}
