//! A fast parser for the common spelling of RFC 3339 timestamps
//! (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`), used by the fast path before chrono. It
//! answers only for text that chrono accepts with the same result; anything else (leap
//! seconds, other separators, long fractions, unusual years) is left to chrono.

use crate::time::Micros;

/// UTC microseconds of `text` in the common spelling, else `None` (ask chrono).
pub(super) fn parse_common(text: &str) -> Option<Micros> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let (month, day) = (digits(&b[5..7])?, digits(&b[8..10])?);
    let (hour, minute, second) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    if !(1000..=9999).contains(&year) || !(1..=12).contains(&month) {
        return None;
    }
    if day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut rest = &b[19..];
    let mut micros = 0;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        for i in 0..6 {
            micros = micros * 10
                + fraction
                    .get(i)
                    .filter(|_| i < n)
                    .map_or(0, |c| i64::from(c - b'0'));
        }
        rest = &fraction[n..];
    }
    let offset = match rest {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (h, m) = (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?);
            if h > 23 || m > 59 {
                return None;
            }
            let secs = h * 3600 + m * 60;
            if *sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => return None,
    };
    let secs =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some(secs * 1_000_000 + micros)
}

/// The value of ASCII decimal digits.
fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |n, c| {
        c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
    })
}

/// The days of `month` of `year` (proleptic Gregorian).
fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_rfc3339;
    use proptest::prelude::*;

    #[test]
    fn common_spellings_match_chrono() {
        for text in [
            "2024-01-15T10:30:00Z",
            "2024-01-15T05:30:00-05:00",
            "2024-01-15T10:30:00.123Z",
            "2024-01-15T10:30:00.1234567+02:00",
            "2024-02-29T23:59:59.999999999Z",
            "1999-12-31T23:59:59+23:59",
            "2100-03-01T00:00:00Z",
        ] {
            assert_eq!(parse_common(text), parse_rfc3339(text), "{text}");
            assert!(parse_common(text).is_some(), "{text}");
        }
        for text in [
            "2023-02-29T00:00:00Z",
            "2024-01-15T10:30:60Z",
            "2024-01-15t10:30:00Z",
        ] {
            assert_eq!(parse_common(text), None, "{text}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 20_000, ..ProptestConfig::default() })]

        /// Whenever the fast parser answers, chrono gives the same instant.
        #[test]
        fn agrees_with_chrono(
            y in 900i64..10_100, mo in 0i64..14, d in 0i64..33, h in 0i64..26, mi in 0i64..62,
            s in 0i64..62, frac in prop::option::of("[0-9]{0,11}"),
            zone in prop::sample::select(vec!["Z", "z", "+00:00", "-05:00", "+23:59", "-24:00", "+05:60", "+0530", ""]),
            sep in prop::sample::select(vec!["T", "t", " "]),
        ) {
            let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
            let text = format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{frac}{zone}");
            if let Some(micros) = parse_common(&text) {
                prop_assert_eq!(Some(micros), parse_rfc3339(&text), "{}", text);
            }
        }
    }
}
