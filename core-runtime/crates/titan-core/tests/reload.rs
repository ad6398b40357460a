//! Hot reload and the load-time version checks, with real libraries: the test builds the fixture
//! crates (`core-runtime/test-extensions/{swap-a,swap-b,abi-mismatch,sdk-mismatch,kitchen-sink}`)
//! with cargo and `dlopen`s them through titan-core. Worker threads here play the part of
//! Titan's JS workers: each attaches on its own thread and calls in a loop.
//!
//! `swap-a` and `swap-b` are two builds of one extension, `swap`: every call answers with its
//! build's letter, and each build appends its lifecycle (init, worker_init, worker_drop, unload
//! with the number of calls it served) to the file named in its config.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, OnceLock};
use std::thread;

use titan_core::ext::{CallArgs, InitOptions, LoadedExtension, ValueView, WorkerAttachment};

/// The fixtures' libraries, built once per test process.
struct Fixtures {
    swap_a: PathBuf,
    swap_b: PathBuf,
    abi_mismatch: PathBuf,
    sdk_mismatch: PathBuf,
    kitchen_sink: PathBuf,
}

fn fixtures() -> &'static Fixtures {
    static BUILT: OnceLock<Fixtures> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = common::build_test_extensions(&["swap-a", "swap-b", "abi-mismatch", "sdk-mismatch", "kitchen-sink"]);
        let lib = |crate_name: &str| common::library(&dir, crate_name);
        Fixtures {
            swap_a: lib("swap_a"),
            swap_b: lib("swap_b"),
            abi_mismatch: lib("abi_mismatch"),
            sdk_mismatch: lib("sdk_mismatch"),
            kitchen_sink: lib("kitchen_sink"),
        }
    })
}

/// A directory of its own for one test, removed at the end.
struct Scratch(tempfile::TempDir);

impl Scratch {
    fn new(label: &str) -> Self {
        Self(tempfile::Builder::new().prefix(&format!("titan-core-reload-{label}-")).tempdir().unwrap())
    }

    fn events_path(&self) -> PathBuf {
        self.0.path().join("events.log")
    }

    /// The lifecycle lines written so far.
    fn events(&self) -> Vec<String> {
        std::fs::read_to_string(self.events_path()).unwrap_or_default().lines().map(str::to_owned).collect()
    }

    fn options(&self) -> InitOptions {
        InitOptions {
            config_json: serde_json::json!({ "events": self.events_path() }).to_string(),
            data_dir: Some(self.0.path().join("data").display().to_string()),
        }
    }
}

/// Calls `name` (by its slot in the build the worker is on) with string arguments; the string
/// result, or the error message.
fn call(worker: &WorkerAttachment, name: &str, args: &[&str]) -> Result<Option<String>, String> {
    let slot = worker.functions().into_iter().find(|f| f.name == name).map(|f| f.slot).ok_or_else(|| format!("no function {name}"))?;
    call_slot(worker, slot, args)
}

fn call_slot(worker: &WorkerAttachment, slot: u32, args: &[&str]) -> Result<Option<String>, String> {
    let mut call_args = CallArgs::with_capacity(args.len());
    for arg in args {
        call_args.push_str(arg);
    }
    worker
        .call(slot, &call_args, |view| match view {
            ValueView::String(bytes) => Some(String::from_utf8(bytes.to_vec()).unwrap()),
            ValueView::Null => None,
            other => panic!("unexpected result {other:?}"),
        })
        .map_err(|e| e.to_string())
}

fn count(events: &[String], prefix: &str) -> usize {
    events.iter().filter(|line| line.starts_with(prefix)).count()
}

/// The OS id of the calling thread, as the fixture records it.
fn thread_id() -> String {
    std::fs::read_link("/proc/thread-self").unwrap().file_name().unwrap().to_string_lossy().into_owned()
}

/// The file names of this process's private copies of libraries (`$TMPDIR/titan-ext-reload-<pid>-<n>/`).
fn private_copies() -> Vec<String> {
    let prefix = format!("titan-ext-reload-{}-", std::process::id());
    let dirs = std::fs::read_dir(std::env::temp_dir()).unwrap().filter_map(Result::ok).filter(|e| e.file_name().to_string_lossy().starts_with(&prefix));
    dirs.flat_map(|dir| std::fs::read_dir(dir.path()).into_iter().flatten().filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned())).collect()
}

