//! Write Titan native extensions in ordinary Rust.
//!
//! ```ignore
//! use titan_ext::{Context, function};
//!
//! /// `t.mymath.add(2, 3)` → `5`
//! #[function]
//! fn add(a: f64, b: f64) -> f64 {
//!     a + b
//! }
//!
//! /// Errors become JS exceptions naming the extension and function.
//! #[function]
//! fn parse_port(text: &str) -> Result<u16, std::num::ParseIntError> {
//!     text.parse()
//! }
//!
//! /// Any serde type crosses as a JS object or array.
//! #[function]
//! fn describe(cx: &Context, user: User) -> Summary { /* cx.state::<Store>(), cx.worker_state::<Conn>() */ }
//!
//! titan_ext::extension! {
//!     functions: [add, parse_port, describe],
//!     init: Store::from_config,      // optional: fn(serde_json::Value) -> Result<Store, E>
//!     worker_init: Conn::open,       // optional: fn(Option<&Store>, u32) -> Result<Conn, E>
//! }
//! ```
//!
//! Build the crate as a `cdylib`. What crosses how:
//!
//! | Rust | JS | how |
//! |---|---|---|
//! | `()` | `null` | |
//! | `bool` | boolean | as is |
//! | `f64`, `f32`, `i8`–`i32`, `u8`–`u32` | number | as is (integers checked to be integral and in range) |
//! | `i64`, `u64` | BigInt (a safe-integer number is accepted too) | as is |
//! | `&str`, `String` | string | UTF-8, borrowed for `&str` (no copy) |
//! | `&[u8]`, `Vec<u8>` | Uint8Array | borrowed for `&[u8]` (no copy) |
//! | `Option<T>` | `T` or `null` | |
//! | any serde type | object / array / value | JSON text |
//! | `usize`, `i128`, ... (other serde scalars) | number | through serde (an integral number arrives as an integer) |
//! | `Result<T, E: Display>` | `T`, or an exception | |
//!
//! A panic in a function becomes an exception for that call; the worker keeps serving.
//! Functions run on several worker threads at once: shared state must be `Send + Sync`;
//! per-worker state (`worker_init`) is only ever touched by its own worker.
//! Files belong under the app's data directory, `data_dir()`.
//!
//! An extension can also give Netron a transport (how RPC bytes travel: `tls://`, say):
//! implement `transport::Transport` and `transport::Session` and call `transport::register`
//! from `init` (see the `transport` module).
//!
//! Hot reload: when the extension is rebuilt, the runtime loads the new build next to the running
//! one and runs its `init` again with the same config; workers move to it one by one, then the
//! old build's state is dropped (its `unload`). Nothing carries over between builds: persist what
//! matters, and open files and databases so that two builds can have them open for a moment
//! (`core-runtime/docs/abi.md`, "Hot reload").
//!
//! The ABI underneath is `titan-ext-sys`, explained in `core-runtime/docs/abi.md`.

// This crate is the extension's side of the FFI boundary: raw pointers from the host are turned
// into safe values here and nowhere else. Every unsafe block carries a SAFETY comment.
#![allow(unsafe_code)]

mod context;
pub mod log;
#[doc(hidden)]
pub mod private;
pub mod transport;
mod value;

pub use context::Context;
pub use titan_ext_macros::function;
pub use value::{ArgError, FromValue, IntoValue};

/// The ABI version extensions built with this crate speak.
pub const ABI_VERSION: u32 = titan_ext_sys::TITAN_ABI_VERSION;

/// The app's data directory, where an extension keeps its files (`data_dir()?.join("my.db")`):
/// the directory the runtime resolves the app's data paths from (the default `t.db` file is
/// `.titan/app.db` under it). `None` before `init`, and with a runtime too old to pass one (its
/// host table ends before `data_dir`; see `core-runtime/docs/abi.md`).
///
/// Read it in `init` and keep what you need in the state: inside `init` it is exactly the
/// directory that `init` was given; later it is the one the latest `init` of this library was
/// given, which is the same unless one process loads the library for two apps.
///
/// On hot reload the new build's `init` sees the same directory while the old build may still
/// have its files open until its `unload`: open them in a mode two openers can share (SQLite's
/// WAL, append-only logs), and persist and close in the state's `Drop`.
pub fn data_dir() -> Option<std::path::PathBuf> {
    private::data_dir()
}

