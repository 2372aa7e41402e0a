//! Typed field accessors over a JSON object that turn wrong or absent fields into
//! [`Rejection`]s whose detail names the field with its full path (`items[1].quantity`).

use serde_json::{Map, Value};

use crate::money::{decimal_to_scaled, Cents, MAX_AMOUNT, MAX_EXACT_INTEGER};
use crate::reject::{RejectReason, Rejection};
use crate::time::{parse_rfc3339, Micros};

/// The result of a field check.
pub(crate) type Res<T> = Result<T, Rejection>;

/// A `missing_field` rejection for `path`.
pub(crate) fn missing(path: &str) -> Rejection {
    Rejection::new(
        RejectReason::MissingField,
        format!("missing field `{path}`"),
    )
}

/// An `invalid_field` rejection: ``field `path` must be what``.
pub(crate) fn invalid(path: &str, what: &str) -> Rejection {
    Rejection::new(
        RejectReason::InvalidField,
        format!("field `{path}` must be {what}"),
    )
}

/// The fields of one JSON object, with the path prefix used in rejection details.
#[derive(Clone, Debug)]
pub(crate) struct Fields<'a> {
    map: &'a Map<String, Value>,
    prefix: String,
}

impl<'a> Fields<'a> {
    /// The top-level object of a record.
    pub(crate) fn root(map: &'a Map<String, Value>) -> Self {
        Fields {
            map,
            prefix: String::new(),
        }
    }

    /// The full path of field `name` of this object.
    pub(crate) fn path(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The value of `name`; `null` counts as absent.
    pub(crate) fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    /// The fields of this object, in key order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&'a String, &'a Value)> {
        self.map.iter()
    }

    /// `missing_field` for the first of `names` that is absent or `null`.
    pub(crate) fn require(&self, names: &[&str]) -> Res<()> {
        match names.iter().find(|n| self.get(n).is_none()) {
            Some(name) => Err(missing(&self.path(name))),
            None => Ok(()),
        }
    }

    /// A required field converted by `convert` (given the value and its path).
    pub(crate) fn req<T>(&self, name: &str, convert: impl Fn(&'a Value, &str) -> Res<T>) -> Res<T> {
        let path = self.path(name);
        match self.get(name) {
            Some(value) => convert(value, &path),
            None => Err(missing(&path)),
        }
    }

    /// An optional field converted by `convert`; absent or `null` is `None`.
    pub(crate) fn opt<T>(
        &self,
        name: &str,
        convert: impl Fn(&'a Value, &str) -> Res<T>,
    ) -> Res<Option<T>> {
        match self.get(name) {
            Some(value) => convert(value, &self.path(name)).map(Some),
            None => Ok(None),
        }
    }

    /// The nested object `name` (required) as fields with the path `name.`.
    pub(crate) fn nested(&self, name: &str) -> Res<Fields<'a>> {
        let path = self.path(name);
        let map = self.req(name, as_object)?;
        Ok(Fields {
            map,
            prefix: format!("{path}."),
        })
    }

    /// The optional nested object `name` as fields with the path `name.`.
    pub(crate) fn opt_nested(&self, name: &str) -> Res<Option<Fields<'a>>> {
        let path = self.path(name);
        Ok(self.opt(name, as_object)?.map(|map| Fields {
            map,
            prefix: format!("{path}."),
        }))
    }

