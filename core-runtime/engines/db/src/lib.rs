//! `t.db`: Titan's built-in SQLite engine, written against the same extension ABI as any user
//! extension (through `titan-ext`), and linked into the runtime statically.
//!
//! Each worker has its own connection (per-worker state: no locks on the call path), opened in
//! `worker_init` with `journal_mode=WAL`, `busy_timeout=5000` and `foreign_keys=ON`, so
//! workers read concurrently and wait for each other's writes instead of failing.
//!
//! Config: `{ "path": "/abs/path/app.db" }` (required; parent directories are created).
//!
//! Values crossing to and from JS:
//!
//! | SQLite | JS |
//! |---|---|
//! | NULL | `null` |
//! | INTEGER | number; `{"$bigint": "<decimal>"}` beyond ±(2^53−1) |
//! | REAL | number (±Infinity come back as `null`: JSON has no infinities) |
//! | TEXT | string |
//! | BLOB | `{"$base64": "..."}` |
//!
//! Parameters: `null`, booleans (1/0), numbers (INTEGER when integral and safe, else REAL),
//! strings, `{"$base64": "..."}` (BLOB) and `{"$bigint": "..."}` (INTEGER); anything else is an
//! error naming the parameter. The JS wrapper maps `Uint8Array` and `BigInt` to those objects.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, params_from_iter};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};
use titan_ext::{Context, function};

/// Largest integer a JS number holds exactly (2^53 − 1).
const MAX_SAFE_INTEGER: i64 = 9_007_199_254_740_991;
const BUSY_TIMEOUT: Duration = Duration::from_millis(5000);
const STATEMENT_CACHE: usize = 64;

/// The engine's config.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Config {
    path: Option<PathBuf>,
}

/// The engine's shared state: where the database is.
#[derive(Debug)]
pub struct Settings {
    path: PathBuf,
}

impl Settings {
    /// `init`: `{ "path": "/abs/path/app.db" }` → the settings. Creates the parent directories
    /// and opens the database once, so a wrong path fails at startup rather than on the first
    /// query, and switches it to WAL (a property of the file, kept across connections).
    pub fn from_config(config: Value) -> Result<Settings, String> {
        const EXAMPLE: &str = "e.g. \"db\": { \"config\": { \"path\": \"/srv/app/data/app.db\" } }";
        let config: Config = if config.is_null() {
            Config { path: None }
        } else {
            serde_json::from_value(config).map_err(|e| format!("db config: {e} (the only key is `path`)"))?
        };
        let Some(path) = config.path else {
            return Err(format!("db config: `path` is required: the SQLite file to use ({EXAMPLE})"));
        };
        if path.as_os_str() == ":memory:" || path.as_os_str().is_empty() {
            return Err(format!("db config: `path` must be a file (each worker opens its own connection, so an in-memory database would not be shared): {EXAMPLE}"));
        }
        if !path.is_absolute() {
            return Err(format!("db config: `path` must be absolute, got \"{}\" ({EXAMPLE})", path.display()));
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("db config: cannot create the directory {}: {e}", parent.display()))?;
        }
        Db::open(&path)?;
        Ok(Settings { path })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `{ changes, lastInsertRowid }`, what `exec` returns.
#[derive(Serialize, Debug, Clone, Copy, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExecResult {
    /// Rows inserted, updated or deleted by the statement.
    pub changes: f64,
    /// The rowid of the last row inserted on this connection.
    pub last_insert_rowid: f64,
}

/// One result row: a JS object whose keys are the columns, in the statement's column order
/// (a `serde_json::Map` would sort them).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    /// The value of column `name` (the last one, if several columns share the name).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.columns.iter().rposition(|c| c == name).map(|i| &self.values[i])
    }

    /// Column names, in order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Values, in column order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// As a JSON object (keys sorted, as `serde_json::Map` keeps them).
    pub fn to_object(&self) -> Map<String, Value> {
        self.columns.iter().cloned().zip(self.values.iter().cloned()).collect()
    }
}

impl Serialize for Row {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.values.len()))?;
        for (column, value) in self.columns.iter().zip(&self.values) {
            map.serialize_entry(column, value)?;
        }
        map.end()
    }
}

/// One worker's connection (its `worker_init` state; never shared between threads).
pub struct Db {
    conn: Connection,
}

