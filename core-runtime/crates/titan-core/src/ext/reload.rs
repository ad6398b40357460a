//! Extensions as the runtime holds them, and their hot reload: one process-wide
//! `LoadedExtension` per registered extension, whose build can be swapped in place under
//! running workers, and each worker's `WorkerAttachment`, which follows the swaps on its own
//! thread. Safe Rust over `abi`'s `ExtensionBuild` and `WorkerSession`.
//!
//! The protocol (what extension authors must know is in `core-runtime/docs/abi.md`):
//! 1. `reload` loads the new build from a private copy of the library (handshake, name check,
//!    `init` with the same config) while the old one keeps serving; any failure leaves the old
//!    one untouched and returns the cause.
//! 2. It publishes the new build and bumps the extension's generation: one atomic store.
//! 3. Each worker notices at its next call (one atomic load compared with the generation it
//!    uses) or when told to `sync`, and moves on its own thread: the new `worker_init`, then the
//!    old `worker_drop`. A call already running finishes on the build it started on.
//! 4. Only workers still on the old build hold it. When the last one moves (or stops), the old
//!    build's `unload` runs, its library closes and its private copy is deleted.
//!
//! Functions keep their identity across builds by name: a bound function holds a stable slot,
//! and each build maps slots to its own function table.

use std::cell::{Cell, Ref, RefCell};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use titan_ext_sys::{TITAN_LOG_ERROR, titan_extension};

use crate::ext::abi::{CallArgs, ExtensionBuild, ExtensionDescription, FunctionInfo, InitOptions, ValueView, WorkerSession};
use crate::ext::error::{CallError, ExtensionError};
use crate::ext::private_copy::PrivateCopy;

/// Where an extension's builds come from.
enum Origin {
    /// A library file: reloadable.
    Library,
    /// Linked into the runtime (a built-in engine): there is no other build to load.
    Static,
}

/// An extension loaded for the whole process: the build in service now, and how to load the
/// next one. Shared by every worker; each build unloads once no worker uses it.
pub struct LoadedExtension {
    name: String,
    origin: Origin,
    /// What every build is initialized with (a reload may give a new data directory).
    init: Mutex<InitOptions>,
    /// The build new attachments and moving workers take.
    latest: Mutex<Published>,
    /// `latest.generation`, readable without the lock: the call path's staleness check.
    generation: AtomicU64,
    /// Serializes reloads of this extension.
    reloading: Mutex<()>,
}

impl std::fmt::Debug for LoadedExtension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedExtension").field("name", &self.name).field("generation", &self.generation()).finish_non_exhaustive()
    }
}

/// A build as published to workers.
#[derive(Clone)]
struct Published {
    build: Arc<ExtensionBuild>,
    layout: Arc<SlotLayout>,
    generation: u64,
}

/// Stable call slots: a function bound from any build keeps its slot in every later build, found
/// by name. Slots are only ever appended.
#[derive(Debug)]
struct SlotLayout {
    /// Function name by slot.
    names: Vec<String>,
    /// Slot → index in this build's function table; `None` when this build lacks it.
    index_of_slot: Vec<Option<u32>>,
    /// Index in this build's function table → slot.
    slot_of_index: Vec<u32>,
}

impl SlotLayout {
    /// The first build's layout: slot = descriptor index.
    fn first(functions: &[FunctionInfo]) -> Self {
        Self::after(&[], functions)
    }

    /// A new build's layout: every slot known so far, then its new functions.
    fn after(known: &[String], functions: &[FunctionInfo]) -> Self {
        let mut names = known.to_vec();
        let mut slot_of_index = Vec::with_capacity(functions.len());
        for function in functions {
            let slot = match names.iter().position(|name| *name == function.name) {
                Some(slot) => slot,
                None => {
                    names.push(function.name.clone());
                    names.len() - 1
                }
            };
            slot_of_index.push(slot as u32);
        }
        let mut index_of_slot = vec![None; names.len()];
        for (index, slot) in slot_of_index.iter().enumerate() {
            index_of_slot[*slot as usize] = Some(index as u32);
        }
        Self { names, index_of_slot, slot_of_index }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means another thread panicked while holding plain data; keep going.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// One function as a worker binds it: `slot` is what `WorkerAttachment::function` takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSlot {
    /// JS name.
    pub name: String,
    /// Declared parameter count.
    pub arity: u32,
    /// Stable across reloads.
    pub slot: u32,
}

impl LoadedExtension {
    /// `dlopen`s a native extension, checks its ABI and SDK versions, and initializes it.
    pub fn open(path: &Path, options: InitOptions) -> Result<Arc<Self>, ExtensionError> {
        let build = ExtensionBuild::open(path, None, &options, None)?;
        Ok(Self::serve(build, Origin::Library, options))
    }

