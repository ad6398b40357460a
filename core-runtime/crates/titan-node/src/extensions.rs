//! Native extensions as JS sees them. The main thread loads an extension once per process
//! (`extLoad`) and may swap its build in place (`extReload`); each worker attaches to it on its
//! own thread (`extAttach`, running `worker_init`) and binds one native JS function per
//! extension function (`extBind`), which converts JS values straight into ABI values: numbers
//! and booleans by value, strings into a per-attachment scratch buffer, bytes borrowed from the
//! typed array (no copy), objects and arrays as JSON text.
//!
//! After a reload, every bound function reaches the new build: the worker moves at its next call
//! (titan-core's `WorkerAttachment`), when its server loop is woken for it, or on `extSync()`.

use std::cell::RefCell;
use std::ptr;
use std::sync::{Arc, LazyLock, Mutex};

use napi::bindgen_prelude::{FromNapiValue, Unknown};
use napi::{Env, Error, Result, Status, sys};
use napi_derive::napi;
use titan_core::ext::{CallArgs, ClassicExtension, ExtensionManifest, InitOptions, LoadedExtension, ValueView, WorkerAttachment};

/// A loaded extension of either kind.
#[derive(Clone)]
enum Loaded {
    /// Built with titan-ext: the ABI.
    Native(Arc<LoadedExtension>),
    /// Titan Planet's classic format: plain C functions.
    Classic(Arc<ClassicExtension>),
}

/// An extension as one worker uses it.
enum Attached {
    Native(WorkerAttachment),
    Classic(Arc<ClassicExtension>),
}

impl Attached {
    fn name(&self) -> &str {
        match self {
            Self::Native(a) => a.extension().name(),
            Self::Classic(c) => c.name(),
        }
    }

    /// `(name, arity, slot)` of every function, as `extBind` binds them (after moving to the
    /// newest build, for a native extension).
    fn functions(&self) -> Vec<(String, u32, u32)> {
        match self {
            Self::Native(a) => a.functions().into_iter().map(|f| (f.name, f.arity, f.slot)).collect(),
            Self::Classic(c) => c.functions().enumerate().map(|(index, (name, arity))| (name.to_owned(), arity, index as u32)).collect(),
        }
    }

    /// Whether this is this thread's attachment to `extension`.
    fn is_attachment_of(&self, extension: &Loaded) -> bool {
        match (self, extension) {
            (Self::Native(a), Loaded::Native(n)) => Arc::ptr_eq(a.extension(), n),
            (Self::Classic(a), Loaded::Classic(c)) => Arc::ptr_eq(a, c),
            _ => false,
        }
    }
}

/// An attachment with its own reusable argument buffers (one per argument position).
struct AttachedEntry {
    attached: Attached,
    scratch: RefCell<Vec<Vec<u8>>>,
}

/// What a bound JS function's data pointer points at. `slot` names the function across
/// reloads; its arity is the one of the build the worker is on at each call.
struct BoundFunction {
    entry: *const AttachedEntry,
    slot: u32,
}

/// Process-wide: every isolate calls the same loaded library. Index = id - 1.
static EXTENSIONS: LazyLock<Mutex<Vec<Option<Loaded>>>> = LazyLock::new(Default::default);

fn register(extension: Loaded) -> u32 {
    let mut registry = EXTENSIONS.lock().unwrap_or_else(|e| e.into_inner());
    registry.push(Some(extension));
    registry.len() as u32
}

thread_local! {
    /// This worker's attachments (per-worker state), by handle. Boxed: bound functions point at
    /// them, so they must not move. Only touched when attaching, binding and at teardown; the
    /// call path reaches its attachment through the function's data pointer, because every
    /// thread-local access from a dlopen'ed library is a `__tls_get_addr` call.
    #[allow(clippy::vec_box)] // boxed on purpose: bound functions hold their address
    static ATTACHED: RefCell<Vec<Box<AttachedEntry>>> = const { RefCell::new(Vec::new()) };
    /// The data of every function `extBind` made on this thread; freed at teardown.
    #[allow(clippy::vec_box)] // boxed on purpose: JS functions hold their address as data
    static BOUND: RefCell<Vec<Box<BoundFunction>>> = const { RefCell::new(Vec::new()) };
    static CLEANUP_REGISTERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// References to `JSON`, `JSON.stringify` and `JSON.parse` in this thread's env, made on first
    /// use: looking them up on every call cost more than the rest of a small-object call.
    static JSON_REFS: std::cell::Cell<Option<[sys::napi_ref; 3]>> = const { std::cell::Cell::new(None) };
}

