//! Weights, scores and thresholds are exact decimals (R-EV-03): `pdop.common.v1.Decimal` strings read into
//! `rust_decimal::Decimal`, never floats. Grammar (common/v1/decimal.proto): optional "-", digits, optionally "."
//! and 1 to 6 fraction digits. A malformed value is a violation naming its field.

use pdop_kit::Violations;
use pdop_proto::common::Decimal as PbDecimal;
use rust_decimal::{Decimal, RoundingStrategy};

/// At most this many digits before the point: weights and scores never need more.
const MAX_INTEGER_DIGITS: usize = 12;

/// The value of `text` if it follows the grammar.
pub fn read(text: &str) -> Option<Decimal> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let ok = digits(int)
        && int.len() <= MAX_INTEGER_DIGITS
        && (!unsigned.contains('.') || (digits(frac) && frac.len() <= 6));
    if !ok {
        return None;
    }
    text.parse().ok()
}

/// A required decimal; a violation on `field` when unset or malformed.
pub fn required(d: Option<&PbDecimal>, field: &str, v: &mut Violations) -> Option<Decimal> {
    match d.map(|d| d.value.as_str()) {
        None | Some("") => {
            v.add(field, "is required");
            None
        }
        Some(text) => {
            let value = read(text);
            if value.is_none() {
                v.add(
                    format!("{field}.value"),
                    "must be an exact decimal such as \"0.25\" or \"87.5\" (up to 6 fraction digits)",
                );
            }
            value
        }
    }
}

/// An optional decimal: `None` when unset or empty, a violation when malformed.
pub fn optional(d: Option<&PbDecimal>, field: &str, v: &mut Violations) -> Option<Decimal> {
    match d {
        Some(d) if !d.value.is_empty() => required(Some(d), field, v),
        _ => None,
    }
}

/// A decimal already validated when it was stored; zero if unset (an unset optional value).
pub fn stored(d: Option<&PbDecimal>) -> Decimal {
    d.and_then(|d| read(&d.value)).unwrap_or_default()
}

/// The decimal as the contract writes it, normalized ("0.50" → "0.5", "80.00" → "80").
pub fn pb(d: Decimal) -> PbDecimal {
    PbDecimal {
        value: d.normalize().to_string(),
    }
}

/// A total as published: rounded once, to 2 fraction digits half-up (inferred, §3.4), written with both digits.
pub fn total(d: Decimal) -> Decimal {
    let mut t = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    t.rescale(2);
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grammar_of_the_contract_is_read_exactly_and_anything_else_is_refused() {
        // R-EV-03: exact decimals, never floats.
        assert_eq!(read("0.25"), Some(Decimal::new(25, 2)));
        assert_eq!(read("-1.5"), Some(Decimal::new(-15, 1)));
        assert_eq!(read("100"), Some(Decimal::new(100, 0)));
        for bad in [
            "",
            ".5",
            "1.",
            "1e3",
            "+1",
            "1.1234567",
            "0x10",
            " 1",
            "1,000",
            "NaN",
        ] {
            assert_eq!(read(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn totals_round_once_half_up_to_two_digits() {
        assert_eq!(total(Decimal::new(72_495, 3)).to_string(), "72.50");
        assert_eq!(total(Decimal::new(72_494, 3)).to_string(), "72.49");
        assert_eq!(total(Decimal::new(91, 0)).to_string(), "91.00");
    }
}