/// Declares the extension: its functions and optional lifecycle, and exports the one entry
/// symbol (`titan_extension_entry`). The extension is named after its crate unless
/// `name: "..."` comes first (errors read `<name>.<function>: ...`). With `static_entry: name`, no symbol is exported and
/// `pub fn name() -> *const titan_extension` is generated instead, for extensions linked into
/// the runtime itself (Titan's built-in engines).
#[macro_export]
macro_rules! extension {
    (
        $(name: $name:literal,)?
        functions: [$($($function:ident)::+),* $(,)?]
        $(, init: $init:expr)?
        $(, worker_init: $worker_init:expr)?
        $(, static_entry: $static_entry:ident)?
        $(,)?
    ) => {
        // The statics live inside the entry function's body: an item in a `const _` block could
        // not be named from outside, and `static_entry` must be.
        $crate::extension!(@entry [$($static_entry)?] {
            // Each function path is taken apart into identifiers: a `path` fragment cannot be
            // extended with `::DEF`. The slice type makes an empty list countable too.
            static __TITAN_FUNCTIONS: $crate::private::Static<[$crate::private::sys::titan_function_def; <[&str]>::len(&[$(stringify!($($function)::+)),*])]> =
                $crate::private::Static([$($($function)::+::DEF),*]);

            $crate::extension!(@init $($init)?);
            $crate::extension!(@worker_init $($worker_init)?);

            static __TITAN_DESCRIPTOR: $crate::private::Static<$crate::private::sys::titan_extension> =
                $crate::private::Static($crate::private::descriptor(
                    $crate::extension!(@name $($name)?),
                    match ::std::ffi::CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) { Ok(c) => c, Err(_) => panic!() },
                    &__TITAN_FUNCTIONS.0,
                    __TITAN_INIT,
                    __TITAN_WORKER_INIT,
                ));

            &__TITAN_DESCRIPTOR
        });
    };

    (@name) => {
        match ::std::ffi::CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_NAME"), "\0").as_bytes()) { Ok(c) => c, Err(_) => panic!() }
    };
    (@name $name:literal) => {
        match ::std::ffi::CStr::from_bytes_with_nul(concat!($name, "\0").as_bytes()) { Ok(c) => c, Err(_) => panic!() }
    };

    (@init) => {
        const __TITAN_INIT: Option<$crate::private::sys::titan_init_fn> = Some($crate::private::init_stateless);
    };
    (@init $init:expr) => {
        unsafe extern "C" fn __titan_init(
            host: *const $crate::private::sys::titan_host,
            config: *const u8,
            config_len: usize,
            state: *mut *mut ::std::ffi::c_void,
            error: *mut $crate::private::sys::titan_value,
        ) -> $crate::private::sys::titan_status {
            // SAFETY: the host calls this as the ABI states.
            unsafe { $crate::private::init_with(host, config, config_len, state, error, $init) }
        }
        const __TITAN_INIT: Option<$crate::private::sys::titan_init_fn> = Some(__titan_init);
    };

    (@worker_init) => {
        const __TITAN_WORKER_INIT: Option<$crate::private::sys::titan_worker_init_fn> = None;
    };
    (@worker_init $worker_init:expr) => {
        unsafe extern "C" fn __titan_worker_init(
            state: *mut ::std::ffi::c_void,
            worker_id: u32,
            worker_state: *mut *mut ::std::ffi::c_void,
            error: *mut $crate::private::sys::titan_value,
        ) -> $crate::private::sys::titan_status {
            // SAFETY: the host calls this as the ABI states.
            unsafe { $crate::private::worker_init_with(state, worker_id, worker_state, error, $worker_init) }
        }
        const __TITAN_WORKER_INIT: Option<$crate::private::sys::titan_worker_init_fn> = Some(__titan_worker_init);
    };

    (@entry [] $descriptor:block) => {
        /// The extension's entry point (see titan-ext-sys).
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn titan_extension_entry(host_abi_version: u32) -> *const $crate::private::sys::titan_extension {
            $crate::private::entry(host_abi_version, $descriptor)
        }
    };
    (@entry [$static_entry:ident] $descriptor:block) => {
        /// The extension's descriptor, for static registration in the runtime.
        #[allow(unsafe_code)]
        pub fn $static_entry() -> *const $crate::private::sys::titan_extension {
            $crate::private::entry($crate::ABI_VERSION, $descriptor)
        }
    };
}
