//! A client connection as a worker serves it: the TCP stream plus bytes already read from it by
//! a previous owner. A draining worker hands its connections to the serving ones (reload, a
//! worker stopped on timeout), so keep-alive clients never see their connection dropped.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A connection between owners: a plain std socket (not tied to any thread's runtime) and the
/// bytes its previous owner had read but not parsed.
#[derive(Debug)]
pub struct HandedOff {
    pub(crate) stream: std::net::TcpStream,
    pub(crate) buffered: Bytes,
}

/// A client connection served by one worker's runtime.
#[derive(Debug)]
pub(crate) struct ClientStream {
    buffered: Bytes,
    tcp: TcpStream,
}

impl ClientStream {
    pub(crate) fn fresh(tcp: TcpStream) -> Self {
        Self { buffered: Bytes::new(), tcp }
    }

    pub(crate) fn set_nodelay(&self) -> io::Result<()> {
        self.tcp.set_nodelay(true)
    }

    /// Adopts a handed-off connection into the current thread's runtime.
    pub(crate) fn adopt(handed: HandedOff) -> io::Result<Self> {
        Ok(Self { buffered: handed.buffered, tcp: TcpStream::from_std(handed.stream)? })
    }

    /// Releases the connection from this thread's runtime, with `unparsed` (what hyper read
    /// past its last request) after anything still buffered here.
    pub(crate) fn hand_off(self, unparsed: Bytes) -> io::Result<HandedOff> {
        let buffered = match (self.buffered.is_empty(), unparsed.is_empty()) {
            (true, _) => unparsed,
            (false, true) => self.buffered,
            (false, false) => [self.buffered, unparsed].concat().into(),
        };
        Ok(HandedOff { stream: self.tcp.into_std()?, buffered })
    }
}

impl AsyncRead for ClientStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if !self.buffered.is_empty() {
            let n = self.buffered.len().min(buf.remaining());
            buf.put_slice(&self.buffered[..n]);
            self.buffered.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}
