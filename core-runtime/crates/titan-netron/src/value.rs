//! Netron's value model: what one msgpack value on the Netron wire can be, including the
//! extension types Netron's serializer registers (undefined, Date, Map, Set, BigInt, errors,
//! service definitions and references, ...).

use std::time::{SystemTime, UNIX_EPOCH};

/// The largest integer a JS number holds exactly (2^53 - 1).
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// One value as Netron's JS serializer sees it.
///
/// Objects and maps keep their entries in wire order (a `Vec`, not a hash map), so decoding and
/// re-encoding reproduces the bytes exactly.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// JS `undefined` (msgpack ext 0 with one zero byte: `d4 00 00`).
    Undefined,
    /// JS `null` (msgpack nil).
    Null,
    /// A boolean.
    Bool(bool),
    /// A JS number. Integers in `[-2^31, 2^32)` go on the wire as the smallest msgpack int form,
    /// everything else (including larger integers) as float64, exactly as Netron encodes them.
    Number(f64),
    /// A UTF-8 string.
    String(String),
    /// A Node `Buffer` (msgpack bin).
    Binary(Vec<u8>),
    /// A JS array.
    Array(Vec<Value>),
    /// A plain JS object: a msgpack map whose keys are strings, in wire order. Decoded as a JS
    /// peer decodes it: a repeated key keeps its first position and its last value, and
    /// array-index keys (`"0"`, `"17"`) come first in numeric order.
    Object(Vec<(String, Value)>),
    /// A JS `bigint` (ext 120), as its decimal string (`-?[0-9]+`). Decoded digits are canonical,
    /// as JS's `BigInt(text)` reads them (`"007"` is `"7"`, `"-0"` is `"0"`).
    BigInt(String),
    /// A `Long` from the long.js package (ext 119).
    Long(Long),
    /// A JS `Date` (ext 125): milliseconds since the Unix epoch. Netron writes it as an unsigned
    /// 64-bit integer, so dates before 1970 cannot be sent by Netron itself.
    Date(u64),
    /// A JS `RegExp` (ext 121). Boxed, like the other rare variants, to keep `Value` small.
    RegExp(Box<RegExp>),
    /// A JS `Set` (ext 123), in insertion order. Decoding keeps the first of items that are the
    /// same JS primitive (SameValueZero), as `Set.add` does.
    Set(Vec<Value>),
    /// A JS `Map` (ext 124): keys may be any value, in insertion order. Decoding collapses keys
    /// that are the same JS primitive (first position, last value), as `Map.set` does.
    Map(Vec<(Value, Value)>),
    /// A standard JS `Error` or one of its built-in subclasses (ext 126).
    Error(Box<JsError>),
    /// Titan's structured `TitanError` (ext 110): what Netron sends back for a failed call.
    TitanError(Box<TitanError>),
    /// A reference to a service definition held by the peer (ext 108).
    Reference(Reference),
    /// A service definition: the answer to `query_interface` (ext 109).
    Definition(Box<Definition>),
    /// A handle to a Netron stream (ext 107).
    StreamReference(Box<StreamReference>),
    /// A msgpack extension this codec does not interpret (user-defined types 1–99, reserved
    /// ids). Kept as raw bytes so it passes through unchanged.
    Ext(RawExt),
}

/// A 64-bit integer from long.js: the wire keeps the signedness flag, so both are kept here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Long {
    /// A signed `Long` (`unsigned === false`).
    Signed(i64),
    /// An unsigned `Long` (`unsigned === true`).
    Unsigned(u64),
}

/// A JS regular expression: its `source` and `flags` strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegExp {
    /// The pattern, as `RegExp.prototype.source` gives it.
    pub source: String,
    /// The flags, as `RegExp.prototype.flags` gives them (`"gi"`, ...).
    pub flags: String,
}

