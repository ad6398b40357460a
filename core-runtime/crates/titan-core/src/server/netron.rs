//! Netron served like HTTP: the listening sockets are bound once by the main thread and every
//! worker accepts from them on its own I/O loop. A connection lives on the worker that accepted
//! it: its packets become jobs in that worker's queue, next to HTTP requests, and the JS
//! services' answers are written from the same thread. No packet crosses a thread; only events
//! (`emit`) do, because a subscriber may sit on any worker.
//!
//! The core answers what needs no JS: the handshake, PING, `subscribe`/`unsubscribe` (the
//! subscription table lives here, where events are fanned out), packet types Netron does not
//! define, and errors while the app is unavailable. CALL/GET/SET, the other tasks and stream
//! control go to the worker's JS as the frame body, decoded there by the same codec the client
//! uses.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::io;
use std::os::unix::net::UnixListener as StdUnixListener;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

use bytes::Bytes;
use titan_netron::transport::{
    Listener, ListenAddress, ServerSession, SessionEvent, StreamTransport, TransportRegistry,
    no_transport, parse_listen_address,
};
use titan_netron::{Impulse, Packet, PacketType, TitanError, Value};
use tokio::sync::mpsc;

use super::control::bind_shared_tcp;

/// Pending connections the kernel queues per Netron socket.
const BACKLOG: i32 = 1024;

/// A shared listening socket, in its std form so each worker can clone it into its own runtime.
enum SharedSocket {
    Tcp { listener: std::net::TcpListener, kind: TcpKind },
    Unix { listener: StdUnixListener, path: PathBuf },
}

enum TcpKind {
    Plain,
    Ws { path: String },
    Extension(Arc<dyn StreamTransport>),
}

/// The Netron listening sockets of one server, bound by the main thread.
pub struct NetronSockets {
    sockets: Vec<SharedSocket>,
    bound: Vec<String>,
    server_id: String,
}

impl std::fmt::Debug for NetronSockets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetronSockets").field("bound", &self.bound).field("server_id", &self.server_id).finish()
    }
}

impl NetronSockets {
    /// Binds every address (`tcp://`, `unix://`, `ws://`, or a scheme an extension registered in
    /// `registry`). The error names the address and what to do; nothing stays bound on error.
    pub fn bind(addresses: &[String], registry: &TransportRegistry, server_id: String) -> Result<Self, String> {
        let mut sockets = Vec::with_capacity(addresses.len());
        let mut bound = Vec::with_capacity(addresses.len());
        for input in addresses {
            let address = parse_listen_address(input).map_err(|err| format!("netron.listen: {err}"))?;
            let (socket, actual) = bind_one(&address, registry).map_err(|err| format!("netron.listen: {err}"))?;
            sockets.push(socket);
            bound.push(actual.to_string());
        }
        Ok(Self { sockets, bound, server_id })
    }

    /// The bound addresses, with real ports where 0 was asked for.
    pub fn bound_addresses(&self) -> &[String] {
        &self.bound
    }

    /// The peer id this server sends in the handshake.
    pub fn server_id(&self) -> &str {
        &self.server_id
    }

    /// Listeners for one worker's runtime (call inside it): clones of the shared sockets.
    pub(crate) fn listeners(&self) -> io::Result<Vec<Listener>> {
        self.sockets
            .iter()
            .map(|socket| match socket {
                SharedSocket::Tcp { listener, kind } => {
                    let listener = tokio::net::TcpListener::from_std(listener.try_clone()?)?;
                    Ok(match kind {
                        TcpKind::Plain => Listener::Tcp(listener),
                        TcpKind::Ws { path } => Listener::Ws { listener, path: path.clone() },
                        TcpKind::Extension(transport) => Listener::Extension { listener, transport: transport.clone() },
                    })
                }
                SharedSocket::Unix { listener, .. } => Ok(Listener::Unix(tokio::net::UnixListener::from_std(listener.try_clone()?)?)),
            })
            .collect()
    }
}

