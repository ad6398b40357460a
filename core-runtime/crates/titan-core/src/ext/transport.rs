//! Netron transports extensions register (`titan_host.register_transport`): the process-wide
//! registry listeners look schemes up in, and the adapter that runs an extension's sans-IO
//! session over a TCP socket the core owns. The I/O is the caller's (a worker's tokio runtime,
//! on its own thread): the session's functions run on whichever thread polls the connection,
//! with no thread hop, and every buffer between the socket and the session is bounded.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use titan_netron::transport::{AcceptFuture, Accepted, ByteStream, StreamTransport, TransportRegistry};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::ext::abi::transport::{PlainRead, TransportSession, TransportTable};

static TRANSPORTS: LazyLock<TransportRegistry> = LazyLock::new(TransportRegistry::default);

/// The process-wide registry the Netron listeners look schemes up in: every transport a loaded
/// extension registered from its `init`, until that extension unloads.
pub fn transport_registry() -> &'static TransportRegistry {
    &TRANSPORTS
}

/// How long a peer has to complete a transport's handshake (a TLS handshake) before its
/// connection is dropped: a peer that connects and says nothing must not hold a socket forever.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes moved between the socket and the session per step, each way: one TLS record (16 KiB of
/// payload and its overhead) fits.
const WIRE_CHUNK: usize = 18 * 1024;

/// An extension's transport as the Netron listeners use it.
pub(crate) struct ExtensionTransport {
    table: Arc<TransportTable>,
}

impl ExtensionTransport {
    /// The extension's table.
    pub(crate) fn table(&self) -> &TransportTable {
        &self.table
    }
}

/// Puts a transport an extension's `init` passed to `register_transport` into the registry;
/// the registry's message when the scheme is built in or taken.
pub(crate) fn register(table: TransportTable) -> Result<Arc<ExtensionTransport>, String> {
    let transport = Arc::new(ExtensionTransport { table: Arc::new(table) });
    TRANSPORTS.register(transport.clone()).map_err(|e| e.to_string())?;
    transport.table.adopt_state();
    Ok(transport)
}

/// Takes `transport` out of the registry (its extension is unloading or failed to load), if it
/// is still the one registered for its scheme. Listeners bound with it keep it until they close.
pub(crate) fn unregister(transport: &Arc<ExtensionTransport>) {
    let scheme = transport.table.scheme();
    if let Some(current) = TRANSPORTS.get(scheme)
        && std::ptr::addr_eq(Arc::as_ptr(&current), Arc::as_ptr(transport))
    {
        TRANSPORTS.unregister(scheme);
    }
}

/// An error of `table`'s transport, naming it.
fn transport_error(table: &TransportTable, kind: io::ErrorKind, message: &str) -> io::Error {
    io::Error::new(kind, format!("the {}:// transport of extension `{}` dropped the connection: {message}", table.scheme(), table.extension()))
}

impl StreamTransport for ExtensionTransport {
    fn scheme(&self) -> &str {
        self.table.scheme()
    }

    fn accept(&self, socket: TcpStream) -> AcceptFuture {
        let table = self.table.clone();
        Box::pin(async move {
            let session = table.new_session().map_err(|m| transport_error(&table, io::ErrorKind::Other, &format!("could not start a session: {m}")))?;
            let mut stream = SessionStream::new(socket, session);
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, poll_fn(|cx| stream.poll_handshake(cx))).await {
                Ok(handshake) => handshake?,
                Err(_) => {
                    let why = format!("the handshake did not finish within {HANDSHAKE_TIMEOUT:?}; connect with a {}:// client", table.scheme());
                    return Err(transport_error(&table, io::ErrorKind::TimedOut, &why));
                }
            }
            // Asked once, now that the peer has proved whatever it proves (a client certificate).
            let peer_identity = stream.session.peer_identity().map_err(|m| transport_error(&table, io::ErrorKind::InvalidData, &format!("could not tell who the peer is: {m}")))?;
            Ok(Accepted { stream: Box::new(stream) as Box<dyn ByteStream>, peer_identity })
        })
    }
}

/// A TCP connection seen through an extension's session: plaintext in and out, the wire bytes
/// on the socket. Built by `accept`, which runs the handshake before handing it out.
struct SessionStream {
    socket: TcpStream,
    session: TransportSession,
    /// Bytes read from the socket that the session has not taken yet: `incoming[start..end]`.
    incoming: Box<[u8]>,
    incoming_start: usize,
    incoming_end: usize,
    /// Bytes the session gave for the socket, not yet written: `outgoing[start..end]`.
    outgoing: Box<[u8]>,
    outgoing_start: usize,
    outgoing_end: usize,
    /// The socket reached end of stream (and the session was told).
    socket_eof: bool,
    /// `close` was asked of the session.
    closing: bool,
}

impl SessionStream {
    fn new(socket: TcpStream, session: TransportSession) -> Self {
        Self {
            socket,
            session,
            incoming: vec![0; WIRE_CHUNK].into_boxed_slice(),
            incoming_start: 0,
            incoming_end: 0,
            outgoing: vec![0; WIRE_CHUNK].into_boxed_slice(),
            outgoing_start: 0,
            outgoing_end: 0,
            socket_eof: false,
            closing: false,
        }
    }