/// Which built-in JS error class an ext-126 error is; Netron numbers them 1–7 on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum JsErrorClass {
    /// `Error`
    Error = 1,
    /// `SyntaxError`
    SyntaxError = 2,
    /// `TypeError`
    TypeError = 3,
    /// `ReferenceError`
    ReferenceError = 4,
    /// `RangeError`
    RangeError = 5,
    /// `EvalError`
    EvalError = 6,
    /// `URIError`
    UriError = 7,
}

impl JsErrorClass {
    /// The class for a wire id, or `None` for an id Netron does not define.
    pub fn from_wire_id(id: u16) -> Option<Self> {
        Some(match id {
            1 => Self::Error,
            2 => Self::SyntaxError,
            3 => Self::TypeError,
            4 => Self::ReferenceError,
            5 => Self::RangeError,
            6 => Self::EvalError,
            7 => Self::UriError,
            _ => return None,
        })
    }

    /// The id Netron writes for this class.
    pub fn wire_id(self) -> u16 {
        self as u16
    }

    /// The JS constructor name (`"TypeError"`, ...).
    pub fn js_name(self) -> &'static str {
        match self {
            Self::Error => "Error",
            Self::SyntaxError => "SyntaxError",
            Self::TypeError => "TypeError",
            Self::ReferenceError => "ReferenceError",
            Self::RangeError => "RangeError",
            Self::EvalError => "EvalError",
            Self::UriError => "URIError",
        }
    }
}

/// A standard JS error as Netron sends it (ext 126).
#[derive(Debug, Clone, PartialEq)]
pub struct JsError {
    /// Which constructor the receiver uses to rebuild it.
    pub class: JsErrorClass,
    /// `error.name` (usually the class name, but subclasses set their own).
    pub name: String,
    /// `error.message`.
    pub message: String,
    /// `error.stack`: a string, or `Undefined` when the sender had none.
    pub stack: Value,
    /// The error's other own enumerable properties (`code`, `errno`, ...), in order.
    pub fields: Vec<(String, Value)>,
}

impl JsError {
    /// A plain error of `class` with `message`, no stack and no extra fields.
    pub fn new(class: JsErrorClass, message: impl Into<String>) -> Self {
        Self {
            class,
            name: class.js_name().to_owned(),
            message: message.into(),
            stack: Value::Undefined,
            fields: Vec::new(),
        }
    }
}

/// Titan's structured error (ext 110). The wire carries 13 values in this order; each is kept as
/// a [`Value`] so that whatever a Netron peer sent is re-encoded byte for byte. The usual shapes
/// are given per field; [`TitanError::new`] fills them the way Netron's constructor does.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TitanError {
    /// Usually `"TitanError"` or a subclass name.
    pub name: Value,
    /// A number from Netron's `ErrorCode` (HTTP-like: 404, 500, ...).
    pub code: Value,
    /// A string.
    pub message: Value,
    /// An object (`{}` by default).
    pub details: Value,
    /// An object (`{}` by default).
    pub context: Value,
    /// Milliseconds since the epoch, as a number.
    pub timestamp: Value,
    /// A string or `Undefined`.
    pub request_id: Value,
    /// A string or `Undefined`.
    pub correlation_id: Value,
    /// A string or `Undefined`.
    pub span_id: Value,
    /// A string or `Undefined`.
    pub trace_id: Value,
    /// A string, or `Null` (Netron omits stacks on the wire by default).
    pub stack: Value,
    /// `Null`, a nested `TitanError`, or `{__errorType: "Error", name, message, stack}`.
    pub cause: Value,
    /// `Null`, or an object of subclass-specific fields.
    pub extras: Value,
}

