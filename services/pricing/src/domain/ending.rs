//! Why and when a published cap or price ends (已终止): its product is withdrawn (下架), or its effective period
//! is over without a successor.

use chrono::NaiveDate;
use pdop_kit::convert::optional_date;
use pdop_proto::common::DateRange;

/// Why a published cap or price ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The registry withdrew the product (下架).
    ProductWithdrawn,
    /// The effective period ended before today.
    PeriodOver,
}

impl EndReason {
    /// The value the ended event carries.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProductWithdrawn => "PRODUCT_WITHDRAWN",
            Self::PeriodOver => "PERIOD_OVER",
        }
    }
}

/// Whether `period` ended before `today`; a period without a readable end never ends by itself.
pub fn period_over(period: Option<&DateRange>, today: NaiveDate) -> bool {
    period
        .and_then(|p| optional_date(p.end_date.as_ref()).ok().flatten())
        .is_some_and(|end| end < today)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pdop_kit::convert::date;

    fn ending(y: i32, m: u32, d: u32) -> DateRange {
        DateRange {
            start_date: None,
            end_date: NaiveDate::from_ymd_opt(y, m, d).map(date),
        }
    }

    #[test]
    fn a_period_is_over_from_the_day_after_its_last_day() {
        let last = ending(2027, 12, 31);
        let day = |m, d| NaiveDate::from_ymd_opt(2027, m, d).unwrap_or_default();
        assert!(
            !period_over(Some(&last), day(12, 31)),
            "its last day still applies"
        );
        assert!(period_over(
            Some(&last),
            NaiveDate::from_ymd_opt(2028, 1, 1).unwrap_or_default()
        ));
        assert!(!period_over(None, day(6, 1)));
        assert!(!period_over(Some(&DateRange::default()), day(6, 1)));
    }
}
