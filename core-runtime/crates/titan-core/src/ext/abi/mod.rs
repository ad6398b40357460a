//! The host side of the extension ABI, and the only module of titan-core allowed `unsafe`:
//! `dlopen`, the versioned handshake, calls through function pointers, and giving results back
//! to the extension that allocated them. Everything outside this module is safe Rust over
//! `LoadedExtension`, `WorkerAttachment`, `CallArgs` and `CallOutput`.
//! The rules it enforces are written down in `core-runtime/docs/abi.md`.

use std::ffi::{CStr, c_char, c_void};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use libloading::Library;
use smallvec::SmallVec;
use titan_ext_sys::*;

use crate::ext::error::{CallError, ExtensionError};

pub mod classic;

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

/// Host-side data behind `titan_host.host_data`: which extension a log line comes from.
struct HostContext {
    extension: String,
}

/// A loaded, initialized extension. Shared by every worker; dropping the last reference calls
/// `unload` and then closes the library.
pub struct LoadedExtension {
    descriptor: *const titan_extension,
    state: *mut c_void,
    functions: Vec<FunctionInfo>,
    name: String,
    version: String,
    sdk_version: String,
    // Kept alive for the extension until unload; boxed so their addresses never move.
    _host: Box<titan_host>,
    _host_context: Box<HostContext>,
    // Declared last: dropped after `unload` ran (in Drop) and after everything above.
    library: Option<Library>,
}

// SAFETY: the ABI requires extension functions, `worker_init` and `free_value` to be callable
// from any thread, and the descriptor and state to stay valid until `unload`; the host never
// mutates them.
unsafe impl Send for LoadedExtension {}
// SAFETY: as above; shared access only reads the descriptor and calls thread-safe functions.
unsafe impl Sync for LoadedExtension {}

impl std::fmt::Debug for LoadedExtension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedExtension").field("name", &self.name).field("version", &self.version).finish_non_exhaustive()
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

impl LoadedExtension {
    /// `dlopen`s a native extension, checks its ABI, and initializes it with `config_json`
    /// (the `config` object of the app's `titan.config.json`, as JSON text).
    pub fn open(path: &Path, config_json: &str) -> Result<Arc<Self>, ExtensionError> {
        // SAFETY: loading a library runs its initializers; a Titan extension is code the app
        // chose to load (listed in its config), which is the trust model of any native plugin.
        let library = unsafe { Library::new(path) }
            .map_err(|err| ExtensionError::Open { path: path.to_owned(), reason: err.to_string() })?;
        // SAFETY: the symbol, if present, has the entry point's signature (the ABI's one rule
        // that cannot be checked before calling it).
        let entry: titan_entry_fn = match unsafe { library.get::<titan_entry_fn>(TITAN_ENTRY_SYMBOL) } {
            Ok(symbol) => *symbol,
            Err(_) => return Err(ExtensionError::NotAnExtension { path: path.to_owned() }),
        };
        // SAFETY: calling the entry point is the handshake's first step; it only returns a pointer.
        let descriptor = unsafe { entry(TITAN_ABI_VERSION) };
        Self::from_descriptor(descriptor, Some(library), path.to_owned(), config_json)
    }

    /// Reads a library's descriptor (name, versions, functions and their signatures) after the
    /// same ABI checks, without running `init`: for tooling such as type generation.
    pub fn inspect(path: &Path) -> Result<ExtensionDescription, ExtensionError> {
        // SAFETY: as in `open`.
        let library = unsafe { Library::new(path) }.map_err(|err| ExtensionError::Open { path: path.to_owned(), reason: err.to_string() })?;
        // SAFETY: as in `open`.
        let entry: titan_entry_fn = match unsafe { library.get::<titan_entry_fn>(TITAN_ENTRY_SYMBOL) } {
            Ok(symbol) => *symbol,
            Err(_) => return Err(ExtensionError::NotAnExtension { path: path.to_owned() }),
        };
        // SAFETY: as in `open`.
        let descriptor = unsafe { entry(TITAN_ABI_VERSION) };
        let (d, name, version, sdk_version, functions) = Self::read_descriptor(descriptor, path)?;
        let _ = d;
        Ok(ExtensionDescription { name, version, sdk_version, functions: functions.into_iter().map(|f| (f.name, f.arity, f.signature)).collect() })
    }

