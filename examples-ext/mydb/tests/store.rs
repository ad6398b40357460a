//! The storage layer behind `t.mydb` on real SQLite files in a temp dir: the config, the
//! connection settings, get / set / delete / scan, and transactions.

mod common;

use common::{TempDir, temp_dir};
use mydb::{Entry, Settings, Store, StoreError};
use serde_json::json;

fn open(dir: &TempDir) -> Store {
    let settings = Settings::from_config(json!({ "dataDir": dir.path() })).unwrap();
    Store::for_worker(Some(&settings), 1).unwrap()
}

fn entries(pairs: &[(&str, &str)]) -> Vec<Entry> {
    pairs.iter().map(|(key, value)| Entry { key: (*key).into(), value: (*value).into() }).collect()
}

fn keys(found: Vec<Entry>) -> Vec<String> {
    found.into_iter().map(|entry| entry.key).collect()
}

#[test]
fn a_relative_file_lives_in_the_data_dir() {
    let dir = temp_dir("config");
    let settings = Settings::from_config(json!({ "dataDir": dir.path().join("nested/data"), "file": "kv/app.sqlite" })).unwrap();
    let expected = dir.path().join("nested/data/kv/app.sqlite");
    assert_eq!(settings.path(), expected);
    assert!(expected.is_file(), "init creates the directories and the file");

    let default = Settings::from_config(json!({ "dataDir": dir.path() })).unwrap();
    assert_eq!(default.path(), dir.path().join(mydb::DEFAULT_FILE));

    let absolute = dir.path().join("elsewhere/abs.sqlite");
    let settings = Settings::from_config(json!({ "dataDir": "/nonexistent/ignored", "file": absolute })).unwrap();
    assert_eq!(settings.path(), absolute, "an absolute file ignores the data dir");
}

#[test]
fn init_errors_name_the_path_and_what_to_do() {
    let dir = temp_dir("init-errors");
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "x").unwrap();
    let err = Settings::from_config(json!({ "dataDir": blocker.join("data") })).unwrap_err();
    assert!(err.contains("cannot create the data directory") && err.contains(&blocker.display().to_string()), "{err}");
    assert!(err.contains("point `dataDir`"), "{err}");

    std::fs::create_dir(dir.path().join("a-dir")).unwrap();
    let err = Settings::from_config(json!({ "dataDir": dir.path(), "file": "a-dir" })).unwrap_err();
    assert!(err.contains("is a directory") && err.contains("set `file`"), "{err}");

    std::fs::write(dir.path().join("garbage.sqlite"), vec![0x42u8; 8192]).unwrap();
    let err = Settings::from_config(json!({ "dataDir": dir.path(), "file": "garbage.sqlite" })).unwrap_err();
    assert!(err.contains("file is not a database") && err.contains("garbage.sqlite") && err.contains("set `file`"), "{err}");
}

#[test]
fn connections_use_wal_full_sync_and_a_busy_timeout() {
    let dir = temp_dir("pragmas");
    let store = open(&dir);
    let pragma = |name: &str| store.connection().query_row(&format!("PRAGMA {name}"), [], |row| row.get::<_, rusqlite::types::Value>(0)).unwrap();
    assert_eq!(pragma("journal_mode"), rusqlite::types::Value::Text("wal".into()));
    assert_eq!(pragma("synchronous"), rusqlite::types::Value::Integer(2), "2 is FULL");
    assert_eq!(pragma("busy_timeout"), rusqlite::types::Value::Integer(5000));
    let ddl: String = store.connection().query_row("SELECT sql FROM sqlite_schema WHERE name = 'kv'", [], |row| row.get(0)).unwrap();
    assert!(ddl.contains("WITHOUT ROWID"), "{ddl}");
}

#[test]
fn set_get_delete() {
    let dir = temp_dir("crud");
    let store = open(&dir);
    assert_eq!(store.get("missing").unwrap(), None);
    store.set("user:1", "ada").unwrap();
    assert_eq!(store.get("user:1").unwrap().as_deref(), Some("ada"));
    store.set("user:1", "grace").unwrap();
    assert_eq!(store.get("user:1").unwrap().as_deref(), Some("grace"), "set replaces");
    assert!(store.delete("user:1").unwrap());
    assert!(!store.delete("user:1").unwrap(), "deleting twice finds nothing the second time");
    assert_eq!(store.get("user:1").unwrap(), None);

    // Empty strings, non-ASCII text and NUL characters are ordinary keys and values.
    store.set("", "empty key").unwrap();
    store.set("clé ✓", "").unwrap();
    store.set("a\0b", "nul\0inside").unwrap();
    assert_eq!(store.get("").unwrap().as_deref(), Some("empty key"));
    assert_eq!(store.get("clé ✓").unwrap().as_deref(), Some(""));
    assert_eq!(store.get("a\0b").unwrap().as_deref(), Some("nul\0inside"));
    assert_eq!(store.get("a").unwrap(), None, "a NUL does not end the key");
}

