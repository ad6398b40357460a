//! An extension's manifest, `titan.json`, read and checked on the Rust side (the CLI checks the
//! same rules with zod). Two shapes: Titan's own (`native.library`) and the classic Titan Planet
//! one (`native.path` + `native.functions`). Each problem names the field and the fix.

use std::collections::BTreeMap;

use serde_json::Value;

/// A manifest problem: which field, what is wrong, how to fix it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("titan.json: `{field}` {problem} — {fix}")]
pub struct ManifestError {
    /// Dotted path of the field.
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
    /// What to write instead.
    pub fix: String,
}

fn problem(field: &str, problem: &str, fix: &str) -> ManifestError {
    ManifestError { field: field.into(), problem: problem.into(), fix: fix.into() }
}

/// A parsed, checked manifest.
#[derive(Debug, Clone, PartialEq)]
pub enum ExtensionManifest {
    /// Built with titan-ext: one entry point, functions described by the library itself.
    Native {
        /// Extension name.
        name: String,
        /// `t.<namespace>`.
        namespace: String,
        /// The library for this platform, relative to the extension's directory.
        library: String,
        /// Optional JS run with `t` in scope to wrap the natives.
        entry: Option<String>,
    },
    /// Titan Planet's format: plain C functions described by the manifest.
    Classic {
        /// Extension name, also `t.<name>`.
        name: String,
        /// The library, relative to the extension's directory.
        library: String,
        /// Optional JS run with `t` in scope (Titan Planet's `main`).
        main: Option<String>,
        /// JS name → C function.
        functions: BTreeMap<String, ClassicFunction>,
        /// `native.free`: the function that frees returned strings, if any.
        free: Option<String>,
    },
}

/// A plain C function as a classic manifest describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassicFunction {
    /// The exported symbol.
    pub symbol: String,
    /// Parameter types, in order.
    pub parameters: Vec<ClassicType>,
    /// Result type.
    pub result: ClassicType,
}

/// Titan Planet's parameter and result types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassicType {
    /// `const char*` (UTF-8, NUL-terminated); a result is a `char*`.
    String,
    /// `double`.
    F64,
    /// `bool`.
    Bool,
    /// JSON text as `const char*`; a result is a `char*` of JSON.
    Json,
    /// Bytes as `const uint8_t*, size_t`.
    Buffer,
    /// No result.
    Void,
}

impl ClassicType {
    fn parse(text: &str, field: &str, result: bool) -> Result<Self, ManifestError> {
        Ok(match text {
            "string" => Self::String,
            "f64" | "number" => Self::F64,
            "bool" | "boolean" => Self::Bool,
            "json" => Self::Json,
            "buffer" if !result => Self::Buffer,
            "void" if result => Self::Void,
            other => {
                let allowed = if result { "string, f64, bool, json or void" } else { "string, f64, bool, json or buffer" };
                return Err(problem(field, &format!("is `{other}`"), &format!("use one of {allowed}")));
            }
        })
    }
}

/// Node's `platform-arch` of this machine, the key of per-platform libraries (`linux-x64`).
pub fn platform_key() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        "windows" => "win32",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("{os}-{arch}")
}

fn string_field<'a>(object: &'a serde_json::Map<String, Value>, key: &str, field: &str, fix: &str) -> Result<&'a str, ManifestError> {
    match object.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(Value::String(_)) => Err(problem(field, "is empty", fix)),
        Some(other) => Err(problem(field, &format!("must be a string, not {}", json_kind(other)), fix)),
        None => Err(problem(field, "is missing", fix)),
    }
}

fn optional_string(object: &serde_json::Map<String, Value>, key: &str, field: &str) -> Result<Option<String>, ManifestError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(problem(field, &format!("must be a string, not {}", json_kind(other)), "give a path relative to the extension")),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

