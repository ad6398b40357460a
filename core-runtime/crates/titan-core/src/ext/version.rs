//! The SDK half of the load-time handshake: an extension's descriptor names the titan-ext
//! version that built it, and the runtime refuses one whose safe API it does not speak. The ABI
//! version says whether the structs line up; this says whether the contract `titan-ext`
//! promises its authors (types, lifecycle, host table semantics) is the one this runtime keeps.
//!
//! Cargo's rule for compatible versions: while 0.x the minor must match, from 1.0 the major.

use crate::ext::error::ExtensionError;

/// The titan-ext version this runtime speaks. titan-core, titan-ext and titan-ext-sys share the
/// workspace version, so this crate's version is the SDK's.
pub const HOST_SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `major.minor.patch`, ignoring a pre-release or build suffix; `None` for anything else.
fn parse(version: &str) -> Option<(u64, u64, u64)> {
    let core = version.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|part| part.parse::<u64>().ok());
    let parsed = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(parsed)
}

/// The part of a version Cargo treats as compatible: `0.1` while 0.x, `1` from 1.0.
fn compatible_series(major: u64, minor: u64) -> String {
    if major == 0 { format!("0.{minor}") } else { major.to_string() }
}

/// Whether an extension built with titan-ext `sdk_version` may run on this runtime.
///
/// A version that is not `major.minor.patch` is not titan-ext's: a C or Zig extension names its
/// own SDK there (`c-1.0.0`), and the ABI version alone is its contract.
pub(crate) fn check_sdk_version(name: &str, sdk_version: &str) -> Result<(), ExtensionError> {
    check_against(name, sdk_version, HOST_SDK_VERSION)
}

fn check_against(name: &str, sdk_version: &str, host: &str) -> Result<(), ExtensionError> {
    let (Some(extension), Some(runtime)) = (parse(sdk_version), parse(host)) else { return Ok(()) };
    let compatible = if runtime.0 == 0 { extension.0 == 0 && extension.1 == runtime.1 } else { extension.0 == runtime.0 };
    if compatible {
        return Ok(());
    }
    Err(ExtensionError::SdkMismatch { name: name.to_owned(), sdk_version: sdk_version.to_owned(), host_sdk_version: host.to_owned() })
}

/// The refusal, with the exact fix: pin titan-ext to what the runtime speaks and rebuild, or,
/// for an extension newer than the runtime, upgrade the runtime to its series.
pub(crate) fn sdk_mismatch_message(name: &str, sdk_version: &str, host: &str) -> String {
    let (Some(extension), Some(runtime)) = (parse(sdk_version), parse(host)) else {
        return format!("extension `{name}` was built with titan-ext {sdk_version}, which this runtime (titan-ext {host}) does not speak");
    };
    let runtime_series = compatible_series(runtime.0, runtime.1);
    let speaks = format!("{runtime_series}.x");
    let rebuild = format!("set `titan-ext = \"{runtime_series}\"` in {name}'s Cargo.toml and run `titan build ext`");
    if extension > runtime {
        let newer_series = compatible_series(extension.0, extension.1);
        format!(
            "extension `{name}` was built with titan-ext {sdk_version} but this runtime speaks titan-ext {speaks}: {rebuild}, or upgrade the runtime with `npm install titan@{newer_series}`"
        )
    } else {
        format!("extension `{name}` was built with titan-ext {sdk_version} but this runtime speaks titan-ext {speaks}: {rebuild}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(extension: &str, host: &str) -> Result<(), String> {
        check_against("mydb", extension, host).map_err(|e| e.to_string())
    }

    #[test]
    fn while_0_x_the_minor_must_match() {
        assert_eq!(check("0.1.0", "0.1.0"), Ok(()));
        assert_eq!(check("0.1.7", "0.1.0"), Ok(()), "patch releases are compatible");
        assert_eq!(check("0.1.0-rc.1", "0.1.3"), Ok(()), "a pre-release of the same series");
        assert_eq!(
            check("0.2.0", "0.1.0"),
            Err("extension `mydb` was built with titan-ext 0.2.0 but this runtime speaks titan-ext 0.1.x: set `titan-ext = \"0.1\"` in mydb's Cargo.toml and run `titan build ext`, or upgrade the runtime with `npm install titan@0.2`".into())
        );
        assert_eq!(
            check("0.0.9", "0.1.0"),
            Err("extension `mydb` was built with titan-ext 0.0.9 but this runtime speaks titan-ext 0.1.x: set `titan-ext = \"0.1\"` in mydb's Cargo.toml and run `titan build ext`".into()),
            "an older extension is rebuilt; downgrading the runtime is not offered"
        );
        assert!(check("1.0.0", "0.1.0").unwrap_err().contains("npm install titan@1`"));
    }

    #[test]
    fn from_1_0_the_major_must_match() {
        assert_eq!(check("1.4.2", "1.0.0"), Ok(()));
        assert_eq!(check("1.0.0", "1.9.0"), Ok(()));
        assert_eq!(
            check("2.0.1", "1.3.0"),
            Err("extension `mydb` was built with titan-ext 2.0.1 but this runtime speaks titan-ext 1.x: set `titan-ext = \"1\"` in mydb's Cargo.toml and run `titan build ext`, or upgrade the runtime with `npm install titan@2`".into())
        );
        assert!(check("0.9.0", "1.0.0").unwrap_err().ends_with("set `titan-ext = \"1\"` in mydb's Cargo.toml and run `titan build ext`"));
    }

    #[test]
    fn versions_not_from_titan_ext_are_left_to_the_abi_check() {
        assert_eq!(check("c-1.0.0", "0.1.0"), Ok(()), "a C extension names its own SDK");
        assert_eq!(check("unknown", "0.1.0"), Ok(()));
        assert_eq!(check("0.2", "0.1.0"), Ok(()), "not major.minor.patch");
        assert_eq!(check("0.2.0.1", "0.1.0"), Ok(()));
    }

    #[test]
    fn this_runtime_accepts_extensions_built_with_its_own_titan_ext() {
        assert!(check_sdk_version("x", HOST_SDK_VERSION).is_ok());
    }
}
