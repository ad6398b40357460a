//! The host side of the extension ABI, and the only module of titan-core allowed `unsafe`:
//! `dlopen`, the versioned handshake, calls through function pointers, and giving results back
//! to the extension that allocated them. It knows one build of an extension at a time
//! (`ExtensionBuild`, a worker's `WorkerSession` on it); swapping builds under running workers
//! is `ext::reload`'s job, in safe Rust over these types. The transports an extension registers
//! from `init` are read here (`transport`) and served by `ext::transport`.
//! The rules it enforces are written down in `core-runtime/docs/abi.md`.

use std::ffi::{CStr, c_char, c_void};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use libloading::Library;
use smallvec::SmallVec;
use titan_ext_sys::*;

use crate::ext::error::{CallError, ExtensionError};
use crate::ext::private_copy::PrivateCopy;
use crate::ext::transport::ExtensionTransport;
use crate::ext::version::check_sdk_version;

pub mod classic;
pub(crate) mod transport;

/// How the host refers to an extension's function.
#[derive(Debug, Clone)]
pub struct FunctionInfo {
    /// JS name.
    pub name: String,
    /// Declared parameter count.
    pub arity: u32,
    /// The JSON signature the extension declares (for generated types and docs).
    pub signature: String,
    call: titan_fn,
}

/// What a library declares, read without initializing it.
#[derive(Debug, Clone)]
pub struct ExtensionDescription {
    /// Extension name.
    pub name: String,
    /// Extension version.
    pub version: Option<String>,
    /// The titan-ext version that built it.
    pub sdk_version: String,
    /// `(name, arity, signature JSON)` per function.
    pub functions: Vec<(String, u32, String)>,
}

#[cfg(test)]
impl FunctionInfo {
    /// A function that is never called, for tests of what the host does with names.
    pub(crate) fn for_tests(name: &str) -> Self {
        unsafe extern "C" fn never(_: *const titan_call, _: *const titan_value, _: usize, _: *mut titan_value) -> titan_status {
            TITAN_ERR
        }
        Self { name: name.to_owned(), arity: 0, signature: "{}".into(), call: never }
    }
}

/// What every build of an extension is initialized with: its `config` from the app's config
/// (JSON text) and the app's data directory (the host table's `data_dir`).
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    /// The extension's `config` object, as JSON text (`null` when absent).
    pub config_json: String,
    /// The app's data directory, UTF-8; `None` passes an empty `data_dir`.
    pub data_dir: Option<String>,
}

/// Host-side data behind `titan_host.host_data`: which extension a log line comes from, the
/// bytes `titan_host.data_dir` points at, and the transports `init` registers.
struct HostContext {
    extension: String,
    data_dir: String,
    transports: Mutex<Registrations>,
}

/// When `register_transport` is honoured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RegistrationWindow {
    /// The `init` of an extension's first build is running.
    Open,
    /// The `init` of a reloaded build is running: listeners hold the previous build's
    /// transport, so a new one cannot take its place.
    Reload,
    /// `init` is over.
    Closed,
}

/// What `register_transport` collected during one `init`.
struct Registrations {
    window: RegistrationWindow,
    /// The library the transports' functions live in, kept mapped by each transport.
    image: Option<Arc<LibraryImage>>,
    registered: Vec<Arc<ExtensionTransport>>,
    /// The first refusal: it fails the load whatever `init` returns.
    refused: Option<String>,
}

/// An open library, and the private copy it was opened from (deleted after it closes). Shared
/// by the build and by the transports it registered, which may outlive the build.
pub(crate) struct LibraryImage {
    // Declared first: closed before the copy is deleted.
    _library: Library,
    _copy: Option<PrivateCopy>,
}

/// One build of an extension, opened and initialized: the library (or a descriptor linked into
/// the runtime), its `init` state and the host table it was given. Dropping the last reference
/// calls `unload`, closes the library and deletes its private copy, in that order.
pub(crate) struct ExtensionBuild {
    descriptor: *const titan_extension,
    state: *mut c_void,
    functions: Vec<FunctionInfo>,
    name: String,
    version: String,
    sdk_version: String,
    /// The transports its `init` registered, unregistered before `unload`.
    transports: Vec<Arc<ExtensionTransport>>,
    // Kept alive for the extension until unload; boxed so their addresses never move.
    _host: Box<titan_host>,
    _host_context: Box<HostContext>,
    image: Option<Arc<LibraryImage>>,
    /// The file the library was opened from (its private copy for a reload).
    path: Option<PathBuf>,
}

