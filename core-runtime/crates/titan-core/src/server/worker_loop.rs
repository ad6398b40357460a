//! One worker thread's own server (thread-per-core): a current-thread tokio runtime running hyper
//! connections accepted from the shared socket, and Netron connections from the server's Netron
//! sockets (see `netron`). The runtime only runs inside `next_job()`, so while the worker's JS
//! runs an action or a service method nothing else happens on this thread, and no request ever
//! crosses a thread.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};
use tokio::task::LocalSet;

use super::client_stream::ClientStream;
use super::control::{AbortReason, ServerControl, WorkerControl};
use super::netron::{self, Broadcast, NetronHost, NetronJob, NetronJobKind, NetronState, Outbound};
use crate::http_error::HttpError;
use crate::request::{IncomingRequest, RequestIds};
use crate::router::{Reply, RouteTable, RouteTarget};

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The response an action hands back.
pub type HttpResponse = Response<Full<Bytes>>;

/// Per-worker settings.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Largest accepted body, in bytes.
    pub body_limit: u64,
    /// How long a connection may take to send a request's headers (slow-client guard).
    pub header_read_timeout: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self { body_limit: 1024 * 1024, header_read_timeout: Duration::from_secs(30) }
    }
}

/// A request waiting for the worker's JS, with the way back to its connection.
struct Pending {
    request: IncomingRequest,
    responder: oneshot::Sender<HttpResponse>,
}

/// The request JS is running right now.
struct InFlight {
    id: String,
    responder: oneshot::Sender<HttpResponse>,
}

/// An answer JS handed back, delivered at the start of the next `next_job()`: sent from inside
/// the runtime, waking the connection is a local queue push; sent from outside, tokio would
/// wake its own thread through an eventfd write on every request.
enum Answered {
    Http { responder: oneshot::Sender<HttpResponse>, response: HttpResponse },
    Netron { connection: u32, outbound: Outbound },
}

impl Answered {
    /// Call inside the runtime.
    fn deliver(self, state: &LoopState) {
        match self {
            Answered::Http { responder, response } => {
                let _ = responder.send(response);
            }
            Answered::Netron { connection, outbound } => state.netron.deliver(connection, outbound),
        }
    }
}

/// What waits in a worker's queue.
// One per request; boxing would allocate once per request.
#[allow(clippy::large_enum_variant)]
enum Queued {
    Http(Pending),
    Netron(NetronJob),
}

/// What `next_job()` hands the worker's JS.
// One per request; boxing would allocate once per request.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Job {
    /// An HTTP request for an action; answer it with `respond`.
    Http(IncomingRequest),
    /// A Netron packet or event for the JS services; answer with `netron_reply`.
    Netron(NetronJob),
}

/// State shared by this thread's tasks; single-threaded, so `Rc`/`Cell`.
struct LoopState {
    queue: RefCell<VecDeque<Queued>>,
    /// Wakes `next_request()`: a request was queued, a connection ended, or accepting stopped.
    wake: Notify,
    /// Wakes the accept loop: `next_request()` took the last queued request.
    queue_empty: Notify,
    /// Connections accepted whose first request has not arrived yet.
    fresh_connections: Cell<usize>,
    /// Wakes the accept loop: a fresh connection sent its first request, or closed.
    first_request: Notify,
    live_connections: Cell<usize>,
    accepting: Cell<bool>,
    ids: RefCell<RequestIds>,
    netron: NetronState,
}

struct Context {
    state: Rc<LoopState>,
    control: Arc<ServerControl>,
    worker: Arc<WorkerControl>,
    routes: Arc<RouteTable>,
    options: WorkerOptions,
    netron_server_id: String,
}

impl NetronHost for Context {
    fn queue(&self, job: NetronJob) {
        self.state.queue.borrow_mut().push_back(Queued::Netron(job));
        self.state.wake.notify_one();
    }

    fn unavailable(&self) -> bool {
        self.control.unavailable().is_some()
    }

    fn draining(&self) -> impl Future<Output = ()> {
        self.worker.drain.cancelled()
    }

