//! The HTTP server, thread-per-core: one listening socket shared by every worker thread, each
//! running its own hyper connections on its own current-thread runtime (see `worker_loop`).

mod client_stream;
mod control;
mod worker_loop;

pub use client_stream::HandedOff;
pub use control::{AbortReason, ServerControl, WorkerControl};
pub use worker_loop::{HttpResponse, WorkerLoop, WorkerOptions, build_response};
