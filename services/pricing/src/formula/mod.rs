//! The pricing arithmetic of N1 (发改价格〔2025〕65号, DOMAIN §3.1) as pure functions: the maximum allowed
//! revenue with its derivation, the cost survey's operating cost, the annual deviation check and the period
//! settlement.
//! Nothing here touches a database, so previews, stored calculations and recomputations share one code path.
//!
//! Rounding (chosen and documented here; N1 sets none):
//! - rates (Y, m, r, deviation) are kept exact; a deviation is compared exactly and reported to 6 places;
//! - every money figure derived by multiplication or division (P, T, V, the annual share of a deduction,
//!   settlement installments) is rounded to 0.01 CNY (分), half away from zero (四舍五入), when it is
//!   produced; sums of rounded figures are exact;
//! - installments of a smoothed deduction are rounded per year and the last absorbs the remainder, so they
//!   always add up to the excess.

mod annual;
mod cost;
mod explain;
mod mar;
mod settlement;
mod steps;

pub use annual::{Deviation, check_deviation};
pub use cost::{CostLine, CostTotals, cost_totals};
pub use explain::render;
pub use mar::{FORMULA_VERSION, MarInputs, MarOutcome, Tax, compute_mar};
pub use settlement::{Installment, settle};

use rust_decimal::{Decimal, RoundingStrategy};

/// A money figure rounded to 分 (0.01 CNY), half away from zero.
pub fn cents(value: Decimal) -> Decimal {
    let mut rounded = value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(2);
    rounded
}

/// Why inputs cannot be computed; each names the input field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InputError {
    pub field: String,
    pub message: String,
}

impl InputError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn cents_round_half_away_from_zero_and_keep_two_places() {
        assert_eq!(cents(dec!(205333.333333)).to_string(), "205333.33");
        assert_eq!(cents(dec!(0.005)).to_string(), "0.01");
        assert_eq!(cents(dec!(0.0049)).to_string(), "0.00");
        assert_eq!(cents(dec!(-0.005)).to_string(), "-0.01");
        assert_eq!(cents(dec!(7)).to_string(), "7.00");
    }
}
