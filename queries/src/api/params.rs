//! Query-string parsing shared by the routes: unknown and repeated parameters, `limit`,
//! opaque cursors, RFC 3339 times, granularities and SLA statuses, each failing with a 400
//! that names the parameter.

use std::collections::BTreeMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::Query;
use pulso_events::time::{parse_rfc3339, Granularity, Micros};
use pulso_events::views::SlaStatus;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::ApiError;

/// The raw query pairs as axum extracts them.
pub(crate) type RawQuery = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// A request's query parameters, checked against the names a route accepts.
pub(crate) struct Params {
    values: BTreeMap<String, Vec<String>>,
}

impl Params {
    /// Checks that every parameter is one of `allowed` (plus `limit` and `cursor` when
    /// `paged`) and given at most once.
    pub(crate) fn parse(raw: RawQuery, allowed: &[&str], paged: bool) -> Result<Params, ApiError> {
        Self::parse_repeatable(raw, allowed, &[], paged)
    }

    /// [`Params::parse`], where the parameters of `repeatable` (also allowed) may be given
    /// more than once.
    pub(crate) fn parse_repeatable(
        raw: RawQuery,
        allowed: &[&str],
        repeatable: &[&str],
        paged: bool,
    ) -> Result<Params, ApiError> {
        let allowed: Vec<&str> = allowed.iter().chain(repeatable).copied().collect();
        let Query(pairs) = raw.map_err(|e| {
            ApiError::bad_request("invalid_query", "query", format!("unreadable query: {e}"))
        })?;
        let mut values = BTreeMap::new();
        for (name, value) in pairs {
            let known = allowed.contains(&name.as_str())
                || (paged && (name == "limit" || name == "cursor"));
            if !known {
                let mut accepted: Vec<&str> = allowed.to_vec();
                if paged {
                    accepted.extend(["limit", "cursor"]);
                }
                let message = if accepted.is_empty() {
                    format!("unknown parameter `{name}`: this route takes no parameters")
                } else {
                    format!(
                        "unknown parameter `{name}`; accepted: {}",
                        accepted.join(", ")
                    )
                };
                return Err(ApiError::bad_request("unknown_parameter", &name, message));
            }
            if values.contains_key(&name) && !repeatable.contains(&name.as_str()) {
                let message = format!("parameter `{name}` is given more than once");
                return Err(ApiError::bad_request("repeated_parameter", &name, message));
            }
            values.entry(name).or_insert_with(Vec::new).push(value);
        }
        Ok(Params { values })
    }

    /// A text parameter.
    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    /// Every value of a repeatable parameter, in the order given.
    pub(crate) fn all(&self, name: &str) -> &[String] {
        self.values.get(name).map_or(&[], Vec::as_slice)
    }

