//! Borrowed building blocks of the fast path: objects that must be JSON objects, small maps
//! of raw values with no duplicate keys, and the conversions of a raw JSON value (string,
//! integer, number text, money, hours, timestamp) with the reference decoder's rules.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, value::MapAccessDeserializer, Deserialize, Deserializer, MapAccess};
use serde_json::value::RawValue;

use crate::decode::fields::{non_negative_scaled, scaled};
use crate::decode::version_major;
use crate::money::{Cents, MAX_AMOUNT, MAX_EXACT_INTEGER};
use crate::time::{parse_rfc3339, Micros};

/// A raw JSON value borrowed from the record.
pub(super) type Raw<'a> = &'a RawValue;

/// `T` deserialized from a JSON object only (a derived struct alone also accepts arrays).
pub(super) struct Obj<T>(pub(super) T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> de::Visitor<'de> for Visit<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }
        deserializer.deserialize_map(Visit(PhantomData)).map(Obj)
    }
}

/// A JSON string field, borrowed from the record when it has no escapes.
pub(super) struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> de::Visitor<'de> for Visit<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
        }
        deserializer.deserialize_str(Visit(PhantomData))
    }
}

/// A JSON value whose string content can be read: a raw value (any JSON) or a [`Text`].
pub(super) trait Json<'a>: Copy {
    /// The string held, unescaped; `None` when the value is not a JSON string.
    fn text(self) -> Option<Cow<'a, str>>;
}

impl<'a> Json<'a> for Raw<'a> {
    fn text(self) -> Option<Cow<'a, str>> {
        string(self)
    }
}

impl<'a> Json<'a> for &'a Text<'_> {
    fn text(self) -> Option<Cow<'a, str>> {
        Some(Cow::Borrowed(&self.0))
    }
}

/// A JSON object as its raw members, in order; duplicate keys and escaped keys are errors.
pub(super) struct RawObj<'a>(Vec<(&'a str, Raw<'a>)>);

impl<'de: 'a, 'a> Deserialize<'de> for RawObj<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> de::Visitor<'de> for Visit<'a> {
            type Value = RawObj<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members: Vec<(&'a str, Raw<'a>)> = Vec::with_capacity(12);
                while let Some(key) = map.next_key::<&'a str>()? {
                    if members.iter().any(|(k, _)| *k == key) {
                        return Err(de::Error::custom("duplicate key"));
                    }
                    members.push((key, map.next_value()?));
                }
                Ok(RawObj(members))
            }
        }
        deserializer.deserialize_map(Visit(PhantomData))
    }
}

impl<'a> RawObj<'a> {
    /// The value of `name`; `null` counts as absent.
    pub(super) fn get(&self, name: &str) -> Option<Raw<'a>> {
        self.0
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
            .filter(|v| !is_null(v))
    }

    /// The members, in order.
    pub(super) fn members(&self) -> impl Iterator<Item = Raw<'a>> + '_ {
        self.0.iter().map(|(_, v)| *v)
    }
}

/// True for JSON `null`.
pub(super) fn is_null(raw: Raw<'_>) -> bool {
    raw.get() == "null"
}

/// True for a JSON number.
pub(super) fn is_number(raw: Raw<'_>) -> bool {
    matches!(raw.get().as_bytes().first(), Some(b'-' | b'0'..=b'9'))
}

/// True for a JSON string, number or boolean.
pub(super) fn is_scalar(raw: Raw<'_>) -> bool {
    matches!(
        raw.get().as_bytes().first(),
        Some(b'"' | b'-' | b'0'..=b'9' | b't' | b'f')
    )
}

/// True for a JSON object.
pub(super) fn is_object(raw: Raw<'_>) -> bool {
    raw.get().starts_with('{')
}

/// The string held by a JSON string value (unescaped), else `None`.
pub(super) fn string(raw: Raw<'_>) -> Option<Cow<'_, str>> {
    let text = raw.get();
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(text).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(inner))
    }
}

/// The string held by a JSON string value.
pub(super) fn text<'a>(value: impl Json<'a>) -> Option<Cow<'a, str>> {
    value.text()
}

/// A non-empty string.
pub(super) fn id<'a>(value: impl Json<'a>) -> Option<Cow<'a, str>> {
    value.text().filter(|s| !s.is_empty())
}

/// A string of `min..=max` characters.
pub(super) fn bounded<'a>(value: impl Json<'a>, min: usize, max: usize) -> Option<Cow<'a, str>> {
    value
        .text()
        .filter(|s| (min..=max).contains(&s.chars().count()))
}

/// A string that is one of `allowed`, as the `'static` name.
pub(super) fn one_of<'a>(value: impl Json<'a>, allowed: &[&'static str]) -> Option<&'static str> {
    let text = value.text()?;
    allowed.iter().copied().find(|a| *a == text)
}

/// A version text of major 1 (the only one accepted).
pub(super) fn version_1<'a>(value: impl Json<'a>) -> Option<()> {
    (version_major(&value.text()?)? == "1").then_some(())
}

/// The decimal text of a JSON number as `serde_json::Number` (arbitrary precision) keeps it:
/// the exponent mark lowercased and signed (`1E5` is `1e+5`).
pub(super) fn number_text(raw: Raw<'_>) -> Option<Cow<'_, str>> {
    if !is_number(raw) {
        return None;
    }
    let text = raw.get();
    let Some(i) = text.find(['e', 'E']) else {
        return Some(Cow::Borrowed(text));
    };
    let exponent = &text[i + 1..];
    let sign = if exponent.starts_with(['+', '-']) {
        ""
    } else {
        "+"
    };
    Some(Cow::Owned(format!("{}e{sign}{exponent}", &text[..i])))
}

/// A JSON integer that fits in an `i64` (as `Number::as_i64` under arbitrary precision).
pub(super) fn int(raw: Raw<'_>) -> Option<i64> {
    number_text(raw)?.parse().ok()
}

/// A JSON integer in `min..=max`.
pub(super) fn int_in(raw: Raw<'_>, min: i64, max: i64) -> Option<i64> {
    int(raw).filter(|i| (min..=max).contains(i))
}

/// Money: a JSON number >= 0, in cents.
pub(super) fn money(raw: Raw<'_>) -> Option<Cents> {
    non_negative_scaled(&number_text(raw)?, 2).filter(|cents| *cents <= MAX_AMOUNT)
}

/// Hours (any JSON number in range) in micro-hours.
pub(super) fn hours(raw: Raw<'_>) -> Option<i64> {
    scaled(&number_text(raw)?, 6).filter(|m| m.unsigned_abs() <= MAX_EXACT_INTEGER as u64)
}

/// An RFC 3339 timestamp with a zone, in UTC microseconds.
pub(super) fn time<'a>(value: impl Json<'a>) -> Option<Micros> {
    let text = value.text()?;
    super::time::parse_common(&text).or_else(|| parse_rfc3339(&text))
}

/// A string or number as text (a number keeps its decimal text).
pub(super) fn scalar_text(raw: Raw<'_>) -> Option<String> {
    match string(raw) {
        Some(text) => Some(text.into_owned()),
        None => number_text(raw).map(Cow::into_owned),
    }
}

/// An optional field converted by `convert`: absent is `Some(None)`, a failed conversion is
/// `None` (not handled).
pub(super) fn opt<V, T>(raw: Option<V>, convert: impl FnOnce(V) -> Option<T>) -> Option<Option<T>> {
    match raw {
        Some(raw) => convert(raw).map(Some),
        None => Some(None),
    }
}