    /// The elements of array `name` that must all be objects, as fields with paths `name[i].`.
    pub(crate) fn items(&self, items: &'a [Value], name: &str) -> Res<Vec<Fields<'a>>> {
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let path = format!("{}[{i}]", self.path(name));
                Ok(Fields {
                    map: as_object(item, &path)?,
                    prefix: format!("{path}."),
                })
            })
            .collect()
    }

    /// A required string.
    pub(crate) fn string(&self, name: &str) -> Res<&'a str> {
        self.req(name, as_str)
    }

    /// An optional string.
    pub(crate) fn opt_string(&self, name: &str) -> Res<Option<&'a str>> {
        self.opt(name, as_str)
    }

    /// A required non-empty string identifier.
    pub(crate) fn id(&self, name: &str) -> Res<&'a str> {
        self.req(name, as_id)
    }

    /// An optional non-empty string identifier.
    pub(crate) fn opt_id(&self, name: &str) -> Res<Option<&'a str>> {
        self.opt(name, as_id)
    }

    /// A required JSON integer.
    pub(crate) fn int(&self, name: &str) -> Res<i64> {
        self.req(name, as_int)
    }

    /// An optional JSON integer.
    pub(crate) fn opt_int(&self, name: &str) -> Res<Option<i64>> {
        self.opt(name, as_int)
    }

    /// A required amount of money (number >= 0) in cents.
    pub(crate) fn money(&self, name: &str) -> Res<Cents> {
        self.req(name, as_money)
    }

    /// An optional amount of money (number >= 0) in cents.
    pub(crate) fn opt_money(&self, name: &str) -> Res<Option<Cents>> {
        self.opt(name, as_money)
    }

    /// A required RFC 3339 timestamp, in UTC microseconds.
    pub(crate) fn time(&self, name: &str) -> Res<Micros> {
        self.req(name, as_time)
    }

    /// A required array.
    pub(crate) fn array(&self, name: &str) -> Res<&'a [Value]> {
        self.req(name, as_array)
    }

    /// An optional array.
    pub(crate) fn opt_array(&self, name: &str) -> Res<Option<&'a [Value]>> {
        self.opt(name, as_array)
    }

    /// A required string that is one of `allowed`.
    pub(crate) fn one_of(&self, name: &str, allowed: &[&'static str]) -> Res<&'static str> {
        self.req(name, |v, p| as_enum(v, p, allowed))
    }

    /// An optional string that is one of `allowed`.
    pub(crate) fn opt_one_of(
        &self,
        name: &str,
        allowed: &[&'static str],
    ) -> Res<Option<&'static str>> {
        self.opt(name, |v, p| as_enum(v, p, allowed))
    }
}

/// The value as a string.
pub(crate) fn as_str<'v>(value: &'v Value, path: &str) -> Res<&'v str> {
    value.as_str().ok_or_else(|| invalid(path, "a string"))
}

/// The value as a non-empty string.
pub(crate) fn as_id<'v>(value: &'v Value, path: &str) -> Res<&'v str> {
    match value.as_str() {
        Some(text) if !text.is_empty() => Ok(text),
        _ => Err(invalid(path, "a non-empty string")),
    }
}

/// The value as a string of `min..=max` characters.
pub(crate) fn as_bounded<'v>(value: &'v Value, path: &str, min: usize, max: usize) -> Res<&'v str> {
    match value.as_str() {
        Some(text) if (min..=max).contains(&text.chars().count()) => Ok(text),
        _ => Err(invalid(
            path,
            &format!("a string of {min} to {max} characters"),
        )),
    }
}

/// The value as a JSON integer that fits in an `i64` (`5.0` and `"5"` are not integers).
pub(crate) fn as_int(value: &Value, path: &str) -> Res<i64> {
    match value {
        Value::Number(n) => n.as_i64().ok_or_else(|| invalid(path, "an integer")),
        _ => Err(invalid(path, "an integer")),
    }
}

/// The value as a JSON integer in `min..=max`.
pub(crate) fn as_int_in(value: &Value, path: &str, min: i64, max: i64) -> Res<i64> {
    let what = || match max {
        i64::MAX => format!("an integer >= {min}"),
        _ => format!("an integer from {min} to {max}"),
    };
    match value {
        Value::Number(n) => match n.as_i64() {
            Some(i) if (min..=max).contains(&i) => Ok(i),
            _ => Err(invalid(path, &what())),
        },
        _ => Err(invalid(path, &what())),
    }
}

/// The decimal text of a JSON number value.
pub(crate) fn as_number_text(value: &Value, path: &str) -> Res<String> {
    match value {
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(invalid(path, "a number")),
    }
}

/// The value as money: a JSON number >= 0, in cents (rounded half away from zero).
pub(crate) fn as_money(value: &Value, path: &str) -> Res<Cents> {
    let what = "a number >= 0";
    let text = as_number_text(value, path).map_err(|_| invalid(path, what))?;
    if is_negative(&text) {
        return Err(invalid(path, what));
    }
    scaled(&text, 2)
        .filter(|cents| *cents <= MAX_AMOUNT)
        .ok_or_else(|| invalid(path, AMOUNT_LIMIT))
}

/// The detail of an amount over [`MAX_AMOUNT`].
const AMOUNT_LIMIT: &str =
    "at most 9999999999999999.99, the largest amount a DECIMAL(18, 2) column holds";

