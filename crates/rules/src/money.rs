//! Money in CNY (人民币): exact, bounded, and with arithmetic that reports overflow instead of
//! panicking (THREATS L1).
//!
//! Amounts are decimal strings as `pdop.common.v1.Money` carries them ("8821333.00", "-1736000"): an
//! optional `-`, digits, and optionally `.` and more digits. Never a float, an exponent or a `+`.
//! Every amount, parsed or computed, is at most 10^15 CNY in magnitude. That is far above any
//! public-data revenue and far below `Decimal::MAX` (about 7.9 × 10^28), so a bounded amount times a
//! bounded [`Rate`] always fits the representation, and the bound is what fails, with a message.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};

/// The largest magnitude of an amount: 10^15 CNY.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(0xA4C6_8000, 0x0003_8D7E, 0, false, 0);

/// The largest magnitude of a rate: 100, i.e. 10,000 % (rates are fractions: "0.06" is 6 %).
pub const MAX_RATE: Decimal = Decimal::from_parts(100, 0, 0, false, 0);

/// Why an amount or a rate was refused. The messages read after a field name
/// ("input.operating_cost.amount exceeds 10^15 CNY").
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("is not a decimal amount (digits with an optional `.`, no exponent)")]
    NotDecimal,
    #[error("has more fraction digits than can be kept exactly")]
    TooPrecise,
    #[error("exceeds 10^15 CNY")]
    OutOfBounds,
    #[error("currency must be CNY")]
    Currency,
    #[error("overflows 10^15 CNY when computed")]
    Overflow,
    #[error("is divided by zero")]
    DivisionByZero,
    #[error("is not a decimal rate (digits with an optional `.`, no exponent; 0.06 for 6%)")]
    NotRate,
    #[error("exceeds 100 in magnitude (a rate is a fraction: 0.06 for 6%)")]
    RateOutOfBounds,
}

/// An exact amount of CNY, at most 10^15 in magnitude.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cny(Decimal);

/// A ratio (比率) as a decimal fraction, at most 100 in magnitude.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Rate(Decimal);

/// `value` rounded to 分 (0.01 CNY), half away from zero (四舍五入), shown with two places.
pub fn cents(value: Decimal) -> Decimal {
    let mut rounded = value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(2);
    rounded
}

/// The exact value of a plain decimal string (`-?digits(.digits)?`, surrounding spaces ignored, as the
/// pricing requests were read before).
fn plain_decimal(text: &str) -> Result<Decimal, PlainError> {
    let text = text.trim();
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    if !digits(whole) || !fraction.is_none_or(digits) {
        return Err(PlainError::Shape);
    }
    // A whole part this long is beyond either bound; refusing it here keeps the message about the
    // bound rather than about the representation.
    if whole.trim_start_matches('0').len() > 20 {
        return Err(PlainError::TooLarge);
    }
    Decimal::from_str_exact(text).map_err(|_| PlainError::TooPrecise)
}

enum PlainError {
    Shape,
    TooLarge,
    TooPrecise,
}

// === impl Cny ===

impl Cny {
    pub const ZERO: Cny = Cny(Decimal::ZERO);

    /// Parses a `pdop.common.v1.Money` amount; an empty currency means CNY, as the proto says.
    pub fn parse(amount: &str, currency: &str) -> Result<Cny, MoneyError> {
        if !(currency.is_empty() || currency == "CNY") {
            return Err(MoneyError::Currency);
        }
        match plain_decimal(amount) {
            Ok(value) => Cny::new(value),
            Err(PlainError::Shape) => Err(MoneyError::NotDecimal),
            Err(PlainError::TooLarge) => Err(MoneyError::OutOfBounds),
            Err(PlainError::TooPrecise) => Err(MoneyError::TooPrecise),
        }
    }

    /// An amount from a decimal; out of bounds is [`MoneyError::OutOfBounds`].
    pub fn new(value: Decimal) -> Result<Cny, MoneyError> {
        Cny::bounded(Some(value)).ok_or(MoneyError::OutOfBounds)
    }

