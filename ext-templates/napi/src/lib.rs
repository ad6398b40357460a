//! `t.{{namespace}}`: {{description}}
//!
//! A Node-API addon written with napi-rs. Each `#[napi]` item below is exported to JS (its name
//! in camelCase) and bound as `t.{{namespace}}.<name>` in every worker isolate that runs the
//! app's actions, which call it synchronously. `titan build ext` builds the addon with
//! @napi-rs/cli and turns the TypeScript napi-rs generates from these signatures into index.d.ts.
//!
//! Each worker is its own isolate and loads the addon into it: keep state in JS objects (a
//! `#[napi]` class, like `Counter` below), not in `static`s, which every worker would share.

use napi::{Error, Result, Status};
use napi_derive::napi;

/// A string in, a string out: `t.{{namespace}}.slugify("Hello, World!")` → `"hello-world"`.
#[napi]
pub fn slugify(text: String) -> String {
    let mut slug = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_alphanumeric() {
            slug.extend(c.to_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}

/// What `stats` counts. `#[napi(object)]`: it crosses as a plain JS object.
#[napi(object)]
pub struct TextStats {
    /// Runs of non-whitespace.
    pub words: u32,
    /// Lines (a last line without a newline counts).
    pub lines: u32,
    /// Length in UTF-8 bytes.
    pub bytes: u32,
}

/// An object out: `t.{{namespace}}.stats("one two\nthree")` → `{ words: 3, lines: 2, bytes: 13 }`.
#[napi]
pub fn stats(text: String) -> TextStats {
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    TextStats { words: count(text.split_whitespace().count()), lines: count(text.lines().count()), bytes: count(text.len()) }
}

/// An error: an `Err` becomes a JS exception with its message (name the function in it).
#[napi]
pub fn parse_port(text: String) -> Result<u32> {
    match text.trim().parse::<u16>() {
        Ok(port) if port > 0 => Ok(u32::from(port)),
        _ => Err(Error::new(Status::InvalidArg, format!("{{project-name}}.parsePort: \"{text}\" is not a port number (1 to 65535)"))),
    }
}

/// State that belongs to one isolate lives in a JS object: `new t.{{namespace}}.Counter()`.
#[napi]
pub struct Counter {
    count: u32,
}

impl Default for Counter {
    fn default() -> Self {
        Self::new()
    }
}

#[napi]
impl Counter {
    /// A counter at zero.
    #[napi(constructor)]
    pub fn new() -> Self {
        Self { count: 0 }
    }

    /// Adds one and returns the new count.
    #[napi]
    pub fn increment(&mut self) -> u32 {
        self.count += 1;
        self.count
    }
}