#[test]
fn scan_is_ordered_and_prefixes_are_literal() {
    let dir = temp_dir("scan");
    let store = open(&dir);
    for key in ["b", "a:2", "a:10", "a:1", "a", "A:1", "a%x", "a%", "ab", "a_b", "aXb", "a\u{10FFFF}", "a\u{10FFFF}z", "é", "z"] {
        store.set(key, &format!("v-{key}")).unwrap();
    }
    // Ordered by key bytes: uppercase before lowercase, "a:10" before "a:2".
    assert_eq!(keys(store.scan("a:", None).unwrap()), ["a:1", "a:10", "a:2"]);
    assert_eq!(store.scan("a:1", None).unwrap(), entries(&[("a:1", "v-a:1"), ("a:10", "v-a:10")]));
    // LIKE would match "a%x", "a%", "ab", ... for "a%", and "aXb" for "a_": a prefix is literal.
    assert_eq!(keys(store.scan("a%", None).unwrap()), ["a%", "a%x"]);
    assert_eq!(keys(store.scan("a_", None).unwrap()), ["a_b"]);
    // Case-sensitive (LIKE is not).
    assert_eq!(keys(store.scan("A", None).unwrap()), ["A:1"]);
    // The last code point has no successor: the range's upper bound moves one character up.
    assert_eq!(keys(store.scan("a\u{10FFFF}", None).unwrap()), ["a\u{10FFFF}", "a\u{10FFFF}z"]);
    assert_eq!(keys(store.scan("é", None).unwrap()), ["é"]);
    assert!(store.scan("nothing", None).unwrap().is_empty());

    // "" is every entry, in order.
    let all = keys(store.scan("", None).unwrap());
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all.len(), 15);
    assert_eq!(all, sorted);

    assert_eq!(keys(store.scan("a", Some(2)).unwrap()), ["a", "a%"]);
    assert!(store.scan("a", Some(0)).unwrap().is_empty());
    assert_eq!(store.scan("", Some(100)).unwrap().len(), 15, "a limit above the count returns them all");
}

#[test]
fn commit_makes_writes_visible_and_rollback_discards_them() {
    let dir = temp_dir("tx");
    let mut writer = open(&dir);
    let reader = open(&dir);

    writer.begin().unwrap();
    writer.set("a", "1").unwrap();
    writer.set("b", "2").unwrap();
    assert_eq!(writer.get("a").unwrap().as_deref(), Some("1"), "a transaction sees its own writes");
    assert_eq!(reader.get("a").unwrap(), None, "another connection does not see uncommitted writes");
    writer.commit().unwrap();
    assert_eq!(reader.scan("", None).unwrap(), entries(&[("a", "1"), ("b", "2")]));

    writer.begin().unwrap();
    writer.set("a", "changed").unwrap();
    assert!(writer.delete("b").unwrap());
    writer.rollback().unwrap();
    assert_eq!(writer.scan("", None).unwrap(), entries(&[("a", "1"), ("b", "2")]), "rollback restores both");
    assert_eq!(writer.transaction_depth(), 0);
}

#[test]
fn nested_transactions_join_the_outer_one() {
    let dir = temp_dir("nested");
    let mut store = open(&dir);
    let reader = open(&dir);

    store.begin().unwrap();
    store.set("outer", "1").unwrap();
    store.begin().unwrap();
    store.set("inner", "1").unwrap();
    store.commit().unwrap();
    assert_eq!(reader.get("inner").unwrap(), None, "committing a nested transaction writes nothing yet");
    store.begin().unwrap();
    store.set("discarded", "1").unwrap();
    store.rollback().unwrap();
    assert_eq!(store.get("discarded").unwrap(), None, "a nested rollback undoes its own writes");
    assert_eq!(store.get("inner").unwrap().as_deref(), Some("1"), "... and only those");
    assert_eq!(store.transaction_depth(), 1);
    store.commit().unwrap();
    assert_eq!(keys(reader.scan("", None).unwrap()), ["inner", "outer"]);

    // The outer rollback undoes what nested transactions committed into it.
    store.begin().unwrap();
    store.begin().unwrap();
    store.set("inner-2", "1").unwrap();
    store.commit().unwrap();
    store.rollback().unwrap();
    assert_eq!(reader.get("inner-2").unwrap(), None);
}

#[test]
fn unbalanced_calls_are_errors_or_harmless() {
    let dir = temp_dir("unbalanced");
    let mut store = open(&dir);
    let err = store.commit().unwrap_err();
    assert_eq!(err.message(), "no transaction is open; call begin() first, or use transaction(fn)");
    store.rollback().expect("rollback with nothing open does nothing");
    assert_eq!(store.transaction_depth(), 0);
}

#[test]
fn the_transaction_helper_commits_on_ok_and_rolls_back_on_err_or_panic() {
    let dir = temp_dir("helper");
    let mut store = open(&dir);
    let sum = store
        .transaction(|store| {
            store.set("x", "1")?;
            store.set("y", "2")?;
            Ok::<_, StoreError>(3)
        })
        .unwrap();
    assert_eq!(sum, 3);
    assert_eq!(store.scan("", None).unwrap().len(), 2);

    let failed: Result<(), StoreError> = store.transaction(|store| {
        store.set("x", "overwritten")?;
        Err(StoreError::new("validation failed"))
    });
    assert_eq!(failed.unwrap_err().message(), "validation failed");
    assert_eq!(store.get("x").unwrap().as_deref(), Some("1"));

    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = store.transaction(|store| -> Result<(), StoreError> {
            store.set("x", "from a panic").unwrap();
            panic!("boom")
        });
    }));
    assert!(panicked.is_err());
    assert_eq!(store.transaction_depth(), 0);
    assert_eq!(store.get("x").unwrap().as_deref(), Some("1"), "a panic rolls back too");
}

#[test]
fn data_survives_reopening() {
    let dir = temp_dir("reopen");
    {
        let mut store = open(&dir);
        store.set("kept", "yes").unwrap();
        store.begin().unwrap();
        store.set("never-committed", "no").unwrap();
        // Dropped with the transaction open: SQLite rolls it back on close.
    }
    let store = open(&dir);
    assert_eq!(store.get("kept").unwrap().as_deref(), Some("yes"));
    assert_eq!(store.get("never-committed").unwrap(), None);
}
