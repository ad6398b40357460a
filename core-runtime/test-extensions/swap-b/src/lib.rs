//! Build B of the hot-reload fixture `swap` (see `swap-a`): answers `"b"`, drops `only_in_a`
//! and adds `only_in_b`. It shares `swap-a`'s lifecycle code, so the two differ only in what a
//! test must tell apart.

use titan_ext::{Context, function};

#[path = "../../swap-a/src/lifecycle.rs"]
mod lifecycle;
use lifecycle::{Swap, Worker};

const BUILD: &str = "b";

fn start(config: serde_json::Value) -> Result<Swap, String> {
    Swap::start(config, BUILD)
}

/// `"b"`.
#[function]
fn value(cx: &Context) -> String {
    cx.state::<Swap>().serve(|| BUILD.to_owned())
}

/// `"b:<text>"`.
#[function]
fn echo(cx: &Context, text: &str) -> String {
    cx.state::<Swap>().serve(|| format!("{BUILD}:{text}"))
}

/// `"b:<worker id>"`, from this build's state for the calling worker.
#[function]
fn worker(cx: &Context) -> String {
    format!("{BUILD}:{}", cx.worker_state::<Worker>().worker_id)
}

/// The app data directory `init` saw (`titan_ext::data_dir()`), or null.
#[function]
fn data_dir(cx: &Context) -> Option<String> {
    cx.state::<Swap>().data_dir.clone()
}

/// Only build B has it.
#[function]
fn only_in_b() -> String {
    "only in b".into()
}

titan_ext::extension! {
    name: "swap",
    functions: [only_in_b, value, echo, worker, data_dir],
    init: start,
    worker_init: Worker::start,
}
