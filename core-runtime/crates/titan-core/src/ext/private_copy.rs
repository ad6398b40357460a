//! Private copies of extension libraries, for hot reload: a new build must be loaded from a path
//! no library of this process was ever loaded from, because `dlopen` of a path already open
//! returns the image already mapped, never the new code.
//!
//! The copies live in a directory this process creates for itself under the temp directory,
//! readable and writable by its user only: in a shared `/tmp`, another user must not be able to
//! put a library of their own between the copy and the `dlopen`. A copy is deleted once its
//! library is closed, and the directory with its last copy.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// This process's directory of copies, while it exists. Held while a copy is made or deleted,
/// so the directory is never removed under a copy being made.
static DIRECTORY: Mutex<Option<PathBuf>> = Mutex::new(None);
static NEXT_COPY: AtomicU64 = AtomicU64::new(1);

fn lock() -> std::sync::MutexGuard<'static, Option<PathBuf>> {
    DIRECTORY.lock().unwrap_or_else(|e| e.into_inner())
}

/// A library file copied for one load; deleted on drop.
#[derive(Debug)]
pub(crate) struct PrivateCopy(PathBuf);

impl PrivateCopy {
    /// Copies `library` into this process's private directory, under a name never used before.
    pub(crate) fn of(library: &Path) -> io::Result<Self> {
        let file_name = library.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "extension".into());
        let mut directory = lock();
        let dir = match directory.as_ref().filter(|dir| dir.is_dir()) {
            Some(dir) => dir.clone(),
            None => directory.insert(create_private_directory()?).clone(),
        };
        let path = dir.join(format!("{}-{file_name}", NEXT_COPY.fetch_add(1, Ordering::Relaxed)));
        if let Err(err) = std::fs::copy(library, &path) {
            let _ = std::fs::remove_file(&path);
            if std::fs::remove_dir(&dir).is_ok() {
                *directory = None;
            }
            return Err(err);
        }
        Ok(Self(path))
    }

    /// Where the copy is.
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for PrivateCopy {
    fn drop(&mut self) {
        let mut directory = lock();
        let _ = std::fs::remove_file(&self.0);
        // The directory goes with its last copy (removing a directory that is not empty fails).
        if let Some(dir) = self.0.parent()
            && std::fs::remove_dir(dir).is_ok()
            && directory.as_deref() == Some(dir)
        {
            *directory = None;
        }
    }
}

/// Removes the copies a process that no longer runs left behind (it exited with extensions
/// loaded, so nothing closed them). Linux only, where `/proc/<pid>` says whether it runs;
/// another user's directories cannot be read and are left alone.
fn remove_stale_directories() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("titan-ext-reload-")).and_then(|rest| rest.split('-').next()) else { continue };
        let gone = pid.parse::<u32>().is_ok_and(|pid| pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists());
        if gone {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Creates `$TMPDIR/titan-ext-reload-<pid>-<n>` with mode 0700. Creating (not reusing) it is what
/// makes it ours: `mkdir` fails on anything already at that path, a symbolic link included.
fn create_private_directory() -> io::Result<PathBuf> {
    static NEXT_DIRECTORY: AtomicU64 = AtomicU64::new(1);
    static CLEANED: std::sync::Once = std::sync::Once::new();
    CLEANED.call_once(remove_stale_directories);
    let mut last_error = None;
    for _ in 0..100 {
        let dir = std::env::temp_dir().join(format!("titan-ext-reload-{}-{}", std::process::id(), NEXT_DIRECTORY.fetch_add(1, Ordering::Relaxed)));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        match builder.create(&dir) {
            Ok(()) => return Ok(dir),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => last_error = Some(err),
            Err(err) => return Err(err),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no free directory name")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_is_private_to_this_user_and_gone_once_dropped() {
        let source = std::env::temp_dir().join(format!("titan-private-copy-source-{}", std::process::id()));
        std::fs::write(&source, b"library bytes").unwrap();
        let first = PrivateCopy::of(&source).unwrap();
        let second = PrivateCopy::of(&source).unwrap();
        assert_ne!(first.path(), second.path(), "every copy has a path of its own");
        assert_eq!(std::fs::read(first.path()).unwrap(), b"library bytes");
        let dir = first.path().parent().unwrap().to_owned();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        }
        let first_path = first.path().to_owned();
        drop(first);
        assert!(!first_path.exists());
        let second_path = second.path().to_owned();
        drop(second);
        assert!(!second_path.exists());
        std::fs::remove_file(&source).unwrap();

        // A missing library: nothing is left behind, not even the directory.
        let error = PrivateCopy::of(Path::new("/nonexistent/libnothing.so")).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        assert!(lock().is_none(), "no directory is kept for no copy");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn copies_left_by_a_process_that_no_longer_runs_are_removed() {
        // Process ids above the kernel's maximum (at most 2^22) never run.
        let stale = std::env::temp_dir().join("titan-ext-reload-4294967295-1");
        std::fs::create_dir_all(&stale).unwrap();
        std::fs::write(stale.join("1-libold.so"), b"old").unwrap();
        let live = std::env::temp_dir().join(format!("titan-ext-reload-{}-999999", std::process::id()));
        std::fs::create_dir_all(&live).unwrap();
        remove_stale_directories();
        assert!(!stale.exists());
        assert!(live.exists(), "this process's own directories stay");
        std::fs::remove_dir(&live).unwrap();
    }
}
