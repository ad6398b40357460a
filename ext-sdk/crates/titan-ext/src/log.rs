//! Log lines through the host: they come out as the runtime's structured JSON lines, attributed
//! to the extension. Before `init` (or in unit tests, without a host) they go to stderr.

use titan_ext_sys::{TITAN_LOG_DEBUG, TITAN_LOG_ERROR, TITAN_LOG_INFO, TITAN_LOG_WARN};

fn write(level: u32, message: &str) {
    match crate::private::host() {
        // SAFETY: the host's log function takes a UTF-8 buffer and is callable from any thread.
        Some(host) => unsafe { (host.log)(host.host_data, level, message.as_ptr(), message.len()) },
        None => eprintln!("{message}"),
    }
}

/// A debug line.
pub fn debug(message: &str) {
    write(TITAN_LOG_DEBUG, message);
}

/// An info line.
pub fn info(message: &str) {
    write(TITAN_LOG_INFO, message);
}

/// A warning.
pub fn warn(message: &str) {
    write(TITAN_LOG_WARN, message);
}

/// An error line.
pub fn error(message: &str) {
    write(TITAN_LOG_ERROR, message);
}
