//! The HTTP server, thread-per-core: one listening socket shared by every worker thread, each
//! running its own hyper connections on its own current-thread runtime (see `worker_loop`), and
//! the same for Netron's sockets (see `netron`).

mod client_stream;
mod control;
mod netron;
mod worker_loop;

pub use client_stream::HandedOff;
pub use control::{AbortReason, ServerControl, WorkerControl};
pub use netron::{Broadcast, FrameBatchError, NetronJob, NetronJobKind, NetronSockets, Outbound};
pub use worker_loop::{HttpResponse, Job, WorkerLoop, WorkerOptions, build_response};
