//! Delivery-time targets per channel (VIEWS.md, `notification_latency`): config section
//! `sla.delivery_seconds`, `{"EMAIL": 30, "SMS": 10, "PUSH": 5, "WHATSAPP": 10}` by default.

use serde::{Deserialize, Serialize};

use crate::model::Channel;

/// The config section `sla`: `{"delivery_seconds": {...}}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlaConfig {
    /// Delivery targets per channel.
    pub delivery_seconds: DeliverySla,
}

/// The delivery target of each channel, in whole seconds: a notification is delivered
/// within its SLA when `earliest DELIVERED − earliest send` is at most its channel's target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliverySla {
    /// `EMAIL` (default 30 s).
    #[serde(rename = "EMAIL")]
    pub email: u32,
    /// `SMS` (default 10 s).
    #[serde(rename = "SMS")]
    pub sms: u32,
    /// `PUSH` (default 5 s).
    #[serde(rename = "PUSH")]
    pub push: u32,
    /// `WHATSAPP` (default 10 s).
    #[serde(rename = "WHATSAPP")]
    pub whatsapp: u32,
}

impl Default for DeliverySla {
    fn default() -> Self {
        DeliverySla {
            email: 30,
            sms: 10,
            push: 5,
            whatsapp: 10,
        }
    }
}

impl DeliverySla {
    /// The target of `channel` in milliseconds.
    pub fn target_ms(&self, channel: Channel) -> i64 {
        let seconds = match channel {
            Channel::Email => self.email,
            Channel::Sms => self.sms,
            Channel::Push => self.push,
            Channel::Whatsapp => self.whatsapp,
        };
        i64::from(seconds) * 1000
    }

    /// Whether a latency of `latency_ms` on `channel` meets the target.
    pub fn met(&self, channel: Channel, latency_ms: i64) -> bool {
        latency_ms <= self.target_ms(channel)
    }
}

/// Nearest-rank percentile (VIEWS.md): the least value `L` of the ascending `sorted` such
/// that at least `⌈pct/100 × n⌉` values are `≤ L` (the first value when that is 0); `0` when
/// empty. `sorted` holds `(value, count)` pairs, ascending, counts positive.
pub fn nearest_rank(sorted: &[(i64, i64)], pct: i64) -> i64 {
    let n: i64 = sorted.iter().map(|(_, c)| c).sum();
    let rank = (pct * n + 99) / 100;
    let mut seen = 0;
    for (value, count) in sorted {
        seen += count;
        if seen >= rank.max(1) {
            return *value;
        }
    }
    sorted.last().map_or(0, |(v, _)| *v)
}

/// A delivery latency in whole milliseconds: `floor((delivered − sent) µs / 1000)`, negative
/// latencies count as 0.
pub fn latency_ms(sent_at: i64, delivered_at: i64) -> i64 {
    delivered_at.saturating_sub(sent_at).max(0) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_follows_the_definition() {
        let v: Vec<(i64, i64)> = (1..=10).map(|x| (x, 1)).collect();
        assert_eq!(nearest_rank(&v, 50), 5);
        assert_eq!(nearest_rank(&v, 95), 10);
        assert_eq!(nearest_rank(&v, 100), 10);
        assert_eq!(nearest_rank(&[(7, 1)], 50), 7);
        assert_eq!(nearest_rank(&[(1, 1), (9, 1)], 50), 1);
        assert_eq!(nearest_rank(&[(1, 1), (9, 1)], 95), 9);
        assert_eq!(nearest_rank(&[(2, 3), (4, 1)], 95), 4);
    }

    #[test]
    fn latency_is_floored_and_never_negative() {
        assert_eq!(latency_ms(0, 1_999), 1);
        assert_eq!(latency_ms(5_000, 0), 0);
    }

    #[test]
    fn reads_partial_sections() {
        let s: SlaConfig = serde_json::from_str(r#"{"delivery_seconds": {"SMS": 20}}"#).unwrap();
        assert_eq!(s.delivery_seconds.sms, 20);
        assert_eq!(s.delivery_seconds.email, 30);
        assert!(s.delivery_seconds.met(Channel::Push, 5_000));
        assert!(!s.delivery_seconds.met(Channel::Push, 5_001));
        assert!(serde_json::from_str::<SlaConfig>(r#"{"delivery": {}}"#).is_err());
    }
}
