//! Build A of the hot-reload fixture `swap` (with `swap-b`, build B of the same extension):
//! every function answers with its build's letter, so a test sees which build served a call.
//! `only_in_a` is gone from B. Lifecycle events: see `lifecycle.rs`.

use titan_ext::{Context, function};

mod lifecycle;
use lifecycle::{Swap, Worker};

const BUILD: &str = "a";

fn start(config: serde_json::Value) -> Result<Swap, String> {
    Swap::start(config, BUILD)
}

/// `"a"`.
#[function]
fn value(cx: &Context) -> String {
    cx.state::<Swap>().serve(|| BUILD.to_owned())
}

/// `"a:<text>"`: arguments reach this build.
#[function]
fn echo(cx: &Context, text: &str) -> String {
    cx.state::<Swap>().serve(|| format!("{BUILD}:{text}"))
}

/// `"a:<worker id>"`, from this build's state for the calling worker: its `worker_init` ran.
#[function]
fn worker(cx: &Context) -> String {
    format!("{BUILD}:{}", cx.worker_state::<Worker>().worker_id)
}

/// The app data directory `init` saw (`titan_ext::data_dir()`), or null.
#[function]
fn data_dir(cx: &Context) -> Option<String> {
    cx.state::<Swap>().data_dir.clone()
}

/// Only build A has it.
#[function]
fn only_in_a() -> String {
    "only in a".into()
}

titan_ext::extension! {
    name: "swap",
    functions: [value, echo, worker, data_dir, only_in_a],
    init: start,
    worker_init: Worker::start,
}