/// One exported function, as JS binds it.
#[napi(object)]
pub struct ExtensionFunction {
    /// JS name.
    pub name: String,
    /// Declared parameter count.
    pub arity: u32,
    /// The extension's JSON signature.
    pub signature: String,
}

/// A loaded extension.
#[napi(object)]
pub struct ExtensionInfo {
    /// Process-wide id for `extAttach`.
    pub id: u32,
    /// Extension name.
    pub name: String,
    /// Extension version.
    pub version: String,
    /// The titan-ext version that built it.
    pub sdk_version: String,
    /// Functions, in call-index order.
    pub functions: Vec<ExtensionFunction>,
}

/// The ABI version this runtime speaks.
#[napi]
pub fn ext_abi_version() -> u32 {
    titan_ext_sys::TITAN_ABI_VERSION
}

/// Checks an extension's `titan.json` text; the error names the field and the fix.
#[napi]
pub fn ext_check_manifest(text: String) -> Result<String> {
    let manifest = ExtensionManifest::parse(&text).map_err(|e| Error::new(Status::InvalidArg, e.to_string()))?;
    Ok(match manifest {
        ExtensionManifest::Native { .. } => "native".into(),
        ExtensionManifest::Classic { .. } => "classic".into(),
    })
}

/// What an extension library declares, read after the ABI checks without running its `init`
/// (for `titan build ext`'s type generation). `id` is 0: nothing is loaded.
#[napi]
pub fn ext_inspect(library_path: String) -> Result<ExtensionInfo> {
    let description = LoadedExtension::inspect(std::path::Path::new(&library_path)).map_err(|e| Error::new(Status::GenericFailure, e.to_string()))?;
    Ok(ExtensionInfo {
        id: 0,
        name: description.name,
        version: description.version.unwrap_or_default(),
        sdk_version: description.sdk_version,
        functions: description.functions.into_iter().map(|(name, arity, signature)| ExtensionFunction { name, arity, signature }).collect(),
    })
}

fn init_options(config_json: Option<String>, data_dir: Option<String>) -> InitOptions {
    InitOptions { config_json: config_json.unwrap_or_else(|| "null".into()), data_dir }
}

/// Loads (dlopen, handshake, init with `configJson`) a native extension for the whole process.
/// `dataDir` is the app's data directory, handed to the extension in the host table.
#[napi]
pub fn ext_load(library_path: String, config_json: Option<String>, data_dir: Option<String>) -> Result<ExtensionInfo> {
    let extension = LoadedExtension::open(std::path::Path::new(&library_path), init_options(config_json, data_dir))
        .map_err(|e| Error::new(Status::GenericFailure, e.to_string()))?;
    let id = register(Loaded::Native(extension.clone()));
    Ok(native_info(id, &extension))
}

/// Swaps the build of loaded extension `id` for the library at `libraryPath`, in place: the new
/// build is loaded from a private copy and initialized with the same config (and `dataDir` when
/// given, else the previous one); every bound function then calls it, and each worker moves to
/// it on its own thread (at its next call, or at once when it is waiting for requests). The old
/// build unloads when its last worker has moved. On any failure the old build keeps serving and
/// the error names the cause. Returns the extension as the new build declares it (same id).
#[napi]
pub fn ext_reload(id: u32, library_path: String, data_dir: Option<String>) -> Result<ExtensionInfo> {
    let extension = match loaded(id)? {
        Loaded::Native(native) => native,
        Loaded::Classic(classic) => {
            return Err(Error::new(Status::InvalidArg, format!("extension `{}` is a classic Titan Planet extension, which cannot be reloaded in place: load the new build with extLoadClassic", classic.name())));
        }
    };
    extension.reload(std::path::Path::new(&library_path), data_dir).map_err(|e| Error::new(Status::GenericFailure, e.to_string()))?;
    // Idle server workers move now rather than at their next call.
    crate::wake_workers_for_extension_sync();
    Ok(native_info(id, &extension))
}

/// Moves every extension this worker thread is attached to onto its newest build (for isolates
/// that are not server workers, such as the harness's, which wait on their event loop). Returns
/// how many moved. A worker also moves by itself at its next call.
#[napi]
pub fn ext_sync() -> u32 {
    sync_this_thread()
}

