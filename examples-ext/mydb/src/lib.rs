//! `t.mydb`: an embedded, persistent key-value store for Titan actions, on SQLite (rusqlite).
//! An example of an extension with shared state (`init`: where the file is) and per-worker
//! state (`worker_init`: each worker's own connection, so calls take no lock of ours).
//!
//! Keys and values are strings; the JS entry (`index.js`) adds `transaction(fn)` on top of
//! `begin` / `commit` / `rollback`. See README.md for the guarantees.

mod settings;
mod store;

pub use settings::{DATA_DIR_ENV, DEFAULT_FILE, Settings, app_data_dir};
pub use store::{BUSY_TIMEOUT, Entry, Store, StoreError, prefix_upper_bound};
use titan_ext::{Context, function};

impl Store {
    /// `worker_init`: this worker's own connection to the store `init` checked.
    pub fn for_worker(settings: Option<&Settings>, _worker_id: u32) -> Result<Store, String> {
        let settings = settings.ok_or("mydb has no settings (its init did not run)")?;
        Store::open(settings.path()).map_err(|e| format!("mydb: {e}"))
    }
}

/// The value stored under `key`, or `null` if there is none.
#[function]
pub fn get(cx: &Context, key: &str) -> Result<Option<String>, StoreError> {
    cx.worker_state::<Store>().get(key)
}

/// Stores `value` under `key`, replacing any previous value. Outside a transaction the write is
/// committed (durably) before this returns.
#[function]
pub fn set(cx: &Context, key: &str, value: &str) -> Result<(), StoreError> {
    cx.worker_state::<Store>().set(key, value)
}

/// Deletes `key`; `true` if it was there.
#[function]
pub fn delete(cx: &Context, key: &str) -> Result<bool, StoreError> {
    cx.worker_state::<Store>().delete(key)
}

/// The entries (`{ key, value }`) whose key starts with `prefix` (`""`: all), ordered by key,
/// at most `limit` of them (default: no limit). `%` and `_` are ordinary characters.
#[function]
pub fn scan(cx: &Context, prefix: &str, limit: Option<u32>) -> Result<Vec<Entry>, StoreError> {
    cx.worker_state::<Store>().scan(prefix, limit)
}

/// Opens a transaction on this worker's connection (nested: joins the open one). Prefer
/// `transaction(fn)`, which always commits or rolls back.
#[function]
pub fn begin(cx: &Context) -> Result<(), StoreError> {
    cx.worker_state::<Store>().begin()
}

/// Commits the innermost open transaction (the outermost one durably).
#[function]
pub fn commit(cx: &Context) -> Result<(), StoreError> {
    cx.worker_state::<Store>().commit()
}

/// Rolls back the innermost open transaction; does nothing if none is open.
#[function]
pub fn rollback(cx: &Context) -> Result<(), StoreError> {
    cx.worker_state::<Store>().rollback()
}

titan_ext::extension! {
    functions: [get, set, delete, scan, begin, commit, rollback],
    init: Settings::from_config,
    worker_init: Store::for_worker,
}