#[test]
fn workers_calling_in_a_loop_move_to_the_new_build_without_a_failed_call() {
    let fx = fixtures();
    let scratch = Scratch::new("swap");
    let extension = LoadedExtension::open(&fx.swap_a, scratch.options()).unwrap();
    assert_eq!((extension.name(), extension.version().as_str(), extension.generation()), ("swap", "0.1.0", 1));

    const WORKERS: u32 = 3;
    const CALLS_AFTER_SWAP: u64 = 2_000;
    let swapped = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicU64::new(0));
    let all_started = Arc::new(Barrier::new(WORKERS as usize + 1));
    let threads: Vec<_> = (1..=WORKERS)
        .map(|worker_id| {
            let (extension, swapped, failures, all_started) = (extension.clone(), swapped.clone(), failures.clone(), all_started.clone());
            thread::spawn(move || {
                let worker = extension.attach_worker(worker_id).unwrap();
                // Bound once, before the swap, as an action's captured function is.
                let value = worker.functions().into_iter().find(|f| f.name == "value").unwrap().slot;
                let mut served_by_a = 0u64;
                let mut calls_after_swap = 0u64;
                for i in 0u64.. {
                    if i == 100 {
                        all_started.wait();
                    }
                    let after_swap = swapped.load(Ordering::Acquire);
                    match call_slot(&worker, value, &[]) {
                        Ok(Some(letter)) if letter == "a" => {
                            assert!(!after_swap, "worker {worker_id}: build a answered a call that started after the swap");
                            served_by_a += 1;
                        }
                        Ok(Some(letter)) if letter == "b" => {}
                        other => {
                            eprintln!("worker {worker_id}: call failed: {other:?}");
                            failures.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    if after_swap {
                        calls_after_swap += 1;
                        if calls_after_swap == CALLS_AFTER_SWAP {
                            break;
                        }
                    }
                }
                // The worker's own state on the new build: its worker_init ran for this worker.
                assert_eq!(call(&worker, "worker", &[]), Ok(Some(format!("b:{worker_id}"))));
                (served_by_a, thread_id())
            })
        })
        .collect();

    all_started.wait();
    extension.reload(&fx.swap_b, None).unwrap();
    swapped.store(true, Ordering::Release);
    assert_eq!((extension.version().as_str(), extension.generation()), ("0.2.0", 2));
    let results: Vec<(u64, String)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(failures.load(Ordering::SeqCst), 0, "no call failed during the swap");

    // Every worker has moved (each did after the swap), so build a is gone: unloaded exactly
    // once, after every call it served (the calls it counted are all the calls that got "a"),
    // with none running.
    let events = scratch.events();
    let served_by_a: u64 = results.iter().map(|(n, _)| n).sum();
    assert!(served_by_a >= 100 * u64::from(WORKERS), "every worker called build a before the swap");
    assert_eq!(count(&events, "unload a "), 1, "{events:#?}");
    assert!(events.contains(&format!("unload a calls={served_by_a} in_flight=0")), "{events:#?}");
    assert_eq!(count(&events, "unload b "), 0, "build b is in service");

    // b's init ran with the same config and data directory.
    let config = serde_json::json!({ "events": scratch.events_path() });
    let data_dir = scratch.0.path().join("data").display().to_string();
    assert!(events.contains(&format!("init a config={config} data_dir={data_dir}")), "{events:#?}");
    assert!(events.contains(&format!("init b config={config} data_dir={data_dir}")), "{events:#?}");

    // Each worker moved on its own thread: b's worker_init, then a's worker_drop, both there.
    for (worker_id, (_, tid)) in (1..=WORKERS).zip(&results) {
        let position = |line: String| events.iter().position(|e| *e == line).unwrap_or_else(|| panic!("no `{line}` in {events:#?}"));
        let started_b = position(format!("worker_init b worker={worker_id} tid={tid}"));
        let dropped_a = position(format!("worker_drop a worker={worker_id} tid={tid}"));
        assert!(started_b < dropped_a, "worker {worker_id}: the new worker_init runs before the old worker_drop");
    }
    // The workers' threads ended, dropping their attachments: b's worker_drop ran for each.
    assert_eq!(count(&events, "worker_drop b "), WORKERS as usize);

    drop(extension);
    let events = scratch.events();
    assert_eq!(count(&events, "unload b "), 1, "the last reference gone, b unloads: {events:#?}");
    assert!(events.last().unwrap().starts_with("unload b "), "{events:#?}");
}

#[test]
fn functions_are_bound_by_name_a_removed_one_says_so_and_new_ones_appear_on_rebinding() {
    let fx = fixtures();
    let scratch = Scratch::new("names");
    let extension = LoadedExtension::open(&fx.swap_a, scratch.options()).unwrap();
    let worker = extension.attach_worker(7).unwrap();
    let bound = worker.functions();
    let slot = |name: &str| bound.iter().find(|f| f.name == name).unwrap().slot;
    assert_eq!(call_slot(&worker, slot("echo"), &["hi"]), Ok(Some("a:hi".into())));
    assert_eq!(call_slot(&worker, slot("only_in_a"), &[]), Ok(Some("only in a".into())));

    // Build b lists its functions in another order; the slots bound from a still reach them.
    extension.reload(&fx.swap_b, None).unwrap();
    assert_eq!(call_slot(&worker, slot("echo"), &["hi"]), Ok(Some("b:hi".into())));
    assert_eq!(call_slot(&worker, slot("value"), &[]), Ok(Some("b".into())));
    assert_eq!(
        call_slot(&worker, slot("only_in_a"), &[]),
        Err("swap.only_in_a no longer exists after reload: the build of `swap` now loaded (0.2.0) does not export `only_in_a`. \
             Restore it in the extension, or stop calling it (objects bound after the reload no longer have it)"
            .into())
    );

    // Binding again (what the host's rebind does) lists b's functions, new one included.
    let mut rebound: Vec<String> = worker.functions().into_iter().map(|f| f.name).collect();
    rebound.sort();
    assert_eq!(rebound, ["data_dir", "echo", "only_in_b", "value", "worker"]);
    assert_eq!(call(&worker, "only_in_b", &[]), Ok(Some("only in b".into())));
    let mut listed: Vec<String> = extension.functions().into_iter().map(|f| f.name).collect();
    listed.sort();
    assert_eq!(listed, rebound);

    // Back to a: the function b removed comes back at its old slot.
    extension.reload(&fx.swap_a, None).unwrap();
    assert_eq!(call_slot(&worker, slot("only_in_a"), &[]), Ok(Some("only in a".into())));
    assert_eq!(extension.generation(), 3);
}

#[test]
fn a_failed_reload_says_why_and_the_old_build_keeps_serving() {
    let fx = fixtures();
    let scratch = Scratch::new("refused");
    let extension = LoadedExtension::open(&fx.swap_a, scratch.options()).unwrap();
    let worker = extension.attach_worker(1).unwrap();
    let reload = |library: &Path| extension.reload(library, None).map_err(|e| e.to_string());

    let missing = reload(Path::new("/nonexistent/libswap.so")).unwrap_err();
    assert!(missing.starts_with("could not load the extension library /nonexistent/libswap.so: no such file. Build the extension first"), "{missing}");

    let abi = reload(&fx.abi_mismatch).unwrap_err();
    assert!(abi.starts_with("extension `abi-mismatch` was built with titan-ext 9.9.9 for extension ABI 2, but this Titan runtime speaks ABI 1"), "{abi}");

    let sdk = reload(&fx.sdk_mismatch).unwrap_err();
    assert!(sdk.starts_with("extension `sdk-mismatch` was built with titan-ext 0.2.0 but this runtime speaks titan-ext 0.1.x"), "{sdk}");

    let other = reload(&fx.kitchen_sink).unwrap_err();
    assert_eq!(
        other,
        format!(
            "{} is the extension `kitchen-sink`, not `swap`: a reload keeps the extension's name. Point the reload at a build of `swap`, or load `kitchen-sink` as an extension of its own",
            fx.kitchen_sink.display()
        )
    );

    // An init that fails: the events file cannot be opened for the new build.
    std::fs::remove_dir_all(scratch.0.path()).unwrap();
    let init = reload(&fx.swap_b).unwrap_err();
    assert!(init.starts_with("extension `swap` failed to start: cannot open the event log"), "{init}");
    std::fs::create_dir_all(scratch.0.path()).unwrap();

    assert_eq!(extension.generation(), 1, "nothing was swapped");
    assert_eq!(call(&worker, "value", &[]), Ok(Some("a".into())));
    assert_eq!(call(&worker, "worker", &[]), Ok(Some("a:1".into())));
    assert_eq!(extension.library_path().as_deref(), Some(fx.swap_a.as_path()));
    // The private copies the refused builds were loaded from are deleted (only this test loads
    // these libraries).
    let left = private_copies();
    assert!(!left.iter().any(|name| name.contains("mismatch") || name.contains("kitchen_sink")), "{left:?}");
}

#[test]
fn a_reload_passes_the_data_dir_and_closes_the_old_copy() {
    let fx = fixtures();
    let scratch = Scratch::new("data-dir");
    let extension = LoadedExtension::open(&fx.swap_a, scratch.options()).unwrap();
    let worker = extension.attach_worker(1).unwrap();
    let data_dir = scratch.0.path().join("data").display().to_string();
    assert_eq!(call(&worker, "data_dir", &[]), Ok(Some(data_dir.clone())));

    assert_eq!(extension.library_path().as_deref(), Some(fx.swap_a.as_path()), "the first build is loaded in place");
    extension.reload(&fx.swap_b, Some(scratch.0.path().join("elsewhere").display().to_string())).unwrap();
    let b_copy = extension.library_path().unwrap();
    assert_ne!(b_copy, fx.swap_b, "b runs from a private copy");
    assert!(b_copy.is_file());
    assert_eq!(call(&worker, "data_dir", &[]), Ok(Some(scratch.0.path().join("elsewhere").display().to_string())));

    // Swapping b out again: once this worker moves, b's copy is closed and deleted.
    extension.reload(&fx.swap_a, None).unwrap();
    assert!(b_copy.is_file(), "the worker still uses b");
    assert_eq!(call(&worker, "value", &[]), Ok(Some("a".into())));
    assert!(!b_copy.exists(), "b's private copy is gone with it");
    assert_eq!(call(&worker, "data_dir", &[]), Ok(Some(scratch.0.path().join("elsewhere").display().to_string())), "the new data dir stays");
}

#[test]
fn a_worker_attached_after_a_reload_starts_on_the_new_build() {
    let fx = fixtures();
    let scratch = Scratch::new("late");
    let extension = LoadedExtension::open(&fx.swap_a, scratch.options()).unwrap();
    extension.reload(&fx.swap_b, None).unwrap();
    let worker = extension.attach_worker(4).unwrap();
    assert_eq!(worker.generation(), 2);
    assert_eq!(call(&worker, "worker", &[]), Ok(Some("b:4".into())));
    let events = scratch.events();
    assert_eq!(count(&events, "worker_init a "), 0, "{events:#?}");
    assert_eq!(count(&events, "unload a "), 1, "no worker held a: it unloaded at the swap");
}

#[test]
fn a_worker_whose_new_worker_init_fails_keeps_its_build_until_the_next_reload() {
    let fx = fixtures();
    let scratch = Scratch::new("refused-worker");
    let mut options = scratch.options();
    options.config_json = serde_json::json!({ "events": scratch.events_path(), "refuse_workers_in": "b" }).to_string();
    let extension = LoadedExtension::open(&fx.swap_a, options).unwrap();
    let worker = extension.attach_worker(5).unwrap();
    extension.reload(&fx.swap_b, None).unwrap();

    // The move fails: the call is served by a, and the failure is not retried on every call.
    assert_eq!(call(&worker, "value", &[]), Ok(Some("a".into())));
    assert_eq!(call(&worker, "value", &[]), Ok(Some("a".into())));
    assert_eq!(worker.generation(), 1);
    let error = worker.sync().unwrap_err().to_string();
    assert_eq!(error, "extension `swap` failed to start on worker 5: build b refuses worker 5 (refuse_workers_in)");
    assert_eq!(count(&scratch.events(), "unload a "), 0, "a still serves this worker");
    // A new worker cannot start on b either; it says so.
    assert!(extension.attach_worker(6).is_err());

    // The next reload (back to a) moves it.
    extension.reload(&fx.swap_a, None).unwrap();
    assert_eq!(call(&worker, "worker", &[]), Ok(Some("a:5".into())));
    assert_eq!(worker.generation(), 3);
    let events = scratch.events();
    assert_eq!(count(&events, "unload a "), 1, "the first a unloaded once its worker moved: {events:#?}");
    assert_eq!(count(&events, "unload b "), 1, "b served no worker and unloaded when replaced: {events:#?}");
}

#[test]
fn the_sdk_version_is_checked_at_load_with_the_fix_in_the_message() {
    let fx = fixtures();
    let error = LoadedExtension::open(&fx.sdk_mismatch, InitOptions::default()).unwrap_err().to_string();
    assert_eq!(
        error,
        "extension `sdk-mismatch` was built with titan-ext 0.2.0 but this runtime speaks titan-ext 0.1.x: \
         set `titan-ext = \"0.1\"` in sdk-mismatch's Cargo.toml and run `titan build ext`, or upgrade the runtime with `npm install titan@0.2`"
    );
    // Inspecting (type generation) applies the same check.
    assert_eq!(LoadedExtension::inspect(&fx.sdk_mismatch).unwrap_err().to_string(), error);
    // An extension built with this workspace's titan-ext passes.
    assert_eq!(LoadedExtension::inspect(&fx.swap_a).unwrap().sdk_version, titan_core::ext::HOST_SDK_VERSION);
}
