//! Repeated keys, the way a JS peer sees them: Netron decodes a msgpack map into a JS object
//! (`result[key] = value`), ext 123 into a `Set` and ext 124 into a `Map`, so a key sent twice
//! keeps its first position and its last value, and a Set item sent twice is kept once. The
//! decoder applies the same rule, so a Rust handler and a JS service never read different values
//! out of one message (`{"role":"user","role":"admin"}` is `{role: "admin"}` on both sides).
//! Objects also get JS's key order (array indices first), so both sides re-encode alike.

use std::collections::HashMap;

use crate::value::Value;

/// Below this many entries a quadratic scan beats building a hash map (and allocates nothing).
const SCAN_LIMIT: usize = 16;

/// A value's identity under JS `SameValueZero` (how `Set` and `Map` compare keys): primitives
/// compare by value, with NaN equal to NaN and -0 equal to 0; objects, arrays, buffers and
/// Netron's class instances are each distinct, so they have none.
#[derive(Debug, PartialEq, Eq, Hash)]
enum JsKey<'a> {
    Undefined,
    Null,
    Bool(bool),
    Number(u64),
    String(&'a str),
    BigInt(&'a str),
}

fn js_key(value: &Value) -> Option<JsKey<'_>> {
    Some(match value {
        Value::Undefined => JsKey::Undefined,
        Value::Null => JsKey::Null,
        Value::Bool(flag) => JsKey::Bool(*flag),
        Value::Number(number) if number.is_nan() => JsKey::Number(f64::NAN.to_bits()),
        // -0 + 0 is +0, so both zeros share one identity.
        Value::Number(number) => JsKey::Number((number + 0.0).to_bits()),
        Value::String(text) => JsKey::String(text),
        Value::BigInt(digits) => JsKey::BigInt(digits),
        _ => return None,
    })
}

/// For each entry, the index of the first entry with the same key, if an earlier one has it.
fn first_with_same_key<'a, T>(
    entries: &'a [T],
    key: impl Fn(&'a T) -> Option<JsKey<'a>>,
) -> Vec<(usize, usize)> {
    let mut repeats = Vec::new();
    if entries.len() <= SCAN_LIMIT {
        for (later, entry) in entries.iter().enumerate() {
            let Some(this) = key(entry) else { continue };
            if let Some(first) = entries[..later]
                .iter()
                .position(|earlier| key(earlier).as_ref() == Some(&this))
            {
                repeats.push((later, first));
            }
        }
    } else {
        let mut seen: HashMap<JsKey<'a>, usize> = HashMap::new();
        for (later, entry) in entries.iter().enumerate() {
            if let Some(this) = key(entry) {
                match seen.get(&this) {
                    Some(&first) => repeats.push((later, first)),
                    None => {
                        seen.insert(this, later);
                    }
                }
            }
        }
    }
    repeats
}

/// Moves each repeated entry's value onto the first entry with its key, then drops the repeat.
fn collapse<K, V>(
    entries: &mut Vec<(K, V)>,
    repeats: &[(usize, usize)],
    take: impl Fn(&mut V) -> V,
) {
    if repeats.is_empty() {
        return;
    }
    for &(later, first) in repeats {
        let value = take(&mut entries[later].1);
        entries[first].1 = value;
    }
    let mut dropped = vec![false; entries.len()];
    for &(later, _) in repeats {
        dropped[later] = true;
    }
    let mut index = 0;
    entries.retain(|_| {
        index += 1;
        !dropped[index - 1]
    });
}

/// A JS object's keys: the last value wins, at the first key's position; and keys that are
/// array indices (`"0"`, `"17"`) come first, in numeric order, as JS orders an object's own keys.
pub(crate) fn object(entries: &mut Vec<(String, Value)>) {
    let repeats = first_with_same_key(entries, |(key, _)| Some(JsKey::String(key)));
    collapse(entries, &repeats, std::mem::take);
    if entries.iter().any(|(key, _)| array_index(key).is_some()) {
        // Stable, so the other keys keep their order after the indices.
        entries.sort_by_key(|(key, _)| array_index(key).map_or((1, 0), |index| (0, index)));
    }
}

