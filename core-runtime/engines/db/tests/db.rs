//! The natives behind `t.db`, on real SQLite files in a temp dir: what each worker's connection
//! does (`Db`), and the engine's config (`Settings`).

mod common;

use std::sync::Barrier;
use std::thread;

use common::{TempDir, temp_dir};
use serde_json::{Value, json};
use titan_engine_db::{Db, ExecResult, Settings};

fn open(dir: &TempDir) -> Db {
    let settings = Settings::from_config(json!({ "path": dir.path().join("app.db") })).unwrap();
    Db::for_worker(Some(&settings), 1).unwrap()
}

fn rows_json(db: &Db, sql: &str, params: Vec<Value>) -> Value {
    serde_json::to_value(db.query(sql, Some(params)).unwrap()).unwrap()
}

#[test]
fn config() {
    let dir = temp_dir("config");
    let nested = dir.path().join("a/b/c/app.db");
    let settings = Settings::from_config(json!({ "path": nested })).unwrap();
    assert_eq!(settings.path(), nested);
    assert!(nested.exists(), "init creates the parent directories and the file");

    let err = |config: Value| Settings::from_config(config).unwrap_err();
    assert!(err(Value::Null).contains("`path` is required"));
    assert!(err(json!({})).contains("`path` is required"));
    assert!(err(json!({ "path": "relative/app.db" })).contains("must be absolute"));
    assert!(err(json!({ "path": ":memory:" })).contains("must be a file"));
    assert!(err(json!({ "path": "/x.db", "mode": "rw" })).contains("unknown field `mode`"));
    // A file where a directory should be.
    std::fs::write(dir.path().join("file"), "x").unwrap();
    assert!(err(json!({ "path": dir.path().join("file/app.db") })).contains("cannot create the directory"));
}

#[test]
fn connection_settings() {
    let dir = temp_dir("pragmas");
    let db = open(&dir);
    assert_eq!(rows_json(&db, "PRAGMA journal_mode", vec![]), json!([{ "journal_mode": "wal" }]));
    assert_eq!(rows_json(&db, "PRAGMA foreign_keys", vec![]), json!([{ "foreign_keys": 1 }]));
    assert_eq!(rows_json(&db, "PRAGMA busy_timeout", vec![]), json!([{ "timeout": 5000 }]));
}

#[test]
fn crud() {
    let dir = temp_dir("crud");
    let db = open(&dir);
    db.exec_batch(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE);
         CREATE INDEX users_name ON users(name);",
    )
    .unwrap();

    let created = db.exec("INSERT INTO users (name, email) VALUES (?, ?)", Some(vec![json!("Ada"), json!("ada@example.com")])).unwrap();
    assert_eq!(created, ExecResult { changes: 1.0, last_insert_rowid: 1.0 });
    let created = db.exec("INSERT INTO users (name, email) VALUES (?, ?)", Some(vec![json!("Alan"), json!("alan@example.com")])).unwrap();
    assert_eq!(created.last_insert_rowid, 2.0);

    assert_eq!(
        rows_json(&db, "SELECT id, name FROM users WHERE id = ?", vec![json!(2)]),
        json!([{ "id": 2, "name": "Alan" }])
    );
    let updated = db.exec("UPDATE users SET name = upper(name)", None).unwrap();
    assert_eq!(updated.changes, 2.0);
    assert_eq!(rows_json(&db, "SELECT name FROM users ORDER BY id", vec![]), json!([{ "name": "ADA" }, { "name": "ALAN" }]));
    let deleted = db.exec("DELETE FROM users WHERE email = ?", Some(vec![json!("ada@example.com")])).unwrap();
    assert_eq!(deleted.changes, 1.0);
    assert_eq!(rows_json(&db, "SELECT count(*) AS n FROM users", vec![]), json!([{ "n": 1 }]));
    assert_eq!(rows_json(&db, "SELECT * FROM users WHERE id = ?", vec![json!(99)]), json!([]));

    // Constraint failures carry SQLite's message.
    let err = db.exec("INSERT INTO users (name, email) VALUES ('Dup', 'alan@example.com')", None).unwrap_err();
    assert_eq!(err, "UNIQUE constraint failed: users.email");

    // exec of a statement that returns rows still runs it to the end.
    let returned = db.exec("INSERT INTO users (name) VALUES ('Grace') RETURNING id", None).unwrap();
    assert_eq!(returned.changes, 1.0);
    assert_eq!(rows_json(&db, "SELECT name FROM users WHERE id = ?", vec![json!(returned.last_insert_rowid)]), json!([{ "name": "Grace" }]));
    // and INSERT ... RETURNING through query gives the rows.
    assert_eq!(rows_json(&db, "INSERT INTO users (name) VALUES (?) RETURNING id, name", vec![json!("Linus")]), json!([{ "id": 4, "name": "Linus" }]));
}