    /// Initializes an extension linked into the runtime (Titan's built-in engines, declared with
    /// `static_entry`): the same descriptor and checks, without a library to open.
    pub fn from_static(descriptor: fn() -> *const titan_extension, label: &str, options: InitOptions) -> Result<Arc<Self>, ExtensionError> {
        let build = ExtensionBuild::from_static(descriptor, label, &options)?;
        Ok(Self::serve(build, Origin::Static, options))
    }

    /// Reads a library's descriptor (name, versions, functions and their signatures) after the
    /// same checks, without running `init`: for tooling such as type generation.
    pub fn inspect(path: &Path) -> Result<ExtensionDescription, ExtensionError> {
        ExtensionBuild::inspect(path)
    }

    fn serve(build: ExtensionBuild, origin: Origin, options: InitOptions) -> Arc<Self> {
        let layout = Arc::new(SlotLayout::first(build.functions()));
        let name = build.name().to_owned();
        Arc::new(Self {
            name,
            origin,
            init: Mutex::new(options),
            latest: Mutex::new(Published { build: Arc::new(build), layout, generation: 1 }),
            generation: AtomicU64::new(1),
            reloading: Mutex::new(()),
        })
    }

    /// Loads a new build of this extension from `library` and puts it in service in place of
    /// the current one (see the module documentation). `init` runs with the same config;
    /// `data_dir`, when given, replaces the data directory for this and later builds. On any
    /// failure (missing file, ABI or SDK mismatch, another extension's name, a failing `init`)
    /// the current build keeps serving and the error says why.
    pub fn reload(&self, library: &Path, data_dir: Option<String>) -> Result<(), ExtensionError> {
        if let Origin::Static = self.origin {
            return Err(ExtensionError::NotReloadable { name: self.name.clone(), reason: "it is built into the runtime (a built-in engine); upgrade the runtime to change it".into() });
        }
        let schemes = lock(&self.latest).build.transport_schemes();
        if !schemes.is_empty() {
            // Listeners and their connections run the registered transport's code directly; the
            // old build would have to serve them while the new one takes new ones, which the
            // registry (one transport per scheme) does not model.
            let schemes = schemes.iter().map(|s| format!("{s}://")).collect::<Vec<_>>().join(", ");
            return Err(ExtensionError::NotReloadable {
                name: self.name.clone(),
                reason: format!("it registered the {schemes} transport, which listeners use directly: restart the server to load a new build of a transport extension"),
            });
        }
        let _one_at_a_time = lock(&self.reloading);
        let mut options = lock(&self.init).clone();
        if data_dir.is_some() {
            options.data_dir = data_dir;
        }
        let copy = private_copy(library)?;
        let path = copy.path().to_owned();
        let build = ExtensionBuild::open(&path, Some(copy), &options, Some(&self.name)).map_err(|err| with_original_path(err, &path, library))?;
        let known = lock(&self.latest).layout.names.clone();
        let layout = Arc::new(SlotLayout::after(&known, build.functions()));
        let replaced = {
            let mut latest = lock(&self.latest);
            let generation = latest.generation + 1;
            let replaced = std::mem::replace(&mut *latest, Published { build: Arc::new(build), layout, generation });
            // Under the lock, so a worker that reads the new generation finds the new build.
            self.generation.store(generation, Ordering::Release);
            replaced
        };
        *lock(&self.init) = options;
        // Unloads the old build right here if no worker holds it; otherwise the last worker to
        // move away does.
        drop(replaced);
        Ok(())
    }

    /// The extension's name (the same for every build).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The version the build in service declares.
    pub fn version(&self) -> String {
        lock(&self.latest).build.version().to_owned()
    }