// SAFETY: the ABI requires extension functions, `worker_init` and `free_value` to be callable
// from any thread, and the descriptor and state to stay valid until `unload`; the host never
// mutates them.
unsafe impl Send for ExtensionBuild {}
// SAFETY: as above; shared access only reads the descriptor and calls thread-safe functions.
unsafe impl Sync for ExtensionBuild {}

impl std::fmt::Debug for ExtensionBuild {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtensionBuild").field("name", &self.name).field("version", &self.version).finish_non_exhaustive()
    }
}

/// Reads a NUL-terminated string from a descriptor.
///
/// # Safety
/// `ptr` is null or a NUL-terminated string that lives as long as the library.
unsafe fn c_text(ptr: *const c_char) -> Option<String> {
    // SAFETY: see above.
    (!ptr.is_null()).then(|| unsafe { CStr::from_ptr(ptr) }.to_string_lossy().into_owned())
}

/// Opens a library and calls its entry point: the handshake's first step.
fn open_library(path: &Path) -> Result<(Library, *const titan_extension), ExtensionError> {
    // SAFETY: loading a library runs its initializers; a Titan extension is code the app
    // chose to load (listed in its config), which is the trust model of any native plugin.
    let library = unsafe { Library::new(path) }.map_err(|err| ExtensionError::Open { path: path.to_owned(), reason: err.to_string() })?;
    // SAFETY: the symbol, if present, has the entry point's signature (the ABI's one rule
    // that cannot be checked before calling it).
    let entry: titan_entry_fn = match unsafe { library.get::<titan_entry_fn>(TITAN_ENTRY_SYMBOL) } {
        Ok(symbol) => *symbol,
        Err(_) => return Err(ExtensionError::NotAnExtension { path: path.to_owned() }),
    };
    // SAFETY: calling the entry point only returns a pointer to the static descriptor.
    let descriptor = unsafe { entry(TITAN_ABI_VERSION) };
    Ok((library, descriptor))
}

/// What the handshake read from a descriptor.
struct Handshake {
    descriptor: &'static titan_extension,
    name: String,
    version: Option<String>,
    sdk_version: String,
    functions: Vec<FunctionInfo>,
}

impl ExtensionBuild {
    /// `dlopen`s a native extension, checks its ABI and SDK versions and, when `expected_name`
    /// is given (a reload), its name, then initializes it. `copy` is the private copy `path`
    /// is, deleted once the library is closed. A reload's `init` may not register transports.
    pub(crate) fn open(path: &Path, copy: Option<PrivateCopy>, options: &InitOptions, expected_name: Option<&str>) -> Result<Self, ExtensionError> {
        let (library, descriptor) = open_library(path)?;
        let handshake = read_descriptor(descriptor, path)?;
        if let Some(expected) = expected_name.filter(|expected| *expected != handshake.name) {
            return Err(ExtensionError::NameChanged { path: path.to_owned(), expected: expected.to_owned(), found: handshake.name });
        }
        let image = Arc::new(LibraryImage { _library: library, _copy: copy });
        let window = if expected_name.is_some() { RegistrationWindow::Reload } else { RegistrationWindow::Open };
        let mut build = Self::initialize(handshake, Some(image), options, window)?;
        build.path = Some(path.to_owned());
        Ok(build)
    }

    /// Reads a library's descriptor (name, versions, functions and their signatures) after the
    /// same checks, without running `init`: for tooling such as type generation.
    pub(crate) fn inspect(path: &Path) -> Result<ExtensionDescription, ExtensionError> {
        let (library, descriptor) = open_library(path)?;
        let handshake = read_descriptor(descriptor, path)?;
        let description = ExtensionDescription {
            name: handshake.name,
            version: handshake.version,
            sdk_version: handshake.sdk_version,
            functions: handshake.functions.into_iter().map(|f| (f.name, f.arity, f.signature)).collect(),
        };
        // The strings above were copied out; only now may the library close.
        drop(library);
        Ok(description)
    }

    /// Initializes an extension linked into the runtime (Titan's built-in engines, declared with
    /// `static_entry`): the same descriptor and checks, without a library to open.
    pub(crate) fn from_static(descriptor: fn() -> *const titan_extension, label: &str, options: &InitOptions) -> Result<Self, ExtensionError> {
        let handshake = read_descriptor(descriptor(), Path::new(label))?;
        Self::initialize(handshake, None, options, RegistrationWindow::Open)
    }

