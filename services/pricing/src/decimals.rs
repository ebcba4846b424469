//! Money and rates at pricing's edge, read through `pdop_rules::money` (exact, bounded, CNY only; THREATS L1).
//! A request field that is malformed or out of bounds is a violation naming its field. A stored amount that
//! does not read back is INTERNAL naming the resource and field, never zero.

use anyhow::anyhow;
use pdop_kit::Violations;
use pdop_kit::convert;
use pdop_proto::common::{Money, Rate};
use pdop_rules::Cny;
use pdop_rules::money::MoneyError;
use rust_decimal::Decimal;
use tonic::Status;

use crate::context::{Ctx, Handling};

fn violation(field: &str, err: MoneyError, v: &mut Violations) {
    let part = if err == MoneyError::Currency {
        "currency"
    } else {
        "amount"
    };
    v.add(format!("{field}.{part}"), err.to_string());
}

/// A required money amount in CNY.
pub fn money(m: Option<&Money>, field: &str, v: &mut Violations) -> Option<Cny> {
    match convert::cny(m) {
        Ok(Some(amount)) => Some(amount),
        Ok(None) => {
            v.add(field, "is required");
            None
        }
        Err(err) => {
            violation(field, err, v);
            None
        }
    }
}

/// An optional money amount: `None` when unset or when its amount is empty.
pub fn optional_money(m: Option<&Money>, field: &str, v: &mut Violations) -> Option<Cny> {
    match m {
        Some(m) if !m.amount.is_empty() => money(Some(m), field, v),
        _ => None,
    }
}

/// A required rate (a decimal fraction, "0.06" for 6%), bounded at parse.
pub fn rate(r: Option<&Rate>, field: &str, v: &mut Violations) -> Option<Decimal> {
    match convert::rate(r) {
        Ok(Some(rate)) => Some(rate.as_decimal()),
        Ok(None) => {
            v.add(field, "is required");
            None
        }
        Err(err) => {
            v.add(format!("{field}.value"), err.to_string());
            None
        }
    }
}

/// A stored amount read back: `None` when absent, an error naming `resource` and `field` when it does not
/// read as a bounded CNY amount.
pub fn stored_amount(m: Option<&Money>, resource: &str, field: &str) -> anyhow::Result<Option<Cny>> {
    convert::cny(m).map_err(|err| {
        let amount = m.map(|m| m.amount.as_str()).unwrap_or_default();
        anyhow!("stored {resource} has a malformed {field} {amount:?}: it {err}")
    })
}

/// As [`stored_amount`], INTERNAL when it does not read.
pub fn stored(ctx: &Ctx, m: Option<&Money>, resource: &str, field: &str) -> Result<Option<Cny>, Status> {
    stored_amount(m, resource, field).map_err(|err| ctx.internal(err))
}

/// A stored amount that is always set: its absence is INTERNAL too.
pub fn stored_required(ctx: &Ctx, m: Option<&Money>, resource: &str, field: &str) -> Result<Cny, Status> {
    stored(ctx, m, resource, field)?.ok_or_else(|| ctx.internal(anyhow!("stored {resource} has no {field}")))
}

/// A computed amount that must stay within the money bound, INTERNAL if it does not (its inputs were
/// bounded, so only a fault gets here).
pub fn computed(ctx: &Ctx, value: Result<Cny, MoneyError>, what: &str) -> Result<Cny, Status> {
    value.map_err(|err| ctx.internal(anyhow!("{what} {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cny(amount: &str, currency: &str) -> Money {
        Money {
            amount: amount.into(),
            currency: currency.into(),
        }
    }

    #[test]
    fn decimals_are_parsed_exactly_and_bad_ones_name_the_field() {
        let mut v = Violations::new();
        assert_eq!(
            money(Some(&cny("8000000.10", "")), "input.operating_cost", &mut v)
                .unwrap()
                .to_string(),
            "8000000.10"
        );
        let bad = Rate { value: "1e-2".into() };
        assert!(rate(Some(&bad), "input.markup", &mut v).is_none());
        money(Some(&cny("1", "USD")), "x", &mut v);
        assert_eq!(
            v.fields().collect::<Vec<_>>(),
            ["input.markup.value", "x.currency"]
        );
    }

    #[test]
    fn amounts_and_rates_beyond_their_bounds_are_violations() {
        // THREATS L1: money is bounded (|x| ≤ 10^15 CNY) and rates are bounded, both at parse.
        let mut v = Violations::new();
        let huge = cny("79228162514264337593543950335", "");
        assert!(money(Some(&huge), "input.operating_cost", &mut v).is_none());
        assert!(optional_money(Some(&huge), "input.prior_period_deduction", &mut v).is_none());
        let huge_rate = Rate {
            value: "79228162514264337593543950335".into(),
        };
        assert!(rate(Some(&huge_rate), "input.bond_yield_value", &mut v).is_none());
        assert_eq!(
            v.fields().collect::<Vec<_>>(),
            [
                "input.operating_cost.amount",
                "input.prior_period_deduction.amount",
                "input.bond_yield_value.value"
            ]
        );
        assert_eq!(optional_money(Some(&cny("", "")), "x", &mut v), None);
        assert_eq!(optional_money(None, "x", &mut v), None);
    }

    #[test]
    fn a_malformed_stored_amount_is_an_error_naming_it_never_zero() {
        // SPINE §7: a stored amount that does not parse is INTERNAL, naming the resource and field.
        let err = stored_amount(
            Some(&cny("12,5", "CNY")),
            "pricingCases/c1",
            "max_allowed_revenue",
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("pricingCases/c1"), "{message}");
        assert!(message.contains("max_allowed_revenue"), "{message}");
        assert!(message.contains("is not a decimal amount"), "{message}");
        assert!(stored_amount(Some(&cny("1e3", "CNY")), "r", "f").is_err());
        assert!(stored_amount(Some(&cny("", "CNY")), "r", "f").is_err());
        assert_eq!(stored_amount(None, "r", "f").unwrap(), None);
        assert_eq!(
            stored_amount(Some(&cny("8821333.33", "CNY")), "r", "f")
                .unwrap()
                .map(|c| c.to_string())
                .as_deref(),
            Some("8821333.33")
        );
    }
}