    fn error(&self, kind: io::ErrorKind, message: &str) -> io::Error {
        transport_error(self.session.table(), kind, message)
    }

    /// The session failed: it may have something to tell the peer first (a TLS alert), so what
    /// it has is offered to the socket without waiting, then the connection ends with `message`.
    fn fail(&mut self, cx: &mut Context<'_>, message: &str) -> io::Error {
        let _ = self.poll_send(cx);
        self.error(io::ErrorKind::InvalidData, message)
    }

    /// Writes everything the session has to send; ready once it has nothing more.
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            while self.outgoing_start < self.outgoing_end {
                let pending = &self.outgoing[self.outgoing_start..self.outgoing_end];
                let written = ready!(Pin::new(&mut self.socket).poll_write(cx, pending))?;
                if written == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                self.outgoing_start += written;
            }
            (self.outgoing_start, self.outgoing_end) = (0, 0);
            if !self.session.wants_write() {
                return Poll::Ready(Ok(()));
            }
            let given = self.session.write_tls(&mut self.outgoing).map_err(|m| self.error(io::ErrorKind::InvalidData, &m))?;
            if given == 0 {
                // It said it had something and gave nothing: there is nothing to wait for.
                return Poll::Ready(Ok(()));
            }
            self.outgoing_end = given;
        }
    }

    /// Gives the session more wire bytes: the ones it left last time, else a read from the
    /// socket (end of stream included). Ready when the session took something or was told of
    /// the end of stream.
    fn poll_receive(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.incoming_start < self.incoming_end {
            let taken = match self.session.read_tls(&self.incoming[self.incoming_start..self.incoming_end]) {
                Ok(taken) => taken,
                Err(message) => return Poll::Ready(Err(self.fail(cx, &message))),
            };
            if taken == 0 {
                return Poll::Ready(Err(self.error(io::ErrorKind::InvalidData, "the session took none of the bytes received and had none to give (stalled)")));
            }
            self.incoming_start += taken;
            return Poll::Ready(Ok(()));
        }
        let mut buf = ReadBuf::new(&mut self.incoming);
        ready!(Pin::new(&mut self.socket).poll_read(cx, &mut buf))?;
        let read = buf.filled().len();
        (self.incoming_start, self.incoming_end) = (0, read);
        if read == 0 {
            self.socket_eof = true;
        }
        // Fed at once; what it leaves is offered again after its plaintext was taken.
        match self.session.read_tls(&self.incoming[..read]) {
            Ok(taken) => self.incoming_start = taken,
            Err(message) => return Poll::Ready(Err(self.fail(cx, &message))),
        }
        Poll::Ready(Ok(()))
    }

    /// Runs the session's handshake to its end: its messages out, the peer's in.
    fn poll_handshake(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            ready!(self.poll_send(cx))?;
            if !self.session.is_handshaking() {
                return Poll::Ready(Ok(()));
            }
            if self.socket_eof && self.incoming_start == self.incoming_end {
                return Poll::Ready(Err(self.error(io::ErrorKind::UnexpectedEof, "the peer closed the connection during the handshake")));
            }
            ready!(self.poll_receive(cx))?;
        }
    }
}

impl AsyncRead for SessionStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            match this.session.read_plain(buf.initialize_unfilled()) {
                Ok(PlainRead::Data(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(PlainRead::Closed) => return Poll::Ready(Ok(())),
                Ok(PlainRead::Pending) => {}
                Err(message) => return Poll::Ready(Err(this.fail(cx, &message))),
            }
            // What the session must say while it reads (TLS key updates, alerts) goes out
            // without waiting for the socket to take it.
            if let Poll::Ready(Err(err)) = this.poll_send(cx) {
                return Poll::Ready(Err(err));
            }
            if this.socket_eof && this.incoming_start == this.incoming_end {
                return Poll::Ready(Err(this.error(io::ErrorKind::UnexpectedEof, "the socket closed but the session never ended the stream")));
            }
            ready!(this.poll_receive(cx))?;
        }
    }
}

impl AsyncWrite for SessionStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        loop {
            let taken = match this.session.write_plain(data) {
                Ok(taken) => taken,
                Err(message) => return Poll::Ready(Err(this.fail(cx, &message))),
            };
            if taken > 0 {
                // Sent as far as the socket takes it now; `poll_flush` sends the rest.
                if let Poll::Ready(Err(err)) = this.poll_send(cx) {
                    return Poll::Ready(Err(err));
                }
                return Poll::Ready(Ok(taken));
            }
            // Its buffer is full: drain it to the socket, then offer the bytes again.
            let had_output = this.outgoing_start < this.outgoing_end || this.session.wants_write();
            ready!(this.poll_send(cx))?;
            if !had_output {
                return Poll::Ready(Err(this.error(io::ErrorKind::InvalidData, "the session takes no plaintext and has nothing to send (stalled)")));
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_send(cx))?;
        Pin::new(&mut this.socket).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.closing {
            this.closing = true;
            this.session.close();
        }
        ready!(this.poll_send(cx))?;
        Pin::new(&mut this.socket).poll_shutdown(cx)
    }
}