    fn netron(&self) -> &NetronState {
        &self.state.netron
    }

    fn server_id(&self) -> &str {
        &self.netron_server_id
    }

    fn connection_count_changed(&self, delta: isize) {
        let state = &self.state;
        state.live_connections.set(state.live_connections.get().saturating_add_signed(delta));
        state.wake.notify_one();
    }
}

/// One worker thread's server. Create it on the thread that will call `next_request()`.
pub struct WorkerLoop {
    runtime: tokio::runtime::Runtime,
    local: LocalSet,
    context: Rc<Context>,
    slot: u32,
    in_flight: Option<InFlight>,
    answered: Vec<Answered>,
    extension_sync: Option<Box<dyn FnMut()>>,
}

/// Why `next_request()`'s I/O stopped.
// Returned by value once per wait; boxing the request would allocate once per request.
#[allow(clippy::large_enum_variant)]
enum Woken {
    /// A job, or `None`: the worker is done.
    Job(Option<Queued>),
    /// `ServerControl::wake_for_extension_sync`.
    ExtensionSync,
}

impl WorkerLoop {
    /// Registers worker `slot` with the server and starts accepting (inside `next_request()`).
    pub fn new(control: Arc<ServerControl>, slot: u32, routes: Arc<RouteTable>, options: WorkerOptions) -> io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let std_listener = control.clone_listener()?;
        let worker = control.register_worker(slot)?;
        let netron_sockets = control.netron();
        let (listener, netron_listeners) = {
            let _entered = runtime.enter();
            let listeners = TcpListener::from_std(std_listener).and_then(|listener| {
                let netron = netron_sockets.as_ref().map(|sockets| sockets.listeners()).transpose()?;
                Ok((listener, netron.unwrap_or_default()))
            });
            match listeners {
                Ok(listeners) => listeners,
                Err(err) => {
                    control.unregister_worker(slot);
                    return Err(err);
                }
            }
        };
        let state = Rc::new(LoopState {
            queue: RefCell::new(VecDeque::new()),
            wake: Notify::new(),
            queue_empty: Notify::new(),
            fresh_connections: Cell::new(0),
            first_request: Notify::new(),
            live_connections: Cell::new(0),
            accepting: Cell::new(true),
            ids: RefCell::new(RequestIds::default()),
            netron: NetronState::default(),
        });
        let netron_server_id = netron_sockets.as_ref().map(|sockets| sockets.server_id().to_owned()).unwrap_or_default();
        let (inbox, events) = tokio::sync::mpsc::unbounded_channel();
        if netron_sockets.is_some() {
            control.register_netron_inbox(slot, inbox);
        }
        let context = Rc::new(Context { state, control, worker, routes, options, netron_server_id });
        let local = LocalSet::new();
        local.spawn_local(accept_loop(listener, context.clone()));
        for listener in netron_listeners {
            local.spawn_local(netron_accept_loop(listener, context.clone()));
        }
        if netron_sockets.is_some() {
            local.spawn_local(netron_events(events, context.clone()));
        }
        Ok(Self { runtime, local, context, slot, in_flight: None, answered: Vec::new(), extension_sync: None })
    }

    /// Runs `hook` on this thread whenever the main thread calls
    /// `ServerControl::wake_for_extension_sync` while this worker waits for requests: an idle
    /// worker moves to a reloaded extension's new build at once. The hook runs outside the I/O
    /// runtime (extension code may start its own), before the wait resumes.
    pub fn on_extension_sync(&mut self, hook: Box<dyn FnMut()>) {
        self.extension_sync = Some(hook);
    }

    /// This worker's slot.
    pub fn slot(&self) -> u32 {
        self.slot
    }

    /// Runs this thread's I/O until a request for an action is ready, and returns it: for servers
    /// without Netron, where every job is an HTTP request (Netron jobs are skipped).
    /// `None` means the worker is done: drained with no connection left, or aborted.
    pub fn next_request(&mut self) -> Option<IncomingRequest> {
        loop {
            match self.next_job()? {
                Job::Http(request) => return Some(request),
                Job::Netron(_) => continue,
            }
        }
    }

    /// Runs this thread's I/O until a job is ready (an HTTP request or a Netron packet), and
    /// returns it. `None` means the worker is done: drained with no connection left, or aborted.
    pub fn next_job(&mut self) -> Option<Job> {
        if let Some(forgotten) = self.in_flight.take() {
            let _ = forgotten.responder.send(HttpError::NoResponse.to_response(&forgotten.id));
        }
        let mut answered = std::mem::take(&mut self.answered);
        let queued = loop {
            let context = self.context.clone();
            let answered = std::mem::take(&mut answered);
            let woken = self.local.block_on(&self.runtime, async move {
                let state = &context.state;
                for answer in answered {
                    answer.deliver(state);
                }
                loop {
                    if context.worker.abort.is_cancelled() {
                        return Woken::Job(None);
                    }
                    let queued = state.queue.borrow_mut().pop_front();
                    if queued.is_some() {
                        if state.queue.borrow().is_empty() {
                            state.queue_empty.notify_one();
                        }
                        return Woken::Job(queued);
                    }
                    if !state.accepting.get() && state.live_connections.get() == 0 {
                        return Woken::Job(None);
                    }
                    tokio::select! {
                        _ = state.wake.notified() => {}
                        _ = context.worker.abort.cancelled() => {}
                        _ = context.worker.extension_sync.notified() => return Woken::ExtensionSync,
                    }
                }
            });
            match woken {
                Woken::Job(queued) => break queued?,
                Woken::ExtensionSync => {
                    if let Some(hook) = self.extension_sync.as_mut() {
                        hook();
                    }
                }
            }
        };
        match queued {
            Queued::Http(pending) => {
                self.in_flight = Some(InFlight { id: pending.request.id.clone(), responder: pending.responder });
                Some(Job::Http(pending.request))
            }
            Queued::Netron(job) => Some(Job::Netron(job)),
        }
    }

    /// Hands JS's answer for one Netron connection: frames to write, streams to continue after.
    /// Written by the next `next_job()` (or `finish()`).
    pub fn netron_reply(&mut self, connection: u32, outbound: Outbound) {
        if !outbound.frames.is_empty() || !outbound.continue_streams.is_empty() {
            self.answered.push(Answered::Netron { connection, outbound });
        }
    }

    /// [`Self::netron_reply`] for frames JS wrote back to back behind their lengths (see
    /// [`Outbound::from_frame_batch`]). A malformed batch is the worker's own bug: it is logged and
    /// that job's answer dropped; the connection and the loop go on.
    pub fn netron_reply_frames(&mut self, connection: u32, batch: &[u8], continue_streams: Vec<u32>) {
        match Outbound::from_frame_batch(batch, continue_streams) {
            Ok(outbound) => self.netron_reply(connection, outbound),
            Err(error) => {
                let msg = format!("Netron connection {connection} gets no answer to a job");
                eprintln!("{}", serde_json::json!({"level":"error","source":"titan-core","msg":msg,"error":error.to_string()}));
            }
        }
    }

    /// Sends an event to the subscribers on every worker of this server.
    pub fn netron_broadcast(&self, broadcast: &Broadcast) -> usize {
        self.context.control.netron_broadcast(broadcast)
    }

    /// Hands back the response to the request `next_request()` returned. It is written by the next
    /// `next_request()` (or `finish()`) call, which runs this thread's I/O again. Returns false when
    /// there was no request in flight.
    pub fn respond(&mut self, response: HttpResponse) -> bool {
        match self.in_flight.take() {
            Some(in_flight) => {
                self.answered.push(Answered::Http { responder: in_flight.responder, response });
                true
            }
            None => false,
        }
    }

    /// The id of the request in flight.
    pub fn in_flight_id(&self) -> Option<&str> {
        self.in_flight.as_ref().map(|f| f.id.as_str())
    }

    /// Ends the worker after the main thread aborted it (timeout, forced stop) or after it
    /// drained: answers the request in flight (504 on timeout, else 503) and every queued one
    /// (503, they never ran), then runs the I/O for up to `grace` so those answers reach their
    /// clients and connections close cleanly.
    pub fn finish(mut self, grace: Duration) {
        let reason = self.context.worker.abort_reason();
        let answered = std::mem::take(&mut self.answered);
        if let Some(in_flight) = self.in_flight.take() {
            let error = if reason == AbortReason::Timeout { HttpError::ActionTimeout } else { HttpError::WorkerStopped };
            let _ = in_flight.responder.send(error.to_response(&in_flight.id));
        }
        self.context.worker.drain.cancel();
        let context = self.context.clone();
        self.local.block_on(&self.runtime, async move {
            let state = &context.state;
            for answer in answered {
                answer.deliver(state);
            }
            let drive = async {
                loop {
                    let stranded: Vec<Queued> = state.queue.borrow_mut().drain(..).collect();
                    for queued in stranded {
                        match queued {
                            Queued::Http(pending) => {
                                let _ = pending.responder.send(HttpError::WorkerStopped.to_response(&pending.request.id));
                            }
                            Queued::Netron(NetronJob { connection, kind: NetronJobKind::Packet(body) }) => {
                                let answer = netron::stranded_answer(&body, 503, "the worker serving this connection stopped before running the call; retry it");
                                if let Some(frame) = answer {
                                    state.netron.deliver(connection, Outbound { frames: vec![frame], continue_streams: Vec::new() });
                                }
                            }
                            Queued::Netron(_) => {}
                        }
                    }
                    if !state.accepting.get() && state.live_connections.get() == 0 {
                        return;
                    }
                    state.wake.notified().await;
                }
            };
            let _ = tokio::time::timeout(grace, drive).await;
        });
    }
}

