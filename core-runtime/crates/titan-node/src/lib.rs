//! The thin napi-rs layer over `titan-core`: nothing here decides anything, it only converts.
//!
//! - The main thread binds the server and flips its switches (`bindServer`, `shutdownServer`,
//!   `drainWorkers`, `abortWorker`, `setUnavailable`). Servers live in a process-wide registry by
//!   id, because every worker isolate loads this addon separately but must reach the same socket.
//! - Each worker thread starts its own loop (`workerStart`) and then alternates
//!   `workerNext()` / `workerRespondAndNext(...)`: one native call per request. The loop lives in
//!   a thread-local (one per worker thread, never shared across isolates); an env cleanup hook
//!   finishes it when the worker stops, so a terminated worker's request still gets its answer.
// napi-rs's macros expand to the FFI glue; this crate is the boundary, the core stays safe.
#![allow(unsafe_code)]
// Test builds compile napi-rs's registration out, so whatever only JS reaches looks unused there.
#![cfg_attr(test, allow(dead_code))]

mod extensions;

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use bytes::Bytes;
use napi::bindgen_prelude::{Array, Buffer, BufferSlice, Either, Null, Uint8ArraySlice};
use napi::{Env, Error, Result, Status};
use napi_derive::napi;
use titan_core::http_error::HttpError;
use titan_core::request::{BodyKind, IncomingRequest};
use titan_core::router::{ParamValue, RouteTable};
use titan_core::server::{AbortReason, Broadcast, Job, NetronJobKind, NetronSockets, ServerControl, WorkerLoop, WorkerOptions, build_response};

static SERVERS: LazyLock<Mutex<HashMap<u32, Arc<ServerControl>>>> = LazyLock::new(Default::default);
static NEXT_SERVER_ID: AtomicU32 = AtomicU32::new(1);

/// How long a stopping worker keeps its I/O running so its last answers reach their clients.
const FINISH_GRACE: Duration = Duration::from_secs(2);

thread_local! {
    static WORKER: RefCell<Option<WorkerLoop>> = const { RefCell::new(None) };
}

fn server(id: u32) -> Result<Arc<ServerControl>> {
    SERVERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&id)
        .cloned()
        .ok_or_else(|| Error::new(Status::InvalidArg, format!("no server with id {id} (it was shut down)")))
}

/// A bound server, as the main thread sees it.
#[napi(object)]
pub struct BoundServer {
    /// Registry id, passed to workers.
    pub id: u32,
    /// The bound host.
    pub host: String,
    /// The bound port (the real one when 0 was asked for).
    pub port: u32,
}

/// Binds the listening socket every worker shares. Errors start with the OS error code
/// (`EADDRINUSE: ...`) so the host can turn them into advice.
#[napi]
pub fn bind_server(host: String, port: u32, backlog: Option<u32>) -> Result<BoundServer> {
    let port = u16::try_from(port).map_err(|_| Error::new(Status::InvalidArg, format!("port {port} is out of range")))?;
    let control = ServerControl::bind(&host, port, backlog.unwrap_or(1024) as i32).map_err(|err| {
        let code = match err.kind() {
            std::io::ErrorKind::AddrInUse => "EADDRINUSE",
            std::io::ErrorKind::PermissionDenied => "EACCES",
            std::io::ErrorKind::AddrNotAvailable => "EADDRNOTAVAIL",
            _ => "EBIND",
        };
        Error::new(Status::GenericFailure, format!("{code}: cannot listen on {host}:{port}: {err}"))
    })?;
    let addr = control.local_addr();
    let id = NEXT_SERVER_ID.fetch_add(1, Ordering::Relaxed);
    SERVERS.lock().unwrap_or_else(|e| e.into_inner()).insert(id, control);
    Ok(BoundServer { id, host: addr.ip().to_string(), port: addr.port().into() })
}

/// Netron listening sockets, bound for a server.
#[napi(object)]
pub struct BoundNetron {
    /// The bound addresses (real ports where 0 was asked for).
    pub addresses: Vec<String>,
    /// The peer id sent in the handshake.
    pub server_id: String,
}