impl Drop for NetronSockets {
    fn drop(&mut self) {
        // The socket file outlives the socket: remove it so the next start can bind the path.
        for socket in &self.sockets {
            if let SharedSocket::Unix { path, .. } = socket {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

fn bind_one(address: &ListenAddress, registry: &TransportRegistry) -> io::Result<(SharedSocket, ListenAddress)> {
    let in_context = |err: io::Error| io::Error::new(err.kind(), format!("cannot listen on {address}: {err}"));
    let (host, port, kind) = match address {
        ListenAddress::Unix(path) => {
            remove_stale_socket(path).map_err(in_context)?;
            let listener = StdUnixListener::bind(path).map_err(in_context)?;
            listener.set_nonblocking(true)?;
            return Ok((SharedSocket::Unix { listener, path: path.clone() }, address.clone()));
        }
        ListenAddress::Tcp { host, port } => (host, *port, TcpKind::Plain),
        ListenAddress::Ws { host, port, path } => (host, *port, TcpKind::Ws { path: path.clone() }),
        ListenAddress::Extension { scheme, host, port } => {
            let transport = registry.get(scheme).ok_or_else(|| no_transport(scheme, registry))?;
            (host, *port, TcpKind::Extension(transport))
        }
    };
    let listener = bind_shared_tcp(host, port, BACKLOG).map_err(in_context)?;
    // The address as bound: the OS's port where 0 was asked for.
    let mut actual = address.clone();
    if let ListenAddress::Tcp { port, .. } | ListenAddress::Ws { port, .. } | ListenAddress::Extension { port, .. } = &mut actual {
        *port = listener.local_addr()?.port();
    }
    Ok((SharedSocket::Tcp { listener, kind }, actual))
}

/// A socket file left by a process that died is removed; one a live server listens on is not.
fn remove_stale_socket(path: &std::path::Path) -> io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => match std::os::unix::net::UnixStream::connect(path) {
            Ok(_) => Err(io::Error::new(io::ErrorKind::AddrInUse, "another process is listening on this socket")),
            Err(_) => std::fs::remove_file(path),
        },
        Ok(_) => Err(io::Error::new(io::ErrorKind::AlreadyExists, "the path exists and is not a socket; pick another path")),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err),
    }
}

/// A Netron job for the worker's JS.
#[derive(Debug)]
pub struct NetronJob {
    /// The connection (unique within this worker).
    pub connection: u32,
    /// What happened.
    pub kind: NetronJobKind,
}

/// What a [`NetronJob`] carries.
#[derive(Debug)]
pub enum NetronJobKind {
    /// A request packet, as received (CALL, GET, SET, TASK, STREAM_CLOSE, ...).
    Packet(Bytes),
    /// The frames of these streams were written: produce their next chunks.
    Continue(Vec<u32>),
    /// The connection closed: drop its state (stop its generators).
    Closed,
    /// Who the peer proved to be in its transport's handshake (a JSON object's text), before its
    /// first packet.
    Peer(String),
}

/// What the JS hands back for one connection: frames to write, then streams to continue once
/// they are written (so a stream produces only as fast as the peer reads).
#[derive(Debug, Default)]
pub struct Outbound {
    /// Encoded packets, one frame each.
    pub frames: Vec<Bytes>,
    /// Streams whose next chunks to ask for after the frames are written.
    pub continue_streams: Vec<u32>,
}

impl Outbound {
    /// Reads the frames JS wrote back to back, each behind its u32 BE length (the worker's one
    /// reused buffer, `FrameBatch` in the JS codec). The bytes are copied once; the frames share
    /// that copy.
    pub fn from_frame_batch(batch: &[u8], continue_streams: Vec<u32>) -> Result<Self, FrameBatchError> {
        let all = Bytes::copy_from_slice(batch);
        let mut frames = Vec::new();
        let mut at = 0;
        while at < all.len() {
            let Some(prefix) = all.get(at..at + 4) else {
                return Err(FrameBatchError { at, problem: "a length prefix is cut short" });
            };
            let length = u32::from_be_bytes(prefix.try_into().expect("four bytes")) as usize;
            let start = at + 4;
            if length > all.len() - start {
                return Err(FrameBatchError { at, problem: "a frame is longer than the bytes after its length prefix" });
            }
            frames.push(all.slice(start..start + length));
            at = start + length;
        }
        Ok(Self { frames, continue_streams })
    }
}

/// JS handed back bytes that are not a run of length-prefixed frames: a bug in the worker's codec,
/// reported instead of writing garbage to the peer.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the worker's Netron answer is malformed at byte {at}: {problem}")]
pub struct FrameBatchError {
    /// Where the bad frame starts.
    pub at: usize,
    /// What is wrong.
    pub problem: &'static str,
}

/// An event for subscribers on any worker: the encoded `emit` TASK packet, shared by all.
#[derive(Debug, Clone)]
pub struct Broadcast {
    /// The event name.
    pub event: Arc<str>,
    /// The encoded packet.
    pub frame: Bytes,
}

/// A live connection, as this worker's tasks see it.
pub(crate) struct NetronConnection {
    outbound: mpsc::UnboundedSender<Outbound>,
    subscriptions: RefCell<HashSet<Arc<str>>>,
}

/// The Netron part of a worker loop's state.
#[derive(Default)]
pub(crate) struct NetronState {
    pub(crate) connections: RefCell<HashMap<u32, Rc<NetronConnection>>>,
    next_connection: Cell<u32>,
}

impl NetronState {
    fn add(&self, connection: Rc<NetronConnection>) -> u32 {
        let id = self.next_connection.get().wrapping_add(1).max(1);
        self.next_connection.set(id);
        self.connections.borrow_mut().insert(id, connection);
        id
    }