    /// The titan-ext version that built the build in service.
    pub fn sdk_version(&self) -> String {
        lock(&self.latest).build.sdk_version().to_owned()
    }

    /// The file the build in service was loaded from: the library for the first build, its
    /// private copy after a reload; `None` for a built-in engine.
    pub fn library_path(&self) -> Option<PathBuf> {
        lock(&self.latest).build.path().map(Path::to_owned)
    }

    /// The functions of the build in service, in its descriptor order.
    pub fn functions(&self) -> Vec<FunctionInfo> {
        lock(&self.latest).build.functions().to_vec()
    }

    /// How many builds have been put in service (1 before any reload).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn published(&self) -> Published {
        lock(&self.latest).clone()
    }

    /// Attaches the worker on the current thread to the build in service (runs its
    /// `worker_init` here). Keep the attachment on that thread: its drop runs `worker_drop`
    /// there.
    pub fn attach_worker(self: &Arc<Self>, worker_id: u32) -> Result<WorkerAttachment, ExtensionError> {
        let published = self.published();
        let session = published.build.start_worker(worker_id)?;
        Ok(WorkerAttachment {
            extension: self.clone(),
            worker_id,
            current: RefCell::new(Attached { session, layout: published.layout, generation: published.generation }),
            seen: Cell::new(published.generation),
        })
    }
}

/// Reload errors name the library the caller gave, not the private copy.
fn with_original_path(error: ExtensionError, copy: &Path, original: &Path) -> ExtensionError {
    match error {
        ExtensionError::Open { path, reason } if path == copy => ExtensionError::Open { path: original.to_owned(), reason },
        ExtensionError::NotAnExtension { path } if path == copy => ExtensionError::NotAnExtension { path: original.to_owned() },
        ExtensionError::Refused { path, host_abi } if path == copy => ExtensionError::Refused { path: original.to_owned(), host_abi },
        ExtensionError::NameChanged { path, expected, found } if path == copy => ExtensionError::NameChanged { path: original.to_owned(), expected, found },
        other => other,
    }
}

/// Copies `library` for a reload (see `private_copy`); errors name the library.
fn private_copy(library: &Path) -> Result<PrivateCopy, ExtensionError> {
    let failed = |reason: String| ExtensionError::Open { path: library.to_owned(), reason };
    if !library.is_file() {
        return Err(failed(if library.exists() { "it is not a file".into() } else { "no such file".into() }));
    }
    PrivateCopy::of(library).map_err(|e| failed(format!("could not make a private copy to load it from: {e}")))
}

/// A worker's use of the build it is on.
struct Attached {
    session: WorkerSession,
    layout: Arc<SlotLayout>,
    generation: u64,
}

/// An extension as one worker uses it: its per-worker state on the build it is on, and the move
/// to a newer build when one is published. Belongs to one thread (it is neither `Send` nor
/// `Sync`), so nothing here takes a lock on the call path.
pub struct WorkerAttachment {
    extension: Arc<LoadedExtension>,
    worker_id: u32,
    current: RefCell<Attached>,
    /// The newest generation this worker has dealt with: moved to it, or failed to start it.
    seen: Cell<u64>,
}

impl WorkerAttachment {
    /// The extension.
    pub fn extension(&self) -> &Arc<LoadedExtension> {
        &self.extension
    }

    /// The generation of the build this worker is on.
    pub fn generation(&self) -> u64 {
        self.current.borrow().generation
    }

    /// Moves this worker to the build in service if it is on an older one: the new build's
    /// `worker_init`, then the old one's `worker_drop`, both on this thread; the old build
    /// unloads if this was its last worker. Returns whether it moved. If the new build's
    /// `worker_init` fails, the worker stays on its build (the error is logged as the
    /// extension's and returned) and does not retry that build.
    pub fn sync(&self) -> Result<bool, ExtensionError> {
        let latest = self.extension.published();
        if latest.generation == self.current.borrow().generation {
            self.seen.set(latest.generation);
            return Ok(false);
        }
        if self.current.try_borrow_mut().is_err() {
            // Asked from inside a call on this thread: move at the next one.
            return Ok(false);
        }
        self.seen.set(latest.generation);
        let session = match latest.build.start_worker(self.worker_id) {
            Ok(session) => session,
            Err(err) => {
                let message = format!("{err}; this worker keeps the previous build until the next reload");
                crate::ext::log::write_line(TITAN_LOG_ERROR, &self.extension.name, &message);
                return Err(err);
            }
        };
        let previous = self.current.replace(Attached { session, layout: latest.layout, generation: latest.generation });
        // The old worker_drop, then (if no one else holds it) the old build's unload.
        drop(previous);
        Ok(true)
    }