    fn initialize(handshake: Handshake, image: Option<Arc<LibraryImage>>, options: &InitOptions, window: RegistrationWindow) -> Result<Self, ExtensionError> {
        let Handshake { descriptor: d, name, version, sdk_version, functions } = handshake;
        let host_context = Box::new(HostContext {
            extension: name.clone(),
            data_dir: options.data_dir.clone().unwrap_or_default(),
            transports: Mutex::new(Registrations { window, image: image.clone(), registered: Vec::new(), refused: None }),
        });
        let host = Box::new(titan_host {
            abi_version: TITAN_ABI_VERSION,
            struct_size: std::mem::size_of::<titan_host>() as u32,
            host_data: (&*host_context as *const HostContext).cast_mut().cast(),
            log: host_log,
            register_transport: host_register_transport,
            data_dir: titan_buffer { ptr: host_context.data_dir.as_ptr(), len: host_context.data_dir.len() },
        });
        let mut state: *mut c_void = std::ptr::null_mut();
        let mut init_error = None;
        if let Some(init) = d.init {
            let mut error = titan_value::NULL;
            let config = &options.config_json;
            // SAFETY: the ABI's init contract: valid host table, config bytes, writable slots.
            let status = unsafe { init(&*host, config.as_ptr(), config.len(), &mut state, &mut error) };
            if status != TITAN_OK {
                // SAFETY: on failure `error` is a string value the extension owns.
                init_error = Some(unsafe { take_message(&mut error, d.free_value) });
            }
        }
        let (transports, refused) = {
            let mut registrations = lock(&host_context.transports);
            registrations.window = RegistrationWindow::Closed;
            registrations.image = None;
            (std::mem::take(&mut registrations.registered), registrations.refused.take())
        };
        if init_error.is_some() || refused.is_some() {
            // Nothing may keep serving a transport of an extension that did not load.
            transports.iter().for_each(crate::ext::transport::unregister);
            if init_error.is_none()
                && let Some(unload) = d.unload
            {
                // SAFETY: init succeeded and nothing else ran: its state is given back once.
                unsafe { unload(state) };
            }
            return Err(match (refused, init_error) {
                (Some(reason), _) => ExtensionError::TransportRefused { name, reason },
                (None, message) => ExtensionError::Init { name, message: message.unwrap_or_default() },
            });
        }
        Ok(Self {
            descriptor: d,
            state,
            functions,
            name,
            version: version.unwrap_or_default(),
            sdk_version,
            transports,
            _host: host,
            _host_context: host_context,
            image,
            path: None,
        })
    }

    /// The URL schemes of the transports its `init` registered.
    pub(crate) fn transport_schemes(&self) -> Vec<String> {
        self.transports.iter().map(|t| t.table().scheme().to_owned()).collect()
    }

    /// The extension's name (its crate name, or the `name` its `extension!` declares).
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The extension's version.
    pub(crate) fn version(&self) -> &str {
        &self.version
    }

    /// The titan-ext version that built it.
    pub(crate) fn sdk_version(&self) -> &str {
        &self.sdk_version
    }

    /// The file its library was opened from; `None` for an extension linked into the runtime.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Its functions, in descriptor order.
    pub(crate) fn functions(&self) -> &[FunctionInfo] {
        &self.functions
    }

    fn descriptor(&self) -> &titan_extension {
        // SAFETY: checked by the handshake; valid until the library closes, after `self` drops.
        unsafe { &*self.descriptor }
    }

    /// Runs `worker_init` for the worker on the current thread. Keep the session on that
    /// thread: its drop runs `worker_drop` there.
    pub(crate) fn start_worker(self: &Arc<Self>, worker_id: u32) -> Result<WorkerSession, ExtensionError> {
        let mut worker_state: *mut c_void = std::ptr::null_mut();
        if let Some(worker_init) = self.descriptor().worker_init {
            let mut error = titan_value::NULL;
            // SAFETY: the ABI's worker_init contract, on the worker's own thread.
            let status = unsafe { worker_init(self.state, worker_id, &mut worker_state, &mut error) };
            if status != TITAN_OK {
                // SAFETY: on failure `error` is a string value the extension owns.
                let message = unsafe { take_message(&mut error, self.descriptor().free_value) };
                return Err(ExtensionError::WorkerInit { name: self.name.clone(), worker_id, message });
            }
        }
        Ok(WorkerSession { build: self.clone(), worker_id, worker_state, _not_send: PhantomData })
    }
}

