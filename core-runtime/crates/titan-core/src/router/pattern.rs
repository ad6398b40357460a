//! Route path patterns: Titan's `/users/:id<int>/*rest` syntax, parsed once and compiled to
//! matchit's `{id}` / `{*rest}` syntax, keeping each parameter's declared type.

use std::fmt;

/// The type a route parameter declares with `:name<type>`; untyped parameters are strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// `:name` — any non-empty segment.
    Str,
    /// `:name<number>` — a decimal number such as `3`, `-0.5`.
    Number,
    /// `:name<int>` — an integer that JavaScript holds exactly (|n| ≤ 2^53 − 1).
    Int,
    /// `:name<uuid>` — `8-4-4-4-12` hexadecimal digits.
    Uuid,
}

impl ParamType {
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "string" => Some(Self::Str),
            "number" => Some(Self::Number),
            "int" => Some(Self::Int),
            "uuid" => Some(Self::Uuid),
            _ => None,
        }
    }

    /// Checks a decoded segment against the type; numbers come back parsed.
    pub fn parse(self, raw: &str) -> Option<ParamValue> {
        match self {
            Self::Str => Some(ParamValue::Str(raw.to_owned())),
            Self::Number => is_decimal(raw)
                .then(|| raw.parse::<f64>().ok())
                .flatten()
                .filter(|n| n.is_finite())
                .map(ParamValue::Number),
            Self::Int => {
                const MAX_SAFE: i64 = (1 << 53) - 1;
                let digits = raw.strip_prefix('-').unwrap_or(raw);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                raw.parse::<i64>()
                    .ok()
                    .filter(|n| n.abs() <= MAX_SAFE)
                    .map(|n| ParamValue::Number(n as f64))
            }
            Self::Uuid => is_uuid(raw).then(|| ParamValue::Str(raw.to_owned())),
        }
    }
}

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Str => "a string",
            Self::Number => "a number",
            Self::Int => "an integer",
            Self::Uuid => "a UUID",
        })
    }
}

/// A route parameter after decoding and type checking.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// Untyped and `uuid` parameters.
    Str(String),
    /// `number` and `int` parameters.
    Number(f64),
}

/// `-?digits(.digits)?`: what a person means by a number in a URL (no `inf`, `NaN` or `1e9`).
fn is_decimal(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    all_digits(int) && frac.is_none_or(all_digits)
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, len)| {
            g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit())
        })
}

/// A parsed route path: what matchit matches on, and the declared parameters in order.
#[derive(Debug, Clone, PartialEq)]
pub struct PathPattern {
    /// The path as the app wrote it, for messages.
    pub source: String,
    /// The same path in matchit's syntax.
    pub matchit_path: String,
    /// Declared parameters, in the order they appear.
    pub params: Vec<(String, ParamType)>,
}

/// Why a route path was refused; each message says how to write it instead.
#[allow(missing_docs)] // the fields are what the messages name
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The path does not start with `/`.
    #[error("route path `{0}` must start with `/`")]
    NoLeadingSlash(String),
    /// `:` or `*` with no name, or a name that is not an identifier.
    #[error("route path `{path}`: parameter name `{name}` must be a letter or `_` followed by letters, digits or `_`")]
    BadParamName { path: String, name: String },
    /// `:name<type>` with an unknown type.
    #[error("route path `{path}`: unknown parameter type `<{ty}>` (use <string>, <number>, <int> or <uuid>)")]
    UnknownType { path: String, ty: String },
    /// The same parameter name twice.
    #[error("route path `{path}`: parameter `{name}` appears twice")]
    DuplicateParam { path: String, name: String },
    /// `*rest` that is not the last segment.
    #[error("route path `{path}`: the catch-all `*{name}` must be the last segment")]
    CatchAllNotLast { path: String, name: String },
}