    /// The result of checked arithmetic, if it is within the bound.
    fn bounded(value: Option<Decimal>) -> Option<Cny> {
        value.filter(|v| v.abs() <= MAX_AMOUNT).map(Cny)
    }

    fn computed(value: Option<Decimal>) -> Result<Cny, MoneyError> {
        Cny::bounded(value).ok_or(MoneyError::Overflow)
    }

    pub fn as_decimal(self) -> Decimal {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    pub fn checked_add(self, other: Cny) -> Result<Cny, MoneyError> {
        Cny::computed(self.0.checked_add(other.0))
    }

    pub fn checked_sub(self, other: Cny) -> Result<Cny, MoneyError> {
        Cny::computed(self.0.checked_sub(other.0))
    }

    /// The amount times a rate (a share, a tax rate).
    pub fn checked_mul(self, rate: Rate) -> Result<Cny, MoneyError> {
        self.times(rate.0)
    }

    /// The amount times any factor, such as an expected volume.
    pub fn times(self, factor: Decimal) -> Result<Cny, MoneyError> {
        Cny::computed(self.0.checked_mul(factor))
    }

    /// The amount divided by `divisor` (a number of years or installments, a share).
    pub fn checked_div(self, divisor: Decimal) -> Result<Cny, MoneyError> {
        if divisor.is_zero() {
            return Err(MoneyError::DivisionByZero);
        }
        Cny::computed(self.0.checked_div(divisor))
    }

    /// Rounded to 分, half away from zero (see [`cents`]); rounding never leaves the bound.
    pub fn cents(self) -> Cny {
        Cny(cents(self.0))
    }

    /// The sum of amounts, failing once it leaves the bound.
    pub fn sum(amounts: impl IntoIterator<Item = Cny>) -> Result<Cny, MoneyError> {
        amounts
            .into_iter()
            .try_fold(Cny::ZERO, |total, amount| total.checked_add(amount))
    }
}

impl fmt::Display for Cny {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(formatter)
    }
}

// === impl Rate ===

impl Rate {
    pub const ZERO: Rate = Rate(Decimal::ZERO);

    /// Parses a `pdop.common.v1.Rate` value.
    pub fn parse(value: &str) -> Result<Rate, MoneyError> {
        match plain_decimal(value) {
            Ok(value) => Rate::new(value),
            Err(PlainError::Shape) => Err(MoneyError::NotRate),
            Err(PlainError::TooLarge) => Err(MoneyError::RateOutOfBounds),
            Err(PlainError::TooPrecise) => Err(MoneyError::TooPrecise),
        }
    }

    pub fn new(value: Decimal) -> Result<Rate, MoneyError> {
        if value.abs() <= MAX_RATE {
            Ok(Rate(value))
        } else {
            Err(MoneyError::RateOutOfBounds)
        }
    }