impl Drop for ExtensionBuild {
    fn drop(&mut self) {
        // No new listener binds its transports; bound ones keep theirs (and the library).
        self.transports.iter().for_each(crate::ext::transport::unregister);
        if let Some(unload) = self.descriptor().unload {
            // SAFETY: the last reference is gone: no call is running and none will start, and
            // every worker session (which holds a reference) has run its worker_drop.
            unsafe { unload(self.state) };
        }
        // Closes the library (and deletes its private copy) unless a transport still uses it.
        drop(self.image.take());
    }
}

/// The handshake: checks the header (ABI, then SDK version) and reads a v1 descriptor.
fn read_descriptor(descriptor: *const titan_extension, origin: &Path) -> Result<Handshake, ExtensionError> {
    let origin = origin.to_owned();
    if descriptor.is_null() {
        return Err(ExtensionError::Refused { path: origin, host_abi: TITAN_ABI_VERSION });
    }
    // SAFETY: the header (abi_version, struct_size, name, version, sdk_version) is frozen in
    // every ABI version, so reading it is valid whatever version built the extension.
    let (abi, size, name, version, sdk) = unsafe {
        let d = &*descriptor;
        (d.abi_version, d.struct_size, c_text(d.name), c_text(d.version), c_text(d.sdk_version))
    };
    let name = name.unwrap_or_else(|| origin.display().to_string());
    let sdk_version = sdk.unwrap_or_else(|| "unknown".into());
    if abi != TITAN_ABI_VERSION {
        return Err(ExtensionError::AbiMismatch { name, extension_abi: abi, sdk_version, host_abi: TITAN_ABI_VERSION });
    }
    check_sdk_version(&name, &sdk_version)?;
    if (size as usize) < std::mem::size_of::<titan_extension>() {
        return Err(ExtensionError::Malformed { name, reason: format!("its descriptor is {size} bytes, ABI {abi} needs {}", std::mem::size_of::<titan_extension>()) });
    }
    // SAFETY: version and size checked: this is a v1 descriptor, static for the library's life.
    let d = unsafe { &*descriptor };
    let mut functions = Vec::with_capacity(d.function_count);
    for index in 0..d.function_count {
        // SAFETY: `functions` points to `function_count` definitions.
        let def = unsafe { &*d.functions.add(index) };
        // SAFETY: names and signatures are NUL-terminated static strings.
        let (fn_name, signature) = unsafe { (c_text(def.name), c_text(def.signature)) };
        let fn_name = fn_name.ok_or_else(|| ExtensionError::Malformed { name: name.clone(), reason: format!("function #{index} has no name") })?;
        functions.push(FunctionInfo { name: fn_name, arity: def.arity, signature: signature.unwrap_or_else(|| "{}".into()), call: def.call });
    }
    Ok(Handshake { descriptor: d, name, version, sdk_version, functions })
}

/// One worker's use of one build: its per-worker state lives here.
pub(crate) struct WorkerSession {
    build: Arc<ExtensionBuild>,
    worker_id: u32,
    worker_state: *mut c_void,
    // Per-worker state belongs to one thread.
    _not_send: PhantomData<*mut ()>,
}

impl WorkerSession {
    /// The build.
    pub(crate) fn build(&self) -> &Arc<ExtensionBuild> {
        &self.build
    }

