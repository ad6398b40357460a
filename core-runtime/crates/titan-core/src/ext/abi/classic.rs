//! Titan Planet's classic extensions: plain C functions described by `titan.json`
//! (`native.functions`: symbol, parameter types, result type), called through libffi so every
//! arity and every mix of types works (Titan Planet itself dispatches only a few).
//!
//! The C view of each type: `string` and `json` → `const char*` (UTF-8, NUL-terminated), `f64`
//! → `double`, `bool` → `bool`, `buffer` → two parameters `const uint8_t*, size_t`. A `string`
//! or `json` result is a `char*` the host copies and then hands to `native.free` when the
//! manifest names one. Two deliberate differences from Titan Planet: it passes `buffer` as a Rust
//! `Vec<u8>` by value, which has no stable C layout; and it never frees returned strings.

use std::ffi::{CStr, CString, c_char, c_void};
use std::path::Path;
use std::sync::Arc;

use libffi::middle::{Arg, Cif, CodePtr, Type};
use libloading::Library;

use super::{CallArgs, ValueView};
use crate::ext::error::{CallError, ExtensionError};
use crate::ext::manifest::{ClassicFunction, ClassicType};
use titan_ext_sys::*;

struct Binding {
    name: String,
    function: CodePtr,
    cif: Cif,
    parameters: Vec<ClassicType>,
    result: ClassicType,
}

/// A loaded classic extension. Its functions are plain C: callable from any worker.
pub struct ClassicExtension {
    name: String,
    bindings: Vec<Binding>,
    free: Option<unsafe extern "C" fn(*mut c_char)>,
    // Last: closed after everything that points into it.
    _library: Library,
}

// SAFETY: classic functions are stateless C calls the manifest declares; the host shares only
// immutable call descriptions (Cif, code pointers) between threads, as Titan Planet does.
unsafe impl Send for ClassicExtension {}
// SAFETY: as above.
unsafe impl Sync for ClassicExtension {}

/// A classic call's result, copied out of the extension.
pub enum ClassicOutput {
    /// `void`.
    Null,
    /// `bool`.
    Bool(bool),
    /// `f64`.
    Number(f64),
    /// `string`.
    String(Vec<u8>),
    /// `json`.
    Json(Vec<u8>),
}

impl ClassicOutput {
    /// As the napi layer converts results.
    pub fn view(&self) -> ValueView<'_> {
        match self {
            Self::Null => ValueView::Null,
            Self::Bool(b) => ValueView::Bool(*b),
            Self::Number(n) => ValueView::Number(*n),
            Self::String(bytes) => ValueView::String(bytes),
            Self::Json(bytes) if bytes.is_empty() => ValueView::Null,
            Self::Json(bytes) => ValueView::Json(bytes),
        }
    }
}

fn ffi_types(parameters: &[ClassicType]) -> Vec<Type> {
    parameters
        .iter()
        .flat_map(|p| match p {
            ClassicType::String | ClassicType::Json => vec![Type::pointer()],
            ClassicType::F64 => vec![Type::f64()],
            ClassicType::Bool => vec![Type::u8()],
            ClassicType::Buffer => vec![Type::pointer(), Type::usize()],
            ClassicType::Void => vec![],
        })
        .collect()
}

impl ClassicExtension {
    /// Opens the library and resolves every declared symbol (a missing one is refused now, not
    /// at the first call).
    pub fn open(path: &Path, name: &str, functions: &[(String, ClassicFunction)], free_symbol: Option<&str>) -> Result<Arc<Self>, ExtensionError> {
        // SAFETY: loading the library the app registered (see LoadedExtension::open).
        let library = unsafe { Library::new(path) }.map_err(|e| ExtensionError::Open { path: path.to_owned(), reason: e.to_string() })?;
        let mut bindings = Vec::with_capacity(functions.len());
        for (js_name, function) in functions {
            let symbol = CString::new(function.symbol.as_str()).map_err(|_| ExtensionError::Malformed { name: name.into(), reason: format!("symbol of `{js_name}` contains NUL") })?;
            // SAFETY: only the address is taken here; the manifest declares its signature.
            let address = unsafe { library.get::<*mut c_void>(symbol.as_bytes_with_nul()) }
                .map_err(|_| ExtensionError::Malformed { name: name.into(), reason: format!("`{js_name}` names the symbol `{}`, which {} does not export", function.symbol, path.display()) })?;
            let result = match function.result {
                ClassicType::String | ClassicType::Json => Type::pointer(),
                ClassicType::F64 => Type::f64(),
                ClassicType::Bool => Type::u8(),
                ClassicType::Void | ClassicType::Buffer => Type::void(),
            };
            bindings.push(Binding {
                name: js_name.clone(),
                function: CodePtr(*address),
                cif: Cif::new(ffi_types(&function.parameters), result),
                parameters: function.parameters.clone(),
                result: function.result,
            });
        }
        let free = match free_symbol {
            None => None,
            Some(symbol) => {
                let c = CString::new(symbol).unwrap_or_default();
                // SAFETY: `native.free` is declared as `void free(char*)`.
                let f = unsafe { library.get::<unsafe extern "C" fn(*mut c_char)>(c.as_bytes_with_nul()) }
                    .map_err(|_| ExtensionError::Malformed { name: name.into(), reason: format!("`native.free` names `{symbol}`, which the library does not export") })?;
                Some(*f)
            }
        };
        Ok(Arc::new(Self { name: name.into(), bindings, free, _library: library }))
    }

    /// Extension name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `(name, number of JS parameters)` per function, in call-index order.
    pub fn functions(&self) -> impl Iterator<Item = (&str, u32)> {
        self.bindings.iter().map(|b| (b.name.as_str(), b.parameters.len() as u32))
    }

