//! Bound sockets for the built-in transports; accepting yields a [`FramedConnection`] whatever
//! the socket kind.

use std::io;

use tokio::net::{TcpListener, UnixListener};

use super::address::ListenAddress;
use super::connection::FramedConnection;

/// A listening socket of one of the built-in transports.
#[derive(Debug)]
pub enum Listener {
    /// `tcp://`
    Tcp(TcpListener),
    /// `unix://`
    Unix(UnixListener),
}

impl Listener {
    /// Binds `address`. A unix socket path that already exists is refused by the OS
    /// (`AddrInUse`): remove a stale socket file before binding again.
    pub async fn bind(address: &ListenAddress) -> io::Result<Self> {
        let with_address = |err: io::Error| {
            io::Error::new(err.kind(), format!("cannot listen on {address}: {err}"))
        };
        match address {
            ListenAddress::Tcp { host, port } => TcpListener::bind((host.as_str(), *port))
                .await
                .map(Self::Tcp)
                .map_err(with_address),
            ListenAddress::Unix(path) => UnixListener::bind(path)
                .map(Self::Unix)
                .map_err(with_address),
        }
    }

    /// The address actually bound (with the OS-chosen port when 0 was asked for).
    pub fn local_address(&self) -> io::Result<ListenAddress> {
        match self {
            Self::Tcp(listener) => {
                let addr = listener.local_addr()?;
                Ok(ListenAddress::Tcp {
                    host: addr.ip().to_string(),
                    port: addr.port(),
                })
            }
            Self::Unix(listener) => {
                let addr = listener.local_addr()?;
                let path = addr.as_pathname().ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidInput, "unnamed unix socket")
                })?;
                Ok(ListenAddress::Unix(path.to_owned()))
            }
        }
    }

    /// Waits for the next peer.
    pub async fn accept(&self) -> io::Result<FramedConnection> {
        match self {
            Self::Tcp(listener) => {
                let (stream, _) = listener.accept().await?;
                // Packets are small and answered one by one: do not hold them back for Nagle.
                stream.set_nodelay(true)?;
                Ok(FramedConnection::new(Box::new(stream)))
            }
            Self::Unix(listener) => {
                let (stream, _) = listener.accept().await?;
                Ok(FramedConnection::new(Box::new(stream)))
            }
        }
    }
}