    /// Initializes an extension linked into the runtime (Titan's built-in engines, declared with
    /// `static_entry`): the same descriptor and checks, without a library to open.
    pub fn from_static(descriptor: fn() -> *const titan_extension, label: &str, config_json: &str) -> Result<Arc<Self>, ExtensionError> {
        Self::from_descriptor(descriptor(), None, PathBuf::from(label), config_json)
    }

    fn from_descriptor(descriptor: *const titan_extension, library: Option<Library>, origin: PathBuf, config_json: &str) -> Result<Arc<Self>, ExtensionError> {
        let (d, name, version, sdk_version, functions) = Self::read_descriptor(descriptor, &origin)?;
        Self::initialize(descriptor, d, name, version, sdk_version, functions, library, config_json)
    }

    /// The handshake: checks the header and reads a v1 descriptor.
    #[allow(clippy::type_complexity)]
    fn read_descriptor(descriptor: *const titan_extension, origin: &Path) -> Result<(&'static titan_extension, String, Option<String>, String, Vec<FunctionInfo>), ExtensionError> {
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
        Ok((d, name, version, sdk_version, functions))
    }

    #[allow(clippy::too_many_arguments)]
    fn initialize(
        descriptor: *const titan_extension,
        d: &'static titan_extension,
        name: String,
        version: Option<String>,
        sdk_version: String,
        functions: Vec<FunctionInfo>,
        library: Option<Library>,
        config_json: &str,
    ) -> Result<Arc<Self>, ExtensionError> {
        let host_context = Box::new(HostContext { extension: name.clone() });
        let host = Box::new(titan_host {
            abi_version: TITAN_ABI_VERSION,
            struct_size: std::mem::size_of::<titan_host>() as u32,
            host_data: (&*host_context as *const HostContext).cast_mut().cast(),
            log: host_log,
            register_transport: host_register_transport,
        });
        let mut state: *mut c_void = std::ptr::null_mut();
        if let Some(init) = d.init {
            let mut error = titan_value::NULL;
            // SAFETY: the ABI's init contract: valid host table, config bytes, writable slots.
            let status = unsafe { init(&*host, config_json.as_ptr(), config_json.len(), &mut state, &mut error) };
            if status != TITAN_OK {
                // SAFETY: on failure `error` is a string value the extension owns.
                let message = unsafe { take_message(&mut error, d.free_value) };
                return Err(ExtensionError::Init { name, message });
            }
        }
        Ok(Arc::new(Self {
            descriptor,
            state,
            functions,
            name,
            version: version.unwrap_or_default(),
            sdk_version,
            _host: host,
            _host_context: host_context,
            library,
        }))
    }

    /// The extension's name (its crate name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The extension's version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The titan-ext version that built it.
    pub fn sdk_version(&self) -> &str {
        &self.sdk_version
    }

    /// Its functions, in descriptor order (the index `call` takes).
    pub fn functions(&self) -> &[FunctionInfo] {
        &self.functions
    }

    fn descriptor(&self) -> &titan_extension {
        // SAFETY: checked in `from_entry`; valid until the library closes, after `self` drops.
        unsafe { &*self.descriptor }
    }

    /// Runs `worker_init` for the worker on the current thread. Keep the attachment on that
    /// thread: its drop runs `worker_drop` there.
    pub fn attach_worker(self: &Arc<Self>, worker_id: u32) -> Result<WorkerAttachment, ExtensionError> {
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
        Ok(WorkerAttachment { extension: self.clone(), worker_id, worker_state, _not_send: PhantomData })
    }
}

impl Drop for LoadedExtension {
    fn drop(&mut self) {
        if let Some(unload) = self.descriptor().unload {
            // SAFETY: the last reference is gone: no call is running and none will start.
            unsafe { unload(self.state) };
        }
        // `library` drops after this, closing it.
        drop(self.library.take());
    }
}

/// An extension as one worker uses it: its per-worker state lives here.
pub struct WorkerAttachment {
    extension: Arc<LoadedExtension>,
    worker_id: u32,
    worker_state: *mut c_void,
    // Per-worker state belongs to one thread.
    _not_send: PhantomData<*mut ()>,
}

impl WorkerAttachment {
    /// The extension.
    pub fn extension(&self) -> &Arc<LoadedExtension> {
        &self.extension
    }

