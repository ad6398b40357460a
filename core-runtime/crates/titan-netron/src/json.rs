//! `Value` ↔ `serde_json::Value`, for handing call arguments to JS services and taking their
//! results back. JSON cannot hold everything Netron can; the lossy cases follow what
//! `JSON.stringify` does in JS where that keeps the data, and keep the data where it would not.

use serde_json::{Map as JsonMap, Number as JsonNumber, Value as Json};

use crate::value::{Long, MAX_SAFE_INTEGER, Value};

/// The largest time JS `Date` can represent, in ms either side of the epoch.
const MAX_JS_DATE_MS: u64 = 8_640_000_000_000_000;

impl Value {
    /// Converts to JSON. Exact for null, booleans, finite numbers, strings, arrays and objects;
    /// for the rest:
    ///
    /// | Netron value | JSON |
    /// |---|---|
    /// | `undefined` | left out of objects, `null` elsewhere (as `JSON.stringify`) |
    /// | `NaN`, `±Infinity` | `null` (as `JSON.stringify`) |
    /// | Buffer | `{"type":"Buffer","data":[bytes]}` (as `Buffer.prototype.toJSON`) |
    /// | BigInt | its decimal string (`JSON.stringify` would throw) |
    /// | Long | a number when exact (≤ 2^53 − 1), else its decimal string |
    /// | Date | ISO-8601 string (as `Date.prototype.toJSON`), `null` past JS's date range |
    /// | RegExp | `"/source/flags"` |
    /// | Set | array of its items |
    /// | Map | array of `[key, value]` pairs (keys need not be strings) |
    /// | Error | `{name, message, ...own fields}` |
    /// | TitanError | its `toJSON()` fields: name, code, message, details, context, timestamp and the set tracing ids |
    /// | Reference / Definition / StreamReference | their JS instance fields |
    /// | unregistered extension | `{"type": id, "data": [bytes]}` |
    ///
    /// Objects with duplicate keys keep the last (as JS does). Key order follows `serde_json`'s
    /// map (sorted unless its `preserve_order` feature is on).
    pub fn to_json(&self) -> Json {
        match self {
            Value::Undefined | Value::Null => Json::Null,
            Value::Bool(flag) => Json::Bool(*flag),
            Value::Number(number) => number_to_json(*number),
            Value::String(text) => Json::String(text.clone()),
            Value::Binary(bytes) => object([
                ("type", Json::from("Buffer")),
                ("data", bytes_to_json(bytes)),
            ]),
            Value::Array(items) | Value::Set(items) => {
                Json::Array(items.iter().map(Value::to_json).collect())
            }
            Value::Object(entries) => entries_to_json(entries.iter().map(|(k, v)| (k.as_str(), v))),
            Value::BigInt(digits) => Json::String(digits.clone()),
            Value::Long(Long::Signed(v)) => integer_to_json(i128::from(*v)),
            Value::Long(Long::Unsigned(v)) => integer_to_json(i128::from(*v)),
            Value::Date(ms) => date_to_json(*ms),
            Value::RegExp(regexp) => Json::String(format!("/{}/{}", regexp.source, regexp.flags)),
            Value::Map(entries) => Json::Array(
                entries
                    .iter()
                    .map(|(k, v)| Json::Array(vec![k.to_json(), v.to_json()]))
                    .collect(),
            ),
            Value::Error(error) => {
                let name = Value::String(error.name.clone());
                let message = Value::String(error.message.clone());
                let fields = [("name", &name), ("message", &message)].into_iter();
                entries_to_json(fields.chain(error.fields.iter().map(|(k, v)| (k.as_str(), v))))
            }
            Value::TitanError(error) => entries_to_json(
                [
                    ("name", &error.name),
                    ("code", &error.code),
                    ("message", &error.message),
                    ("details", &error.details),
                    ("context", &error.context),
                    ("timestamp", &error.timestamp),
                    ("requestId", &error.request_id),
                    ("correlationId", &error.correlation_id),
                    ("spanId", &error.span_id),
                    ("traceId", &error.trace_id),
                ]
                .into_iter(),
            ),
            Value::Reference(reference) => {
                object([("defId", Json::from(reference.def_id.as_str()))])
            }
            Value::Definition(definition) => object([
                ("id", Json::from(definition.id.as_str())),
                ("parentId", Json::from(definition.parent_id.as_str())),
                ("peerId", Json::from(definition.peer_id.as_str())),
                ("meta", definition.meta.to_json()),
            ]),
            Value::StreamReference(stream) => object([
                // Netron's decoder turns the id back into a number with `Number()`.
                (
                    "streamId",
                    stream
                        .stream_id
                        .parse::<f64>()
                        .map_or_else(|_| Json::from(stream.stream_id.as_str()), number_to_json),
                ),
                (
                    "type",
                    Json::from(if stream.writable {
                        "writable"
                    } else {
                        "readable"
                    }),
                ),
                ("isLive", Json::Bool(stream.live)),
                ("peerId", Json::from(stream.peer_id.as_str())),
            ]),
            Value::Ext(raw) => object([
                ("type", Json::from(raw.type_id)),
                ("data", bytes_to_json(&raw.data)),
            ]),
        }
    }

