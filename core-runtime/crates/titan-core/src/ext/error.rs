//! What can go wrong loading or calling an extension; every message says what to do next.

use std::path::PathBuf;

/// Why an extension could not be loaded or initialized.
#[derive(Debug, thiserror::Error)]
pub enum ExtensionError {
    /// The library could not be opened (missing, not a shared library, missing symbols...).
    #[error("could not load the extension library {path}: {reason}. Build the extension first (`cargo build` in its directory, or `titan build ext`)")]
    Open {
        /// The library.
        path: PathBuf,
        /// The loader's message.
        reason: String,
    },
    /// The library has no entry point.
    #[error("{path} is not a Titan extension: it exports no `titan_extension_entry`. Declare the extension with `titan_ext::extension! {{ ... }}` and build it as a cdylib")]
    NotAnExtension {
        /// The library.
        path: PathBuf,
    },
    /// The entry point returned null.
    #[error("{path} refused this runtime (ABI {host_abi}): rebuild it against this Titan's titan-ext crate (`cargo update -p titan-ext && titan build ext`)")]
    Refused {
        /// The library.
        path: PathBuf,
        /// The host's ABI.
        host_abi: u32,
    },
    /// Built for another ABI version.
    #[error("{}", abi_mismatch_message(name, *extension_abi, sdk_version, *host_abi))]
    AbiMismatch {
        /// Extension name.
        name: String,
        /// The ABI it was built for.
        extension_abi: u32,
        /// The titan-ext version that built it.
        sdk_version: String,
        /// This runtime's ABI.
        host_abi: u32,
    },
    /// The descriptor breaks the ABI's rules.
    #[error("extension `{name}` has a malformed descriptor: {reason}. Rebuild it with the titan-ext crate")]
    Malformed {
        /// Extension name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// `init` failed.
    #[error("extension `{name}` failed to start: {message}. Check its `config` in titan.config.json")]
    Init {
        /// Extension name.
        name: String,
        /// The extension's message.
        message: String,
    },
    /// `worker_init` failed.
    #[error("extension `{name}` failed to start on worker {worker_id}: {message}")]
    WorkerInit {
        /// Extension name.
        name: String,
        /// The worker.
        worker_id: u32,
        /// The extension's message.
        message: String,
    },
}

fn abi_mismatch_message(name: &str, extension_abi: u32, sdk_version: &str, host_abi: u32) -> String {
    if extension_abi > host_abi {
        format!(
            "extension `{name}` was built with titan-ext {sdk_version} for extension ABI {extension_abi}, but this Titan runtime speaks ABI {host_abi}: \
             upgrade the runtime (in the Titan repository: `git pull && npm install`), or build the extension against the titan-ext crate of this runtime"
        )
    } else {
        format!(
            "extension `{name}` was built with titan-ext {sdk_version} for extension ABI {extension_abi}, but this Titan runtime speaks ABI {host_abi}: \
             rebuild the extension against this runtime's titan-ext (`cargo update -p titan-ext && titan build ext` in the extension's directory)"
        )
    }
}

/// An extension function failed: its `Err`, a panic, or bad arguments. Becomes a JS exception.
#[derive(Debug, thiserror::Error)]
#[error("{extension}.{function}: {message}")]
pub struct CallError {
    /// Extension name.
    pub extension: String,
    /// Function name.
    pub function: String,
    /// What went wrong.
    pub message: String,
}
