//! `{{project-name}}`: {{description}}
//!
//! A Netron transport: apps listen on `{{ project-name | replace: "_", "-" }}://HOST:PORT` next to the built-in tcp, unix
//! and ws, and the runtime runs every connection through this crate's `Session`. The model is
//! sans-IO (as rustls): the runtime owns the socket and its I/O loop; a session only transforms
//! bytes, wire bytes in (`read_tls`) and out (`write_tls`), Netron's frames as plaintext in
//! (`write_plain`) and out (`read_plain`).
//!
//! The starting point here is the smallest real protocol: the client first sends the greeting
//! line `<SCHEME>/1\n` (the handshake), then bytes pass through unchanged. Replace the session
//! with yours (TLS, compression, a proxy protocol...): see `examples-ext/tls-transport` in the
//! Titan repository for rustls behind the same traits.

use std::collections::VecDeque;

use titan_ext::function;
use titan_ext::transport::{self, PlainRead, Session, Transport, TransportError};

/// This transport's URL scheme: apps listen on `<SCHEME>://HOST:PORT`.
pub const SCHEME: &str = "{{ project-name | replace: "_", "-" }}";

/// Bytes a session buffers each way before it asks the runtime to drain it.
const BUFFER_LIMIT: usize = 64 * 1024;

/// The line a client sends first: `<SCHEME>/1\n`.
pub fn greeting() -> String {
    format!("{SCHEME}/1\n")
}

/// The transport: what every connection shares (settings from the app's config would live here,
/// read in `init`).
#[derive(Debug, Default)]
pub struct PassThrough;

impl Transport for PassThrough {
    type Session = PassThroughSession;

    fn scheme(&self) -> &str {
        SCHEME
    }

    fn new_session(&self) -> Result<PassThroughSession, TransportError> {
        Ok(PassThroughSession::new())
    }
}

/// One connection: checks the greeting, then passes bytes through.
#[derive(Debug)]
pub struct PassThroughSession {
    /// The part of the greeting not received yet; empty once the handshake is done.
    expected: VecDeque<u8>,
    /// Received after the greeting, not yet taken by the runtime.
    received: VecDeque<u8>,
    /// Given by the runtime, not yet sent.
    to_send: VecDeque<u8>,
    peer_closed: bool,
}

impl PassThroughSession {
    /// A session waiting for the greeting.
    pub fn new() -> Self {
        Self { expected: greeting().into_bytes().into(), received: VecDeque::new(), to_send: VecDeque::new(), peer_closed: false }
    }
}

impl Default for PassThroughSession {
    fn default() -> Self {
        Self::new()
    }
}

/// Moves up to `buf.len()` bytes from the front of `queue` into `buf`.
fn drain_into(queue: &mut VecDeque<u8>, buf: &mut [u8]) -> usize {
    let n = buf.len().min(queue.len());
    for (slot, byte) in buf.iter_mut().zip(queue.drain(..n)) {
        *slot = byte;
    }
    n
}

impl Session for PassThroughSession {
    fn read_tls(&mut self, wire: &[u8]) -> Result<usize, TransportError> {
        if wire.is_empty() {
            self.peer_closed = true;
            return Ok(0);
        }
        let mut taken = 0;
        while let Some(&want) = self.expected.front() {
            let Some(&got) = wire.get(taken) else { return Ok(taken) };
            if got != want {
                return Err(TransportError::new(format!("expected the greeting {:?} first; connect with a {SCHEME}:// client", greeting())));
            }
            self.expected.pop_front();
            taken += 1;
        }
        // Bounded: what does not fit is offered again once the runtime has read some.
        let n = (BUFFER_LIMIT - self.received.len()).min(wire.len() - taken);
        self.received.extend(&wire[taken..taken + n]);
        Ok(taken + n)
    }

    fn read_plain(&mut self, buf: &mut [u8]) -> Result<PlainRead, TransportError> {
        if self.received.is_empty() {
            return Ok(if self.peer_closed { PlainRead::Closed } else { PlainRead::Pending });
        }
        Ok(PlainRead::Data(drain_into(&mut self.received, buf)))
    }

    fn write_plain(&mut self, data: &[u8]) -> Result<usize, TransportError> {
        let n = (BUFFER_LIMIT - self.to_send.len()).min(data.len());
        self.to_send.extend(&data[..n]);
        Ok(n)
    }

    fn write_tls(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        Ok(drain_into(&mut self.to_send, buf))
    }

    fn wants_write(&self) -> bool {
        !self.to_send.is_empty()
    }

    fn is_handshaking(&self) -> bool {
        !self.expected.is_empty()
    }

    /// Who the peer proved to be in the handshake, as a JSON object: services read it as
    /// `t.netron.caller().peer` (tls-transport gives the verified client certificate). A
    /// greeting proves nothing, so this one says nobody; the default does the same.
    fn peer_identity(&self) -> Result<Option<serde_json::Value>, TransportError> {
        Ok(None)
    }
}