impl ExtensionManifest {
    /// Parses and checks `titan.json`.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| problem("(file)", &format!("is not valid JSON: {e}"), "fix the syntax at that line and column"))?;
        let Value::Object(root) = value else {
            return Err(problem("(file)", "must be a JSON object", "start from `{ \"name\": \"mydb\", \"native\": { ... } }`"));
        };
        let name = string_field(&root, "name", "name", "name the extension, e.g. \"name\": \"mydb\"")?.to_owned();
        let native = match root.get("native") {
            Some(Value::Object(native)) => native,
            Some(other) => return Err(problem("native", &format!("must be an object, not {}", json_kind(other)), "write \"native\": { \"library\": \"...\" }")),
            None => return Err(problem("native", "is missing", "add \"native\": { \"library\": \"target/release/lib<crate>.so\" }")),
        };
        if native.contains_key("functions") {
            return Self::parse_classic(name, &root, native);
        }
        let library = match native.get("library") {
            Some(Value::String(path)) if !path.trim().is_empty() => path.clone(),
            Some(Value::Object(per_platform)) => {
                let key = platform_key();
                match per_platform.get(&key) {
                    Some(Value::String(path)) if !path.trim().is_empty() => path.clone(),
                    _ => {
                        let known: Vec<&str> = per_platform.keys().map(String::as_str).collect();
                        return Err(problem(
                            &format!("native.library.{key}"),
                            &format!("is missing (this machine is {key}; the manifest has {})", if known.is_empty() { "none".into() } else { known.join(", ") }),
                            "build the extension on this platform (`titan build ext`), which records the library",
                        ));
                    }
                }
            }
            Some(other) => return Err(problem("native.library", &format!("must be a path or an object of paths per platform, not {}", json_kind(other)), "e.g. \"library\": \"target/release/libmydb.so\"")),
            None => return Err(problem("native.library", "is missing", "give the built library's path, e.g. \"library\": \"target/release/libmydb.so\"")),
        };
        let namespace = match root.get("namespace") {
            None | Some(Value::Null) => name.replace('-', "_"),
            Some(Value::String(ns)) => ns.clone(),
            Some(other) => return Err(problem("namespace", &format!("must be a string, not {}", json_kind(other)), "e.g. \"namespace\": \"mydb\" for t.mydb")),
        };
        if !is_identifier(&namespace) {
            return Err(problem("namespace", &format!("`{namespace}` is not a JS identifier"), "use letters, digits and _ (t.<namespace>), e.g. \"mydb\""));
        }
        let entry = optional_string(&root, "entry", "entry")?;
        Ok(Self::Native { name, namespace, library, entry })
    }

    fn parse_classic(name: String, root: &serde_json::Map<String, Value>, native: &serde_json::Map<String, Value>) -> Result<Self, ManifestError> {
        let library = string_field(native, "path", "native.path", "give the built library's path, e.g. \"path\": \"native/libext.so\"")?.to_owned();
        let Some(Value::Object(functions)) = native.get("functions") else {
            return Err(problem("native.functions", "must be an object", "map JS names to { \"symbol\", \"parameters\", \"result\" }"));
        };
        let mut parsed = BTreeMap::new();
        for (js_name, def) in functions {
            let field = format!("native.functions.{js_name}");
            let Value::Object(def) = def else {
                return Err(problem(&field, "must be an object", "write { \"symbol\": \"...\", \"parameters\": [...], \"result\": \"...\" }"));
            };
            let symbol = string_field(def, "symbol", &format!("{field}.symbol"), "name the exported C function")?.to_owned();
            let parameters = match def.get("parameters") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(items)) => items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        let item_field = format!("{field}.parameters[{i}]");
                        match item {
                            Value::String(ty) => ClassicType::parse(ty, &item_field, false),
                            _ => Err(problem(&item_field, "must be a type name", "use string, f64, bool, json or buffer")),
                        }
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(problem(&format!("{field}.parameters"), "must be an array", "e.g. [\"string\", \"f64\"]")),
            };
            let result = match def.get("result") {
                None | Some(Value::Null) => ClassicType::Void,
                Some(Value::String(ty)) => ClassicType::parse(ty, &format!("{field}.result"), true)?,
                Some(_) => return Err(problem(&format!("{field}.result"), "must be a type name", "use string, f64, bool, json or void")),
            };
            parsed.insert(js_name.clone(), ClassicFunction { symbol, parameters, result });
        }
        let main = optional_string(root, "main", "main")?;
        let free = optional_string(native, "free", "native.free")?;
        Ok(Self::Classic { name, library, main, functions: parsed, free })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_titans_own_manifest_with_per_platform_libraries() {
        let m = ExtensionManifest::parse(r#"{"name":"my-db","native":{"library":"target/release/libmy_db.so"},"entry":"index.js"}"#).unwrap();
        assert_eq!(m, ExtensionManifest::Native { name: "my-db".into(), namespace: "my_db".into(), library: "target/release/libmy_db.so".into(), entry: Some("index.js".into()) });
        let text = format!(r#"{{"name":"x","namespace":"xx","native":{{"library":{{"{}":"a.so","plan9-mips":"b.so"}}}}}}"#, platform_key());
        assert!(matches!(ExtensionManifest::parse(&text).unwrap(), ExtensionManifest::Native { library, .. } if library == "a.so"));
    }

    #[test]
    fn reads_the_classic_titan_planet_manifest() {
        let m = ExtensionManifest::parse(
            r#"{"name":"legacy","main":"index.js","native":{"path":"native/liblegacy.so","functions":{
                "greet":{"symbol":"legacy_greet","parameters":["string"],"result":"string"},
                "ping":{"symbol":"legacy_ping"}}}}"#,
        )
        .unwrap();
        let ExtensionManifest::Classic { functions, main, .. } = m else { panic!("expected classic") };
        assert_eq!(main.as_deref(), Some("index.js"));
        assert_eq!(functions["greet"].parameters, vec![ClassicType::String]);
        assert_eq!(functions["ping"].result, ClassicType::Void);
    }

    #[test]
    fn every_problem_names_the_field_and_the_fix() {
        let cases = [
            ("{", "(file)", "not valid JSON"),
            (r#"[]"#, "(file)", "must be a JSON object"),
            (r#"{"native":{"library":"a.so"}}"#, "name", "is missing"),
            (r#"{"name":"x"}"#, "native", "is missing"),
            (r#"{"name":"x","native":{}}"#, "native.library", "is missing"),
            (r#"{"name":"x","native":{"library":7}}"#, "native.library", "must be a path"),
            (r#"{"name":"x","namespace":"my-db","native":{"library":"a.so"}}"#, "namespace", "not a JS identifier"),
            (r#"{"name":"x","native":{"path":"a.so","functions":{"f":{"symbol":"f","parameters":["int"]}}}}"#, "native.functions.f.parameters[0]", "is `int`"),
            (r#"{"name":"x","native":{"path":"a.so","functions":{"f":{"symbol":"f","result":"buffer"}}}}"#, "native.functions.f.result", "is `buffer`"),
            (r#"{"name":"x","native":{"functions":{}}}"#, "native.path", "is missing"),
        ];
        for (text, field, problem) in cases {
            let err = ExtensionManifest::parse(text).unwrap_err();
            assert_eq!(err.field, field, "{text}");
            assert!(err.problem.contains(problem), "{text}: {err}");
            assert!(!err.fix.is_empty());
        }
        let missing = ExtensionManifest::parse(r#"{"name":"x","native":{"library":{"plan9-mips":"b.so"}}}"#).unwrap_err();
        assert!(missing.to_string().contains("plan9-mips") && missing.to_string().contains("titan build ext"), "{missing}");
    }
}
