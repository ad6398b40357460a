//! A temporary directory per test (tempfile's), removed when dropped.

pub use tempfile::TempDir;

/// A new empty directory named after the test, e.g. `titan-mydb-crud-XXXXXX`.
pub fn temp_dir(label: &str) -> TempDir {
    tempfile::Builder::new().prefix(&format!("titan-mydb-{label}-")).tempdir().expect("create a temp dir")
}
