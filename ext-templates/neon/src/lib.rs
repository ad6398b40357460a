//! `t.{{namespace}}`: {{description}}
//!
//! A Node-API addon written with neon. Each `#[neon::export]` function below is exported to JS
//! (its name in camelCase) and bound as `t.{{namespace}}.<name>` in every worker isolate that
//! runs the app's actions, which call it synchronously. neon generates no TypeScript: declare
//! each export in `addon.d.ts`, which `titan build ext` turns into index.d.ts.
//!
//! The work is done by plain Rust functions (`slug`, `count`, `port`), unit-tested below with
//! `cargo test`; the exports only convert between JS values and them. Each worker is its own
//! isolate and loads the addon into it: keep no state in `static`s, which every worker shares.

use neon::prelude::*;
use neon::types::extract::Error;

/// "Hello, World!" → "hello-world".
pub fn slug(text: &str) -> String {
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

/// Words, lines and UTF-8 bytes of a text.
pub fn count(text: &str) -> (usize, usize, usize) {
    (text.split_whitespace().count(), text.lines().count(), text.len())
}

/// A TCP port number, or why the text is not one.
pub fn port(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(format!("\"{text}\" is not a port number (1 to 65535)")),
    }
}

/// A string in, a string out: `t.{{namespace}}.slugify("Hello, World!")` → `"hello-world"`.
/// Plain Rust types convert by themselves.
#[neon::export]
fn slugify(text: String) -> String {
    slug(&text)
}

/// An object out: `t.{{namespace}}.stats("one two\nthree")` → `{ words: 3, lines: 2, bytes: 13 }`.
/// A first parameter `cx` gives the JS context, to build JS values by hand.
#[neon::export]
fn stats<'cx>(cx: &mut FunctionContext<'cx>, text: String) -> JsResult<'cx, JsObject> {
    let (words, lines, bytes) = count(&text);
    let object = cx.empty_object();
    for (key, value) in [("words", words), ("lines", lines), ("bytes", bytes)] {
        let value = cx.number(value as f64);
        object.set(cx, key, value)?;
    }
    Ok(object)
}

/// An error: an `Err` becomes a JS exception with its message (name the function in it).
#[neon::export]
fn parse_port(text: String) -> Result<f64, Error> {
    port(&text).map(f64::from).map_err(|reason| Error::from(format!("{{project-name}}.parsePort: {reason}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_keep_letters_and_digits() {
        assert_eq!(slug("Hello, World!"), "hello-world");
        assert_eq!(slug("  Ünïcode  café "), "ünïcode-café");
    }

    #[test]
    fn counts_words_lines_and_bytes() {
        assert_eq!(count("one two\nthree"), (3, 2, 13));
    }

    #[test]
    fn ports_are_1_to_65535() {
        assert_eq!(port(" 8080 "), Ok(8080));
        assert!(port("0").is_err());
        assert_eq!(port("http").unwrap_err(), "\"http\" is not a port number (1 to 65535)");
    }
}