    /// Converts from JSON, as `JSON.parse` would: numbers become JS numbers (integers beyond
    /// 2^53 round, exactly as in JS), objects keep `serde_json`'s key order.
    pub fn from_json(json: Json) -> Value {
        match json {
            Json::Null => Value::Null,
            Json::Bool(flag) => Value::Bool(flag),
            Json::Number(number) => Value::Number(number.as_f64().unwrap_or(f64::NAN)),
            Json::String(text) => Value::String(text),
            Json::Array(items) => Value::Array(items.into_iter().map(Value::from_json).collect()),
            Json::Object(entries) => Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, Value::from_json(v)))
                    .collect(),
            ),
        }
    }
}

impl From<&Value> for Json {
    fn from(value: &Value) -> Self {
        value.to_json()
    }
}

impl From<Json> for Value {
    fn from(json: Json) -> Self {
        Value::from_json(json)
    }
}

fn object<const N: usize>(entries: [(&str, Json); N]) -> Json {
    Json::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

/// Like `JSON.stringify` on an object: `undefined` members are left out.
fn entries_to_json<'a>(entries: impl Iterator<Item = (&'a str, &'a Value)>) -> Json {
    let mut map = JsonMap::new();
    for (key, value) in entries {
        if *value != Value::Undefined {
            map.insert(key.to_owned(), value.to_json());
        }
    }
    Json::Object(map)
}

fn bytes_to_json(bytes: &[u8]) -> Json {
    Json::Array(bytes.iter().map(|b| Json::from(*b)).collect())
}

/// Integral numbers print without a fraction (`5`, not `5.0`), as in JS.
fn number_to_json(number: f64) -> Json {
    if number.fract() == 0.0 && number.abs() <= MAX_SAFE_INTEGER as f64 {
        Json::from(number as i64)
    } else {
        JsonNumber::from_f64(number).map_or(Json::Null, Json::Number)
    }
}

fn integer_to_json(value: i128) -> Json {
    if value.unsigned_abs() <= MAX_SAFE_INTEGER as u128 {
        Json::from(value as i64)
    } else {
        Json::String(value.to_string())
    }
}

/// `Date.prototype.toJSON`: `YYYY-MM-DDTHH:MM:SS.sssZ`, with a signed six-digit year past 9999.
fn date_to_json(ms: u64) -> Json {
    if ms > MAX_JS_DATE_MS {
        return Json::Null;
    }
    let days = (ms / 86_400_000) as i64;
    let ms_of_day = ms % 86_400_000;
    let (year, month, day) = civil_from_days(days);
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else {
        format!("+{year:06}")
    };
    Json::String(format!(
        "{year}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        ms_of_day / 3_600_000,
        ms_of_day / 60_000 % 60,
        ms_of_day / 1000 % 60,
        ms_of_day % 1000
    ))
}

