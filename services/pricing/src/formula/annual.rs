//! The annual check (N1 §四): the deviation d = (A − MAR) / MAR of the year's actual revenue decides who
//! adjusts. |d| ≤ the threshold (10%): the operator adjusts its specific prices; above it: the authorizing
//! entity adjusts the caps. "偏离" is read as either direction (DOMAIN §3.1 [INF]).

use pdop_proto::pricing::v1::{AdjustmentDirection, AdjustmentLevel};
use rust_decimal::{Decimal, RoundingStrategy};

use super::{InputError, checked};

/// The outcome of an annual check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deviation {
    /// d, exact.
    pub exact: Decimal,
    /// d to 6 fraction digits, half away from zero, as reported.
    pub reported: Decimal,
    pub level: AdjustmentLevel,
    pub direction: AdjustmentDirection,
}

pub fn check_deviation(actual: Decimal, mar: Decimal, threshold: Decimal) -> Result<Deviation, InputError> {
    if mar <= Decimal::ZERO {
        return Err(InputError::new(
            "max_allowed_revenue",
            "must be positive to measure a deviation against it",
        ));
    }
    if actual < Decimal::ZERO {
        return Err(InputError::new("actual_revenue", "must not be negative"));
    }
    let field = "actual_revenue";
    let exact = checked(actual.checked_sub(mar), field)?;
    let exact = checked(exact.checked_div(mar), field)?;
    let reported = exact.round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero);
    // The threshold is compared with the exact deviation: exactly 10% is "10%及以下".
    let level = if exact.is_zero() {
        AdjustmentLevel::None
    } else if exact.abs() <= threshold {
        AdjustmentLevel::SpecificPrices
    } else {
        AdjustmentLevel::CapPrices
    };
    let direction = if exact > Decimal::ZERO {
        AdjustmentDirection::Decrease
    } else if exact < Decimal::ZERO {
        AdjustmentDirection::Increase
    } else {
        AdjustmentDirection::None
    };
    Ok(Deviation {
        exact,
        reported,
        level,
        direction,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    const MAR: Decimal = dec!(8821333.33);

    #[test]
    fn the_worked_example_deviations() {
        // DOMAIN §3.2: 9.5M → +7.69% (operator), 9.9M → +12.23% (caps), 7.8M → −11.58% (caps, two-sided);
        // to 6 places against MAR 8,821,333.33 (checked independently with Python's decimal module).
        let cases = [
            (
                dec!(9500000),
                "0.076935",
                AdjustmentLevel::SpecificPrices,
                AdjustmentDirection::Decrease,
            ),
            (
                dec!(9900000),
                "0.122279",
                AdjustmentLevel::CapPrices,
                AdjustmentDirection::Decrease,
            ),
            (
                dec!(7800000),
                "-0.115780",
                AdjustmentLevel::CapPrices,
                AdjustmentDirection::Increase,
            ),
        ];
        for (actual, reported, level, direction) in cases {
            let d = check_deviation(actual, MAR, dec!(0.10)).unwrap();
            assert_eq!(
                (d.reported.to_string().as_str(), d.level, d.direction),
                (reported, level, direction)
            );
        }
    }

    #[test]
    fn exactly_ten_percent_is_within_the_threshold() {
        // N1 §四: 偏离最高准许收入10%及以下 → specific prices; one cent more → caps.
        let d = check_deviation(dec!(1100.00), dec!(1000.00), dec!(0.10)).unwrap();
        assert_eq!(d.level, AdjustmentLevel::SpecificPrices);
        let d = check_deviation(dec!(900.00), dec!(1000.00), dec!(0.10)).unwrap();
        assert_eq!(d.level, AdjustmentLevel::SpecificPrices);
        let d = check_deviation(dec!(1100.01), dec!(1000.00), dec!(0.10)).unwrap();
        assert_eq!(d.level, AdjustmentLevel::CapPrices);
        let d = check_deviation(dec!(1000.00), dec!(1000.00), dec!(0.10)).unwrap();
        assert_eq!(
            (d.level, d.direction),
            (AdjustmentLevel::None, AdjustmentDirection::None)
        );
    }

    #[test]
    fn extreme_revenues_are_input_errors_not_panics() {
        // THREATS L1: checked arithmetic, overflow named as the input at fault.
        let err = check_deviation(Decimal::MAX, dec!(0.0000000000000000000000000001), dec!(0.1)).unwrap_err();
        assert_eq!(err.field, "actual_revenue");
        let err = check_deviation(Decimal::MAX, Decimal::MAX, dec!(0.1)).unwrap();
        assert_eq!(err.level, AdjustmentLevel::None);
        assert!(check_deviation(Decimal::ZERO, Decimal::MAX, dec!(0.1)).is_ok());
    }

    #[test]
    fn a_zero_mar_cannot_be_checked() {
        assert_eq!(
            check_deviation(dec!(1), dec!(0), dec!(0.1)).unwrap_err().field,
            "max_allowed_revenue"
        );
    }
}