    pub fn as_decimal(self) -> Decimal {
        self.0
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(formatter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn cny(text: &str) -> Result<String, MoneyError> {
        Cny::parse(text, "CNY").map(|c| c.to_string())
    }

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn amounts_parse_exactly_and_floats_or_exponents_are_refused() {
        // THREATS L1, decimal.proto: decimal strings, never floats, no exponent, no "+".
        assert_eq!(cny("8821333.00").as_deref(), Ok("8821333.00"));
        assert_eq!(cny("-1736000").as_deref(), Ok("-1736000"));
        assert_eq!(cny("1.005").as_deref(), Ok("1.005"), "kept exact, not rounded");
        assert_eq!(cny(" 0.0025 ").as_deref(), Ok("0.0025"));
        for bad in [
            "1e3", "1E3", "1.5e-2", "", "-", "+1", "1.", ".5", "1,000", "NaN", "inf", "0x10", "1 000", "--1",
            "1.2.3",
        ] {
            assert_eq!(cny(bad), Err(MoneyError::NotDecimal), "{bad:?}");
        }
        assert_eq!(
            cny("0.00000000000000000000000000001"),
            Err(MoneyError::TooPrecise)
        );
    }

    #[test]
    fn the_bound_is_ten_to_the_fifteen_inclusive() {
        // THREATS L1: |amount| ≤ 10^15 CNY.
        assert_eq!(MAX_AMOUNT, dec("1000000000000000"));
        assert_eq!(cny("1000000000000000").as_deref(), Ok("1000000000000000"));
        assert_eq!(cny("-1000000000000000.00").as_deref(), Ok("-1000000000000000.00"));
        for over in [
            "1000000000000000.01",
            "-1000000000000001",
            "79228162514264337593543950335",
            "79228162514264337593543950336",
            "999999999999999999999999999999999999",
        ] {
            assert_eq!(cny(over), Err(MoneyError::OutOfBounds), "{over}");
        }
        assert_eq!(
            MoneyError::OutOfBounds.to_string(),
            "exceeds 10^15 CNY",
            "reads after a field name"
        );
    }

    #[test]
    fn only_cny_is_accepted_and_empty_means_cny() {
        // decimal.proto: "Empty means CNY; pdop only accepts CNY today."
        assert!(Cny::parse("1", "").is_ok());
        for other in ["USD", "cny", "RMB", " CNY"] {
            assert_eq!(Cny::parse("1", other), Err(MoneyError::Currency), "{other}");
        }
        assert_eq!(MoneyError::Currency.to_string(), "currency must be CNY");
    }

    #[test]
    fn arithmetic_reports_overflow_instead_of_panicking() {
        // THREATS L1: checked arithmetic; the bound holds for every result.
        let max = Cny::new(MAX_AMOUNT).unwrap();
        let one = Cny::parse("1", "").unwrap();
        assert_eq!(max.checked_add(one), Err(MoneyError::Overflow));
        assert_eq!(
            Cny::ZERO.checked_sub(max).unwrap().checked_sub(one),
            Err(MoneyError::Overflow)
        );
        assert_eq!(max.checked_sub(one).unwrap().to_string(), "999999999999999");
        let hundred = Rate::parse("100").unwrap();
        assert_eq!(max.checked_mul(hundred), Err(MoneyError::Overflow));
        assert_eq!(max.times(Decimal::MAX), Err(MoneyError::Overflow));
        assert_eq!(max.checked_div(Decimal::ZERO), Err(MoneyError::DivisionByZero));
        assert_eq!(
            max.checked_div(dec("0.0000000000000000000000000001")),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Cny::parse("8000000", "")
                .unwrap()
                .checked_mul(Rate::parse("0.077").unwrap())
                .unwrap()
                .to_string(),
            "616000.000"
        );
        assert_eq!(Cny::sum([max, one]), Err(MoneyError::Overflow));
        assert_eq!(Cny::sum([one, one]).unwrap().to_string(), "2");
        assert_eq!(Cny::new(Decimal::MIN), Err(MoneyError::OutOfBounds));
    }

    #[test]
    fn rates_are_bounded_at_parse() {
        // THREATS L1: rates are bounded at parse.
        assert_eq!(Rate::parse("0.06").unwrap().to_string(), "0.06");
        assert_eq!(Rate::parse("-0.1158").unwrap().to_string(), "-0.1158");
        assert!(Rate::parse("100").is_ok());
        assert_eq!(Rate::parse("100.0001"), Err(MoneyError::RateOutOfBounds));
        assert_eq!(
            Rate::parse("79228162514264337593543950335"),
            Err(MoneyError::RateOutOfBounds)
        );
        assert_eq!(Rate::parse("1e-2"), Err(MoneyError::NotRate));
    }

    #[test]
    fn cents_round_half_away_from_zero_and_keep_two_places() {
        // Pricing rounds money to 0.01 CNY, half away from zero (四舍五入).
        assert_eq!(cents(dec("205333.333333")).to_string(), "205333.33");
        assert_eq!(cents(dec("0.005")).to_string(), "0.01");
        assert_eq!(cents(dec("0.0049")).to_string(), "0.00");
        assert_eq!(cents(dec("-0.005")).to_string(), "-0.01");
        assert_eq!(cents(dec("7")).to_string(), "7.00");
        assert_eq!(Cny::parse("2.675", "").unwrap().cents().to_string(), "2.68");
        // Rounding at the extremes never panics.
        let _ = (cents(Decimal::MAX), cents(Decimal::MIN));
    }
}