    /// The functions of the build this worker is on (after moving to the newest), with their
    /// stable slots: what a JS object of bound functions is made from.
    pub fn functions(&self) -> Vec<FunctionSlot> {
        let _ = self.sync();
        let current = self.current.borrow();
        current
            .session
            .build()
            .functions()
            .iter()
            .zip(&current.layout.slot_of_index)
            .map(|(f, slot)| FunctionSlot { name: f.name.clone(), arity: f.arity, slot: *slot })
            .collect()
    }

    /// The function bound at `slot`, on the newest build this worker can use: the call path.
    /// Cheap when nothing was reloaded (an atomic load and a comparison).
    #[inline]
    pub fn function(&self, slot: u32) -> Result<CallTarget<'_>, CallError> {
        if self.extension.generation.load(Ordering::Acquire) != self.seen.get() {
            // A failure is logged by `sync`; the call goes to the build this worker is on.
            let _ = self.sync();
        }
        let current = self.current.borrow();
        match current.layout.index_of_slot.get(slot as usize) {
            Some(Some(index)) => Ok(CallTarget { index: *index as usize, current }),
            Some(None) => Err(CallError::Removed {
                extension: self.extension.name.clone(),
                function: current.layout.names[slot as usize].clone(),
                version: current.session.build().version().to_owned(),
            }),
            None => Err(CallError::failed(&self.extension.name, &format!("#{slot}"), "no such function")),
        }
    }

    /// Calls the function at `slot` with `args`; `read` sees the result while the extension's
    /// buffer is alive.
    pub fn call<R>(&self, slot: u32, args: &CallArgs<'_>, read: impl FnOnce(ValueView<'_>) -> R) -> Result<R, CallError> {
        self.function(slot)?.call(args, read)
    }
}

/// A function of the build a worker is on, ready to call. Holds that build for the call: a
/// worker cannot move to another build while one of its calls runs.
pub struct CallTarget<'a> {
    index: usize,
    current: Ref<'a, Attached>,
}

impl CallTarget<'_> {
    fn info(&self) -> &FunctionInfo {
        &self.current.session.build().functions()[self.index]
    }

    /// The extension's name.
    pub fn extension_name(&self) -> &str {
        self.current.session.build().name()
    }

    /// The function's JS name.
    pub fn name(&self) -> &str {
        &self.info().name
    }

    /// Its declared parameter count in this build.
    #[inline]
    pub fn arity(&self) -> u32 {
        self.info().arity
    }

    /// Calls it; `read` sees the result while the extension's buffer is alive.
    #[inline]
    pub fn call<R>(&self, args: &CallArgs<'_>, read: impl FnOnce(ValueView<'_>) -> R) -> Result<R, CallError> {
        self.current.session.call(self.index, args, read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(layout: &SlotLayout) -> Vec<&str> {
        layout.names.iter().map(String::as_str).collect()
    }

    fn info(name: &str) -> FunctionInfo {
        FunctionInfo::for_tests(name)
    }

    #[test]
    fn slots_follow_functions_by_name_across_builds() {
        let a = SlotLayout::first(&[info("value"), info("only_in_a"), info("echo")]);
        assert_eq!(names(&a), ["value", "only_in_a", "echo"]);
        assert_eq!(a.slot_of_index, [0, 1, 2]);

        // Reordered, one removed, one added.
        let b = SlotLayout::after(&a.names, &[info("echo"), info("only_in_b"), info("value")]);
        assert_eq!(names(&b), ["value", "only_in_a", "echo", "only_in_b"]);
        assert_eq!(b.index_of_slot, [Some(2), None, Some(0), Some(1)]);
        assert_eq!(b.slot_of_index, [2, 3, 0]);

        // A function that comes back gets its old slot.
        let c = SlotLayout::after(&b.names, &[info("only_in_a")]);
        assert_eq!(c.index_of_slot, [None, Some(0), None, None]);
    }
}