#[test]
fn bound_params_of_every_kind() {
    let dir = temp_dir("params");
    let db = open(&dir);
    let params = vec![
        Value::Null,
        json!(true),
        json!(false),
        json!(42),
        json!(-7.0),                 // integral: bound as INTEGER
        json!(1.5),                  // REAL
        json!(1e20),                 // integral but beyond 2^53: REAL
        json!(9_007_199_254_740_993u64), // an integer JSON number beyond 2^53: REAL
        json!("héllo"),
        json!({ "$base64": "AAEC/w==" }),
        json!({ "$bigint": "9223372036854775807" }),
        json!({ "$bigint": "-9007199254740993" }),
    ];
    let sql = format!("SELECT {}", (1..=params.len()).map(|i| format!("typeof(?{i}) AS t{i}, ?{i} AS v{i}")).collect::<Vec<_>>().join(", "));
    let row = db.query(&sql, Some(params)).unwrap().remove(0);
    let types: Vec<&str> = (1..=12).map(|i| row.get(&format!("t{i}")).unwrap().as_str().unwrap()).collect();
    assert_eq!(types, ["null", "integer", "integer", "integer", "integer", "real", "real", "real", "text", "blob", "integer", "integer"]);
    let values: Vec<&Value> = (1..=12).map(|i| row.get(&format!("v{i}")).unwrap()).collect();
    assert_eq!(values[0], &Value::Null);
    assert_eq!(values[1], &json!(1));
    assert_eq!(values[2], &json!(0));
    assert_eq!(values[3], &json!(42));
    assert_eq!(values[4], &json!(-7));
    assert_eq!(values[5], &json!(1.5));
    assert_eq!(values[6], &json!(1e20));
    assert_eq!(values[8], &json!("héllo"));
    assert_eq!(values[9], &json!({ "$base64": "AAEC/w==" }));
    assert_eq!(values[10], &json!({ "$bigint": "9223372036854775807" }));
    assert_eq!(values[11], &json!({ "$bigint": "-9007199254740993" }));

    // What cannot be bound is refused, naming the parameter.
    let err = |p: Value| db.query("SELECT ?, ?", Some(vec![json!(1), p])).unwrap_err();
    assert!(err(json!([1, 2])).starts_with("params[1]: arrays cannot be bound"));
    assert!(err(json!({ "a": 1 })).starts_with("params[1]: objects cannot be bound"));
    assert!(err(json!({ "$base64": "%%%" })).starts_with("params[1]: $base64 is not valid base64"));
    assert!(err(json!({ "$base64": 5 })).starts_with("params[1]: $base64 must be a string"));
    assert!(err(json!({ "$bigint": "99999999999999999999" })).starts_with("params[1]: $bigint \"99999999999999999999\" is not an integer"));
    assert!(err(json!({ "$bigint": "12", "extra": 1 })).starts_with("params[1]: objects cannot be bound"));
    // Too few or too many.
    let err = db.query("SELECT ?, ?", Some(vec![json!(1)])).unwrap_err();
    assert_eq!(err, "the SQL has 2 parameter(s), 1 given (SQL: SELECT ?, ?)");
}

#[test]
fn every_column_type_decodes() {
    let dir = temp_dir("decode");
    let db = open(&dir);
    db.exec_batch("CREATE TABLE t (z_first, a_second, n, i, big, small, r, s, b)").unwrap();
    db.exec(
        "INSERT INTO t VALUES (1, 2, NULL, ?, ?, ?, ?, ?, ?)",
        Some(vec![
            json!(9_007_199_254_740_991i64),
            json!({ "$bigint": "9007199254740992" }),
            json!({ "$bigint": "-9223372036854775808" }),
            json!(-0.25),
            json!("text ✓"),
            json!({ "$base64": "3q2+7w==" }),
        ]),
    )
    .unwrap();
    db.exec("INSERT INTO t (z_first, a_second, b, r) VALUES (3, 4, X'', 1e308 * 10)", None).unwrap();

    let rows = db.query("SELECT * FROM t ORDER BY z_first", None).unwrap();
    assert_eq!(rows[0].columns(), ["z_first", "a_second", "n", "i", "big", "small", "r", "s", "b"]);
    // Keys stay in column order in the JSON handed to JS.
    let text = serde_json::to_string(&rows[0]).unwrap();
    assert_eq!(
        text,
        r#"{"z_first":1,"a_second":2,"n":null,"i":9007199254740991,"big":{"$bigint":"9007199254740992"},"small":{"$bigint":"-9223372036854775808"},"r":-0.25,"s":"text ✓","b":{"$base64":"3q2+7w=="}}"#
    );
    // An empty blob, and an infinite REAL (JSON has no infinity: null).
    assert_eq!(rows[1].get("b"), Some(&json!({ "$base64": "" })));
    assert_eq!(rows[1].get("r"), Some(&Value::Null));
    assert_eq!(rows[1].get("n"), Some(&Value::Null));
}

