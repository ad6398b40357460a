//! Bound sockets for the built-in transports. Accepting yields an [`Incoming`] peer; opening it
//! (the WebSocket upgrade for ws, nothing for tcp and unix) yields a [`Connection`].

use std::io;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

use super::address::ListenAddress;
use super::connection::{Connection, FramedConnection};
use super::error::TransportError;
use super::extension::{StreamTransport, TransportRegistry};
use super::ws::WsConnection;

/// A listening socket of one of the built-in transports, or of an extension's.
pub enum Listener {
    /// `tcp://`
    Tcp(TcpListener),
    /// `unix://`
    Unix(UnixListener),
    /// `ws://`: a tcp socket whose peers upgrade to WebSocket on `path` (or below it).
    Ws {
        /// The tcp socket.
        listener: TcpListener,
        /// The mount path, `""` for every path.
        path: String,
    },
    /// A tcp socket whose connections an extension's transport transforms.
    Extension {
        /// The tcp socket.
        listener: TcpListener,
        /// The transport for the address's scheme.
        transport: Arc<dyn StreamTransport>,
    },
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.local_address() {
            Ok(address) => write!(f, "Listener({address})"),
            Err(_) => f.write_str("Listener(?)"),
        }
    }
}

/// A peer just accepted, not yet speaking Netron. Split from [`Listener::accept`] so the ws
/// upgrade (an HTTP round trip a slow peer can drag out) runs on the connection's own task
/// instead of stalling the accept loop.
pub enum Incoming {
    /// A tcp socket, framed by length prefix.
    Tcp(TcpStream),
    /// A unix socket, framed by length prefix.
    Unix(UnixStream),
    /// A tcp socket that must complete the WebSocket upgrade for `path` first.
    Ws {
        /// The socket.
        socket: TcpStream,
        /// The listener's mount path.
        path: String,
    },
    /// A tcp socket for an extension's transport to transform first.
    Extension {
        /// The socket.
        socket: TcpStream,
        /// The transport.
        transport: Arc<dyn StreamTransport>,
    },
}

impl std::fmt::Debug for Incoming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Self::Tcp(_) => "tcp",
            Self::Unix(_) => "unix",
            Self::Ws { .. } => "ws",
            Self::Extension { transport, .. } => transport.scheme(),
        };
        write!(f, "Incoming({kind})")
    }
}

impl Incoming {
    /// Makes the peer a [`Connection`]: for ws this answers the HTTP upgrade (404 for a path
    /// outside the mount, an error after `UPGRADE_TIMEOUT` without a complete request).
    pub async fn open(self) -> Result<Connection, TransportError> {
        match self {
            Self::Tcp(stream) => Ok(FramedConnection::new(Box::new(stream)).into()),
            Self::Unix(stream) => Ok(FramedConnection::new(Box::new(stream)).into()),
            Self::Ws { socket, path } => Ok(WsConnection::upgrade(socket, &path).await?.into()),
            Self::Extension { socket, transport } => {
                let accepted = transport.accept(socket).await.map_err(TransportError::Io)?;
                let mut connection = FramedConnection::new(accepted.stream);
                connection.peer_identity = accepted.peer_identity;
                Ok(connection.into())
            }
        }
    }
}

impl Listener {
    /// Binds `address` (built-in transports only; see [`Listener::bind_with`]).
    pub async fn bind(address: &ListenAddress) -> io::Result<Self> {
        Self::bind_with(address, &TransportRegistry::default()).await
    }

    /// Binds `address`, finding an extension's transport in `registry`. A unix socket path that
    /// already exists is refused by the OS (`AddrInUse`): remove a stale socket file before
    /// binding again.
    pub async fn bind_with(address: &ListenAddress, registry: &TransportRegistry) -> io::Result<Self> {
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
            ListenAddress::Ws { host, port, path } => TcpListener::bind((host.as_str(), *port))
                .await
                .map(|listener| Self::Ws {
                    listener,
                    path: path.clone(),
                })
                .map_err(with_address),
            ListenAddress::Extension { scheme, host, port } => {
                let transport = registry.get(scheme).ok_or_else(|| no_transport(scheme, registry))?;
                TcpListener::bind((host.as_str(), *port))
                    .await
                    .map(|listener| Self::Extension { listener, transport })
                    .map_err(with_address)
            }
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
            Self::Ws { listener, path } => {
                let addr = listener.local_addr()?;
                Ok(ListenAddress::Ws {
                    host: addr.ip().to_string(),
                    port: addr.port(),
                    path: path.clone(),
                })
            }
            Self::Extension { listener, transport } => {
                let addr = listener.local_addr()?;
                Ok(ListenAddress::Extension {
                    scheme: transport.scheme().to_owned(),
                    host: addr.ip().to_string(),
                    port: addr.port(),
                })
            }
        }
    }

    /// Waits for the next peer.
    pub async fn accept(&self) -> io::Result<Incoming> {
        match self {
            Self::Tcp(listener) => Ok(Incoming::Tcp(accept_tcp(listener).await?)),
            Self::Unix(listener) => {
                let (stream, _) = listener.accept().await?;
                Ok(Incoming::Unix(stream))
            }
            Self::Ws { listener, path } => Ok(Incoming::Ws {
                socket: accept_tcp(listener).await?,
                path: path.clone(),
            }),
            Self::Extension { listener, transport } => Ok(Incoming::Extension {
                socket: accept_tcp(listener).await?,
                transport: transport.clone(),
            }),
        }
    }
}

/// The error for a scheme no extension registered, saying what to do.
pub fn no_transport(scheme: &str, registry: &TransportRegistry) -> io::Error {
    let registered = registry.schemes();
    let known = if registered.is_empty() {
        "no extension registered a transport".to_owned()
    } else {
        format!("extensions registered: {}", registered.join(", "))
    };
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "no transport serves {scheme}:// ({known}); add the extension that provides it to `extensions` in titan.config.json, or use tcp://, unix:// or ws://"
        ),
    )
}

async fn accept_tcp(listener: &TcpListener) -> io::Result<TcpStream> {
    let (stream, _) = listener.accept().await?;
    // Packets are small and answered one by one: do not hold them back for Nagle.
    stream.set_nodelay(true)?;
    Ok(stream)
}
