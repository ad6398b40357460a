//! The native extension host: manifests (`manifest`), loading and calling extensions through
//! the ABI (`abi`, the only module of titan-core allowed `unsafe`), swapping an extension's build
//! under running workers (`reload`, loading new builds from `private_copy`s), the SDK version
//! check (`version`), the Netron transports extensions register (`transport`), and their errors.

#[allow(unsafe_code)]
mod abi;
mod error;
mod log;
pub mod manifest;
mod private_copy;
mod reload;
mod transport;
mod version;

pub use abi::classic::{ClassicExtension, ClassicOutput};
pub use abi::{CallArgs, ExtensionDescription, FunctionInfo, InitOptions, ValueView};
pub use error::{CallError, ExtensionError};
pub use manifest::{ClassicFunction, ClassicType, ExtensionManifest, ManifestError};
pub use reload::{CallTarget, FunctionSlot, LoadedExtension, WorkerAttachment};
pub use transport::transport_registry;
pub use version::HOST_SDK_VERSION;
