//! The storage layer: one SQLite connection (one per worker) over a `kv` table, with
//! get / set / delete / prefix scan and nestable transactions. Knows nothing of the ABI.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::Serialize;

/// How long a writer waits for another connection's write transaction before giving up with
/// SQLITE_BUSY. Writers hold the lock for one transaction, so this is only reached when a
/// transaction runs for seconds.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID";

/// An error from the store, as the message a caller sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(String);

impl StoreError {
    /// An error with this message (for callers of `transaction` that fail their own checks).
    pub fn new(message: impl Into<String>) -> StoreError {
        StoreError(message.into())
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

/// One key and its value, as `scan` returns them.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key.
    pub key: String,
    /// Its value.
    pub value: String,
}

/// One connection to the store. Not `Sync`: each worker (thread) opens its own, which is what
/// lets calls run without any lock of ours; SQLite's file locks order the writers.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Open transactions on this connection: 0 outside one, 1 in the outermost (`BEGIN`),
    /// more inside nested ones (each a savepoint).
    depth: usize,
}

impl Store {
    /// Opens (creating if needed) the store at `path`: WAL, `synchronous=FULL`, the busy
    /// timeout, and the `kv` table.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| StoreError(format!("cannot open the store {}: {e}", path.display())))?;
        let setup = || -> rusqlite::Result<String> {
            conn.busy_timeout(BUSY_TIMEOUT)?;
            // WAL: readers never block the writer nor each other, and a commit is one append.
            let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
            // In WAL mode, NORMAL syncs the log only at checkpoints: a commit survives the
            // process being killed (the OS has the bytes) but may be lost if the machine loses
            // power before the next checkpoint. FULL fsyncs the log at every commit, so a
            // commit that returned is on disk and survives power loss too, at the cost of one
            // fsync per write transaction (group writes in transaction() to share it).
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.execute_batch(SCHEMA)?;
            Ok(mode)
        };
        let mode = setup().map_err(|e| StoreError(format!("cannot set up the store {}: {e}", path.display())))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError(format!(
                "cannot switch the store {} to WAL (journal_mode stays {mode}): is it on a network or read-only file system?",
                path.display()
            )));
        }
        Ok(Store { conn, path: path.to_owned(), depth: 0 })
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The underlying connection, for reads such as diagnostics and tests. Transaction
    /// statements run on it directly would bypass `begin` / `commit`'s bookkeeping.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The value of `key`, or `None`.
    pub fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let mut statement = self.conn.prepare_cached("SELECT value FROM kv WHERE key = ?1").map_err(|e| self.error(e))?;
        statement.query_row([key], |row| row.get(0)).optional().map_err(|e| self.error(e))
    }

    /// Sets `key` to `value` (inserting or replacing).
    pub fn set(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let mut statement = self
            .conn
            .prepare_cached("INSERT INTO kv (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .map_err(|e| self.error(e))?;
        statement.execute(params![key, value]).map(drop).map_err(|e| self.error(e))
    }

    /// Deletes `key`; whether it was there.
    pub fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let mut statement = self.conn.prepare_cached("DELETE FROM kv WHERE key = ?1").map_err(|e| self.error(e))?;
        statement.execute([key]).map(|deleted| deleted > 0).map_err(|e| self.error(e))
    }

    /// The entries whose key starts with `prefix` (every entry for `""`), ordered by key (by
    /// UTF-8 bytes, which is code point order), at most `limit` of them.
    ///
    /// A key range on the primary key, not `LIKE`: `%` and `_` in a prefix are plain
    /// characters, the match is case-sensitive, and SQLite walks only the matching keys.
    pub fn scan(&self, prefix: &str, limit: Option<u32>) -> Result<Vec<Entry>, StoreError> {
        // SQLite's LIMIT -1 means no limit.
        let limit = limit.map_or(-1, i64::from);
        let entry = |row: &rusqlite::Row<'_>| Ok(Entry { key: row.get(0)?, value: row.get(1)? });
        let entries: rusqlite::Result<Vec<Entry>> = match prefix_upper_bound(prefix) {
            Some(upper) => {
                let mut statement = self
                    .conn
                    .prepare_cached("SELECT key, value FROM kv WHERE key >= ?1 AND key < ?2 ORDER BY key LIMIT ?3")
                    .map_err(|e| self.error(e))?;
                statement.query_map(params![prefix, upper, limit], entry).and_then(Iterator::collect)
            }
            None => {
                let mut statement =
                    self.conn.prepare_cached("SELECT key, value FROM kv WHERE key >= ?1 ORDER BY key LIMIT ?2").map_err(|e| self.error(e))?;
                statement.query_map(params![prefix, limit], entry).and_then(Iterator::collect)
            }
        };
        entries.map_err(|e| self.error(e))
    }

    /// Opens a transaction, or, inside one, a nested one (a savepoint) that joins it: its
    /// writes become durable only when the outermost commits, and rolling it back undoes only
    /// its own writes. The outermost is `BEGIN IMMEDIATE`: it takes the write lock now (waiting
    /// up to the busy timeout), so a read-then-write inside cannot fail half-way with
    /// SQLITE_BUSY on a lock upgrade.
    pub fn begin(&mut self) -> Result<(), StoreError> {
        self.notice_automatic_rollback();
        let sql = if self.depth == 0 { "BEGIN IMMEDIATE".to_owned() } else { format!("SAVEPOINT {}", savepoint(self.depth)) };
        self.conn.execute_batch(&sql).map_err(|e| self.error(e))?;
        self.depth += 1;
        Ok(())
    }

    /// Commits the innermost open transaction: the outermost one to disk (durable when this
    /// returns), a nested one into its parent. If the commit itself fails, the transaction is
    /// rolled back, so the connection is never left inside it.
    pub fn commit(&mut self) -> Result<(), StoreError> {
        if self.depth == 0 {
            return Err(StoreError("no transaction is open; call begin() first, or use transaction(fn)".into()));
        }
        if self.notice_automatic_rollback() {
            return Err(StoreError(
                "SQLite already rolled the transaction back after an earlier error in it; nothing was written, run it again".into(),
            ));
        }
        if self.depth > 1 {
            let name = savepoint(self.depth - 1);
            let released = self.conn.execute_batch(&format!("RELEASE {name}"));
            if let Err(e) = released {
                let message = self.error(e);
                let _ = self.conn.execute_batch(&format!("ROLLBACK TO {name}; RELEASE {name}"));
                self.depth -= 1;
                return Err(StoreError(format!("{message}; the nested transaction was rolled back")));
            }
            self.depth -= 1;
            return Ok(());
        }
        let committed = self.conn.execute_batch("COMMIT");
        if let Err(e) = committed {
            let message = self.error(e);
            if !self.conn.is_autocommit() {
                let _ = self.conn.execute_batch("ROLLBACK");
            }
            self.depth = 0;
            return Err(StoreError(format!("{message}; the transaction was rolled back, nothing was written")));
        }
        self.depth = 0;
        Ok(())
    }

    /// Rolls back the innermost open transaction (a nested one only undoes its own writes).
    /// With none open it does nothing, so an error path can always call it.
    pub fn rollback(&mut self) -> Result<(), StoreError> {
        if self.depth == 0 || self.notice_automatic_rollback() {
            return Ok(());
        }
        let sql = if self.depth > 1 {
            let name = savepoint(self.depth - 1);
            format!("ROLLBACK TO {name}; RELEASE {name}")
        } else {
            "ROLLBACK".to_owned()
        };
        let rolled_back = self.conn.execute_batch(&sql).map_err(|e| self.error(e));
        self.depth -= 1;
        rolled_back
    }

    /// How many transactions are open on this connection (0: autocommit).
    pub fn transaction_depth(&self) -> usize {
        self.depth
    }

    /// Runs `body` in a transaction: committed when it returns `Ok`, rolled back when it
    /// returns `Err` (or panics). Nested calls join the outer transaction, as in JS.
    pub fn transaction<T, E: From<StoreError>>(&mut self, body: impl FnOnce(&mut Store) -> Result<T, E>) -> Result<T, E> {
        self.begin()?;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(self)));
        match outcome {
            Ok(Ok(value)) => {
                self.commit()?;
                Ok(value)
            }
            Ok(Err(error)) => {
                self.rollback()?;
                Err(error)
            }
            Err(panic) => {
                let _ = self.rollback();
                std::panic::resume_unwind(panic)
            }
        }
    }

    /// SQLite rolls a transaction back by itself after some errors (disk full, I/O errors,
    /// out of memory); then the connection is back in autocommit and our depth must follow.
    /// Returns whether that happened.
    fn notice_automatic_rollback(&mut self) -> bool {
        let rolled_back = self.depth > 0 && self.conn.is_autocommit();
        if rolled_back {
            self.depth = 0;
        }
        rolled_back
    }

    /// A SQLite error as the caller sees it. No `mydb.<function>:` prefix: the host adds it.
    fn error(&self, error: rusqlite::Error) -> StoreError {
        let message = match &error {
            rusqlite::Error::SqliteFailure(code, _) if code.code == rusqlite::ErrorCode::DatabaseBusy => format!(
                "{error}: another connection kept {} locked for writing (waited up to {} s); keep transactions short",
                self.path.display(),
                BUSY_TIMEOUT.as_secs()
            ),
            _ => format!("{error} ({})", self.path.display()),
        };
        StoreError(message)
    }
}

fn savepoint(level: usize) -> String {
    format!("mydb_nested_{level}")
}

/// The smallest string greater than every string that starts with `prefix`, or `None` when
/// there is none (`""`, or a prefix of only U+10FFFF). Keys compare by UTF-8 bytes, which
/// orders like code points, so it is `prefix` with its last character replaced by the next
/// one (skipping the surrogate gap), dropping trailing characters that have no next one.
pub fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::prefix_upper_bound;

    #[test]
    fn upper_bounds_bump_the_last_character() {
        assert_eq!(prefix_upper_bound("user:"), Some("user;".into()));
        assert_eq!(prefix_upper_bound("a%"), Some("a&".into()));
        assert_eq!(prefix_upper_bound("é"), Some("ê".into()));
        // The surrogates are not characters: after U+D7FF comes U+E000.
        assert_eq!(prefix_upper_bound("x\u{D7FF}"), Some("x\u{E000}".into()));
        assert_eq!(prefix_upper_bound("x\u{10FFFF}"), Some("y".into()));
        assert_eq!(prefix_upper_bound("\u{10FFFF}\u{10FFFF}"), None);
        assert_eq!(prefix_upper_bound(""), None);
    }
}
