//! What builds A and B of the `swap` fixture share (B includes this file): the state `init`
//! builds from the config, per-worker state, and an event log that makes every lifecycle step
//! visible to the host's tests. Each line is appended with one `write` to a file opened for
//! appending, so lines from several threads and both builds never interleave:
//!
//! ```text
//! init <build> config=<json> data_dir=<dir or ->
//! worker_init <build> worker=<id> tid=<OS thread id>
//! worker_drop <build> worker=<id> tid=<OS thread id>
//! unload <build> calls=<calls served> in_flight=<calls running at unload>
//! ```
//!
//! Config (every field optional): `{ "events": "/path/to/events.log", "refuse_workers_in": "b" }`:
//! without `events` nothing is written; the build named by `refuse_workers_in` fails every
//! `worker_init` (the other build accepts them, since both get the same config).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Where lifecycle lines go.
pub struct EventLog(Option<File>);

impl EventLog {
    fn record(&self, line: &str) {
        if let Some(mut file) = self.0.as_ref() {
            // One write per line: O_APPEND makes it atomic with respect to other writers.
            let _ = file.write_all(format!("{line}\n").as_bytes());
        }
    }
}

/// The OS id of the calling thread (Linux: from `/proc/thread-self`), so a test can tell that
/// a worker's hooks ran on that worker's own thread.
pub fn thread_id() -> String {
    std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|link| link.file_name().map(|name| name.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "?".into())
}

/// The extension's state: which build this is, and what it served.
pub struct Swap {
    /// `"a"` or `"b"`.
    pub build: &'static str,
    /// What `titan_ext::data_dir()` answered in `init`.
    pub data_dir: Option<String>,
    events: Arc<EventLog>,
    refuses_workers: bool,
    calls: AtomicU64,
    in_flight: AtomicU64,
}

impl Swap {
    /// `init` of build `build`.
    pub fn start(config: serde_json::Value, build: &'static str) -> Result<Swap, String> {
        let events = match config.get("events").and_then(|v| v.as_str()) {
            Some(path) => Some(OpenOptions::new().create(true).append(true).open(path).map_err(|e| format!("cannot open the event log {path}: {e}"))?),
            None => None,
        };
        let data_dir = titan_ext::data_dir().map(|d| d.display().to_string());
        let refuses_workers = config.get("refuse_workers_in").and_then(|v| v.as_str()) == Some(build);
        let events = Arc::new(EventLog(events));
        events.record(&format!("init {build} config={config} data_dir={}", data_dir.as_deref().unwrap_or("-")));
        let swap = Swap { build, data_dir, events, refuses_workers, calls: AtomicU64::new(0), in_flight: AtomicU64::new(0) };
        Ok(swap)
    }

    /// Counts a call while `body` runs: the unload line reports how many ran, and how many were
    /// still running (a host that unloads under a running call shows `in_flight` > 0, if it
    /// does not crash first).
    pub fn serve<T>(&self, body: impl FnOnce() -> T) -> T {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let value = body();
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        value
    }
}

impl Drop for Swap {
    /// Runs in `unload`.
    fn drop(&mut self) {
        let (calls, in_flight) = (self.calls.load(Ordering::SeqCst), self.in_flight.load(Ordering::SeqCst));
        self.events.record(&format!("unload {} calls={calls} in_flight={in_flight}", self.build));
    }
}

/// One worker's state on one build.
pub struct Worker {
    /// The worker.
    pub worker_id: u32,
    build: &'static str,
    events: Arc<EventLog>,
}

impl Worker {
    /// `worker_init`.
    pub fn start(swap: Option<&Swap>, worker_id: u32) -> Result<Worker, String> {
        let swap = swap.ok_or("swap has no state")?;
        if swap.refuses_workers {
            return Err(format!("build {} refuses worker {worker_id} (refuse_workers_in)", swap.build));
        }
        swap.events.record(&format!("worker_init {} worker={worker_id} tid={}", swap.build, thread_id()));
        Ok(Worker { worker_id, build: swap.build, events: swap.events.clone() })
    }
}

impl Drop for Worker {
    /// Runs in `worker_drop`.
    fn drop(&mut self) {
        self.events.record(&format!("worker_drop {} worker={} tid={}", self.build, self.worker_id, thread_id()));
    }
}