impl Db {
    /// Opens (creating if needed) the database at `path` with the engine's settings: WAL,
    /// a 5 s busy timeout, foreign keys on.
    pub fn open(path: &Path) -> Result<Db, String> {
        let conn = Connection::open(path).map_err(|e| format!("cannot open the database {}: {e}", path.display()))?;
        let setup = || -> rusqlite::Result<String> {
            conn.busy_timeout(BUSY_TIMEOUT)?;
            let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
            Ok(mode)
        };
        let mode = setup().map_err(|e| format!("cannot set up the database {}: {e}", path.display()))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!("cannot switch the database {} to WAL (journal_mode stays {mode}): is it on a network or read-only file system?", path.display()));
        }
        Ok(Db { conn })
    }

    /// `worker_init`: this worker's own connection.
    pub fn for_worker(settings: Option<&Settings>, _worker_id: u32) -> Result<Db, String> {
        let settings = settings.ok_or("the db engine has no settings (its init did not run)")?;
        Db::open(&settings.path)
    }

    /// The underlying connection (for tests and embedding).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Runs one statement and returns its rows.
    pub fn query(&self, sql: &str, params: Option<Vec<Value>>) -> Result<Vec<Row>, String> {
        let params = bind_all(params)?;
        let mut statement = self.conn.prepare_cached(sql).map_err(|e| prepare_error(e, sql))?;
        let mut rows = statement.query(params_from_iter(params.iter())).map_err(|e| step_error(e, sql))?;
        let mut columns: Option<Arc<[String]>> = None;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| step_error(e, sql))? {
            // Read after the first step: a cached statement is re-prepared there if the schema
            // changed (`SELECT *` after `ALTER TABLE ... ADD COLUMN`), and its columns with it.
            let columns = columns.get_or_insert_with(|| row.as_ref().column_names().map(str::to_owned).collect()).clone();
            let values = (0..columns.len()).map(|i| row.get_ref(i).map(decode)).collect::<Result<Vec<_>, _>>().map_err(|e| step_error(e, sql))?;
            out.push(Row { columns, values });
        }
        Ok(out)
    }

    /// Runs one statement for its effect. A statement that returns rows (`INSERT ... RETURNING`,
    /// a `PRAGMA`) runs to completion too; its rows are dropped.
    pub fn exec(&self, sql: &str, params: Option<Vec<Value>>) -> Result<ExecResult, String> {
        let params = bind_all(params)?;
        let mut statement = self.conn.prepare_cached(sql).map_err(|e| prepare_error(e, sql))?;
        let changes = if statement.column_count() == 0 {
            statement.execute(params_from_iter(params.iter())).map_err(|e| step_error(e, sql))? as u64
        } else {
            let readonly = statement.readonly();
            let mut rows = statement.query(params_from_iter(params.iter())).map_err(|e| step_error(e, sql))?;
            while rows.next().map_err(|e| step_error(e, sql))?.is_some() {}
            if readonly { 0 } else { self.conn.changes() }
        };
        Ok(ExecResult { changes: changes as f64, last_insert_rowid: self.conn.last_insert_rowid() as f64 })
    }

    /// Runs several `;`-separated statements, without parameters (migrations, schema).
    pub fn exec_batch(&self, sql: &str) -> Result<(), String> {
        self.conn.execute_batch(sql).map_err(|e| prepare_error(e, sql))
    }

    /// Opens a transaction (`BEGIN IMMEDIATE`: it takes the write lock now, waiting up to the
    /// busy timeout, so it cannot fail half-way on a lock upgrade).
    pub fn begin(&self) -> Result<(), String> {
        if !self.conn.is_autocommit() {
            return Err("a transaction is already open on this worker's connection (transactions do not nest: use SAVEPOINT inside one)".into());
        }
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| format!("cannot begin a transaction: {e}"))
    }

    /// Commits the open transaction.
    pub fn commit(&self) -> Result<(), String> {
        if self.conn.is_autocommit() {
            return Err("no transaction is open: call begin() first".into());
        }
        self.conn.execute_batch("COMMIT").map_err(|e| format!("cannot commit: {e}"))
    }

    /// Rolls the open transaction back; with none open (SQLite may already have rolled back
    /// after an error), does nothing, so a wrapper's error path can always call it.
    pub fn rollback(&self) -> Result<(), String> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        self.conn.execute_batch("ROLLBACK").map_err(|e| format!("cannot roll back: {e}"))
    }

    /// Whether a transaction is open on this connection.
    pub fn in_transaction(&self) -> bool {
        !self.conn.is_autocommit()
    }
}

/// An SQLite value → JSON, as the table in the crate docs says.
fn decode(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) if (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&i) => Value::from(i),
        ValueRef::Integer(i) => tagged("$bigint", i.to_string()),
        ValueRef::Real(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        ValueRef::Text(bytes) => Value::String(String::from_utf8_lossy(bytes).into_owned()),
        ValueRef::Blob(bytes) => tagged("$base64", BASE64.encode(bytes)),
    }
}

fn tagged(tag: &str, text: String) -> Value {
    let mut object = Map::new();
    object.insert(tag.to_owned(), Value::String(text));
    Value::Object(object)
}

fn bind_all(params: Option<Vec<Value>>) -> Result<Vec<SqlValue>, String> {
    params.unwrap_or_default().iter().enumerate().map(|(index, value)| bind(index, value)).collect()
}

