//! The native extension host: manifests (`manifest`), loading and calling extensions through
//! the ABI (`abi`, the only module of titan-core allowed `unsafe`), and their errors.

#[allow(unsafe_code)]
mod abi;
mod error;
mod log;
pub mod manifest;

pub use abi::classic::{ClassicExtension, ClassicOutput};
pub use abi::{CallArgs, CallOutput, ExtensionDescription, FunctionInfo, LoadedExtension, ValueView, WorkerAttachment};
pub use error::{CallError, ExtensionError};
pub use manifest::{ClassicFunction, ClassicType, ExtensionManifest, ManifestError};
