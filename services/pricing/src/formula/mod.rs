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
//!
//! Bounds (THREATS L1): every money figure stays within 10^15 CNY (`pdop_rules::money`) and the arithmetic is
//! checked, so a figure that would leave the bound is an `InputError` naming the input that drove it, never a
//! panic.

mod annual;
mod cost;
mod explain;
#[cfg(test)]
mod extremes;
mod mar;
mod settlement;
mod steps;

pub use annual::{Deviation, check_deviation};
pub use cost::{CostLine, CostTotals, cost_totals};
pub use explain::render;
pub use mar::{FORMULA_VERSION, MarInputs, MarOutcome, Tax, compute_mar};
pub use settlement::{Installment, settle};

use pdop_rules::money::MoneyError;
/// A money figure rounded to 分 (0.01 CNY), half away from zero.
pub use pdop_rules::money::cents;
use rust_decimal::Decimal;

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

    /// The error of `field` when a figure it feeds leaves the money bound or overflows (THREATS L1).
    fn money(field: &str) -> impl FnOnce(MoneyError) -> Self + '_ {
        move |err| Self::new(field, err.to_string())
    }
}

/// The result of checked decimal arithmetic, or the error of the field it overflowed on (THREATS L1).
fn checked(value: Option<Decimal>, field: &str) -> Result<Decimal, InputError> {
    value.ok_or_else(|| InputError::new(field, MoneyError::Overflow.to_string()))
}