impl PathPattern {
    /// Parses `/users/:id<int>/files/*rest`.
    pub fn parse(path: &str) -> Result<Self, PatternError> {
        if !path.starts_with('/') {
            return Err(PatternError::NoLeadingSlash(path.to_owned()));
        }
        let segments: Vec<&str> = path[1..].split('/').collect();
        let mut matchit_path = String::with_capacity(path.len() + 8);
        let mut params: Vec<(String, ParamType)> = Vec::new();
        for (index, segment) in segments.iter().enumerate() {
            matchit_path.push('/');
            let (name, ty, catch_all) = if let Some(rest) = segment.strip_prefix(':') {
                let (name, ty) = split_type(path, rest)?;
                (name, ty, false)
            } else if let Some(name) = segment.strip_prefix('*') {
                if index + 1 != segments.len() {
                    return Err(PatternError::CatchAllNotLast { path: path.into(), name: name.into() });
                }
                (name, ParamType::Str, true)
            } else {
                // Literal braces are matchit syntax; escape them so they match literally.
                matchit_path.push_str(&segment.replace('{', "{{").replace('}', "}}"));
                continue;
            };
            if !is_identifier(name) {
                return Err(PatternError::BadParamName { path: path.into(), name: name.into() });
            }
            if params.iter().any(|(existing, _)| existing == name) {
                return Err(PatternError::DuplicateParam { path: path.into(), name: name.into() });
            }
            matchit_path.push('{');
            if catch_all {
                matchit_path.push('*');
            }
            matchit_path.push_str(name);
            matchit_path.push('}');
            params.push((name.to_owned(), ty));
        }
        Ok(Self { source: path.to_owned(), matchit_path, params })
    }

    /// The declared type of a parameter.
    pub fn param_type(&self, name: &str) -> ParamType {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map_or(ParamType::Str, |(_, ty)| *ty)
    }
}

fn split_type<'a>(path: &str, rest: &'a str) -> Result<(&'a str, ParamType), PatternError> {
    let Some((name, ty)) = rest.split_once('<') else {
        return Ok((rest, ParamType::Str));
    };
    let ty_name = ty.strip_suffix('>').unwrap_or(ty);
    match ParamType::from_name(ty_name) {
        Some(parsed) if ty.ends_with('>') => Ok((name, parsed)),
        _ => Err(PatternError::UnknownType { path: path.into(), ty: ty_name.into() }),
    }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_params_types_and_catch_all() {
        let p = PathPattern::parse("/users/:id<int>/files/*rest").unwrap();
        assert_eq!(p.matchit_path, "/users/{id}/files/{*rest}");
        assert_eq!(p.params, vec![("id".into(), ParamType::Int), ("rest".into(), ParamType::Str)]);
        assert_eq!(PathPattern::parse("/").unwrap().matchit_path, "/");
        assert_eq!(PathPattern::parse("/a{b}").unwrap().matchit_path, "/a{{b}}");
    }

    #[test]
    fn refuses_bad_patterns_with_the_fix() {
        assert_eq!(PathPattern::parse("users").unwrap_err(), PatternError::NoLeadingSlash("users".into()));
        let unknown = PathPattern::parse("/u/:id<float>").unwrap_err();
        assert!(unknown.to_string().contains("<number>, <int> or <uuid>"), "{unknown}");
        assert!(matches!(PathPattern::parse("/u/:id<int").unwrap_err(), PatternError::UnknownType { .. }));
        assert!(matches!(PathPattern::parse("/u/:1x").unwrap_err(), PatternError::BadParamName { .. }));
        assert!(matches!(PathPattern::parse("/u/:").unwrap_err(), PatternError::BadParamName { .. }));
        assert!(matches!(PathPattern::parse("/:a/:a").unwrap_err(), PatternError::DuplicateParam { .. }));
        assert!(matches!(PathPattern::parse("/*a/b").unwrap_err(), PatternError::CatchAllNotLast { .. }));
    }

    #[test]
    fn typed_params_parse_or_refuse() {
        assert_eq!(ParamType::Number.parse("-1.5"), Some(ParamValue::Number(-1.5)));
        assert_eq!(ParamType::Number.parse("42"), Some(ParamValue::Number(42.0)));
        for bad in ["", "abc", "inf", "NaN", "1e5", "1.", ".5", "--1"] {
            assert_eq!(ParamType::Number.parse(bad), None, "{bad:?} is not a number");
        }
        assert_eq!(ParamType::Int.parse("9007199254740991"), Some(ParamValue::Number(9007199254740991.0)));
        assert_eq!(ParamType::Int.parse("9007199254740992"), None, "beyond JS's safe integers");
        assert_eq!(ParamType::Int.parse("1.0"), None);
        assert_eq!(ParamType::Int.parse("+1"), None);
        let id = "123e4567-e89b-12d3-a456-426614174000";
        assert_eq!(ParamType::Uuid.parse(id), Some(ParamValue::Str(id.into())));
        assert_eq!(ParamType::Uuid.parse("123e4567e89b12d3a456426614174000"), None);
    }
}