    /// Calls function `index` (descriptor order) with `args` and hands the result to `read`
    /// while it is alive: the extension's buffer goes back to it right after, while this session
    /// (and so the library) is borrowed. Missing arguments are passed as null.
    // Inlined into the napi layer's callback: this is the per-call path.
    #[inline(always)]
    pub(crate) fn call<R>(&self, index: usize, args: &CallArgs<'_>, read: impl FnOnce(ValueView<'_>) -> R) -> Result<R, CallError> {
        let build = &*self.build;
        let function = build.functions.get(index).ok_or_else(|| CallError::failed(&build.name, &format!("#{index}"), "no such function"))?;
        let arity = function.arity as usize;
        if args.values.len() > arity {
            return Err(CallError::failed(&build.name, &function.name, format!("takes {arity} argument(s), got {}", args.values.len())));
        }
        let padded: SmallVec<[titan_value; 4]>;
        let values: &[titan_value] = if args.values.len() == arity {
            &args.values
        } else {
            padded = args.values.iter().copied().chain(std::iter::repeat(titan_value::NULL)).take(arity).collect();
            &padded
        };
        let call = titan_call {
            struct_size: std::mem::size_of::<titan_call>() as u32,
            worker_id: self.worker_id,
            extension_state: build.state,
            worker_state: self.worker_state,
        };
        let mut result = titan_value::NULL;
        // SAFETY: the ABI's call contract: a valid call, `values.len()` borrowed arguments that
        // outlive the call (CallArgs' lifetime), a writable result slot.
        let status = unsafe { (function.call)(&call, values.as_ptr(), values.len(), &mut result) };
        let free = build.descriptor().free_value;
        if status == TITAN_OK {
            let output = ReturnedValue { value: result, free };
            Ok(read(output.view()))
        } else {
            // SAFETY: on failure the result is a string value the extension owns.
            let message = unsafe { take_message(&mut result, free) };
            Err(CallError::failed(&build.name, &function.name, message))
        }
    }
}

impl Drop for WorkerSession {
    fn drop(&mut self) {
        if let Some(worker_drop) = self.build.descriptor().worker_drop {
            // SAFETY: on the worker's thread (the session is !Send), once.
            unsafe { worker_drop(self.build.state, self.worker_id, self.worker_state) };
        }
    }
}

/// Arguments for one call, borrowing strings and bytes from the caller for the call. Up to 4
/// live inline: a call allocates nothing.
#[derive(Default)]
pub struct CallArgs<'a> {
    values: SmallVec<[titan_value; 4]>,
    _borrows: PhantomData<&'a [u8]>,
}

impl<'a> CallArgs<'a> {
    /// Empty, with room for `n` arguments.
    #[inline]
    pub fn with_capacity(n: usize) -> Self {
        Self { values: SmallVec::with_capacity(n), _borrows: PhantomData }
    }

    /// Removes every argument, keeping the allocation.
    #[inline]
    pub fn clear(&mut self) {
        self.values.clear();
    }

    /// `null` / `undefined`.
    #[inline]
    pub fn push_null(&mut self) {
        self.values.push(titan_value::NULL);
    }

    /// A boolean.
    #[inline]
    pub fn push_bool(&mut self, value: bool) {
        self.values.push(titan_value { kind: TITAN_BOOL, reserved: 0, payload: titan_payload { boolean: value } });
    }

    /// A number.
    #[inline]
    pub fn push_f64(&mut self, value: f64) {
        self.values.push(titan_value { kind: TITAN_F64, reserved: 0, payload: titan_payload { number: value } });
    }

    /// A BigInt.
    #[inline]
    pub fn push_i64(&mut self, value: i64) {
        self.values.push(titan_value { kind: TITAN_I64, reserved: 0, payload: titan_payload { integer: value } });
    }

    #[inline]
    fn push_buffer(&mut self, kind: u32, bytes: &'a [u8]) {
        let buffer = titan_buffer { ptr: bytes.as_ptr(), len: bytes.len() };
        self.values.push(titan_value { kind, reserved: 0, payload: titan_payload { buffer } });
    }

    /// A string, borrowed.
    #[inline]
    pub fn push_str(&mut self, value: &'a str) {
        self.push_buffer(TITAN_STRING, value.as_bytes());
    }

    /// Bytes, borrowed.
    #[inline]
    pub fn push_bytes(&mut self, value: &'a [u8]) {
        self.push_buffer(TITAN_BYTES, value);
    }

    /// A structured value as JSON text, borrowed.
    #[inline]
    pub fn push_json(&mut self, json: &'a str) {
        self.push_buffer(TITAN_JSON, json.as_bytes());
    }

