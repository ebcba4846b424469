//! Lengths of legal periods as the sources state them: working days (工作日), calendar days (日),
//! months (个月) and years (年).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A period as a rule states it, e.g. "within 10 working days" or "3 months before expiry".
///
/// The text form is a count followed by a unit: `10WD` (working days), `60CD` (calendar days),
/// `1M` (months) and `3Y` (years). Profiles store periods in that form, so the type serializes
/// to and parses from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Period {
    /// Working days (工作日), counted with the holiday calendar.
    WorkingDays(u32),
    /// Calendar days (日).
    CalendarDays(u32),
    /// Calendar months (个月).
    Months(u32),
    /// Calendar years (年).
    Years(u32),
}

/// The error returned when a period string is not a count followed by `WD`, `CD`, `M` or `Y`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid period {input:?}: expected a count followed by WD, CD, M or Y, e.g. \"10WD\"")]
pub struct ParsePeriodError {
    input: String,
}

// === impl Period ===

impl Period {
    /// Returns the count without its unit.
    pub fn count(self) -> u32 {
        match self {
            Period::WorkingDays(count)
            | Period::CalendarDays(count)
            | Period::Months(count)
            | Period::Years(count) => count,
        }
    }

    /// Returns the unit suffix used in the text form (`WD`, `CD`, `M` or `Y`).
    pub fn unit(self) -> &'static str {
        match self {
            Period::WorkingDays(_) => "WD",
            Period::CalendarDays(_) => "CD",
            Period::Months(_) => "M",
            Period::Years(_) => "Y",
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}{}", self.count(), self.unit())
    }
}

impl FromStr for Period {
    type Err = ParsePeriodError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = || ParsePeriodError {
            input: input.to_owned(),
        };
        let digits_end = input
            .find(|character: char| !character.is_ascii_digit())
            .ok_or_else(error)?;
        let (digits, unit) = input.split_at(digits_end);
        // `u32::from_str` alone would accept a leading `+`; the digit scan above already rules it out.
        if digits.is_empty() {
            return Err(error());
        }
        let count: u32 = digits.parse().map_err(|_| error())?;
        match unit {
            "WD" => Ok(Period::WorkingDays(count)),
            "CD" => Ok(Period::CalendarDays(count)),
            "M" => Ok(Period::Months(count)),
            "Y" => Ok(Period::Years(count)),
            _ => Err(error()),
        }
    }
}

impl TryFrom<String> for Period {
    type Error = ParsePeriodError;

    fn try_from(input: String) -> Result<Self, Self::Error> {
        input.parse()
    }
}

impl From<Period> for String {
    fn from(period: Period) -> Self {
        period.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_parses_and_displays_every_unit() {
        let cases = [
            ("10WD", Period::WorkingDays(10)),
            ("60CD", Period::CalendarDays(60)),
            ("1M", Period::Months(1)),
            ("3Y", Period::Years(3)),
            ("0WD", Period::WorkingDays(0)),
        ];
        for (text, period) in cases {
            assert_eq!(text.parse::<Period>(), Ok(period), "{text}");
            assert_eq!(period.to_string(), text);
        }
    }

    #[test]
    fn period_rejects_malformed_text() {
        for text in [
            "",
            "WD",
            "10",
            "10wd",
            "10 WD",
            " 10WD",
            "+10WD",
            "-1M",
            "10D",
            "1.5Y",
            "99999999999WD",
        ] {
            let error = text.parse::<Period>().expect_err(text);
            assert!(
                error.to_string().contains("expected a count followed by"),
                "{error}"
            );
        }
    }

    #[test]
    fn period_round_trips_through_serde_as_a_string() {
        let json = serde_json::to_string(&Period::Months(3)).expect("serialize");
        assert_eq!(json, "\"3M\"");
        let back: Period = serde_json::from_str("\"20WD\"").expect("deserialize");
        assert_eq!(back, Period::WorkingDays(20));
        let error = serde_json::from_str::<Period>("\"20 days\"").expect_err("bad period");
        assert!(error.to_string().contains("invalid period"), "{error}");
    }
}
