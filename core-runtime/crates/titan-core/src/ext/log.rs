//! Extensions' log lines, written as the same structured JSON lines as `t.log` (stdout), with
//! the extension's name instead of a request id.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

fn level_name(level: u32) -> &'static str {
    match level {
        0..=10 => "debug",
        11..=20 => "info",
        21..=30 => "warn",
        _ => "error",
    }
}

/// `2026-11-22T02:17:09.705Z`, without pulling in a date library for one format.
pub(crate) fn iso8601(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (secs, millis) = (since.as_secs() as i64, since.subsec_millis());
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

pub(crate) fn write_line(level: u32, extension: &str, message: &str) {
    let line = serde_json::json!({
        "time": iso8601(SystemTime::now()),
        "level": level_name(level),
        "msg": message,
        "extension": extension,
    });
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_utc_timestamps() {
        assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(UNIX_EPOCH + Duration::from_millis(1_795_401_429_705)), "2026-11-23T02:37:09.705Z");
        assert_eq!(iso8601(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00.000Z");
    }
}