    /// Number of arguments.
    #[inline]
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// No arguments.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// A result as the host reads it, borrowing the extension's buffer.
#[derive(Debug, PartialEq)]
pub enum ValueView<'a> {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(f64),
    /// A BigInt.
    BigInt(i64),
    /// A string (bytes the extension promised are UTF-8).
    String(&'a [u8]),
    /// Bytes.
    Bytes(&'a [u8]),
    /// JSON text.
    Json(&'a [u8]),
    /// A kind this host does not know (a newer extension).
    Unknown(u32),
}

/// A successful call's result; gives the buffer back to the extension on drop. Lives only
/// inside `WorkerSession::call`, which holds the library open around it.
struct ReturnedValue {
    value: titan_value,
    free: titan_free_value_fn,
}

impl ReturnedValue {
    // Per call, across the crate boundary: `#[inline]` alone left it a call (perf, bench:ext).
    #[inline(always)]
    fn view(&self) -> ValueView<'_> {
        let v = &self.value;
        // SAFETY: each arm reads the payload field its kind selects; buffers stay valid until
        // `free_value`, which runs when `self` drops.
        unsafe {
            match v.kind {
                TITAN_NULL => ValueView::Null,
                TITAN_BOOL => ValueView::Bool(v.payload.boolean),
                TITAN_F64 => ValueView::Number(v.payload.number),
                TITAN_I64 => ValueView::BigInt(v.payload.integer),
                TITAN_STRING => ValueView::String(buffer_bytes(v)),
                TITAN_BYTES => ValueView::Bytes(buffer_bytes(v)),
                TITAN_JSON => ValueView::Json(buffer_bytes(v)),
                other => ValueView::Unknown(other),
            }
        }
    }
}

impl Drop for ReturnedValue {
    fn drop(&mut self) {
        if matches!(self.value.kind, TITAN_STRING | TITAN_BYTES | TITAN_JSON) {
            // SAFETY: the extension's own value, given back once.
            unsafe { (self.free)(&mut self.value) };
        }
    }
}

/// # Safety
/// `value` is a buffer kind whose buffer is live.
#[inline]
pub(super) unsafe fn buffer_bytes(value: &titan_value) -> &[u8] {
    // SAFETY: see above.
    let buffer = unsafe { value.payload.buffer };
    if buffer.ptr.is_null() || buffer.len == 0 {
        &[]
    } else {
        // SAFETY: `len` initialized bytes at `ptr`, live until freed.
        unsafe { std::slice::from_raw_parts(buffer.ptr, buffer.len) }
    }
}

/// Copies an error message out of an extension-owned value and frees it.
///
/// # Safety
/// `value` is a value the extension produced, not yet freed.
unsafe fn take_message(value: &mut titan_value, free: titan_free_value_fn) -> String {
    let message = if value.kind == TITAN_STRING {
        // SAFETY: a string kind's buffer, live until freed below.
        String::from_utf8_lossy(unsafe { buffer_bytes(value) }).into_owned()
    } else {
        "failed without a message".to_owned()
    };
    if matches!(value.kind, TITAN_STRING | TITAN_BYTES | TITAN_JSON) {
        // SAFETY: given back once.
        unsafe { free(value) };
    }
    message
}

unsafe extern "C" fn host_log(host_data: *mut c_void, level: u32, msg: *const u8, len: usize) {
    // SAFETY: `host_data` is the HostContext this host created; `msg` has `len` bytes.
    let (context, text) = unsafe {
        let context = &*(host_data as *const HostContext);
        let bytes = if msg.is_null() || len == 0 { &[][..] } else { std::slice::from_raw_parts(msg, len) };
        (context, String::from_utf8_lossy(bytes))
    };
    crate::ext::log::write_line(level, &context.extension, &text);
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means another thread panicked while holding plain data; keep going.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

unsafe extern "C" fn host_register_transport(host_data: *mut c_void, transport: *const c_void) -> titan_status {
    // SAFETY: `host_data` is the HostContext this host created, alive until unload.
    let context = unsafe { &*(host_data as *const HostContext) };
    let mut registrations = lock(&context.transports);
    let outcome = match registrations.window {
        RegistrationWindow::Open => {
            // SAFETY: the extension passes its table, valid for this call (the ABI's rule).
            match unsafe { transport::TransportTable::read(transport, &context.extension, registrations.image.clone()) } {
                Ok(table) => crate::ext::transport::register(table),
                Err(reason) => Err(reason),
            }
        }
        RegistrationWindow::Reload => Err("a reloaded build cannot register a transport: restart the server to load a new build of a transport extension".into()),
        RegistrationWindow::Closed => Err("register_transport is only honoured during init".into()),
    };
    match outcome {
        Ok(registered) => {
            registrations.registered.push(registered);
            TITAN_OK
        }
        Err(reason) => {
            if registrations.window == RegistrationWindow::Closed {
                crate::ext::log::write_line(TITAN_LOG_ERROR, &context.extension, &reason);
            } else if registrations.refused.is_none() {
                registrations.refused = Some(reason);
            }
            TITAN_ERR
        }
    }
}