/// See `extSync`; also the server worker's hook when the main thread wakes it after a reload.
pub(crate) fn sync_this_thread() -> u32 {
    ATTACHED.with(|attached| {
        let attached = attached.borrow();
        // A failed move is logged as the extension's and leaves that worker on its build.
        attached.iter().filter(|entry| matches!(&entry.attached, Attached::Native(a) if a.sync().unwrap_or(false))).count() as u32
    })
}

/// Titan's built-in engines: native extensions on the same ABI, linked into the core.
type StaticEntry = fn() -> *const titan_ext_sys::titan_extension;
const BUILTINS: &[(&str, StaticEntry)] = &[
    ("fetch", titan_engine_fetch::fetch_extension),
    ("jwt", titan_engine_jwt::jwt_extension),
    ("password", titan_engine_password::password_extension),
    ("db", titan_engine_db::db_extension),
];

/// Loads a built-in engine (`fetch`, `jwt`, `password`, `db`) with its config and the app's data
/// directory: the same handshake, init and calls as a user extension.
#[napi]
pub fn ext_load_builtin(name: String, config_json: Option<String>, data_dir: Option<String>) -> Result<ExtensionInfo> {
    let (_, descriptor) = BUILTINS
        .iter()
        .find(|(builtin, _)| *builtin == name)
        .ok_or_else(|| Error::new(Status::InvalidArg, format!("no built-in engine `{name}`")))?;
    let extension = LoadedExtension::from_static(*descriptor, &format!("built-in engine {name}"), init_options(config_json, data_dir))
        .map_err(|e| Error::new(Status::GenericFailure, e.to_string()))?;
    let id = register(Loaded::Native(extension.clone()));
    Ok(native_info(id, &extension))
}

fn native_info(id: u32, extension: &LoadedExtension) -> ExtensionInfo {
    let functions = extension.functions().into_iter().map(|f| ExtensionFunction { name: f.name, arity: f.arity, signature: f.signature }).collect();
    ExtensionInfo { id, name: extension.name().to_owned(), version: extension.version(), sdk_version: extension.sdk_version(), functions }
}

/// Loads a classic Titan Planet extension from its `titan.json` text (checked with the Rust
/// rules) and the resolved library path.
#[napi]
pub fn ext_load_classic(library_path: String, manifest_json: String) -> Result<ExtensionInfo> {
    let manifest = ExtensionManifest::parse(&manifest_json).map_err(|e| Error::new(Status::InvalidArg, e.to_string()))?;
    let ExtensionManifest::Classic { name, functions, free, .. } = manifest else {
        return Err(Error::new(Status::InvalidArg, "not a classic Titan Planet manifest (no native.functions)"));
    };
    let functions: Vec<_> = functions.into_iter().collect();
    let extension = ClassicExtension::open(std::path::Path::new(&library_path), &name, &functions, free.as_deref())
        .map_err(|e| Error::new(Status::GenericFailure, e.to_string()))?;
    let info_functions = extension.functions().map(|(name, arity)| ExtensionFunction { name: name.to_owned(), arity, signature: "{}".into() }).collect();
    let id = register(Loaded::Classic(extension));
    Ok(ExtensionInfo { id, name, version: String::new(), sdk_version: "classic".into(), functions: info_functions })
}

/// Forgets an extension; it unloads once every worker attached to it has stopped.
#[napi]
pub fn ext_release(id: u32) {
    let mut registry = EXTENSIONS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(slot) = registry.get_mut((id as usize).wrapping_sub(1)) {
        *slot = None;
    }
}

fn loaded(id: u32) -> Result<Loaded> {
    EXTENSIONS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get((id as usize).wrapping_sub(1))
        .cloned()
        .flatten()
        .ok_or_else(|| Error::new(Status::InvalidArg, format!("no loaded extension with id {id}")))
}

