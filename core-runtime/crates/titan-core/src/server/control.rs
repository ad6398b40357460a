//! Server-wide control shared by every worker thread: the one listening socket, shutdown,
//! per-worker drain/abort, and the "unavailable" switch dev mode uses while the app has errors.
//! The main thread holds it and only ever flips flags here; it is never on the request path.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::client_stream::HandedOff;
use super::netron::{Broadcast, NetronSockets};

/// Why the main thread stopped a worker; decides what its in-flight request is answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum AbortReason {
    /// Not aborted.
    None = 0,
    /// The action ran past the timeout: 504.
    Timeout = 1,
    /// Shutdown or reload gave up waiting: 503, retry.
    Stopped = 2,
}

/// One worker's switches.
#[derive(Debug)]
pub struct WorkerControl {
    /// Stop accepting, finish what is in flight, close idle connections.
    pub drain: CancellationToken,
    /// Stop waiting for requests at once (the worker is being terminated).
    pub abort: CancellationToken,
    abort_reason: AtomicU8,
    /// Wakes an idle worker to run its extension-sync hook (an extension was reloaded).
    pub(crate) extension_sync: Notify,
}

impl WorkerControl {
    /// Why the worker was aborted, if it was.
    pub fn abort_reason(&self) -> AbortReason {
        match self.abort_reason.load(Ordering::Acquire) {
            1 => AbortReason::Timeout,
            2 => AbortReason::Stopped,
            _ => AbortReason::None,
        }
    }
}

/// A bound server: the listening socket every worker accepts from, and the switches.
#[derive(Debug)]
pub struct ServerControl {
    listener: Mutex<Option<TcpListener>>,
    local_addr: SocketAddr,
    shutdown: CancellationToken,
    unavailable_flag: AtomicBool,
    unavailable: RwLock<Option<Bytes>>,
    workers: Mutex<HashMap<u32, Arc<WorkerControl>>>,
    handoffs: Mutex<VecDeque<HandedOff>>,
    /// Wakes serving workers' accept loops when a connection is handed off.
    pub(crate) handoff_ready: Notify,
    netron: Mutex<Option<Arc<NetronSockets>>>,
    /// Each worker's inbox for Netron events, by slot.
    netron_inboxes: Mutex<HashMap<u32, tokio::sync::mpsc::UnboundedSender<Broadcast>>>,
}

impl ServerControl {
    /// Binds the listening socket all workers share. Each worker polls the same socket and a
    /// busy worker simply stops accepting, so idle workers take new connections.
    pub fn bind(host: &str, port: u16, backlog: i32) -> io::Result<Arc<Self>> {
        let listener = bind_shared_tcp(host, port, backlog)?;
        let local_addr = listener.local_addr()?;
        Ok(Arc::new(Self {
            listener: Mutex::new(Some(listener)),
            local_addr,
            shutdown: CancellationToken::new(),
            unavailable_flag: AtomicBool::new(false),
            unavailable: RwLock::new(None),
            workers: Mutex::new(HashMap::new()),
            handoffs: Mutex::new(VecDeque::new()),
            handoff_ready: Notify::new(),
            netron: Mutex::new(None),
            netron_inboxes: Mutex::new(HashMap::new()),
        }))
    }

    /// The bound address (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A new handle on the listening socket for one worker's I/O loop.
    pub(crate) fn clone_listener(&self) -> io::Result<TcpListener> {
        match &*lock(&self.listener) {
            Some(listener) => listener.try_clone(),
            None => Err(io::Error::new(io::ErrorKind::NotConnected, "the server is shutting down")),
        }
    }

    /// Serves Netron on these sockets too: workers started from now on accept from them.
    pub fn set_netron(&self, sockets: NetronSockets) {
        *lock(&self.netron) = Some(Arc::new(sockets));
    }

    /// The Netron sockets, if the server has any.
    pub fn netron(&self) -> Option<Arc<NetronSockets>> {
        lock(&self.netron).clone()
    }

    pub(crate) fn register_netron_inbox(&self, slot: u32, inbox: tokio::sync::mpsc::UnboundedSender<Broadcast>) {
        lock(&self.netron_inboxes).insert(slot, inbox);
    }

    /// Sends an event to every worker, whose subscribed connections then receive `frame`.
    /// Returns how many workers it reached.
    pub fn netron_broadcast(&self, broadcast: &Broadcast) -> usize {
        lock(&self.netron_inboxes).values().filter(|inbox| inbox.send(broadcast.clone()).is_ok()).count()
    }

