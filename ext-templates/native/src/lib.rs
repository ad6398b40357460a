//! `t.{{namespace}}`: {{description}}
//!
//! A Titan native extension. Each `#[function]` below becomes `t.{{namespace}}.<name>(...)` in
//! the app's actions, called synchronously on the worker's own thread; `extension!` at the
//! bottom lists them. How values cross (the full table is in titan-ext's docs,
//! `cargo doc -p titan-ext --open`):
//! - numbers, booleans and strings as they are (`&str` is borrowed, no copy);
//! - any serde type as a plain JS object or array;
//! - `Err(e)` as a JS exception `{{project-name}}.<function>: <e>`; a panic too, and the worker
//!   keeps serving.

use serde::{Deserialize, Serialize};
use titan_ext::{Context, function};

// --- state from the app's config ---------------------------------------------------------------

/// The extension's settings: the `config` object the app gives it in titan.config.json,
/// `{ "path": "../{{project-name}}", "config": { "greeting": "Hi" } }`. Every field is optional.
#[derive(Deserialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    /// How `greet` says hello.
    #[serde(default = "default_greeting")]
    pub greeting: String,
}

fn default_greeting() -> String {
    "Hello".into()
}

impl Settings {
    /// `init`: runs once when the app starts, before any call. The state it returns is shared
    /// by every worker (so it must be `Send + Sync`); an `Err` stops the app with its message.
    pub fn from_config(config: serde_json::Value) -> Result<Settings, String> {
        let config = if config.is_null() { serde_json::json!({}) } else { config };
        serde_json::from_value(config).map_err(|e| format!("invalid config: {e}"))
    }

    fn greeting_for(&self, name: &str) -> String {
        format!("{}, {name}!", self.greeting)
    }
}

// --- functions ---------------------------------------------------------------------------------

/// A string in, a string out: `t.{{namespace}}.greet("Ada")` → `"Hello, Ada!"`.
/// A first parameter `cx: &Context` gives access to the state `init` built.
#[function]
pub fn greet(cx: &Context, name: &str) -> String {
    cx.state::<Settings>().greeting_for(name)
}

/// A rectangle, from a JS object `{ width, height }`.
#[derive(Deserialize)]
pub struct Rect {
    /// Width, any unit.
    pub width: f64,
    /// Height, same unit.
    pub height: f64,
}

/// What `measure` returns, as a JS object `{ area, perimeter }`.
#[derive(Serialize, Debug, PartialEq)]
pub struct Measurement {
    /// `width * height`.
    pub area: f64,
    /// `2 * (width + height)`.
    pub perimeter: f64,
}

/// A serde struct in, a serde struct out: `t.{{namespace}}.measure({ width: 3, height: 4 })`
/// → `{ area: 12, perimeter: 14 }`. A wrong shape is an exception naming the argument.
#[function]
pub fn measure(rect: Rect) -> Measurement {
    Measurement { area: rect.width * rect.height, perimeter: 2.0 * (rect.width + rect.height) }
}

/// A `Result`: `t.{{namespace}}.parsePort("8080")` → `8080`; `"http"` throws
/// `{{project-name}}.parsePort: "http" is not a port number (1 to 65535)`. `name = "..."` sets
/// the JS name (Rust keeps its snake_case).
#[function(name = "parsePort")]
pub fn parse_port(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(format!("{text:?} is not a port number (1 to 65535)")),
    }
}

titan_ext::extension! {
    functions: [greet, measure, parse_port],
    init: Settings::from_config,
}

// Unit tests of the Rust side: `cargo test`. tests/*.test.js call the same functions from JS in a
// real worker isolate (`npm test`).
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_default_without_config_and_refuse_unknown_keys() {
        assert_eq!(Settings::from_config(serde_json::Value::Null).unwrap().greeting, "Hello");
        let custom = Settings::from_config(serde_json::json!({ "greeting": "Hi" })).unwrap();
        assert_eq!(custom.greeting_for("Ada"), "Hi, Ada!");
        let error = Settings::from_config(serde_json::json!({ "greting": "Hi" })).unwrap_err();
        assert!(error.contains("unknown field `greting`"), "{error}");
    }

    #[test]
    fn measures_a_rectangle() {
        assert_eq!(measure(Rect { width: 3.0, height: 4.0 }), Measurement { area: 12.0, perimeter: 14.0 });
    }

    #[test]
    fn parses_ports_and_explains_bad_ones() {
        assert_eq!(parse_port(" 8080 "), Ok(8080));
        assert_eq!(parse_port("0"), Err("\"0\" is not a port number (1 to 65535)".into()));
        assert_eq!(parse_port("http"), Err("\"http\" is not a port number (1 to 65535)".into()));
    }
}