/// Attaches this worker thread to a loaded extension (runs `worker_init` here); returns the
/// handle `extBind` takes. Attaching again to the same extension on the same thread returns the
/// same handle (after moving it to the newest build): a worker has one state per extension, and
/// rebinding `t.<namespace>` after a reload is `extAttach` + `extBind` again.
#[napi]
pub fn ext_attach(env: Env, id: u32, worker_id: u32) -> Result<u32> {
    let extension = loaded(id)?;
    let existing = ATTACHED.with(|attached| attached.borrow().iter().position(|entry| entry.attached.is_attachment_of(&extension)));
    if let Some(handle) = existing {
        ATTACHED.with(|attached| {
            if let Attached::Native(native) = &attached.borrow()[handle].attached {
                // A failure is logged; the worker stays on the build it has.
                let _ = native.sync();
            }
        });
        return Ok(handle as u32);
    }
    let attachment = match extension {
        Loaded::Native(native) => Attached::Native(native.attach_worker(worker_id).map_err(|e| Error::new(Status::GenericFailure, e.to_string()))?),
        Loaded::Classic(classic) => Attached::Classic(classic),
    };
    if !CLEANUP_REGISTERED.with(|c| c.replace(true)) {
        // Per-worker state is dropped on this thread when the isolate stops.
        let raw_env = env.raw();
        env.add_env_cleanup_hook((), move |()| {
            // Functions first (nothing can call them once the env is torn down), then the
            // attachments, whose drop runs `worker_drop` on this thread.
            BOUND.with(|b| b.borrow_mut().clear());
            ATTACHED.with(|a| a.borrow_mut().clear());
            CLEANUP_REGISTERED.with(|c| c.set(false));
            if let Some(refs) = JSON_REFS.take() {
                for reference in refs {
                    // SAFETY: references made in this env, which is still alive during cleanup hooks.
                    unsafe { sys::napi_delete_reference(raw_env, reference) };
                }
            }
        })?;
    }
    Ok(ATTACHED.with(|a| {
        let mut attached = a.borrow_mut();
        attached.push(Box::new(AttachedEntry { attached: attachment, scratch: RefCell::new(Vec::new()) }));
        attached.len() as u32 - 1
    }))
}

fn check(status: sys::napi_status, what: &str) -> Result<()> {
    if status == sys::Status::napi_ok { Ok(()) } else { Err(Error::new(Status::GenericFailure, format!("{what} failed ({status})"))) }
}

/// Copies a JS string's UTF-8 into `buffer`.
///
/// # Safety
/// `env` and `value` are live and `value` is a string.
unsafe fn read_string(env: sys::napi_env, value: sys::napi_value, buffer: &mut Vec<u8>) -> Result<()> {
    // One UTF-16 unit never takes more than 3 UTF-8 bytes, so a buffer of 3 × length always
    // fits: one conversion pass instead of measuring first (the length query is O(1)).
    let mut units = 0usize;
    // SAFETY: a length query with a null buffer.
    check(unsafe { sys::napi_get_value_string_utf16(env, value, ptr::null_mut(), 0, &mut units) }, "reading a string")?;
    let capacity = units * 3 + 1;
    buffer.clear();
    buffer.reserve(capacity);
    let mut written = 0usize;
    // SAFETY: `buffer` has room for `capacity` bytes (the API writes a NUL).
    check(unsafe { sys::napi_get_value_string_utf8(env, value, buffer.as_mut_ptr().cast(), capacity, &mut written) }, "reading a string")?;
    // SAFETY: the API initialized `written` bytes.
    unsafe { buffer.set_len(written) };
    Ok(())
}

/// The scratch buffer as the `&str` V8 just wrote.
fn as_v8_utf8(buffer: &[u8]) -> &str {
    // SAFETY: napi_get_value_string_utf8 writes valid UTF-8 (V8 replaces lone surrogates with
    // U+FFFD), so validating it again would only cost time on every string argument.
    unsafe { std::str::from_utf8_unchecked(buffer) }
}

/// `JSON.stringify` or `JSON.parse` (the index into the cached references).
#[derive(Clone, Copy)]
enum JsonMethod {
    Stringify = 1,
    Parse = 2,
}

