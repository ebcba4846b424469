//! Period settlement (N1 §四): revenue above the period's allowed revenue is deducted from the next
//! period's MAR, "超出较多的，可在不同周期平滑处理" — optionally spread over several installments.

use pdop_rules::Cny;
use rust_decimal::Decimal;

use super::InputError;

/// One deduction from a future year's or period's MAR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installment {
    /// 1-based position.
    pub index: u32,
    pub amount: Decimal,
}

/// The excess of `actual` over `allowed` (either may be a period total) and its installments: none when
/// there is no excess; otherwise `spread` rounded installments, the last absorbing the remainder so that
/// they sum to the excess exactly.
pub fn settle(
    actual: Decimal,
    allowed: Decimal,
    spread: u32,
) -> Result<(Decimal, Vec<Installment>), InputError> {
    if spread == 0 {
        return Err(InputError::new("installments", "must be at least 1"));
    }
    let amount =
        |value: Decimal, field: &str| Cny::new(value).map(Cny::cents).map_err(InputError::money(field));
    let (actual, allowed) = (
        amount(actual, "actual_revenue")?,
        amount(allowed, "allowed_revenue")?,
    );
    let excess = actual
        .checked_sub(allowed)
        .map_err(InputError::money("actual_revenue"))?;
    if excess.as_decimal() <= Decimal::ZERO {
        return Ok((excess.as_decimal(), Vec::new()));
    }
    // Never fails: the excess is bounded and the divisor at least 1.
    let each = excess
        .checked_div(Decimal::from(spread))
        .map_err(InputError::money("installments"))?
        .cents();
    let mut installments: Vec<Installment> = (1..spread)
        .map(|index| Installment {
            index,
            amount: each.as_decimal(),
        })
        .collect();
    let so_far = each
        .times(Decimal::from(spread - 1))
        .map_err(InputError::money("installments"))?;
    let last = excess
        .checked_sub(so_far)
        .map_err(InputError::money("installments"))?;
    installments.push(Installment {
        index: spread,
        amount: last.as_decimal(),
    });
    let excess = excess.as_decimal();
    Ok((excess, installments))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn the_worked_example_excess_is_smoothed_over_three_years() {
        // DOMAIN §3.2: 28,200,000 actual against 26,464,000 allowed: 1,736,000 excess.
        let (excess, parts) = settle(dec!(28200000), dec!(26464000), 3).unwrap();
        assert_eq!(excess, dec!(1736000.00));
        let amounts: Vec<String> = parts.iter().map(|p| p.amount.to_string()).collect();
        assert_eq!(amounts, ["578666.67", "578666.67", "578666.66"]);
        assert_eq!(parts.iter().map(|p| p.amount).sum::<Decimal>(), excess);
    }

    #[test]
    fn amounts_beyond_the_money_bound_are_input_errors() {
        // THREATS L1: no panic; the field at fault is named.
        assert_eq!(
            settle(Decimal::MAX, dec!(0), 3).unwrap_err().field,
            "actual_revenue"
        );
        assert_eq!(
            settle(dec!(0), Decimal::MIN, 3).unwrap_err().field,
            "allowed_revenue"
        );
        let (excess, parts) = settle(dec!(1000000000000000), dec!(0), 7).unwrap();
        assert_eq!(parts.iter().map(|p| p.amount).sum::<Decimal>(), excess);
        assert_eq!(
            settle(dec!(1000000000000000), dec!(-1000000000000000), 7)
                .unwrap_err()
                .field,
            "actual_revenue"
        );
        assert_eq!(parts.iter().map(|p| p.amount).sum::<Decimal>(), excess);
    }

    #[test]
    fn no_excess_means_no_deduction() {
        let (excess, parts) = settle(dec!(100), dec!(120), 3).unwrap();
        assert_eq!(excess, dec!(-20.00));
        assert!(parts.is_empty());
        assert_eq!(settle(dec!(1), dec!(0), 0).unwrap_err().field, "installments");
    }
}
