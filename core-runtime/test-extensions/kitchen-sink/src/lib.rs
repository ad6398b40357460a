//! The host's test fixture: one native extension that exercises every value kind both ways,
//! every error path (argument errors, `Err`, panics, failing `init` / `worker_init`), shared and
//! per-worker state, logging, concurrency and allocation. It uses only `titan-ext`'s public API,
//! as any extension would. `tests/raw_abi.rs` drives it through the raw ABI, without a host.
//!
//! Config (`config` in the app's config; every field optional):
//! `{ "greeting": "hi", "fail_init": "message", "panic_init": true, "fail_worker_init": 3 }`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use titan_ext::{Context, function};

mod heap;

// --- values ------------------------------------------------------------------------------------

/// Returns nothing (`null`).
#[function]
fn nothing() {}

/// Boolean negation.
#[function]
fn not(b: bool) -> bool {
    !b
}

/// JS numbers.
#[function]
fn add(a: f64, b: f64) -> f64 {
    a + b
}

/// Integers carried as JS numbers: non-integral or out-of-range arguments are argument errors;
/// an overflowing sum is an `Err`.
#[function]
fn add_i32(a: i32, b: i32) -> Result<i32, String> {
    a.checked_add(b).ok_or_else(|| format!("{a} + {b} overflows i32"))
}

/// `u8` range check (0..=255); returns its argument.
#[function]
fn byte(n: u8) -> u8 {
    n
}

/// `f32` crosses as a JS number.
#[function]
fn half(x: f32) -> f32 {
    x / 2.0
}

/// BigInt in, BigInt out: `n * 2`, wrapping (a safe-integer JS number is accepted too).
#[function]
fn big(n: i64) -> i64 {
    n.wrapping_mul(2)
}

/// `u64`: a negative BigInt is an argument error; returns `n + 1`, saturating.
#[function]
fn big_unsigned(n: u64) -> u64 {
    n.saturating_add(1)
}

/// Borrowed string in, owned string out: `"hey"` → `"HEY!"`.
#[function]
fn shout(s: &str) -> String {
    format!("{}!", s.to_uppercase())
}

/// Owned string in: its length in UTF-8 bytes (`"é"` → 2).
#[function]
fn len(s: String) -> u32 {
    u32::try_from(s.len()).unwrap_or(u32::MAX)
}

/// `usize` is not a direct type: it crosses through serde, from a JS number.
#[function]
fn repeat(s: &str, times: usize) -> String {
    s.repeat(times)
}

/// Borrowed bytes in, owned bytes out, reversed.
#[function]
fn reverse(b: &[u8]) -> Vec<u8> {
    b.iter().rev().copied().collect()
}

/// `null` → `null`; `"x"` → `"maybe x"`.
#[function]
fn maybe(s: Option<String>) -> Option<String> {
    s.map(|s| format!("maybe {s}"))
}

/// A `&'static str` result (copied into an owned buffer): this crate's version.
#[function]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// A structured argument.
#[derive(Serialize, Deserialize)]
pub struct User {
    /// Required.
    pub name: String,
    /// Required (may be empty).
    pub tags: Vec<String>,
    /// Optional: missing or `null`.
    pub age: Option<u32>,
}

/// A structured result.
#[derive(Serialize, Deserialize)]
pub struct Summary {
    /// `"<name> (<n> tags)"`.
    pub label: String,
    /// The tags, sorted.
    pub sorted_tags: Vec<String>,
    /// `age + 1`, or `null`.
    pub age_next_year: Option<u32>,
}

/// Serde struct in, serde struct out. A wrong shape is an argument error naming `user`.
#[function]
fn describe(user: User) -> Summary {
    let mut sorted_tags = user.tags;
    sorted_tags.sort();
    Summary {
        label: format!("{} ({} tags)", user.name, sorted_tags.len()),
        sorted_tags,
        age_next_year: user.age.map(|a| a + 1),
    }
}

/// An optional serde argument: `null` → `null`, else the user's name.
#[function]
fn user_name(user: Option<User>) -> Option<String> {
    user.map(|u| u.name)
}

/// A JSON array out: `n` users named `user0`..
#[function]
fn users(n: u32) -> Vec<User> {
    (0..n).map(|i| User { name: format!("user{i}"), tags: vec![], age: Some(i) }).collect()
}

/// A JSON array in.
#[function]
fn sum(values: Vec<f64>) -> f64 {
    values.iter().sum()
}

/// Any JSON value, back unchanged (objects and arrays cross as JSON text, scalars as scalars).
#[function]
fn echo_json(v: serde_json::Value) -> serde_json::Value {
    v
}

/// Renamed: JS sees `t.kitchen_sink.camelName()`; returns the Rust name.
#[function(name = "camelName")]
fn snake_name() -> String {
    "snake_name".into()
}

// --- errors ------------------------------------------------------------------------------------

/// `Err(msg)` → an exception whose message is `msg`.
#[function]
fn fail(msg: String) -> Result<(), String> {
    Err(msg)
}

/// Panics with `"boom: kitchen-sink panicked on purpose"`; the call fails, the worker lives on.
#[function]
fn boom() -> u32 {
    panic!("boom: kitchen-sink panicked on purpose")
}