/// Calls `JSON[method](value)`.
///
/// # Safety
/// `env` and `value` are live.
unsafe fn call_json(env: sys::napi_env, method: JsonMethod, value: sys::napi_value) -> Result<sys::napi_value> {
    let mut json = ptr::null_mut();
    let mut function = ptr::null_mut();
    let mut out = ptr::null_mut();
    // SAFETY: plain Node-API calls on live handles; the references belong to this thread's env.
    unsafe {
        let refs = match JSON_REFS.get() {
            Some(refs) => refs,
            None => {
                let (mut global, mut json_object, mut stringify, mut parse) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
                check(sys::napi_get_global(env, &mut global), "getting the global object")?;
                check(sys::napi_get_named_property(env, global, c"JSON".as_ptr(), &mut json_object), "getting JSON")?;
                check(sys::napi_get_named_property(env, json_object, c"stringify".as_ptr(), &mut stringify), "getting JSON.stringify")?;
                check(sys::napi_get_named_property(env, json_object, c"parse".as_ptr(), &mut parse), "getting JSON.parse")?;
                let mut refs = [ptr::null_mut(); 3];
                for (slot, value) in refs.iter_mut().zip([json_object, stringify, parse]) {
                    check(sys::napi_create_reference(env, value, 1, slot), "keeping a reference")?;
                }
                JSON_REFS.set(Some(refs));
                refs
            }
        };
        check(sys::napi_get_reference_value(env, refs[0], &mut json), "JSON")?;
        check(sys::napi_get_reference_value(env, refs[method as usize], &mut function), "a JSON method")?;
        let status = sys::napi_call_function(env, json, function, 1, &value, &mut out);
        if status != sys::Status::napi_ok {
            return Err(Error::new(Status::InvalidArg, "an argument could not be converted to JSON (a cycle or a BigInt inside an object?)"));
        }
    }
    Ok(out)
}

/// Turns one JS argument into an ABI argument. Strings and JSON go to `scratch`; bytes are
/// borrowed from the typed array, which the JS caller keeps alive for the call.
///
/// # Safety
/// `env` and `value` are live for the call.
unsafe fn push_arg<'a>(env: sys::napi_env, value: sys::napi_value, scratch: &'a mut Vec<u8>, args: &mut CallArgs<'a>) -> Result<()> {
    let mut kind = 0;
    // SAFETY: live handles.
    check(unsafe { sys::napi_typeof(env, value, &mut kind) }, "typeof")?;
    match kind {
        sys::ValueType::napi_undefined | sys::ValueType::napi_null => args.push_null(),
        sys::ValueType::napi_boolean => {
            let mut b = false;
            // SAFETY: a boolean.
            check(unsafe { sys::napi_get_value_bool(env, value, &mut b) }, "reading a boolean")?;
            args.push_bool(b);
        }
        sys::ValueType::napi_number => {
            let mut n = 0.0;
            // SAFETY: a number.
            check(unsafe { sys::napi_get_value_double(env, value, &mut n) }, "reading a number")?;
            args.push_f64(n);
        }
        sys::ValueType::napi_bigint => {
            let (mut n, mut lossless) = (0i64, false);
            // SAFETY: a bigint.
            check(unsafe { sys::napi_get_value_bigint_int64(env, value, &mut n, &mut lossless) }, "reading a bigint")?;
            if !lossless {
                return Err(Error::new(Status::InvalidArg, "a BigInt argument does not fit in 64 bits"));
            }
            args.push_i64(n);
        }
        sys::ValueType::napi_string => {
            // SAFETY: a string.
            unsafe { read_string(env, value, scratch)? };
            args.push_str(as_v8_utf8(scratch));
        }
        sys::ValueType::napi_object => {
            let mut is_typed = false;
            // SAFETY: an object.
            check(unsafe { sys::napi_is_typedarray(env, value, &mut is_typed) }, "checking for a typed array")?;
            if is_typed {
                let (mut ty, mut len, mut data, mut buffer, mut offset) = (0, 0usize, ptr::null_mut(), ptr::null_mut(), 0usize);
                // SAFETY: a typed array.
                check(unsafe { sys::napi_get_typedarray_info(env, value, &mut ty, &mut len, &mut data, &mut buffer, &mut offset) }, "reading a typed array")?;
                if ty != sys::TypedarrayType::uint8_array {
                    return Err(Error::new(Status::InvalidArg, "typed array arguments must be Uint8Array (or Buffer)"));
                }
                let bytes: &'a [u8] = if len == 0 || data.is_null() {
                    &[]
                } else {
                    // SAFETY: `data` points at `len` bytes of the array's buffer, which the caller
                    // holds for the duration of the call (the JS argument is on its stack).
                    unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) }
                };
                args.push_bytes(bytes);
            } else {
                // SAFETY: live handles; JSON.stringify returns a string for objects and arrays.
                unsafe {
                    let text = call_json(env, JsonMethod::Stringify, value)?;
                    read_string(env, text, scratch)?;
                }
                args.push_json(as_v8_utf8(scratch));
            }
        }
        _ => return Err(Error::new(Status::InvalidArg, "functions and symbols cannot be passed to an extension")),
    }
    Ok(())
}