/// Days since 1970-01-01 → proleptic Gregorian (year, month, day); Howard Hinnant's algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::value::{JsError, JsErrorClass, RegExp, TitanError};

    #[test]
    fn plain_json_round_trips_exactly() {
        let json = json!({"a": 1, "b": [true, null, "x", 1.5, -3], "c": {"d": {}}});
        assert_eq!(Value::from_json(json.clone()).to_json(), json);
    }

    #[test]
    fn undefined_is_dropped_from_objects_and_null_in_arrays() {
        let value = Value::Object(vec![
            ("a".into(), Value::Undefined),
            ("b".into(), Value::Array(vec![Value::Undefined])),
        ]);
        assert_eq!(value.to_json(), json!({"b": [null]}));
    }

    #[test]
    fn numbers_json_cannot_hold_become_null_and_integers_print_plainly() {
        assert_eq!(Value::Number(f64::NAN).to_json(), Json::Null);
        assert_eq!(Value::Number(f64::NEG_INFINITY).to_json(), Json::Null);
        assert_eq!(Value::Number(5.0).to_json().to_string(), "5");
        assert_eq!(Value::Number(1e300).to_json().to_string(), "1e+300");
        assert_eq!(Value::Long(Long::Signed(-7)).to_json(), json!(-7));
        assert_eq!(
            Value::Long(Long::Unsigned(u64::MAX)).to_json(),
            json!("18446744073709551615")
        );
        assert_eq!(Value::BigInt("-12".into()).to_json(), json!("-12"));
    }

    #[test]
    fn dates_print_like_date_to_json() {
        assert_eq!(Value::Date(0).to_json(), json!("1970-01-01T00:00:00.000Z"));
        assert_eq!(
            Value::Date(1_700_000_000_000).to_json(),
            json!("2023-11-14T22:13:20.000Z")
        );
        assert_eq!(
            Value::Date(951_782_400_123).to_json(),
            json!("2000-02-29T00:00:00.123Z")
        );
        assert_eq!(
            Value::Date(MAX_JS_DATE_MS).to_json(),
            json!("+275760-09-13T00:00:00.000Z")
        );
        assert_eq!(Value::Date(MAX_JS_DATE_MS + 1).to_json(), Json::Null);
    }

    #[test]
    fn collections_and_objects_keep_their_data() {
        assert_eq!(
            Value::Binary(vec![0, 255]).to_json(),
            json!({"type": "Buffer", "data": [0, 255]})
        );
        let map = Value::Map(vec![(Value::from(2), Value::from("v"))]);
        assert_eq!(map.to_json(), json!([[2, "v"]]));
        assert_eq!(Value::Set(vec![Value::from(1)]).to_json(), json!([1]));
        let regexp = Value::RegExp(Box::new(RegExp {
            source: "a+".into(),
            flags: "gi".into(),
        }));
        assert_eq!(regexp.to_json(), json!("/a+/gi"));
        let mut error = JsError::new(JsErrorClass::RangeError, "too big");
        error.fields.push(("code".into(), Value::from("E_BIG")));
        assert_eq!(
            Value::from(error).to_json(),
            json!({"name": "RangeError", "message": "too big", "code": "E_BIG"})
        );
    }

    #[test]
    fn titan_errors_print_like_their_to_json() {
        let mut error = TitanError::new(404, "Service not found");
        error.timestamp = Value::from(1);
        error.request_id = Value::from("r1");
        assert_eq!(
            Value::from(error).to_json(),
            json!({
                "name": "TitanError", "code": 404, "message": "Service not found",
                "details": {}, "context": {}, "timestamp": 1, "requestId": "r1"
            })
        );
    }
}