/// Binds the server's Netron sockets (`tcp://`, `unix://`, `ws://`, or a scheme a loaded
/// extension registered). Call before starting workers; each worker accepts from them.
#[napi]
pub fn bind_netron(id: u32, addresses: Vec<String>) -> Result<BoundNetron> {
    let control = server(id)?;
    let server_id = random_uuid();
    let sockets = NetronSockets::bind(&addresses, netron_transports(), server_id.clone()).map_err(|message| Error::new(Status::GenericFailure, message))?;
    let addresses = sockets.bound_addresses().to_vec();
    control.set_netron(sockets);
    Ok(BoundNetron { addresses, server_id })
}

fn netron_transports() -> &'static titan_netron::transport::TransportRegistry {
    titan_core::ext::transport_registry()
}

/// A version-4 UUID from the std hasher's per-process random keys (no extra crate for one id).
fn random_uuid() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut bytes = [0u8; 16];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_usize(i);
        hasher.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
        chunk.copy_from_slice(&hasher.finish().to_le_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// After an extension reload: wakes every server's idle workers so they move to the new build
/// now (see `WorkerLoop::on_extension_sync`).
pub(crate) fn wake_workers_for_extension_sync() {
    let servers: Vec<Arc<ServerControl>> = SERVERS.lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect();
    for server in servers {
        server.wake_for_extension_sync();
    }
}

/// Graceful shutdown: workers stop accepting, finish in-flight requests, and their loops end.
#[napi]
pub fn shutdown_server(id: u32) -> Result<()> {
    let control = SERVERS.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
    if let Some(control) = control {
        control.shutdown();
    }
    Ok(())
}

/// Makes every request but the health checks answer 503 with this JSON `error` object, or
/// serves again with `null`.
#[napi]
pub fn set_unavailable(id: u32, error_json: Option<String>) -> Result<()> {
    server(id)?.set_unavailable(error_json.map(Bytes::from));
    Ok(())
}

/// Asks a generation of workers to drain (reload) as one step: each stops accepting, finishes
/// and hands its idle connections to serving workers (see `ServerControl::drain_workers`).
/// Returns how many of the slots exist.
#[napi]
pub fn drain_workers(id: u32, slots: Vec<u32>) -> Result<u32> {
    Ok(server(id)?.drain_workers(&slots) as u32)
}

/// Records why a worker is about to be terminated (`"timeout"` → its request gets 504,
/// `"stopped"` → 503) and wakes it if it is waiting for requests.
#[napi]
pub fn abort_worker(id: u32, slot: u32, reason: String) -> Result<bool> {
    let reason = match reason.as_str() {
        "timeout" => AbortReason::Timeout,
        "stopped" => AbortReason::Stopped,
        other => return Err(Error::new(Status::InvalidArg, format!("unknown abort reason `{other}`"))),
    };
    Ok(server(id).map(|s| s.abort_worker(slot, reason)).unwrap_or(false))
}

/// Options for one worker's loop.
#[napi(object)]
pub struct WorkerStartOptions {
    /// Largest accepted body, in bytes.
    pub body_limit: f64,
}

/// Starts this worker thread's own server loop on the shared socket, with the build's routes
/// (the `routes` array of `titan.build.json`, as JSON).
#[napi]
pub fn worker_start(env: Env, server_id: u32, slot: u32, routes_json: String, options: WorkerStartOptions) -> Result<()> {
    let routes = RouteTable::from_json(&routes_json).map_err(|e| Error::new(Status::InvalidArg, e.to_string()))?;
    let body_limit = if options.body_limit.is_finite() && options.body_limit >= 0.0 { options.body_limit as u64 } else { u64::MAX };
    let worker_options = WorkerOptions { body_limit, ..WorkerOptions::default() };
    let mut worker = WorkerLoop::new(server(server_id)?, slot, Arc::new(routes), worker_options)
        .map_err(|e| Error::new(Status::GenericFailure, format!("worker {slot} could not start its server loop: {e}")))?;
    // Woken while waiting for requests after an extension reload: move this worker's
    // extensions to their new builds now, so the old ones can unload.
    worker.on_extension_sync(Box::new(|| {
        extensions::sync_this_thread();
    }));
    WORKER.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.is_some() {
            return Err(Error::new(Status::GenericFailure, "this worker thread already runs a server loop"));
        }
        *cell = Some(worker);
        Ok(())
    })?;
    // Runs on this thread when the isolate stops (drained, terminated on timeout, or exiting):
    // answers what is still owed and closes connections, bounded by FINISH_GRACE.
    env.add_env_cleanup_hook((), |()| {
        if let Some(worker) = WORKER.with(|cell| cell.borrow_mut().take()) {
            worker.finish(FINISH_GRACE);
        }
    })?;
    Ok(())
}