/// Turns an ABI result into a JS value.
///
/// # Safety
/// `env` is live.
// Inlined into the per-call path: returned through the stack, its `Result` cost a
// store-to-load round trip on every call (perf: the hottest spot of bench:ext's noop).
#[inline(always)]
unsafe fn to_js(env: sys::napi_env, view: ValueView<'_>) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    // SAFETY: plain Node-API constructors; buffers are valid for the duration of this function.
    unsafe {
        match view {
            ValueView::Null => check(sys::napi_get_null(env, &mut out), "null")?,
            ValueView::Bool(b) => check(sys::napi_get_boolean(env, b, &mut out), "boolean")?,
            ValueView::Number(n) => check(sys::napi_create_double(env, n, &mut out), "number")?,
            ValueView::BigInt(n) => check(sys::napi_create_bigint_int64(env, n, &mut out), "bigint")?,
            ValueView::String(bytes) => check(sys::napi_create_string_utf8(env, bytes.as_ptr().cast(), bytes.len() as isize, &mut out), "string")?,
            ValueView::Bytes(bytes) => {
                let mut data = ptr::null_mut();
                check(sys::napi_create_buffer_copy(env, bytes.len(), bytes.as_ptr().cast(), &mut data, &mut out), "buffer")?;
            }
            ValueView::Json(bytes) => {
                let mut text = ptr::null_mut();
                check(sys::napi_create_string_utf8(env, bytes.as_ptr().cast(), bytes.len() as isize, &mut text), "string")?;
                out = call_json(env, JsonMethod::Parse, text)?;
            }
            ValueView::Unknown(kind) => return Err(Error::new(Status::GenericFailure, format!("the extension returned a value of unknown kind {kind}"))),
        }
    }
    Ok(out)
}

/// The most parameters a bound function takes (a larger arity is refused at bind time).
const MAX_ARITY: usize = 32;

/// Returns `{ <function>: fn }` for an attached extension: one native JS function per extension
/// function, so a call from JS is one Node-API callback carrying only its own arguments.
#[napi(ts_return_type = "Record<string, (...args: unknown[]) => unknown>")]
pub fn ext_bind<'env>(env: &'env Env, handle: u32) -> Result<Unknown<'env>> {
    let raw_env = env.raw();
    let (entry, functions): (*const AttachedEntry, Vec<(String, u32, u32)>) = ATTACHED.with(|attached| {
        let attached = attached.borrow();
        let entry = attached.get(handle as usize).ok_or_else(|| Error::new(Status::InvalidArg, format!("no extension attached with handle {handle}")))?;
        let attachment = &entry.attached;
        let list = attachment.functions();
        if let Some((name, _, _)) = list.iter().find(|(_, arity, _)| *arity as usize > MAX_ARITY) {
            return Err(Error::new(Status::InvalidArg, format!("{}.{name}: more than {MAX_ARITY} parameters is not supported", attachment.name())));
        }
        Ok((&**entry as *const AttachedEntry, list))
    })?;
    let mut object = ptr::null_mut();
    // SAFETY: plain Node-API calls on this call's env.
    unsafe {
        check(sys::napi_create_object(raw_env, &mut object), "creating an object")?;
        for (name, _, slot) in &functions {
            let mut function = ptr::null_mut();
            let bound = Box::new(BoundFunction { entry, slot: *slot });
            let data = (&*bound as *const BoundFunction).cast_mut().cast();
            BOUND.with(|b| b.borrow_mut().push(bound));
            check(sys::napi_create_function(raw_env, name.as_ptr().cast(), name.len() as isize, Some(native_function), data, &mut function), "creating a function")?;
            let mut key = ptr::null_mut();
            check(sys::napi_create_string_utf8(raw_env, name.as_ptr().cast(), name.len() as isize, &mut key), "creating a key")?;
            check(sys::napi_set_property(raw_env, object, key, function), "setting a function")?;
        }
        Unknown::from_napi_value(raw_env, object)
    }
}