/// The array index a property key names: a canonical decimal integer below 2^32 - 1.
fn array_index(key: &str) -> Option<u32> {
    let bytes = key.as_bytes();
    let canonical = match bytes {
        [] => false,
        [b'0'] => true,
        [b'0', ..] => false,
        _ => bytes.len() <= 10 && bytes.iter().all(u8::is_ascii_digit),
    };
    if !canonical {
        return None;
    }
    key.parse::<u32>().ok().filter(|&index| index != u32::MAX)
}

/// A JS `Map`: the last value wins, at the first key's position.
pub(crate) fn map(entries: &mut Vec<(Value, Value)>) {
    let repeats = first_with_same_key(entries, |(key, _)| js_key(key));
    collapse(entries, &repeats, std::mem::take);
}

/// A JS `Set`: the first of equal items stays.
pub(crate) fn set(items: &mut Vec<Value>) {
    let repeats = first_with_same_key(items, js_key);
    if repeats.is_empty() {
        return;
    }
    let mut dropped = vec![false; items.len()];
    for &(later, _) in &repeats {
        dropped[later] = true;
    }
    let mut index = 0;
    items.retain(|_| {
        index += 1;
        !dropped[index - 1]
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(number: f64) -> Value {
        Value::Number(number)
    }

    #[test]
    fn object_keys_keep_the_first_position_and_the_last_value() {
        let mut entries = vec![
            ("role".to_owned(), Value::from("user")),
            ("id".to_owned(), n(1.0)),
            ("role".to_owned(), Value::from("admin")),
        ];
        object(&mut entries);
        assert_eq!(
            entries,
            vec![
                ("role".to_owned(), Value::from("admin")),
                ("id".to_owned(), n(1.0))
            ]
        );
    }

    #[test]
    fn array_index_keys_come_first_in_numeric_order() {
        let key = |k: &str| (k.to_owned(), Value::Null);
        let mut entries = vec![
            key("b"),
            key("10"),
            key("a"),
            key("2"),
            key("01"),
            key("4294967295"),
            key("4294967294"),
            key("-1"),
        ];
        object(&mut entries);
        let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["2", "10", "4294967294", "b", "a", "01", "4294967295", "-1"]
        );
    }

    #[test]
    fn sets_and_maps_compare_keys_with_same_value_zero() {
        let mut items = vec![
            n(f64::NAN),
            n(0.0),
            n(f64::NAN),
            n(-0.0),
            Value::Array(vec![]),
            Value::Array(vec![]),
            Value::BigInt("7".into()),
            Value::BigInt("7".into()),
            Value::from("7"),
            Value::Undefined,
            Value::Undefined,
        ];
        set(&mut items);
        assert_eq!(
            format!("{items:?}"),
            format!(
                "{:?}",
                vec![
                    n(f64::NAN),
                    n(0.0),
                    Value::Array(vec![]),
                    Value::Array(vec![]),
                    Value::BigInt("7".into()),
                    Value::from("7"),
                    Value::Undefined,
                ]
            )
        );
        let mut entries = vec![(n(1.0), n(2.0)), (Value::Null, n(0.0)), (n(1.0), n(3.0))];
        map(&mut entries);
        assert_eq!(entries, vec![(n(1.0), n(3.0)), (Value::Null, n(0.0))]);
    }

    #[test]
    fn large_collections_use_the_hashed_path_with_the_same_result() {
        let mut entries: Vec<(String, Value)> = (0..40)
            .map(|i| (format!("k{}", i % 20), n(f64::from(i))))
            .collect();
        object(&mut entries);
        assert_eq!(entries.len(), 20);
        assert_eq!(entries[3], ("k3".to_owned(), n(23.0)));
        let mut items: Vec<Value> = (0..40).map(|i| n(f64::from(i % 25))).collect();
        set(&mut items);
        assert_eq!(items, (0..25).map(|i| n(f64::from(i))).collect::<Vec<_>>());
    }
}
