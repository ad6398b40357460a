//! Where the store lives: the extension's config (`{ "file": ..., "dataDir": ... }`) resolved to
//! one absolute file path under the app's data directory, checked once at `init`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::store::Store;

/// The store's file name when the config gives none.
pub const DEFAULT_FILE: &str = "mydb.sqlite";
/// The environment variable naming the app data directory when the config does not.
pub const DATA_DIR_ENV: &str = "TITAN_DATA_DIR";
/// The data directory when neither the config nor the environment names one (relative to the
/// current directory, as an app's `.titan/` is).
pub const FALLBACK_DATA_DIR: &str = ".titan";

const CONFIG_EXAMPLE: &str = r#"e.g. "config": { "file": "mydb.sqlite" } in the extension's entry of titan.config.json"#;

/// The extension's config, as an app gives it in titan.config.json.
#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Config {
    /// The SQLite file; relative paths are resolved against the app data directory.
    file: Option<PathBuf>,
    /// The app data directory (the runtime may pass it; see `app_data_dir`).
    data_dir: Option<PathBuf>,
}

/// The app's data directory, decided here only: the config's `dataDir` (an explicit override),
/// else the one the runtime passes in its host table (`titan_ext::data_dir()`), else
/// `$TITAN_DATA_DIR` (a host too old to pass it), else `.titan` in the current directory.
pub fn app_data_dir(config_data_dir: Option<PathBuf>) -> PathBuf {
    choose_data_dir(config_data_dir.or_else(titan_ext::data_dir), std::env::var_os(DATA_DIR_ENV))
}

/// `app_data_dir`'s precedence, without reading the environment (so tests need not mutate it).
fn choose_data_dir(config_data_dir: Option<PathBuf>, env_data_dir: Option<OsString>) -> PathBuf {
    config_data_dir
        .filter(|dir| !dir.as_os_str().is_empty())
        .or_else(|| env_data_dir.filter(|dir| !dir.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(FALLBACK_DATA_DIR))
}

/// The extension's shared state: the store's file. Workers open their own connections to it.
#[derive(Debug)]
pub struct Settings {
    path: PathBuf,
}

impl Settings {
    /// `init`: the config → the store's absolute path. Creates the directory and opens the store
    /// once (creating the table, switching the file to WAL), so a bad path fails at startup with
    /// the path in the message rather than on the first call.
    pub fn from_config(config: Value) -> Result<Settings, String> {
        let config: Config = if config.is_null() {
            Config::default()
        } else {
            serde_json::from_value(config).map_err(|e| format!("mydb config: {e}; it takes `file` (the store's file, relative to the app data dir) and `dataDir`, {CONFIG_EXAMPLE}"))?
        };
        let file = config.file.unwrap_or_else(|| PathBuf::from(DEFAULT_FILE));
        if file.as_os_str().is_empty() || file.as_os_str() == ":memory:" {
            return Err(format!(
                "mydb config: `file` must name a file (each worker opens its own connection, so an in-memory store would not be shared), got {:?}; {CONFIG_EXAMPLE}",
                file.as_os_str()
            ));
        }
        let path = if file.is_absolute() { file } else { app_data_dir(config.data_dir).join(file) };
        // Absolute now, so workers do not depend on the current directory staying put.
        let path = std::path::absolute(&path).map_err(|e| format!("mydb: cannot resolve the store path {}: {e}", path.display()))?;
        Settings::at(path)
    }

    /// The settings for a store at `path` (absolute), checked the way `from_config` checks them.
    pub fn at(path: PathBuf) -> Result<Settings, String> {
        if path.is_dir() {
            return Err(format!("mydb: the store path {} is a directory; set `file` in the extension's config to a file name", path.display()));
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                format!(
                    "mydb: cannot create the data directory {} for the store {}: {e}; point `dataDir` in the extension's config (or ${DATA_DIR_ENV}) at a writable directory",
                    dir.display(),
                    path.display()
                )
            })?;
        }
        Store::open(&path).map_err(|e| format!("mydb: {e}; check that the file is a SQLite database this user can write, or set `file` in the extension's config to another one"))?;
        Ok(Settings { path })
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_wins_then_the_environment_then_dot_titan() {
        let config = Some(PathBuf::from("/srv/app/data"));
        let env = Some(OsString::from("/var/lib/app"));
        assert_eq!(choose_data_dir(config.clone(), env.clone()), PathBuf::from("/srv/app/data"));
        assert_eq!(choose_data_dir(None, env.clone()), PathBuf::from("/var/lib/app"));
        assert_eq!(choose_data_dir(None, None), PathBuf::from(".titan"));
        // An empty value is "not set", not "the current directory".
        assert_eq!(choose_data_dir(Some(PathBuf::new()), env), PathBuf::from("/var/lib/app"));
        assert_eq!(choose_data_dir(None, Some(OsString::new())), PathBuf::from(".titan"));
    }

    #[test]
    fn bad_configs_say_which_key_and_what_to_do() {
        let err = |config: Value| Settings::from_config(config).unwrap_err();
        let unknown = err(serde_json::json!({ "fil": "x.sqlite" }));
        assert!(unknown.contains("unknown field `fil`") && unknown.contains("it takes `file`"), "{unknown}");
        let memory = err(serde_json::json!({ "file": ":memory:" }));
        assert!(memory.contains("`file` must name a file"), "{memory}");
        let wrong_type = err(serde_json::json!({ "file": 3 }));
        assert!(wrong_type.contains("mydb config: invalid type"), "{wrong_type}");
    }
}