    /// Hands JS's answer to its connection (must run inside the worker's runtime so the wake-up
    /// is a local queue push). A connection that closed meanwhile drops it.
    pub(crate) fn deliver(&self, connection: u32, outbound: Outbound) {
        if let Some(live) = self.connections.borrow().get(&connection) {
            let _ = live.outbound.send(outbound);
        }
    }

    /// Fans an event out to this worker's subscribed connections.
    pub(crate) fn broadcast(&self, broadcast: &Broadcast) {
        for connection in self.connections.borrow().values() {
            if connection.subscriptions.borrow().contains(&broadcast.event) {
                let _ = connection.outbound.send(Outbound { frames: vec![broadcast.frame.clone()], continue_streams: Vec::new() });
            }
        }
    }
}

/// What the connection task needs from its worker loop.
pub(crate) trait NetronHost {
    /// Queues a job for JS and wakes `next_job`.
    fn queue(&self, job: NetronJob);
    /// The app's error while it is unavailable (dev mode with a broken build).
    fn unavailable(&self) -> bool;
    /// The worker is draining or stopping.
    fn draining(&self) -> impl std::future::Future<Output = ()>;
    /// The Netron state.
    fn netron(&self) -> &NetronState;
    /// The handshake id.
    fn server_id(&self) -> &str;
    /// A connection opened or closed (keeps the loop alive while connections are open).
    fn connection_count_changed(&self, delta: isize);
}

/// Serves one accepted peer until it closes, the worker drains, or a framing error ends it.
pub(crate) async fn serve_connection<H: NetronHost>(incoming: titan_netron::transport::Incoming, host: Rc<H>) {
    host.connection_count_changed(1);
    let (outbound_tx, mut outbound_rx) = mpsc::unbounded_channel();
    let connection = Rc::new(NetronConnection { outbound: outbound_tx, subscriptions: RefCell::new(HashSet::new()) });
    let id = host.netron().add(connection.clone());
    let ended = run_connection(incoming, &*host, id, &connection, &mut outbound_rx).await;
    if let Err(err) = ended {
        log_debug("netron connection ended", &err.to_string());
    }
    host.netron().connections.borrow_mut().remove(&id);
    host.queue(NetronJob { connection: id, kind: NetronJobKind::Closed });
    host.connection_count_changed(-1);
}

async fn run_connection<H: NetronHost>(
    incoming: titan_netron::transport::Incoming,
    host: &H,
    id: u32,
    connection: &NetronConnection,
    outbound_rx: &mut mpsc::UnboundedReceiver<Outbound>,
) -> Result<(), titan_netron::transport::TransportError> {
    let opened = tokio::select! {
        opened = incoming.open() => opened?,
        _ = host.draining() => return Ok(()),
    };
    let mut session = ServerSession::accept(opened, host.server_id()).await?;
    if let Some(identity) = session.peer_identity() {
        // Queued before any packet of this connection, so its first call already knows the peer.
        host.queue(NetronJob { connection: id, kind: NetronJobKind::Peer(identity.to_owned()) });
    }
    loop {
        tokio::select! {
            biased;
            out = outbound_rx.recv() => {
                let Some(Outbound { mut frames, continue_streams: mut streams }) = out else { return Ok(()) };
                // Answers to pipelined calls are queued together (the worker answers its whole
                // queue before running this task): write them in one go, not one write each.
                while let Ok(more) = outbound_rx.try_recv() {
                    frames.extend(more.frames);
                    streams.extend(more.continue_streams);
                }
                session.send_frames(&frames).await?;
                if !streams.is_empty() {
                    host.queue(NetronJob { connection: id, kind: NetronJobKind::Continue(streams) });
                }
            }
            event = session.next_event() => {
                let Some(event) = event? else { return Ok(()) };
                if let Some(answer) = handle_event(event, host, id, connection) {
                    session.send_frames(&[answer]).await?;
                }
            }
            _ = host.draining() => {
                // Answers owed for jobs already queued are dropped with the connection; the
                // client's reconnect retries on a serving worker.
                let _ = session.shutdown().await;
                return Ok(());
            }
        }
    }
}

/// Answers what the core can answer itself; queues the rest for JS.
fn handle_event<H: NetronHost>(event: SessionEvent, host: &H, id: u32, connection: &NetronConnection) -> Option<Bytes> {
    let (packet, body) = match event {
        SessionEvent::UnknownType { id: packet_id, flags, type_bits } => {
            let error = TitanError::new(400, format!("unknown packet type {type_bits}: Netron defines types 0 to 7"));
            return Some(error_frame(packet_id, (flags & !0x40) | 0x80, error));
        }
        SessionEvent::Packet { packet, body } => (packet, body),
    };
    if packet.impulse == Impulse::Response {
        // Answers to the `emit` tasks this server sends: nothing waits for them.
        return None;
    }
    match packet.packet_type {
        PacketType::Ping => return encode(&packet.response(packet.data.clone())),
        PacketType::Task => {
            if let Some((task, event)) = subscription_task(&packet.data) {
                let mut subscriptions = connection.subscriptions.borrow_mut();
                match task {
                    "subscribe" => {
                        if subscriptions.len() >= MAX_SUBSCRIPTIONS && !subscriptions.contains(event) {
                            let error = TitanError::new(429, format!("this connection already has {MAX_SUBSCRIPTIONS} subscriptions"));
                            return encode(&packet.error_response(error));
                        }
                        subscriptions.insert(Arc::from(event));
                    }
                    _ => {
                        subscriptions.remove(event);
                    }
                }
                return encode(&packet.response(Value::Undefined));
            }
        }
        // Client-to-server streams are not offered: no Titan method takes a stream.
        PacketType::Stream => return None,
        _ => {}
    }
    if host.unavailable() {
        let error = TitanError::new(503, "the app is unavailable (it failed to build or load); retry once it is fixed");
        return encode(&packet.error_response(error));
    }
    host.queue(NetronJob { connection: id, kind: NetronJobKind::Packet(body) });
    None
}

/// Netron's default cap on subscriptions per peer.
const MAX_SUBSCRIPTIONS: usize = 1000;

/// `["subscribe" | "unsubscribe", eventName]`.
fn subscription_task(data: &Value) -> Option<(&str, &str)> {
    let Value::Array(items) = data else { return None };
    match items.as_slice() {
        [Value::String(task), Value::String(event), ..] if task == "subscribe" || task == "unsubscribe" => Some((task, event)),
        _ => None,
    }
}

fn encode(packet: &Packet) -> Option<Bytes> {
    match packet.encode() {
        Ok(bytes) => Some(Bytes::from(bytes)),
        Err(err) => {
            log_debug("could not encode a netron answer", &err.to_string());
            None
        }
    }
}

/// An error answer built from a raw id and flags (for packets that did not decode as a type).
fn error_frame(id: u32, flags: u8, error: TitanError) -> Bytes {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&id.to_be_bytes());
    out.push(flags);
    let _ = Value::from(error).encode_into(&mut out);
    Bytes::from(out)
}

