//! A commit that returned survives `kill -9`: a child process (this test binary, re-run with
//! an environment variable) commits transactions and reports each one; the test SIGKILLs it
//! mid-stream, reopens the file, and finds every reported transaction, whole.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::temp_dir;
use mydb::Store;

/// Set in the child: the store file to write to.
const CHILD_ENV: &str = "MYDB_DURABILITY_CHILD_STORE";
/// The parent kills the child once it has reported this many commits.
const KILL_AFTER: usize = 150;
/// The child stops by itself after this many (only if the parent never kills it).
const CHILD_LIMIT: usize = 100_000;
/// Starts each report. Searched for anywhere in a line: libtest prints `test <name> ... `
/// without a newline before the test's own output.
const REPORT: &str = "mydb-committed ";

fn report_number(line: &str) -> Option<usize> {
    line.split_once(REPORT).map(|(_, number)| number.trim().parse().expect("a report ends with its number"))
}

/// One transaction: two keys that must appear together or not at all.
fn commit_pair(store: &mut Store, i: usize) {
    store
        .transaction(|store| {
            store.set(&format!("pair:{i:06}:a"), &format!("a{i}"))?;
            store.set(&format!("pair:{i:06}:b"), &format!("b{i}"))
        })
        .expect("commit");
}

fn run_child(path: &Path) {
    let mut store = Store::open(path).expect("open the store in the child");
    let mut stdout = std::io::stdout().lock();
    for i in 0..CHILD_LIMIT {
        commit_pair(&mut store, i);
        // Reported only after commit returned: what the parent may rely on.
        writeln!(stdout, "{REPORT}{i}").unwrap();
        stdout.flush().unwrap();
    }
}

#[test]
fn commits_survive_sigkill() {
    if let Some(path) = std::env::var_os(CHILD_ENV) {
        run_child(&PathBuf::from(path));
        return;
    }

    let dir = temp_dir("kill9");
    let path = dir.path().join("durable.sqlite");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["commits_survive_sigkill", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("re-run this test binary as the child");

    let mut reported = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let Some(number) = report_number(&line.unwrap()) else { continue };
        reported.push(number);
        if reported.len() == KILL_AFTER {
            // Child::kill is SIGKILL on Unix: no destructor, no close, no checkpoint runs.
            child.kill().unwrap();
            break;
        }
    }
    // Reports already in the pipe when the kill landed count as well.
    reported.extend(lines.map_while(Result::ok).filter_map(|line| report_number(&line)));
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child was killed, not finished: {status:?}");
    assert!(reported.len() >= KILL_AFTER, "the child reported {} commits before the kill", reported.len());
    assert_eq!(reported, (0..reported.len()).collect::<Vec<_>>(), "commits are reported in order");
    // The WAL is still there (nothing checkpointed it on exit): reopening must recover from it.
    assert!(PathBuf::from(format!("{}-wal", path.display())).exists(), "the killed child left its WAL behind");

    let store = Store::open(&path).unwrap();
    for &i in &reported {
        assert_eq!(store.get(&format!("pair:{i:06}:a")).unwrap(), Some(format!("a{i}")), "reported commit {i} is there");
        assert_eq!(store.get(&format!("pair:{i:06}:b")).unwrap(), Some(format!("b{i}")), "reported commit {i} is whole");
    }
    // A transaction the child had under way (or committed without reporting it) is all or
    // nothing, never half.
    let pairs = store.scan("pair:", None).unwrap();
    assert_eq!(pairs.len() % 2, 0, "no half-written transaction");
    assert!(pairs.len() / 2 <= reported.len() + 1, "at most one commit the child had not reported yet");
}