// The request crosses as one flat array, not an object: setting named properties through
// Node-API interns every key on every request, while indexed slots cost nothing, and the worker
// builds a fixed-shape object from them (headers and query only when an action reads them).
// Layout (mirrored by `RawRequest` in core-runtime/js/request.ts):
//   0 id, 1 action, 2 method, 3 path, 4 params ([name, value, ...] or null),
//   5 raw query string or null, 6 body kind (0 none, 1 json, 2 form, 3 text, 4 binary),
//   7 body text or null, 8 body bytes (binary only) or null, 9 form fields ([k, v, ...] or null),
//   10.. header name/value pairs.
const HEADERS_AT: u32 = 10;

fn body_kind_code(kind: BodyKind) -> u32 {
    match kind {
        BodyKind::None => 0,
        BodyKind::Json => 1,
        BodyKind::Form => 2,
        BodyKind::Text => 3,
        BodyKind::Binary => 4,
    }
}

fn to_js(env: &Env, request: IncomingRequest) -> Result<Array<'_>> {
    let headers = request.headers();
    let mut out = env.create_array(HEADERS_AT + 2 * headers.len() as u32)?;
    out.set(0, request.id.as_str())?;
    out.set(1, &*request.action)?;
    out.set(2, request.method())?;
    out.set(3, request.path())?;
    if request.params.is_empty() {
        out.set(4, Null)?;
    } else {
        let mut params = env.create_array(2 * request.params.len() as u32)?;
        for (i, (name, value)) in request.params.iter().enumerate() {
            params.set(2 * i as u32, name.as_str())?;
            match value {
                ParamValue::Str(s) => params.set(2 * i as u32 + 1, s.as_str())?,
                ParamValue::Number(n) => params.set(2 * i as u32 + 1, *n)?,
            }
        }
        out.set(4, params)?;
    }
    out.set(5, request.parts.uri.query())?;
    out.set(6, body_kind_code(request.body_kind))?;
    out.set(7, request.body_text())?;
    if request.body_kind == BodyKind::Binary {
        out.set(8, Buffer::from(request.body.to_vec()))?;
    } else {
        out.set(8, Null)?;
    }
    match request.form() {
        Some(fields) => {
            let flat: Vec<String> = fields.into_iter().flat_map(|(k, v)| [k, v]).collect();
            out.set(9, Array::from_vec(env, flat)?)?;
        }
        None => out.set(9, Null)?,
    }
    for (i, (name, value)) in headers.into_iter().enumerate() {
        out.set(HEADERS_AT + 2 * i as u32, name)?;
        out.set(HEADERS_AT + 2 * i as u32 + 1, value)?;
    }
    Ok(out)
}

fn with_worker<T>(f: impl FnOnce(&mut WorkerLoop) -> Result<T>) -> Result<T> {
    WORKER.with(|cell| match cell.borrow_mut().as_mut() {
        Some(worker) => f(worker),
        None => Err(Error::new(Status::GenericFailure, "no server loop on this thread: call workerStart first")),
    })
}

/// Runs this thread's I/O until a job is ready: an HTTP request (a flat array, see `to_js`) or
/// a Netron job (`[kind, connection, payload]`, see `netron_to_js`). `null`: the worker is done.
#[napi(ts_return_type = "unknown[] | null")]
pub fn worker_next(env: &Env) -> Result<Option<Array<'_>>> {
    let next = with_worker(|worker| Ok(worker.next_job()))?;
    next.map(|job| job_to_js(env, job)).transpose()
}

fn job_to_js(env: &Env, job: Job) -> Result<Array<'_>> {
    match job {
        Job::Http(request) => to_js(env, request),
        Job::Netron(job) => netron_to_js(env, job),
    }
}