    /// An integer parameter.
    pub(crate) fn integer(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.text(name)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    ApiError::invalid(name, format!("`{name}` must be an integer, got `{v}`"))
                })
            })
            .transpose()
    }

    /// An RFC 3339 time parameter.
    pub(crate) fn time(&self, name: &str) -> Result<Option<Micros>, ApiError> {
        self.text(name)
            .map(|v| {
                parse_rfc3339(v).ok_or_else(|| {
                    ApiError::invalid(
                        name,
                        format!(
                            "`{name}` must be an RFC 3339 time with a zone \
                             (e.g. 2024-01-15T00:00:00Z), got `{v}`"
                        ),
                    )
                })
            })
            .transpose()
    }

    /// The `from`/`to` pair: `from <= t < to`; `to` before `from` is an error.
    pub(crate) fn time_range(&self) -> Result<TimeRange, ApiError> {
        let range = TimeRange {
            from: self.time("from")?,
            to: self.time("to")?,
        };
        if let (Some(from), Some(to)) = (range.from, range.to) {
            if to < from {
                return Err(ApiError::invalid("to", "`to` must not be before `from`"));
            }
        }
        Ok(range)
    }

    /// The `granularity` parameter: `minute`, `hour` or `day`.
    pub(crate) fn granularity(&self) -> Result<Option<Granularity>, ApiError> {
        self.text("granularity")
            .map(|v| {
                Granularity::ALL
                    .into_iter()
                    .find(|g| g.as_str() == v)
                    .ok_or_else(|| {
                        ApiError::invalid(
                            "granularity",
                            format!("unknown granularity `{v}`; use minute, hour or day"),
                        )
                    })
            })
            .transpose()
    }

    /// The `status` parameter: `BREACHED`, `AT_RISK` or `ON_TRACK` (any case).
    pub(crate) fn status(&self) -> Result<Option<SlaStatus>, ApiError> {
        self.text("status")
            .map(|v| {
                [SlaStatus::Breached, SlaStatus::AtRisk, SlaStatus::OnTrack]
                    .into_iter()
                    .find(|s| s.as_str().eq_ignore_ascii_case(v))
                    .ok_or_else(|| {
                        ApiError::invalid(
                            "status",
                            format!("unknown status `{v}`; use BREACHED, AT_RISK or ON_TRACK"),
                        )
                    })
            })
            .transpose()
    }

    /// The page size: `default` when absent, an integer from 1 to `max` otherwise.
    pub(crate) fn limit(&self, default: usize, max: usize) -> Result<usize, ApiError> {
        match self.text("limit") {
            None => Ok(default),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(ApiError::invalid(
                    "limit",
                    format!("`limit` must be an integer from 1 to {max}, got `{v}`"),
                )),
            },
        }
    }

    /// The key to resume after, decoded from the `cursor` of a previous page of `scope`.
    pub(crate) fn cursor<K: DeserializeOwned>(&self, scope: &str) -> Result<Option<K>, ApiError> {
        let Some(text) = self.text("cursor") else {
            return Ok(None);
        };
        let bad = || {
            ApiError::invalid(
                "cursor",
                "`cursor` is not a cursor of this listing; pass `next_cursor` of the previous page",
            )
        };
        let bytes = hex_decode(text).ok_or_else(bad)?;
        let (tag, key): (String, K) = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        if tag != scope {
            return Err(bad());
        }
        Ok(Some(key))
    }
}

/// An optional half-open time range `from <= t < to`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TimeRange {
    /// Inclusive lower bound.
    pub(crate) from: Option<Micros>,
    /// Exclusive upper bound.
    pub(crate) to: Option<Micros>,
}

impl TimeRange {
    /// Whether `t` is in the range.
    pub(crate) fn contains(&self, t: Micros) -> bool {
        self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|to| t < to)
    }
}

/// The opaque cursor that resumes a listing of `scope` after `key`: hex of JSON.
pub(crate) fn encode_cursor<K: Serialize>(scope: &str, key: &K) -> String {
    let json = serde_json::to_vec(&(scope, key)).unwrap_or_default();
    let mut out = String::with_capacity(json.len() * 2);
    for b in json {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let bytes = text.as_bytes();
    let pairs = bytes.chunks_exact(2);
    if bytes.is_empty() || !pairs.remainder().is_empty() {
        return None;
    }
    pairs
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let key = ("t1".to_string(), 42_i64, Some("ALTA".to_string()));
        let text = encode_cursor("view", &key);
        assert!(text.bytes().all(|b| b.is_ascii_hexdigit()));
        let params = Params {
            values: BTreeMap::from([("cursor".to_string(), vec![text])]),
        };
        let decoded: Option<(String, i64, Option<String>)> = params.cursor("view").unwrap();
        assert_eq!(decoded, Some(key));
        assert!(params
            .cursor::<(String, i64, Option<String>)>("other")
            .is_err());
        assert_eq!(hex_decode("zz"), None);
        assert_eq!(hex_decode("abc"), None);
    }
}