    /// Graceful shutdown: every worker drains, and the listening socket closes once each
    /// worker has dropped its handle.
    pub fn shutdown(&self) {
        lock(&self.listener).take();
        lock(&self.netron).take();
        self.shutdown.cancel();
        // Nobody will adopt parked connections any more: close them.
        lock(&self.handoffs).clear();
    }

    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    /// Makes every request but the health checks answer 503 with this `error` object (JSON),
    /// or serves again with `None`.
    pub fn set_unavailable(&self, error_json: Option<Bytes>) {
        let mut slot = self.unavailable.write().unwrap_or_else(|e| e.into_inner());
        self.unavailable_flag.store(error_json.is_some(), Ordering::Release);
        *slot = error_json;
    }

    /// The `error` object to answer with while unavailable.
    pub fn unavailable(&self) -> Option<Bytes> {
        if !self.unavailable_flag.load(Ordering::Acquire) {
            return None;
        }
        self.unavailable.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Registers a worker slot; the main thread names slots and never reuses one.
    pub(crate) fn register_worker(&self, slot: u32) -> io::Result<Arc<WorkerControl>> {
        let mut workers = lock(&self.workers);
        if workers.contains_key(&slot) {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("worker slot {slot} is taken")));
        }
        let control = Arc::new(WorkerControl {
            drain: self.shutdown.child_token(),
            abort: CancellationToken::new(),
            abort_reason: AtomicU8::new(AbortReason::None as u8),
            extension_sync: Notify::new(),
        });
        workers.insert(slot, control.clone());
        Ok(control)
    }

    pub(crate) fn unregister_worker(&self, slot: u32) {
        lock(&self.workers).remove(&slot);
        lock(&self.netron_inboxes).remove(&slot);
    }

    /// Asks one worker to drain (dev reload). Returns whether the slot exists.
    pub fn drain_worker(&self, slot: u32) -> bool {
        self.drain_workers(&[slot]) == 1
    }

    /// Asks a whole generation of workers to drain, as one step: no connection one of them hands
    /// off can be adopted by another of them (which would then serve a request the new build
    /// should). Returns how many of the slots exist.
    pub fn drain_workers(&self, slots: &[u32]) -> usize {
        // Parked connections are taken under this lock, by workers that check their own drain
        // under it (`take_handoff`): holding it while cancelling makes the cancels one step.
        let _parked = lock(&self.handoffs);
        let workers = lock(&self.workers);
        slots.iter().filter_map(|slot| workers.get(slot)).map(|w| w.drain.cancel()).count()
    }

    /// Wakes a worker that is about to be terminated and records why. Returns whether it exists.
    pub fn abort_worker(&self, slot: u32, reason: AbortReason) -> bool {
        let workers = lock(&self.workers);
        let Some(worker) = workers.get(&slot) else { return false };
        worker.abort_reason.store(reason as u8, Ordering::Release);
        worker.abort.cancel();
        true
    }

    /// After an extension reload: wakes every worker waiting for requests so it moves to the
    /// new build now (its `WorkerLoop::on_extension_sync` hook), instead of keeping the old one
    /// loaded until its next call. A busy worker finds the wake-up when it next waits.
    pub fn wake_for_extension_sync(&self) {
        for worker in lock(&self.workers).values() {
            // Stores a permit when the worker is not waiting: no wake-up is lost.
            worker.extension_sync.notify_one();
        }
    }

    /// Parks a draining worker's connection for a serving worker to adopt.
    pub(crate) fn hand_off(&self, connection: HandedOff) {
        lock(&self.handoffs).push_back(connection);
        self.handoff_ready.notify_waiters();
    }

    /// A parked connection, if any, for a worker that is not draining (`drain`: the taker's own).
    pub(crate) fn take_handoff(&self, drain: &CancellationToken) -> Option<HandedOff> {
        let mut parked = lock(&self.handoffs);
        if drain.is_cancelled() {
            return None;
        }
        parked.pop_front()
    }

    /// Connections parked and not yet adopted.
    pub fn pending_handoffs(&self) -> usize {
        lock(&self.handoffs).len()
    }

    /// Slots currently registered.
    pub fn worker_slots(&self) -> Vec<u32> {
        let mut slots: Vec<u32> = lock(&self.workers).keys().copied().collect();
        slots.sort_unstable();
        slots
    }
}

/// A non-blocking listening TCP socket that every worker can clone into its own runtime.
pub(crate) fn bind_shared_tcp(host: &str, port: u16, backlog: i32) -> io::Result<TcpListener> {
    let addr = (host, port).to_socket_addrs()?.next().ok_or_else(|| {
        io::Error::new(io::ErrorKind::AddrNotAvailable, format!("host `{host}` resolves to no address"))
    })?;
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // Lets a restarted server rebind while old connections sit in TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// A poisoned lock only means another thread panicked mid-update of plain data; keep going.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
