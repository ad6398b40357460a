//! What the integration tests share: the test extensions, built with cargo into the profile the
//! test binary runs in, and `dlopen`ed from there.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds `packages` (workspace crates under core-runtime/test-extensions) into this test
/// binary's profile; returns the directory their libraries are in.
pub fn build_test_extensions(packages: &[&str]) -> PathBuf {
    // The test binary sits in <target>/<profile>/deps; build into the same profile.
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_owned();
    let mut cargo = Command::new(env!("CARGO"));
    cargo.args(["build", "--quiet"]);
    for package in packages {
        cargo.args(["-p", package]);
    }
    cargo.arg("--target-dir").arg(profile_dir.parent().unwrap());
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cargo.arg("--release");
    }
    let status = cargo.status().expect("run cargo to build the test extensions");
    assert!(status.success(), "building {} failed", packages.join(", "));
    profile_dir
}

/// The library file of crate `crate_name` (underscores) in `dir`.
pub fn library(dir: &Path, crate_name: &str) -> PathBuf {
    dir.join(format!("{}{crate_name}{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX))
}