impl TitanError {
    /// A `TitanError` with `code` and `message`, the defaults Netron's constructor uses
    /// (empty details and context, no tracing ids, no stack, no cause) and the current time.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis());
        Self {
            name: Value::from("TitanError"),
            code: Value::from(code),
            message: Value::String(message.into()),
            details: Value::Object(Vec::new()),
            context: Value::Object(Vec::new()),
            timestamp: Value::Number(now_ms as f64),
            request_id: Value::Undefined,
            correlation_id: Value::Undefined,
            span_id: Value::Undefined,
            trace_id: Value::Undefined,
            stack: Value::Null,
            cause: Value::Null,
            extras: Value::Null,
        }
    }

    /// The 13 fields in wire order.
    pub(crate) fn fields(&self) -> [&Value; 13] {
        [
            &self.name,
            &self.code,
            &self.message,
            &self.details,
            &self.context,
            &self.timestamp,
            &self.request_id,
            &self.correlation_id,
            &self.span_id,
            &self.trace_id,
            &self.stack,
            &self.cause,
            &self.extras,
        ]
    }

    /// The 13 fields in wire order, for filling in place.
    pub(crate) fn fields_mut(&mut self) -> [&mut Value; 13] {
        [
            &mut self.name,
            &mut self.code,
            &mut self.message,
            &mut self.details,
            &mut self.context,
            &mut self.timestamp,
            &mut self.request_id,
            &mut self.correlation_id,
            &mut self.span_id,
            &mut self.trace_id,
            &mut self.stack,
            &mut self.cause,
            &mut self.extras,
        ]
    }
}

/// A reference to a service definition the peer holds (ext 108).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The referenced definition's id.
    pub def_id: String,
}

/// A service definition (ext 109): what `query_interface` answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    /// The definition id calls address (`CALL [defId, method, ...args]`).
    pub id: String,
    /// The parent definition's id, `""` for a top-level service.
    pub parent_id: String,
    /// The id of the peer exposing the service.
    pub peer_id: String,
    /// The service metadata: `{name, version, properties, methods}`.
    pub meta: Value,
}

/// A handle to a Netron stream (ext 107).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamReference {
    /// The stream id. Netron writes the number as a string and reads it back with `Number()`.
    pub stream_id: String,
    /// `true` for a writable stream, `false` for a readable one.
    pub writable: bool,
    /// Whether the stream is live (no end).
    pub live: bool,
    /// The id of the peer owning the stream.
    pub peer_id: String,
}

/// A msgpack extension value this codec keeps opaque.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawExt {
    /// The msgpack extension type (signed, as the msgpack spec defines it).
    pub type_id: i8,
    /// The extension payload, unparsed.
    pub data: Vec<u8>,
}

impl Value {
    /// An empty JS object.
    pub fn empty_object() -> Self {
        Self::Object(Vec::new())
    }

    /// Looks up `key` in an object (the last entry wins, as in JS); `None` for non-objects.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Self::Object(entries) => entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The value as an exact `i64`: a number with no fractional part in the safe-integer range,
    /// a `Long` that fits, or a `BigInt` that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Number(n) if n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER as f64 => {
                Some(*n as i64)
            }
            Self::Long(Long::Signed(v)) => Some(*v),
            Self::Long(Long::Unsigned(v)) => i64::try_from(*v).ok(),
            Self::BigInt(digits) => digits.parse().ok(),
            _ => None,
        }
    }

    /// A short name of the value's kind, for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Undefined => "undefined",
            Self::Null => "null",
            Self::Bool(_) => "a boolean",
            Self::Number(_) => "a number",
            Self::String(_) => "a string",
            Self::Binary(_) => "binary data",
            Self::Array(_) => "an array",
            Self::Object(_) => "an object",
            Self::BigInt(_) => "a bigint",
            Self::Long(_) => "a Long",
            Self::Date(_) => "a Date",
            Self::RegExp(_) => "a RegExp",
            Self::Set(_) => "a Set",
            Self::Map(_) => "a Map",
            Self::Error(_) => "an Error",
            Self::TitanError(_) => "a TitanError",
            Self::Reference(_) => "a Reference",
            Self::Definition(_) => "a Definition",
            Self::StreamReference(_) => "a StreamReference",
            Self::Ext(_) => "an unknown extension value",
        }
    }
}