// --- state ---------------------------------------------------------------------------------------

/// The extension's shared state, read from its config.
#[derive(Deserialize)]
pub struct Settings {
    /// `greet`'s greeting; `"hello"` by default.
    #[serde(default = "default_greeting")]
    pub greeting: String,
    /// `init` fails with this message.
    #[serde(default)]
    pub fail_init: Option<String>,
    /// `init` panics.
    #[serde(default)]
    pub panic_init: bool,
    /// `worker_init` fails for this worker id.
    #[serde(default)]
    pub fail_worker_init: Option<u32>,
}

fn default_greeting() -> String {
    "hello".into()
}

impl Settings {
    /// `init`: the config object (or `null`) → the settings.
    pub fn from_config(config: serde_json::Value) -> Result<Settings, String> {
        let settings: Settings = if config.is_null() {
            serde_json::from_value(serde_json::json!({}))
        } else {
            serde_json::from_value(config)
        }
        .map_err(|e| format!("kitchen-sink config: {e}"))?;
        if settings.panic_init {
            panic!("kitchen-sink init panicked on purpose");
        }
        match settings.fail_init {
            Some(message) => Err(message),
            None => Ok(settings),
        }
    }
}

/// Uses the shared state: `"<greeting>, <name>!"`.
#[function]
fn greet(cx: &Context, name: &str) -> String {
    format!("{}, {name}!", cx.state::<Settings>().greeting)
}

/// Workers whose `Counter` is alive: up in `worker_init`, down in `worker_drop`.
static LIVE_WORKERS: AtomicU32 = AtomicU32::new(0);

/// One worker's state.
pub struct Counter {
    worker_id: u32,
    count: u32,
}

impl Counter {
    /// `worker_init`.
    pub fn open(settings: Option<&Settings>, worker_id: u32) -> Result<Counter, String> {
        if settings.and_then(|s| s.fail_worker_init) == Some(worker_id) {
            return Err(format!("kitchen-sink refuses worker {worker_id}"));
        }
        LIVE_WORKERS.fetch_add(1, Ordering::SeqCst);
        Ok(Counter { worker_id, count: 0 })
    }
}

impl Drop for Counter {
    fn drop(&mut self) {
        LIVE_WORKERS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Increments and returns this worker's counter (1, 2, 3, ... per worker).
#[function]
fn count(cx: &Context) -> u32 {
    let mut counter = cx.worker_state::<Counter>();
    counter.count += 1;
    counter.count
}

/// The calling worker's id; fails if the worker state belongs to another worker.
#[function]
fn worker_id(cx: &Context) -> Result<u32, String> {
    let owner = cx.worker_state::<Counter>().worker_id;
    if owner == cx.worker_id() { Ok(owner) } else { Err(format!("worker {} was handed worker {owner}'s state", cx.worker_id())) }
}

/// How many workers have run `worker_init` and not yet `worker_drop`.
#[function]
fn live_workers() -> u32 {
    LIVE_WORKERS.load(Ordering::SeqCst)
}

// --- concurrency, logging, memory ----------------------------------------------------------------

static IN_SLEEP: AtomicU32 = AtomicU32::new(0);
static MAX_IN_SLEEP: AtomicU32 = AtomicU32::new(0);

/// Blocks the calling worker for `ms` milliseconds.
#[function]
fn sleep_ms(ms: u32) {
    let now = IN_SLEEP.fetch_add(1, Ordering::SeqCst) + 1;
    MAX_IN_SLEEP.fetch_max(now, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(u64::from(ms)));
    IN_SLEEP.fetch_sub(1, Ordering::SeqCst);
}

/// The most `sleep_ms` calls that have been running at the same time.
#[function]
fn max_concurrency() -> u32 {
    MAX_IN_SLEEP.load(Ordering::SeqCst)
}

/// Logs `message` through the host at `level` (`debug`, `info`, `warn`, `error`).
#[function]
fn log(level: &str, message: &str) -> Result<(), String> {
    match level {
        "debug" => titan_ext::log::debug(message),
        "info" => titan_ext::log::info(message),
        "warn" => titan_ext::log::warn(message),
        "error" => titan_ext::log::error(message),
        other => return Err(format!("unknown log level `{other}`")),
    }
    Ok(())
}

/// `n` bytes (each `n % 256`), for leak checks.
#[function]
fn alloc(n: u32) -> Vec<u8> {
    vec![(n % 256) as u8; n as usize]
}

/// A string of `n` `x`s, for leak checks.
#[function]
fn alloc_string(n: u32) -> String {
    "x".repeat(n as usize)
}

/// Bytes this library currently holds on its heap (its own counting allocator): after
/// `free_value` of every result, it returns to where it was.
#[function]
fn heap_in_use() -> f64 {
    heap::in_use() as f64
}

titan_ext::extension! {
    functions: [
        nothing, not, add, add_i32, byte, half, big, big_unsigned, shout, len, repeat, reverse, maybe, version,
        describe, user_name, users, sum, echo_json, snake_name, fail, boom, greet, count, worker_id,
        live_workers, sleep_ms, max_concurrency, log, alloc, alloc_string, heap_in_use,
    ],
    init: Settings::from_config,
    worker_init: Counter::open,
}