/// The value as hours (any JSON number) in exact micro-hours, at most
/// [`MAX_EXACT_INTEGER`] micro-hours in magnitude.
pub(crate) fn as_hours(value: &Value, path: &str) -> Res<i64> {
    let text = as_number_text(value, path)?;
    scaled(&text, 6)
        .filter(|m| m.unsigned_abs() <= MAX_EXACT_INTEGER as u64)
        .ok_or_else(|| {
            invalid(
                path,
                "a number of hours from -9007199254.740991 to 9007199254.740991",
            )
        })
}

/// The value as an RFC 3339 timestamp with a zone, in UTC microseconds.
pub(crate) fn as_time(value: &Value, path: &str) -> Res<Micros> {
    value
        .as_str()
        .and_then(parse_rfc3339)
        .ok_or_else(|| invalid(path, "an RFC 3339 timestamp with a zone"))
}

/// The value as an object.
pub(crate) fn as_object<'v>(value: &'v Value, path: &str) -> Res<&'v Map<String, Value>> {
    value.as_object().ok_or_else(|| invalid(path, "an object"))
}

/// The value as an array.
pub(crate) fn as_array<'v>(value: &'v Value, path: &str) -> Res<&'v [Value]> {
    match value {
        Value::Array(items) => Ok(items),
        _ => Err(invalid(path, "an array")),
    }
}

/// The value as one of the strings `allowed` (returned as the `'static` name).
pub(crate) fn as_enum(value: &Value, path: &str, allowed: &[&'static str]) -> Res<&'static str> {
    value
        .as_str()
        .and_then(|text| allowed.iter().copied().find(|a| *a == text))
        .ok_or_else(|| invalid(path, &format!("one of {}", allowed.join("|"))))
}

/// True when `text` is a JSON number: `-?\d+(\.\d+)?([eE][+-]?\d+)?`.
pub(crate) fn is_number_text(text: &str) -> bool {
    fn digits(s: &str) -> (usize, &str) {
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        (n, &s[n..])
    }
    let rest = text.strip_prefix('-').unwrap_or(text);
    let (n, mut rest) = digits(rest);
    if n == 0 {
        return false;
    }
    if let Some(frac) = rest.strip_prefix('.') {
        let (n, r) = digits(frac);
        if n == 0 {
            return false;
        }
        rest = r;
    }
    if let Some(exp) = rest.strip_prefix(['e', 'E']) {
        let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
        let (n, r) = digits(exp);
        if n == 0 {
            return false;
        }
        rest = r;
    }
    rest.is_empty()
}

/// The mantissa (before any exponent) of a number's text.
fn mantissa(text: &str) -> &str {
    text.split(['e', 'E']).next().unwrap_or(text)
}

/// True when the number's text is below zero (`-0.0` is not).
pub(crate) fn is_negative(text: &str) -> bool {
    text.starts_with('-') && mantissa(text).bytes().any(|b| matches!(b, b'1'..=b'9'))
}

/// [`decimal_to_scaled`] of a JSON number's text, with zero (whatever its exponent) handled
/// up front so that huge exponents never cost time.
pub(crate) fn scaled(text: &str, scale: u32) -> Option<i64> {
    if !is_number_text(text) {
        return None;
    }
    if !mantissa(text).bytes().any(|b| matches!(b, b'1'..=b'9')) {
        return Some(0);
    }
    decimal_to_scaled(text, scale)
}

/// [`scaled`] of a number's text that must be >= 0.
pub(crate) fn non_negative_scaled(text: &str, scale: u32) -> Option<i64> {
    if is_negative(text) {
        return None;
    }
    scaled(text, scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_text_grammar() {
        for ok in ["0", "-0", "12", "1.5", "1e5", "1.5E-3", "-2e+7"] {
            assert!(is_number_text(ok), "{ok}");
        }
        for bad in [
            "", "-", "1.", ".5", "1e", "+1", " 1", "1 ", "NaN", "0x10", "1.2.3",
        ] {
            assert!(!is_number_text(bad), "{bad}");
        }
    }

    #[test]
    fn scaling_is_exact_and_fast_on_huge_exponents() {
        assert_eq!(scaled("0e2147483647", 2), Some(0));
        assert_eq!(scaled("-0.0e2147483647", 6), Some(0));
        assert_eq!(scaled("1e2147483647", 2), None);
        assert_eq!(scaled("1e-2147483648", 2), Some(0));
        assert_eq!(non_negative_scaled("-0.001", 2), None);
        assert_eq!(non_negative_scaled("-0.0", 2), Some(0));
        assert_eq!(non_negative_scaled("120", 6), Some(120_000_000));
    }
}