/// Registers the transport when the app loads the extension. `config` is the extension's
/// `config` from the app's titan.config.json (unused here).
fn init(_config: serde_json::Value) -> Result<(), String> {
    transport::register(PassThrough).map_err(|e| e.to_string())
}

/// The transport's URL scheme: `t.{{namespace}}.scheme()` → `"{{ project-name | replace: "_", "-" }}"`.
#[function]
pub fn scheme() -> &'static str {
    SCHEME
}

/// What a client sends first, for JS clients: `t.{{namespace}}.greeting()`.
#[function(name = "greeting")]
pub fn greeting_line() -> String {
    greeting()
}

titan_ext::extension! {
    functions: [scheme, greeting_line],
    init: init,
}

// Unit tests of the session: `cargo test`. tests/*.test.js load the built extension into a real
// worker isolate (`npm test`).
#[cfg(test)]
mod tests {
    use super::*;

    /// Everything the session has to send.
    fn sent(session: &mut PassThroughSession) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 7];
        while session.wants_write() {
            let n = session.write_tls(&mut buf).unwrap();
            out.extend_from_slice(&buf[..n]);
        }
        out
    }

    /// Everything the session has received, and whether the stream ended.
    fn received(session: &mut PassThroughSession) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        let mut buf = [0u8; 5];
        loop {
            match session.read_plain(&mut buf).unwrap() {
                PlainRead::Data(n) => out.extend_from_slice(&buf[..n]),
                PlainRead::Pending => return (out, false),
                PlainRead::Closed => return (out, true),
            }
        }
    }

    #[test]
    fn the_scheme_is_a_lower_case_url_scheme() {
        // What listen addresses accept: a letter, then letters, digits, '+', '-' or '.'.
        let mut chars = SCHEME.chars();
        assert!(chars.next().is_some_and(|c| c.is_ascii_lowercase()), "{SCHEME}");
        assert!(chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c)), "{SCHEME}");
        assert_eq!(PassThrough.scheme(), SCHEME);
    }

    #[test]
    fn the_handshake_is_the_greeting_even_when_it_arrives_in_pieces() {
        let mut session = PassThrough.new_session().unwrap();
        let line = greeting().into_bytes();
        assert!(session.is_handshaking());
        assert_eq!(session.read_tls(&line[..3]).unwrap(), 3);
        assert!(session.is_handshaking());
        // The rest of the greeting and the first bytes of the stream in one read.
        let mut rest = line[3..].to_vec();
        rest.extend_from_slice(b"frame");
        assert_eq!(session.read_tls(&rest).unwrap(), rest.len());
        assert!(!session.is_handshaking());
        assert_eq!(received(&mut session), (b"frame".to_vec(), false));
    }

    #[test]
    fn a_wrong_greeting_is_refused_with_what_to_do() {
        let mut session = PassThrough.new_session().unwrap();
        let err = session.read_tls(b"GET / HTTP/1.1\r\n").unwrap_err();
        assert_eq!(err.message(), format!("expected the greeting {:?} first; connect with a {SCHEME}:// client", greeting()));
    }

    #[test]
    fn bytes_pass_through_both_ways_within_the_buffer_limit() {
        let mut session = PassThrough.new_session().unwrap();
        session.read_tls(greeting().as_bytes()).unwrap();

        assert_eq!(session.write_plain(b"hello").unwrap(), 5);
        assert_eq!(sent(&mut session), b"hello");

        // The session takes no more than its limit; the runtime offers the rest later.
        let big = vec![7u8; BUFFER_LIMIT + 10];
        assert_eq!(session.write_plain(&big).unwrap(), BUFFER_LIMIT);
        assert_eq!(session.write_plain(&big).unwrap(), 0);
        assert_eq!(sent(&mut session).len(), BUFFER_LIMIT);
        assert_eq!(session.read_tls(&big).unwrap(), BUFFER_LIMIT);
        assert_eq!(received(&mut session).0.len(), BUFFER_LIMIT);
    }

    #[test]
    fn the_end_of_the_socket_ends_the_stream_after_what_was_received() {
        let mut session = PassThrough.new_session().unwrap();
        session.read_tls(greeting().as_bytes()).unwrap();
        session.read_tls(b"last").unwrap();
        assert_eq!(session.read_tls(b"").unwrap(), 0);
        assert_eq!(received(&mut session), (b"last".to_vec(), true));
    }

    #[test]
    fn registering_outside_the_runtime_says_where_it_belongs() {
        // `init` registers through the runtime, which a unit test does not have.
        let err = init(serde_json::Value::Null).unwrap_err();
        assert!(err.contains("outside init"), "{err}");
    }
}