#[test]
fn transactions() {
    let dir = temp_dir("tx");
    let db = open(&dir);
    let other = open(&dir);
    db.exec_batch("CREATE TABLE t (x INTEGER)").unwrap();
    let count = |db: &Db| db.query("SELECT count(*) AS n FROM t", None).unwrap()[0].get("n").cloned().unwrap();

    assert!(!db.in_transaction());
    db.begin().unwrap();
    assert!(db.in_transaction());
    db.exec("INSERT INTO t VALUES (1)", None).unwrap();
    db.exec("INSERT INTO t VALUES (2)", None).unwrap();
    assert_eq!(count(&db), json!(2));
    assert_eq!(count(&other), json!(0), "not visible outside before commit");
    db.rollback().unwrap();
    assert!(!db.in_transaction());
    assert_eq!(count(&db), json!(0), "rollback leaves nothing");

    db.begin().unwrap();
    db.exec("INSERT INTO t VALUES (3)", None).unwrap();
    db.commit().unwrap();
    assert!(!db.in_transaction());
    assert_eq!(count(&other), json!(1), "commit persists, visible to other connections");

    // Misuse is explained; rollback with nothing open is a no-op (for wrappers' error paths).
    db.begin().unwrap();
    assert!(db.begin().unwrap_err().contains("already open"));
    db.rollback().unwrap();
    assert!(db.commit().unwrap_err().contains("no transaction is open"));
    db.rollback().unwrap();
    // A transaction opened by SQL is seen too.
    db.exec("BEGIN", None).unwrap();
    assert!(db.in_transaction());
    db.rollback().unwrap();
}

#[test]
fn errors_name_the_sql() {
    let dir = temp_dir("errors");
    let db = open(&dir);
    let err = db.query("SELEC * FROM nowhere", None).unwrap_err();
    assert!(err.contains("syntax error") && err.contains("SQL: SELEC * FROM nowhere"), "{err}");
    let err = db.exec("INSERT INTO nowhere VALUES (1)", None).unwrap_err();
    assert!(err.contains("no such table: nowhere") && err.contains("SQL: INSERT INTO nowhere VALUES (1)"), "{err}");
    let err = db.exec_batch("CREATE TABLE ok (x); CREATE TABLE (").unwrap_err();
    assert!(err.contains("syntax error") && err.contains("CREATE TABLE ("), "{err}");
    let err = db.query("SELECT 1; SELECT 2", None).unwrap_err();
    assert!(err.starts_with("several statements in one call") && err.contains("execBatch"), "{err}");

    // Foreign keys are enforced.
    db.exec_batch("CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (p REFERENCES parent(id));").unwrap();
    assert_eq!(db.exec("INSERT INTO child VALUES (7)", None).unwrap_err(), "FOREIGN KEY constraint failed");
}

#[test]
fn statements_are_cached_and_survive_schema_changes() {
    let dir = temp_dir("cache");
    let db = open(&dir);
    db.exec_batch("CREATE TABLE t (a); INSERT INTO t VALUES (1);").unwrap();
    assert_eq!(serde_json::to_value(db.query("SELECT * FROM t", None).unwrap()).unwrap(), json!([{ "a": 1 }]));
    db.exec_batch("ALTER TABLE t ADD COLUMN b DEFAULT 2").unwrap();
    assert_eq!(serde_json::to_value(db.query("SELECT * FROM t", None).unwrap()).unwrap(), json!([{ "a": 1, "b": 2 }]));
}

#[test]
fn two_workers_write_concurrently() {
    const PER_WORKER: i64 = 150;
    let dir = temp_dir("concurrent");
    let settings = Settings::from_config(json!({ "path": dir.path().join("app.db") })).unwrap();
    Db::for_worker(Some(&settings), 0).unwrap().exec_batch("CREATE TABLE hits (worker INTEGER, n INTEGER)").unwrap();

    let start = Barrier::new(2);
    thread::scope(|scope| {
        for worker in 1..=2u32 {
            let (settings, start) = (&settings, &start);
            scope.spawn(move || {
                // Each thread is a worker with its own connection, as worker_init gives it.
                let db = Db::for_worker(Some(settings), worker).unwrap();
                start.wait();
                for n in 0..PER_WORKER {
                    if n % 3 == 0 {
                        // Some in transactions (BEGIN IMMEDIATE waits for the other's lock) ...
                        db.begin().unwrap();
                        db.exec("INSERT INTO hits VALUES (?, ?)", Some(vec![json!(worker), json!(n)])).unwrap();
                        let mine = db.query("SELECT count(*) AS c FROM hits WHERE worker = ?", Some(vec![json!(worker)])).unwrap();
                        assert_eq!(mine[0].get("c"), Some(&json!(n + 1)));
                        db.commit().unwrap();
                    } else {
                        // ... the rest in autocommit, waiting in the busy handler.
                        db.exec("INSERT INTO hits VALUES (?, ?)", Some(vec![json!(worker), json!(n)])).unwrap();
                    }
                }
            });
        }
    });

    let db = Db::for_worker(Some(&settings), 3).unwrap();
    let counts = serde_json::to_value(db.query("SELECT worker, count(*) AS c FROM hits GROUP BY worker ORDER BY worker", None).unwrap()).unwrap();
    assert_eq!(counts, json!([{ "worker": 1, "c": PER_WORKER }, { "worker": 2, "c": PER_WORKER }]));
}