/// The callback behind every bound extension function.
unsafe extern "C" fn native_function(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    let mut data = ptr::null_mut();
    let mut argc = 0usize;
    // SAFETY: a query for the data pointer only (no argument slots).
    let status = unsafe { sys::napi_get_cb_info(env, info, &mut argc, ptr::null_mut(), ptr::null_mut(), &mut data) };
    let outcome = if status == sys::Status::napi_ok {
        // SAFETY: `data` is the BoundFunction `extBind` made for this function; it and its
        // attachment live until this env's teardown, after which no JS calls it.
        let bound = unsafe { &*(data as *const BoundFunction) };
        // SAFETY: see above.
        let entry = unsafe { &*bound.entry };
        call(env, info, entry, bound.slot)
    } else {
        Err(Error::new(Status::GenericFailure, "reading the arguments failed"))
    };
    match outcome {
        Ok(value) => value,
        Err(error) => {
            let message = std::ffi::CString::new(error.reason.replace('\0', " ")).unwrap_or_default();
            // SAFETY: throwing on this call's env; returning null with an exception pending.
            unsafe { sys::napi_throw_error(env, ptr::null(), message.as_ptr()) };
            ptr::null_mut()
        }
    }
}

/// The function a call goes to, resolved before its arguments are read (a reload may have
/// changed its arity).
enum Callee<'a> {
    Native(titan_core::ext::CallTarget<'a>),
    Classic { extension: &'a ClassicExtension, index: usize, name: &'a str, arity: u32 },
}

impl Callee<'_> {
    fn arity(&self) -> usize {
        match self {
            Self::Native(target) => target.arity() as usize,
            Self::Classic { arity, .. } => *arity as usize,
        }
    }

    /// `<extension>.<function>`, for errors.
    fn label(&self) -> String {
        match self {
            Self::Native(target) => format!("{}.{}", target.extension_name(), target.name()),
            Self::Classic { extension, name, .. } => format!("{}.{name}", extension.name()),
        }
    }
}

// One path for both kinds, so the argument conversion (`push_arg`) has a single call site and
// stays inlined: this is the per-call path `bench:ext` measures.
fn call(env: sys::napi_env, info: sys::napi_callback_info, entry: &AttachedEntry, slot: u32) -> Result<sys::napi_value> {
    let failed = |e: titan_core::ext::CallError| Error::new(Status::GenericFailure, e.to_string());
    // Held while arguments convert, and converting an object runs its `toJSON`, which could
    // call this extension again: refuse that call instead of panicking across the boundary.
    let Ok(mut scratch) = entry.scratch.try_borrow_mut() else {
        return Err(Error::new(
            Status::GenericFailure,
            format!("{}: called while the arguments of another of its calls were being converted (from a toJSON method?); call it before or after", entry.attached.name()),
        ));
    };
    let callee = match &entry.attached {
        // The build this worker is on (after moving to a newer one, if one was published).
        Attached::Native(native) => Callee::Native(native.function(slot).map_err(failed)?),
        Attached::Classic(classic) => {
            let (name, arity) = classic.functions().nth(slot as usize).ok_or_else(|| Error::new(Status::InvalidArg, format!("{} has no function #{slot}", classic.name())))?;
            Callee::Classic { extension: classic, index: slot as usize, name, arity }
        }
    };
    let arity = callee.arity();
    if arity > MAX_ARITY {
        return Err(Error::new(Status::InvalidArg, format!("{}: more than {MAX_ARITY} parameters is not supported", callee.label())));
    }
    let mut argv = [ptr::null_mut(); MAX_ARITY];
    if arity > 0 {
        let mut wanted = arity;
        // SAFETY: `argv` has room for `wanted` ≤ MAX_ARITY values; missing ones read as undefined.
        check(unsafe { sys::napi_get_cb_info(env, info, &mut wanted, argv.as_mut_ptr(), ptr::null_mut(), ptr::null_mut()) }, "reading the arguments")?;
    }
    if scratch.len() < arity {
        scratch.resize_with(arity, Vec::new);
    }
    let mut args = CallArgs::with_capacity(arity);
    for (value, buffer) in argv[..arity].iter().zip(scratch.iter_mut()) {
        // SAFETY: live handles of this call.
        unsafe { push_arg(env, *value, buffer, &mut args) }.map_err(|e| Error::new(Status::InvalidArg, format!("{}: {}", callee.label(), e.reason)))?;
    }
    match callee {
        // SAFETY: `env` is live; the view is converted while the extension's buffer is.
        Callee::Native(target) => target.call(&args, |view| unsafe { to_js(env, view) }).map_err(failed)?,
        Callee::Classic { extension, index, .. } => {
            let output = extension.call(index, &args).map_err(failed)?;
            // SAFETY: `env` is live; the output lives until converted.
            unsafe { to_js(env, output.view()) }
        }
    }
}