/// `undefined`, the value of anything unset in JS.
impl Default for Value {
    fn default() -> Self {
        Self::Undefined
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

impl From<f64> for Value {
    fn from(value: f64) -> Self {
        Self::Number(value)
    }
}

impl From<i32> for Value {
    fn from(value: i32) -> Self {
        Self::Number(f64::from(value))
    }
}

impl From<u32> for Value {
    fn from(value: u32) -> Self {
        Self::Number(f64::from(value))
    }
}

/// A JS number when it holds the integer exactly, otherwise a `BigInt` (which a Netron peer
/// receives as a JS `bigint`): a 64-bit id never silently loses digits.
impl From<i64> for Value {
    fn from(value: i64) -> Self {
        if (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&value) {
            Self::Number(value as f64)
        } else {
            Self::BigInt(value.to_string())
        }
    }
}

/// Same rule as for `i64`: a number when exact, otherwise a `BigInt`.
impl From<u64> for Value {
    fn from(value: u64) -> Self {
        if value <= MAX_SAFE_INTEGER as u64 {
            Self::Number(value as f64)
        } else {
            Self::BigInt(value.to_string())
        }
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Self::String(value.to_owned())
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Self::String(value)
    }
}

impl From<Vec<Value>> for Value {
    fn from(value: Vec<Value>) -> Self {
        Self::Array(value)
    }
}

impl From<TitanError> for Value {
    fn from(value: TitanError) -> Self {
        Self::TitanError(Box::new(value))
    }
}

impl From<Definition> for Value {
    fn from(value: Definition) -> Self {
        Self::Definition(Box::new(value))
    }
}

impl From<JsError> for Value {
    fn from(value: JsError) -> Self {
        Self::Error(Box::new(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_stays_small() {
        // Arrays of values are the common case; rare variants are boxed to keep this down.
        assert_eq!(std::mem::size_of::<Value>(), 32);
    }

    #[test]
    fn wide_integers_become_bigints_instead_of_losing_digits() {
        assert_eq!(
            Value::from(MAX_SAFE_INTEGER),
            Value::Number(MAX_SAFE_INTEGER as f64)
        );
        assert_eq!(
            Value::from(MAX_SAFE_INTEGER + 1),
            Value::BigInt("9007199254740992".into())
        );
        assert_eq!(
            Value::from(i64::MIN),
            Value::BigInt("-9223372036854775808".into())
        );
        assert_eq!(
            Value::from(u64::MAX),
            Value::BigInt("18446744073709551615".into())
        );
        assert_eq!(Value::from(u64::MAX).as_i64(), None);
        assert_eq!(Value::from(i64::MIN).as_i64(), Some(i64::MIN));
    }

    #[test]
    fn as_i64_refuses_numbers_it_cannot_hold_exactly() {
        assert_eq!(Value::Number(3.0).as_i64(), Some(3));
        assert_eq!(Value::Number(3.5).as_i64(), None);
        assert_eq!(Value::Number(1e300).as_i64(), None);
        assert_eq!(Value::Number(f64::NAN).as_i64(), None);
    }

    #[test]
    fn object_lookup_takes_the_last_duplicate_like_js() {
        let object = Value::Object(vec![("a".into(), 1.into()), ("a".into(), 2.into())]);
        assert_eq!(object.get("a"), Some(&Value::Number(2.0)));
        assert_eq!(object.get("b"), None);
    }

    #[test]
    fn titan_error_defaults_match_netrons_constructor() {
        let error = TitanError::new(404, "Service not found");
        assert_eq!(error.name, Value::from("TitanError"));
        assert_eq!(error.details, Value::empty_object());
        assert_eq!(error.request_id, Value::Undefined);
        assert_eq!(error.stack, Value::Null);
        assert!(error.timestamp.as_f64().is_some_and(|ms| ms > 1.6e12));
    }
}