    /// Calls function `index`; each argument is converted to its declared C type.
    pub fn call(&self, index: usize, args: &CallArgs<'_>) -> Result<ClassicOutput, CallError> {
        let binding = self.bindings.get(index).ok_or_else(|| CallError::failed(&self.name, &format!("#{index}"), "no such function"))?;
        let error = |message: String| CallError::failed(&self.name, &binding.name, message);
        // Storage the libffi arguments point into; sized up front so nothing moves.
        let mut strings: Vec<CString> = Vec::with_capacity(binding.parameters.len());
        let mut string_ptrs: Vec<*const c_char> = Vec::with_capacity(binding.parameters.len());
        let mut numbers: Vec<f64> = Vec::with_capacity(binding.parameters.len());
        let mut flags: Vec<u8> = Vec::with_capacity(binding.parameters.len());
        let mut buffers: Vec<(*const u8, usize)> = Vec::with_capacity(binding.parameters.len());
        enum Slot {
            Str(usize),
            Num(usize),
            Flag(usize),
            Buf(usize),
        }
        let mut slots = Vec::with_capacity(binding.parameters.len());
        for (position, ty) in binding.parameters.iter().enumerate() {
            let value = args.values.get(position).copied().unwrap_or(titan_value::NULL);
            let bad = |expected: &str| error(format!("argument {} must be {expected}", position + 1));
            // SAFETY: each arm reads the payload its kind selects; buffers are borrowed for the call.
            unsafe {
                match ty {
                    ClassicType::String | ClassicType::Json => {
                        let text: Vec<u8> = match (ty, value.kind) {
                            (ClassicType::String, TITAN_STRING) => bytes_of(&value).to_vec(),
                            (ClassicType::Json, TITAN_JSON | TITAN_STRING) if value.kind == TITAN_JSON => bytes_of(&value).to_vec(),
                            (ClassicType::Json, _) => json_text(&value).ok_or_else(|| bad("JSON-serializable"))?.into_bytes(),
                            _ => return Err(bad("a string")),
                        };
                        strings.push(CString::new(text).map_err(|_| bad("free of NUL characters"))?);
                        slots.push(Slot::Str(strings.len() - 1));
                    }
                    ClassicType::F64 if value.kind == TITAN_F64 => {
                        numbers.push(value.payload.number);
                        slots.push(Slot::Num(numbers.len() - 1));
                    }
                    ClassicType::F64 => return Err(bad("a number")),
                    ClassicType::Bool if value.kind == TITAN_BOOL => {
                        flags.push(u8::from(value.payload.boolean));
                        slots.push(Slot::Flag(flags.len() - 1));
                    }
                    ClassicType::Bool => return Err(bad("a boolean")),
                    ClassicType::Buffer if value.kind == TITAN_BYTES => {
                        let bytes = bytes_of(&value);
                        buffers.push((bytes.as_ptr(), bytes.len()));
                        slots.push(Slot::Buf(buffers.len() - 1));
                    }
                    ClassicType::Buffer => return Err(bad("a Uint8Array")),
                    ClassicType::Void => {}
                }
            }
        }
        string_ptrs.extend(strings.iter().map(|s| s.as_ptr()));
        let mut ffi_args: Vec<Arg> = Vec::with_capacity(slots.len() + buffers.len());
        for slot in &slots {
            match *slot {
                Slot::Str(i) => ffi_args.push(Arg::new(&string_ptrs[i])),
                Slot::Num(i) => ffi_args.push(Arg::new(&numbers[i])),
                Slot::Flag(i) => ffi_args.push(Arg::new(&flags[i])),
                Slot::Buf(i) => {
                    ffi_args.push(Arg::new(&buffers[i].0));
                    ffi_args.push(Arg::new(&buffers[i].1));
                }
            }
        }
        // SAFETY: the Cif was built from the manifest's declaration of this symbol, and every
        // argument points at storage that outlives the call.
        unsafe {
            Ok(match binding.result {
                ClassicType::Void | ClassicType::Buffer => {
                    binding.cif.call::<()>(binding.function, &ffi_args);
                    ClassicOutput::Null
                }
                ClassicType::F64 => ClassicOutput::Number(binding.cif.call::<f64>(binding.function, &ffi_args)),
                ClassicType::Bool => ClassicOutput::Bool(binding.cif.call::<u8>(binding.function, &ffi_args) != 0),
                ClassicType::String | ClassicType::Json => {
                    let returned = binding.cif.call::<*mut c_char>(binding.function, &ffi_args);
                    let bytes = if returned.is_null() { Vec::new() } else { CStr::from_ptr(returned).to_bytes().to_vec() };
                    if let (Some(free), false) = (self.free, returned.is_null()) {
                        free(returned);
                    }
                    if binding.result == ClassicType::Json { ClassicOutput::Json(bytes) } else { ClassicOutput::String(bytes) }
                }
            })
        }
    }
}

/// # Safety
/// `value` is a buffer kind whose buffer is live.
unsafe fn bytes_of(value: &titan_value) -> &[u8] {
    // SAFETY: see above.
    unsafe { super::buffer_bytes(value) }
}

/// JSON text for a scalar argument passed where the manifest says `json`.
///
/// # Safety
/// `value`'s payload matches its kind.
unsafe fn json_text(value: &titan_value) -> Option<String> {
    // SAFETY: each arm reads the payload its kind selects.
    unsafe {
        Some(match value.kind {
            TITAN_NULL => "null".into(),
            TITAN_BOOL => value.payload.boolean.to_string(),
            TITAN_F64 => serde_json::to_string(&value.payload.number).ok()?,
            TITAN_I64 => value.payload.integer.to_string(),
            _ => return None,
        })
    }
}
