//! Decimal strings in requests (`pdop.common.v1.Money`, `Rate`): parsed exactly, never through floats; a
//! malformed one is a violation naming its field.

use std::str::FromStr;

use pdop_kit::Violations;
use pdop_proto::common::{Money, Rate};
use rust_decimal::Decimal;

fn parse(text: &str, field: &str, v: &mut Violations) -> Option<Decimal> {
    match Decimal::from_str_exact(text.trim()).or_else(|_| Decimal::from_str(text.trim())) {
        Ok(d) if !text.trim().is_empty() && !text.contains(['e', 'E']) => Some(d),
        _ => {
            v.add(
                field,
                format!("`{text}` is not a decimal number (digits with an optional `.`)"),
            );
            None
        }
    }
}

/// A required money amount in CNY.
pub fn money(m: Option<&Money>, field: &str, v: &mut Violations) -> Option<Decimal> {
    let Some(m) = m else {
        v.add(field, "is required");
        return None;
    };
    if !(m.currency.is_empty() || m.currency == "CNY") {
        v.add(format!("{field}.currency"), "only CNY (人民币) is accepted");
    }
    parse(&m.amount, &format!("{field}.amount"), v)
}

/// A required rate (a decimal fraction, "0.06" for 6%).
pub fn rate(r: Option<&Rate>, field: &str, v: &mut Violations) -> Option<Decimal> {
    let Some(r) = r else {
        v.add(field, "is required");
        return None;
    };
    parse(&r.value, &format!("{field}.value"), v)
}

/// An optional money amount: unset or empty is zero.
pub fn optional_money(m: Option<&Money>, field: &str, v: &mut Violations) -> Decimal {
    match m {
        Some(m) if !m.amount.is_empty() => money(Some(m), field, v).unwrap_or_default(),
        _ => Decimal::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_parsed_exactly_and_bad_ones_name_the_field() {
        let mut v = Violations::new();
        let m = Money {
            amount: "8000000.10".into(),
            currency: String::new(),
        };
        assert_eq!(
            money(Some(&m), "input.operating_cost", &mut v)
                .unwrap()
                .to_string(),
            "8000000.10"
        );
        let bad = Rate { value: "1e-2".into() };
        assert!(rate(Some(&bad), "input.markup", &mut v).is_none());
        let usd = Money {
            amount: "1".into(),
            currency: "USD".into(),
        };
        money(Some(&usd), "x", &mut v);
        assert_eq!(
            v.fields().collect::<Vec<_>>(),
            ["input.markup.value", "x.currency"]
        );
    }
}
