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
    /// Built with a titan-ext whose version this runtime does not speak (same ABI, but the
    /// safe API's contract changed: while 0.x a minor version, from 1.0 a major one).
    #[error("{}", crate::ext::version::sdk_mismatch_message(name, sdk_version, host_sdk_version))]
    SdkMismatch {
        /// Extension name.
        name: String,
        /// The titan-ext version that built it.
        sdk_version: String,
        /// The titan-ext version this runtime was built with.
        host_sdk_version: String,
    },
    /// A reload found another extension at the library path.
    #[error("{path} is the extension `{found}`, not `{expected}`: a reload keeps the extension's name. Point the reload at a build of `{expected}`, or load `{found}` as an extension of its own")]
    NameChanged {
        /// The new library.
        path: PathBuf,
        /// The name of the extension being reloaded.
        expected: String,
        /// The name the new library declares.
        found: String,
    },
    /// Only extensions loaded from a library file can be reloaded.
    #[error("extension `{name}` cannot be reloaded in place: {reason}")]
    NotReloadable {
        /// Extension name.
        name: String,
        /// Why (a built-in engine, a classic extension, ...).
        reason: String,
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
    /// A transport its `init` registered was refused (a built-in or taken scheme, a malformed
    /// definition, a reload): the extension is not loaded.
    #[error("extension `{name}` could not register its transport: {reason}")]
    TransportRefused {
        /// Extension name.
        name: String,
        /// The registry's (or the host's) reason.
        reason: String,
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

/// An extension function could not be called or failed. Becomes a JS exception.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Its `Err`, a panic, or bad arguments.
    #[error("{extension}.{function}: {message}")]
    Failed {
        /// Extension name.
        extension: String,
        /// Function name.
        function: String,
        /// What went wrong.
        message: String,
    },
    /// A function bound before a reload that the new build no longer exports.
    #[error("{extension}.{function} no longer exists after reload: the build of `{extension}` now loaded ({version}) does not export `{function}`. Restore it in the extension, or stop calling it (objects bound after the reload no longer have it)")]
    Removed {
        /// Extension name.
        extension: String,
        /// Function name.
        function: String,
        /// The version the new build declares.
        version: String,
    },
}

impl CallError {
    /// A failed call of `extension.function`.
    pub fn failed(extension: &str, function: &str, message: impl Into<String>) -> Self {
        Self::Failed { extension: extension.to_owned(), function: function.to_owned(), message: message.into() }
    }
}