    /// Calls function `index` with `args`; missing arguments are passed as null. The output
    /// borrows the extension's buffer and gives it back on drop.
    pub fn call(&self, index: usize, args: &CallArgs<'_>) -> Result<CallOutput<'_>, CallError> {
        let extension = &*self.extension;
        let function = extension.functions.get(index).ok_or_else(|| CallError {
            extension: extension.name.clone(),
            function: format!("#{index}"),
            message: "no such function".into(),
        })?;
        let arity = function.arity as usize;
        if args.values.len() > arity {
            return Err(CallError {
                extension: extension.name.clone(),
                function: function.name.clone(),
                message: format!("takes {arity} argument(s), got {}", args.values.len()),
            });
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
            extension_state: extension.state,
            worker_state: self.worker_state,
        };
        let mut result = titan_value::NULL;
        // SAFETY: the ABI's call contract: a valid call, `values.len()` borrowed arguments that
        // outlive the call (CallArgs' lifetime), a writable result slot.
        let status = unsafe { (function.call)(&call, values.as_ptr(), values.len(), &mut result) };
        let free = extension.descriptor().free_value;
        if status == TITAN_OK {
            Ok(CallOutput { value: result, free, _borrow: PhantomData })
        } else {
            // SAFETY: on failure the result is a string value the extension owns.
            let message = unsafe { take_message(&mut result, free) };
            Err(CallError { extension: extension.name.clone(), function: function.name.clone(), message })
        }
    }
}

impl Drop for WorkerAttachment {
    fn drop(&mut self) {
        if let Some(worker_drop) = self.extension.descriptor().worker_drop {
            // SAFETY: on the worker's thread (the attachment is !Send), once.
            unsafe { worker_drop(self.extension.state, self.worker_id, self.worker_state) };
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
    pub fn with_capacity(n: usize) -> Self {
        Self { values: SmallVec::with_capacity(n), _borrows: PhantomData }
    }

    /// Removes every argument, keeping the allocation.
    pub fn clear(&mut self) {
        self.values.clear();
    }

    /// `null` / `undefined`.
    pub fn push_null(&mut self) {
        self.values.push(titan_value::NULL);
    }

    /// A boolean.
    pub fn push_bool(&mut self, value: bool) {
        self.values.push(titan_value { kind: TITAN_BOOL, reserved: 0, payload: titan_payload { boolean: value } });
    }

    /// A number.
    pub fn push_f64(&mut self, value: f64) {
        self.values.push(titan_value { kind: TITAN_F64, reserved: 0, payload: titan_payload { number: value } });
    }

    /// A BigInt.
    pub fn push_i64(&mut self, value: i64) {
        self.values.push(titan_value { kind: TITAN_I64, reserved: 0, payload: titan_payload { integer: value } });
    }

    fn push_buffer(&mut self, kind: u32, bytes: &'a [u8]) {
        let buffer = titan_buffer { ptr: bytes.as_ptr(), len: bytes.len() };
        self.values.push(titan_value { kind, reserved: 0, payload: titan_payload { buffer } });
    }

    /// A string, borrowed.
    pub fn push_str(&mut self, value: &'a str) {
        self.push_buffer(TITAN_STRING, value.as_bytes());
    }

    /// Bytes, borrowed.
    pub fn push_bytes(&mut self, value: &'a [u8]) {
        self.push_buffer(TITAN_BYTES, value);
    }

    /// A structured value as JSON text, borrowed.
    pub fn push_json(&mut self, json: &'a str) {
        self.push_buffer(TITAN_JSON, json.as_bytes());
    }

    /// Number of arguments.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// No arguments.
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

/// A successful call's result; gives the buffer back to the extension on drop.
pub struct CallOutput<'a> {
    value: titan_value,
    free: titan_free_value_fn,
    _borrow: PhantomData<&'a WorkerAttachment>,
}

impl CallOutput<'_> {
    /// The value.
    pub fn view(&self) -> ValueView<'_> {
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

impl Drop for CallOutput<'_> {
    fn drop(&mut self) {
        if matches!(self.value.kind, TITAN_STRING | TITAN_BYTES | TITAN_JSON) {
            // SAFETY: the extension's own value, given back once.
            unsafe { (self.free)(&mut self.value) };
        }
    }
}

/// # Safety
/// `value` is a buffer kind whose buffer is live.
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

unsafe extern "C" fn host_register_transport(_host_data: *mut c_void, _transport: *const c_void) -> titan_status {
    // Reserved in ABI 1 for the Netron transports.
    TITAN_ERR
}