// A Netron job: `[kind, connection, payload]`; kind 1 = a packet (payload: its bytes), 2 = streams
// to continue (payload: their ids), 3 = the connection closed (payload: null), 4 = who the peer
// proved to be in its transport's handshake (payload: a JSON object's text). Its first slot is
// a number, where an HTTP request's is its id string.
fn netron_to_js(env: &Env, job: titan_core::server::NetronJob) -> Result<Array<'_>> {
    let mut out = env.create_array(3)?;
    out.set(1, job.connection)?;
    match job.kind {
        NetronJobKind::Packet(body) => {
            out.set(0, 1u32)?;
            // A copy into a Buffer V8 owns: cheaper than an external buffer with a finalizer.
            out.set(2, &BufferSlice::copy_from(env, &body)?)?;
        }
        NetronJobKind::Continue(streams) => {
            out.set(0, 2u32)?;
            out.set(2, streams)?;
        }
        NetronJobKind::Closed => {
            out.set(0, 3u32)?;
            out.set(2, Null)?;
        }
        NetronJobKind::Peer(identity) => {
            out.set(0, 4u32)?;
            out.set(2, identity)?;
        }
    }
    Ok(out)
}

/// Hands back the answer to a Netron job and waits for the next job, in one call. `frames`: the
/// packets to write on `connection`, back to back, each behind its u32 BE length (the worker's
/// reused `FrameBatch`, read here without a handle to it); `continue_streams`: streams to run
/// another turn of once those are written.
#[napi(ts_return_type = "unknown[] | null")]
pub fn worker_netron_reply_and_next<'env>(
    env: &'env Env,
    connection: u32,
    #[napi(ts_arg_type = "Uint8Array")] frames: Uint8ArraySlice<'_>,
    continue_streams: Option<Vec<u32>>,
) -> Result<Option<Array<'env>>> {
    let next = with_worker(|worker| {
        worker.netron_reply_frames(connection, &frames, continue_streams.unwrap_or_default());
        Ok(worker.next_job())
    })?;
    next.map(|job| job_to_js(env, job)).transpose()
}

/// Sends an event (`frame`: the encoded `emit` TASK packet) to the connections subscribed to
/// `event` on every worker. Returns how many workers it reached (0 without Netron).
#[napi]
pub fn worker_netron_emit(event: String, #[napi(ts_arg_type = "Uint8Array")] frame: Uint8ArraySlice<'_>) -> Result<u32> {
    with_worker(|worker| {
        let broadcast = Broadcast { event: event.into(), frame: Bytes::copy_from_slice(&frame) };
        Ok(worker.netron_broadcast(&broadcast) as u32)
    })
}


/// Hands back the response to the current request: status, content type (the common case
/// needs no header array), other headers as `[name, value, ...]`, body. A bad status or header sends a 500 and
/// throws, naming the problem.
#[napi]
pub fn worker_respond(status: u32, content_type: Option<String>, headers: Option<Vec<String>>, body: Option<Either<String, Buffer>>) -> Result<()> {
    with_worker(|worker| respond(worker, status, content_type, headers, body))
}

/// `workerRespond` then `workerNext`, in one call: the per-request path is one crossing.
#[napi(ts_return_type = "unknown[] | null")]
pub fn worker_respond_and_next(
    env: &Env,
    status: u32,
    content_type: Option<String>,
    headers: Option<Vec<String>>,
    body: Option<Either<String, Buffer>>,
) -> Result<Option<Array<'_>>> {
    let next = with_worker(|worker| {
        respond(worker, status, content_type, headers, body)?;
        Ok(worker.next_job())
    })?;
    next.map(|job| job_to_js(env, job)).transpose()
}

fn respond(worker: &mut WorkerLoop, status: u32, content_type: Option<String>, headers: Option<Vec<String>>, body: Option<Either<String, Buffer>>) -> Result<()> {
    let body = match body {
        None => Bytes::new(),
        Some(Either::A(text)) => Bytes::from(text),
        Some(Either::B(bytes)) => Bytes::copy_from_slice(&bytes),
    };
    let status = u16::try_from(status).unwrap_or(0);
    match build_response(status, content_type.as_deref(), headers.as_deref().unwrap_or_default(), body) {
        Ok(response) => {
            worker.respond(response);
            Ok(())
        }
        Err(problem) => {
            let id = worker.in_flight_id().unwrap_or_default().to_owned();
            let error = HttpError::BadResponse { problem: problem.clone() };
            worker.respond(error.to_response(&id));
            Err(Error::new(Status::InvalidArg, error.message()))
        }
    }
}