/// The error answer for a request packet JS will never see (its worker stopped first).
pub(crate) fn stranded_answer(body: &[u8], code: i32, message: &str) -> Option<Bytes> {
    let packet = Packet::decode(body).ok()?;
    encode(&packet.error_response(TitanError::new(code, message)))
}

fn log_debug(msg: &str, error: &str) {
    if std::env::var_os("TITAN_NETRON_DEBUG").is_some() {
        eprintln!("{}", serde_json::json!({"level":"debug","source":"titan-netron","msg":msg,"error":error}));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(bodies: &[&[u8]]) -> Vec<u8> {
        bodies.iter().flat_map(|body| (body.len() as u32).to_be_bytes().into_iter().chain(body.iter().copied())).collect()
    }

    #[test]
    fn a_frame_batch_splits_into_its_frames() {
        let batch = framed(&[b"first", b"", b"third frame"]);
        let outbound = Outbound::from_frame_batch(&batch, vec![7]).unwrap();
        let frames: Vec<&[u8]> = outbound.frames.iter().map(|f| f.as_ref()).collect();
        assert_eq!(frames, [&b"first"[..], b"", b"third frame"]);
        assert_eq!(outbound.continue_streams, [7]);
        assert!(Outbound::from_frame_batch(&[], vec![]).unwrap().frames.is_empty());
    }

    #[test]
    fn a_malformed_frame_batch_is_refused_with_where() {
        let mut batch = framed(&[b"ok"]);
        batch.extend_from_slice(&[0, 0]);
        assert_eq!(Outbound::from_frame_batch(&batch, vec![]).unwrap_err(), FrameBatchError { at: 6, problem: "a length prefix is cut short" });
        let overrun = [0, 0, 0, 9, b'x'];
        let error = Outbound::from_frame_batch(&overrun, vec![]).unwrap_err();
        assert_eq!(error.at, 0);
        assert!(error.to_string().contains("longer than the bytes after its length prefix"), "{error}");
    }
}