impl Drop for WorkerLoop {
    fn drop(&mut self) {
        self.context.control.unregister_worker(self.slot);
    }
}

async fn accept_loop(listener: TcpListener, context: Rc<Context>) {
    loop {
        // A worker with requests waiting is busy: it leaves new connections in the kernel's queue
        // for idle workers instead of taking them and serving them one after another.
        while !context.state.queue.borrow().is_empty() {
            tokio::select! {
                _ = context.state.queue_empty.notified() => {}
                _ = context.worker.drain.cancelled() => break,
            }
        }
        // Registered before checking the queue, so a handoff between the check and the wait
        // still wakes us.
        let handoff = context.control.handoff_ready.notified();
        tokio::pin!(handoff);
        handoff.as_mut().enable();
        if !context.worker.drain.is_cancelled() {
            while let Some(handed) = context.control.take_handoff(&context.worker.drain) {
                match ClientStream::adopt(handed) {
                    Ok(stream) => start_connection(stream, &context, false),
                    Err(err) => log_error("could not adopt a handed-off connection", &err),
                }
            }
        }
        tokio::select! {
            biased;
            _ = context.worker.drain.cancelled() => break,
            _ = &mut handoff => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    start_connection(ClientStream::fresh(stream), &context, true);
                    wait_for_first_request(&context).await;
                }
                // Out of file descriptors and the like: back off instead of spinning.
                Err(err) => {
                    log_error("accept failed", &err);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
    drop(listener);
    context.state.accepting.set(false);
    context.state.wake.notify_one();
}

fn log_error(msg: &str, err: &io::Error) {
    eprintln!("{}", serde_json::json!({"level":"error","source":"titan-core","msg":msg,"error":err.to_string()}));
}

/// Accepts Netron peers until the worker drains. Unlike HTTP, a busy worker still accepts:
/// Netron connections are long-lived and multiplexed, so holding one back would not move its
/// load to another worker.
async fn netron_accept_loop(listener: titan_netron::transport::Listener, context: Rc<Context>) {
    loop {
        tokio::select! {
            biased;
            _ = context.worker.drain.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(incoming) => {
                    tokio::task::spawn_local(netron::serve_connection(incoming, context.clone()));
                }
                Err(err) => {
                    log_error("netron accept failed", &err);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

/// Hands events from any worker to this worker's subscribed connections.
async fn netron_events(mut events: tokio::sync::mpsc::UnboundedReceiver<Broadcast>, context: Rc<Context>) {
    loop {
        tokio::select! {
            _ = context.worker.drain.cancelled() => break,
            event = events.recv() => match event {
                Some(event) => context.state.netron.broadcast(&event),
                None => break,
            }
        }
    }
}

/// How long a worker waits for a new connection's first request before accepting another.
const FIRST_REQUEST_GRACE: Duration = Duration::from_millis(1);

/// A worker takes one new connection at a time: a client connects before it sends, so right
/// after `accept` the worker still looks idle and would take a whole burst of connections, then
/// serve them one after another while other workers sit idle. Waiting (briefly, so a silent
/// client cannot stall accepting) until the request arrives makes the worker busy, and the rest
/// of the burst goes to idle workers.
async fn wait_for_first_request(context: &Context) {
    let state = &context.state;
    let grace = tokio::time::sleep(FIRST_REQUEST_GRACE);
    tokio::pin!(grace);
    while state.fresh_connections.get() > 0 && state.queue.borrow().is_empty() {
        tokio::select! {
            _ = state.first_request.notified() => {}
            _ = &mut grace => return,
            _ = context.worker.drain.cancelled() => return,
        }
    }
}

fn start_connection(stream: ClientStream, context: &Rc<Context>, fresh: bool) {
    let _ = stream.set_nodelay();
    let state = &context.state;
    state.live_connections.set(state.live_connections.get() + 1);
    if fresh {
        state.fresh_connections.set(state.fresh_connections.get() + 1);
    }
    tokio::task::spawn_local(serve_connection(stream, context.clone(), fresh));
}

/// Marks a fresh connection as no longer waiting for its first request (once).
fn settle_fresh(state: &LoopState, fresh: &Cell<bool>) {
    if fresh.replace(false) {
        state.fresh_connections.set(state.fresh_connections.get() - 1);
        state.first_request.notify_one();
    }
}

type ResponseFuture = Pin<Box<dyn Future<Output = Result<HttpResponse, Infallible>>>>;

async fn serve_connection(stream: ClientStream, context: Rc<Context>, fresh: bool) {
    let service_context = context.clone();
    let fresh = Rc::new(Cell::new(fresh));
    let service_fresh = fresh.clone();
    // Boxed futures keep the connection `Unpin`, which taking its socket back requires.
    let service = service_fn(move |request| -> ResponseFuture {
        let context = service_context.clone();
        let fresh = service_fresh.clone();
        Box::pin(async move {
            let response = handle(&context, request, &fresh).await;
            Ok(response)
        })
    });
    let mut connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(context.options.header_read_timeout)
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    let drained = tokio::select! {
        // Drain first: once this worker drains, bytes that arrive together with the signal are
        // a request for the new build, handed over unread rather than parsed here.
        biased;
        _ = context.worker.drain.cancelled() => true,
        _ = poll_fn(|cx| connection.poll_without_shutdown(cx)) => false,
    };
    if drained {
        // Finish the request being served (its response says `connection: close`); an idle
        // connection stops at once. Then, unless the whole server is stopping, give the socket
        // to a serving worker instead of closing it under a client that may be sending.
        Pin::new(&mut connection).graceful_shutdown();
        let finished = poll_fn(|cx| connection.poll_without_shutdown(cx)).await;
        if finished.is_ok() && !context.control.is_shutting_down() {
            let parts = connection.into_parts();
            match parts.io.into_inner().hand_off(parts.read_buf) {
                Ok(handed) => context.control.hand_off(handed),
                Err(err) => log_error("could not hand off a connection", &err),
            }
        }
    }
    let state = &context.state;
    settle_fresh(state, &fresh);
    state.live_connections.set(state.live_connections.get() - 1);
    state.wake.notify_one();
}

async fn handle(context: &Context, request: Request<Incoming>, fresh: &Cell<bool>) -> HttpResponse {
    let id = context.state.ids.borrow_mut().next(request.headers().get(&X_REQUEST_ID));
    // The connection is no longer fresh. The accept loop runs only after this task yields,
    // which for a request without a body is after it was queued: it then finds the worker busy.
    settle_fresh(&context.state, fresh);
    let mut response = route(context, request, &id).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID, value);
    }
    response
}

async fn route(context: &Context, request: Request<Incoming>, id: &str) -> HttpResponse {
    let path = request.uri().path();
    if let Some(builtin) = builtin_route(context, path) {
        return builtin;
    }
    if let Some(error_json) = context.control.unavailable() {
        return HttpError::Unavailable { error_json }.to_response(id);
    }
    let (action, params) = match context.routes.lookup(request.method(), path) {
        Err(err) => return HttpError::from_lookup(err, request.method(), path).to_response(id),
        Ok(found) => match &found.route.target {
            RouteTarget::Reply(reply) => return reply_response(reply),
            RouteTarget::Action(action) => (action.clone(), found.params),
        },
    };
    let (parts, body) = request.into_parts();
    let body = match read_body(body, &parts.headers, context.options.body_limit).await {
        Ok(body) => body,
        Err(err) => return err.to_response(id),
    };
    let (responder, response) = oneshot::channel();
    let request = IncomingRequest::new(id.to_owned(), action, parts, params, body);
    context.state.queue.borrow_mut().push_back(Queued::Http(Pending { request, responder }));
    context.state.wake.notify_one();
    match response.await {
        Ok(response) => response,
        Err(_) => HttpError::WorkerStopped.to_response(id),
    }
}

/// Liveness and readiness, answered by the core so they work even while JS is broken.
fn builtin_route(context: &Context, path: &str) -> Option<HttpResponse> {
    let (status, body): (StatusCode, &'static [u8]) = match path {
        "/__titan/health" => (StatusCode::OK, br#"{"status":"ok"}"#),
        "/__titan/ready" => {
            if context.control.unavailable().is_some() || context.worker.drain.is_cancelled() {
                (StatusCode::SERVICE_UNAVAILABLE, br#"{"status":"unavailable"}"#)
            } else {
                (StatusCode::OK, br#"{"status":"ready"}"#)
            }
        }
        _ => return None,
    };
    let mut response = Response::new(Full::new(Bytes::from_static(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Some(response)
}

fn reply_response(reply: &Reply) -> HttpResponse {
    let mut response = Response::new(Full::new(reply.body.clone()));
    *response.status_mut() = reply.status;
    if let Ok(value) = HeaderValue::from_str(&reply.content_type) {
        response.headers_mut().insert(CONTENT_TYPE, value);
    }
    response
}

async fn read_body(body: Incoming, headers: &hyper::HeaderMap, limit: u64) -> Result<Bytes, HttpError> {
    let declared = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(HttpError::PayloadTooLarge { limit });
    }
    let limit_usize = usize::try_from(limit).unwrap_or(usize::MAX);
    match Limited::new(body, limit_usize).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => Err(HttpError::PayloadTooLarge { limit }),
        Err(err) => Err(HttpError::BadRequest { message: format!("could not read the request body: {err}") }),
    }
}

/// Builds an action's response from what JS handed back: status, content type, other headers
/// as flat `[name, value, ...]`, body. A bad status or header is the action's bug: the error
/// says which.
pub fn build_response(status: u16, content_type: Option<&str>, headers: &[String], body: Bytes) -> Result<HttpResponse, String> {
    let status = StatusCode::from_u16(status).map_err(|_| format!("{status} is not an HTTP status"))?;
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let map = response.headers_mut();
    if let Some(content_type) = content_type {
        let value = HeaderValue::from_str(content_type).map_err(|_| format!("content type `{content_type}` is not a valid header value"))?;
        map.insert(CONTENT_TYPE, value);
    }
    for pair in headers.chunks(2) {
        let [name, value] = pair else {
            return Err("headers must come in name/value pairs".into());
        };
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("`{name}` is not a valid header name"))?;
        let value = HeaderValue::from_str(value).map_err(|_| format!("the value of header `{name}` is not valid"))?;
        map.append(name, value);
    }
    Ok(response)
}