/// A JSON parameter → an SQLite value, as the crate docs say.
fn bind(index: usize, value: &Value) -> Result<SqlValue, String> {
    let bad = |why: String| format!("params[{index}]: {why}");
    Ok(match value {
        Value::Null => SqlValue::Null,
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) if (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&i) => SqlValue::Integer(i),
            _ => {
                let f = n.as_f64().ok_or_else(|| bad(format!("{n} is not a number SQLite can store")))?;
                if f.fract() == 0.0 && f.abs() <= MAX_SAFE_INTEGER as f64 { SqlValue::Integer(f as i64) } else { SqlValue::Real(f) }
            }
        },
        Value::String(s) => SqlValue::Text(s.clone()),
        Value::Object(object) if object.len() == 1 && object.contains_key("$base64") => match &object["$base64"] {
            Value::String(text) => SqlValue::Blob(BASE64.decode(text).map_err(|e| bad(format!("$base64 is not valid base64 ({e})")))?),
            other => return Err(bad(format!("$base64 must be a string, got {other}"))),
        },
        Value::Object(object) if object.len() == 1 && object.contains_key("$bigint") => match &object["$bigint"] {
            Value::String(text) => SqlValue::Integer(
                text.trim().parse::<i64>().map_err(|_| bad(format!("$bigint \"{text}\" is not an integer from -2^63 to 2^63-1")))?,
            ),
            other => return Err(bad(format!("$bigint must be a string of digits, got {other}"))),
        },
        Value::Object(_) => {
            return Err(bad(
                "objects cannot be bound (only {\"$base64\": ...} for a blob and {\"$bigint\": ...} for a big integer): JSON.stringify it to store JSON text".into(),
            ));
        }
        Value::Array(_) => return Err(bad("arrays cannot be bound: JSON.stringify it to store JSON text, or bind its items one by one".into())),
    })
}

/// An error preparing `sql` (syntax, unknown table or column, several statements): SQLite's
/// message and the SQL.
fn prepare_error(error: rusqlite::Error, sql: &str) -> String {
    match error {
        rusqlite::Error::SqlInputError { msg, offset, .. } => format!("{msg} (at character {offset} of the SQL: {sql})"),
        rusqlite::Error::MultipleStatement => {
            format!("several statements in one call: run them one per call, or with execBatch (which takes no params) (SQL: {sql})")
        }
        other => format!("{} (SQL: {sql})", message(&other)),
    }
}

/// An error running a prepared statement: SQLite's message (constraint failures, busy, ...).
fn step_error(error: rusqlite::Error, sql: &str) -> String {
    match error {
        rusqlite::Error::InvalidParameterCount(given, needed) => {
            format!("the SQL has {needed} parameter(s), {given} given (SQL: {sql})")
        }
        rusqlite::Error::SqlInputError { .. } => prepare_error(error, sql),
        other => message(&other),
    }
}

fn message(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(code, Some(message)) => match code.code {
            rusqlite::ErrorCode::DatabaseBusy => format!("{message} (another worker held the write lock longer than the 5 s busy timeout)"),
            _ => message.clone(),
        },
        other => other.to_string(),
    }
}

// --- the natives ---------------------------------------------------------------------------------

/// Runs one SQL statement and returns its rows as objects (keys in column order). `params`
/// bind `?` placeholders in order: null, boolean, number, string, `{"$base64": ...}` (blob),
/// `{"$bigint": ...}`. Integers beyond ±(2^53−1) come back as `{"$bigint": "<decimal>"}`,
/// blobs as `{"$base64": ...}`.
#[function]
pub fn query(cx: &Context, sql: &str, params: Option<Vec<Value>>) -> Result<Vec<Row>, String> {
    cx.worker_state::<Db>().query(sql, params)
}

/// Runs one SQL statement for its effect and returns `{ changes, lastInsertRowid }`. `params`
/// as for `query`.
#[function]
pub fn exec(cx: &Context, sql: &str, params: Option<Vec<Value>>) -> Result<ExecResult, String> {
    cx.worker_state::<Db>().exec(sql, params)
}

/// Runs several `;`-separated SQL statements without parameters (migrations, schema setup).
#[function(name = "execBatch")]
pub fn exec_batch(cx: &Context, sql: &str) -> Result<(), String> {
    cx.worker_state::<Db>().exec_batch(sql)
}

/// Opens a transaction on this worker's connection (`BEGIN IMMEDIATE`). Fails if one is open.
#[function]
pub fn begin(cx: &Context) -> Result<(), String> {
    cx.worker_state::<Db>().begin()
}

/// Commits this worker's open transaction. Fails if none is open.
#[function]
pub fn commit(cx: &Context) -> Result<(), String> {
    cx.worker_state::<Db>().commit()
}

/// Rolls back this worker's open transaction; does nothing if none is open.
#[function]
pub fn rollback(cx: &Context) -> Result<(), String> {
    cx.worker_state::<Db>().rollback()
}

/// Whether a transaction is open on this worker's connection.
#[function(name = "inTransaction")]
pub fn in_transaction(cx: &Context) -> bool {
    cx.worker_state::<Db>().in_transaction()
}

titan_ext::extension! {
    name: "db",
    functions: [query, exec, exec_batch, begin, commit, rollback, in_transaction],
    init: Settings::from_config,
    worker_init: Db::for_worker,
    static_entry: db_extension,
}
