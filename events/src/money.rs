//! Exact decimals: money in integer minor units and hours in integer micro-hours, converted
//! from the JSON number's decimal text (round half away from zero), never through floats.

/// Money in minor units (cents): `1059.97` is `105997`.
pub type Cents = i64;

/// A sum of money in minor units: wide enough that no sum of accepted amounts overflows
/// (10^20 amounts of [`MAX_AMOUNT`] still fit); published as `DECIMAL(38, 2)`.
pub type CentsTotal = i128;

/// The largest amount one event may carry, `9999999999999999.99`: what a `DECIMAL(18, 2)`
/// column holds. Larger amounts are rejected `invalid_field` at ingest.
pub const MAX_AMOUNT: Cents = 999_999_999_999_999_999;

/// The largest magnitude of a quantity, a stock level, a stock delta or a duration in
/// micro-hours one event may carry: `2^53 - 1`, the largest integer every JSON reader holds
/// exactly (RFC 7493, I-JSON). Larger magnitudes are rejected `invalid_field` at ingest.
pub const MAX_EXACT_INTEGER: i64 = (1 << 53) - 1;

/// `value` as an `i64` view column, saturating (with a warning naming `what`) in the one case
/// a sum of accepted values cannot hold: more than 1,024 values near [`MAX_EXACT_INTEGER`]
/// added into one level.
pub fn saturate(value: i128, what: &str) -> i64 {
    i64::try_from(value).unwrap_or_else(|_| {
        tracing::warn!(value = %value, "{what} exceeds the 64-bit range; reported saturated");
        if value < 0 {
            i64::MIN
        } else {
            i64::MAX
        }
    })
}

/// Converts a JSON number's decimal text to an integer count of `10^-scale` units, rounding
/// half away from zero. Returns `None` for text that is not a finite decimal number or that
/// overflows `i64`.
pub fn decimal_to_scaled(text: &str, scale: u32) -> Option<i64> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], unsigned[i + 1..].parse::<i32>().ok()?),
        None => (unsigned, 0),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    if int_part.is_empty() || !int_part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac_part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // All digits, with the decimal point moved by the exponent and the scale.
    let digits: Vec<u8> = int_part
        .bytes()
        .chain(frac_part.bytes())
        .map(|b| b - b'0')
        .collect();
    let point = int_part.len() as i64 + exponent as i64 + scale as i64;
    let mut value: i128 = 0;
    for (i, d) in digits.iter().enumerate() {
        if (i as i64) < point {
            value = value.checked_mul(10)?.checked_add(*d as i128)?;
            if value > i64::MAX as i128 {
                return None;
            }
        }
    }
    // Pad with zeros when the point lies beyond the digits.
    let mut missing = point - digits.len() as i64;
    while missing > 0 && value != 0 {
        value = value.checked_mul(10)?;
        if value > i64::MAX as i128 {
            return None;
        }
        missing -= 1;
    }
    // Round half away from zero on the first dropped digit.
    let round_up = point >= 0 && digits.get(point as usize).is_some_and(|d| *d >= 5);
    if round_up {
        value += 1;
    }
    if value > i64::MAX as i128 {
        return None;
    }
    let value = value as i64;
    Some(if negative { -value } else { value })
}

/// Formats minor units as a decimal with two places: `105997` is `"1059.97"`.
pub fn format_cents(cents: impl Into<CentsTotal>) -> String {
    let cents: CentsTotal = cents.into();
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_exactly_and_rounds_half_away_from_zero() {
        assert_eq!(decimal_to_scaled("1059.97", 2), Some(105_997));
        assert_eq!(decimal_to_scaled("1.005", 2), Some(101));
        assert_eq!(decimal_to_scaled("1.004", 2), Some(100));
        assert_eq!(decimal_to_scaled("-1.005", 2), Some(-101));
        assert_eq!(decimal_to_scaled("0", 2), Some(0));
        assert_eq!(decimal_to_scaled("12", 2), Some(1200));
        assert_eq!(decimal_to_scaled("1.5e2", 2), Some(15_000));
        assert_eq!(decimal_to_scaled("5e-3", 2), Some(1));
        assert_eq!(decimal_to_scaled("4e-3", 2), Some(0));
        assert_eq!(decimal_to_scaled("0.05", 2), Some(5));
        assert_eq!(decimal_to_scaled("1e40", 2), None);
        assert_eq!(decimal_to_scaled("abc", 2), None);
        assert_eq!(decimal_to_scaled("88", 6), Some(88_000_000));
        assert_eq!(decimal_to_scaled("0e2147483647", 2), Some(0));
        assert_eq!(decimal_to_scaled("1e2147483647", 2), None);
    }

    #[test]
    fn formats_two_places() {
        assert_eq!(format_cents(105_997), "1059.97");
        assert_eq!(format_cents(5), "0.05");
        assert_eq!(format_cents(-5), "-0.05");
    }
}
