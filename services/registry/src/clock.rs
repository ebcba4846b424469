//! Deadlines and periods on the working-day calendar, cited to the profile rule behind them.

use chrono::{Months, NaiveDate};
use pdop_proto::common::{Deadline, DeadlineUnit, SourceCitation};
use pdop_rules::{Period, Profile, Sourced};

use crate::context::Ctx;
use crate::convert::{date, naive_date};

/// The DOMAIN §5 number of an obligation whose length differs by jurisdiction, picked by the source
/// the profile cites (e.g. agreement filing is D14 in Yunnan, D15 in Hubei, D16 in Laiyuan).
const NUMBERED: &[(&str, &str, &str)] = &[
    ("plan_filing", "S-YN", "D13"),
    ("plan_filing", "S-HB", "D15"),
    ("agreement_filing", "S-YN", "D14"),
    ("agreement_filing", "S-HB", "D15"),
    ("agreement_filing", "S-LY", "D16"),
    ("termination_filing", "S-LY", "D17"),
];

/// The rule id cited for `obligation` under a setting citing `source`: its D-number where DOMAIN §5
/// gives one, else the obligation itself.
pub fn rule_id(obligation: &str, source: &str) -> String {
    NUMBERED
        .iter()
        .find(|(o, prefix, _)| *o == obligation && source.starts_with(prefix))
        .map_or_else(|| obligation.to_owned(), |(_, _, d)| (*d).to_owned())
}

/// A deadline of `rule_id` computed with the calendar from `start` under the profile's `setting`.
pub fn deadline(
    ctx: &Ctx,
    profile: &Profile,
    rule_id: &str,
    setting: &Sourced<Period>,
    start: NaiveDate,
) -> Deadline {
    let computed = ctx.calendar.due_after(start, setting.value);
    let (duration, unit) = match setting.value {
        Period::WorkingDays(n) => (n, DeadlineUnit::WorkingDays),
        Period::CalendarDays(n) => (n, DeadlineUnit::CalendarDays),
        Period::Months(n) => (n, DeadlineUnit::Months),
        Period::Years(n) => (n, DeadlineUnit::Years),
    };
    Deadline {
        start_date: Some(date(start)),
        duration: i32::try_from(duration).unwrap_or(i32::MAX),
        unit: unit as i32,
        due_date: Some(date(computed.due)),
        provisional: computed.provisional,
        source: Some(SourceCitation {
            rule_id: rule_id.to_owned(),
            source_id: setting.source.clone(),
            ..Default::default()
        }),
        profile_id: profile.id.clone(),
    }
}

/// The due date of a deadline, if it has a valid one.
pub fn due(deadline: Option<&Deadline>) -> Option<NaiveDate> {
    deadline.and_then(|d| d.due_date.as_ref()).and_then(naive_date)
}

/// The last day of a term of `period` starting on `start` (inclusive ranges: five years from
/// 2026-01-01 end on 2030-12-31). Terms are not moved to working days: they are not deadlines.
pub fn term_end(start: NaiveDate, period: Period) -> Option<NaiveDate> {
    let end = match period {
        Period::Years(n) => start.checked_add_months(Months::new(n.checked_mul(12)?))?,
        Period::Months(n) => start.checked_add_months(Months::new(n))?,
        Period::CalendarDays(n) | Period::WorkingDays(n) => {
            start.checked_add_days(chrono::Days::new(u64::from(n)))?
        }
    };
    end.pred_opt()
}

/// "5Y", "3M", … for messages.
pub fn describe(period: Period) -> String {
    match period {
        Period::WorkingDays(n) => format!("{n} working days"),
        Period::CalendarDays(n) => format!("{n} days"),
        Period::Months(n) => format!("{n} months"),
        Period::Years(n) => format!("{n} years"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filing_rules_are_numbered_by_the_source_the_profile_cites() {
        // DOMAIN §5: D14 Yunnan (S-YN Art.11), D15 Hubei (S-HB §五(六)), D16 Laiyuan (S-LY §三(三)3).
        assert_eq!(rule_id("agreement_filing", "S-YN Art.11 (…)"), "D14");
        assert_eq!(rule_id("agreement_filing", "S-HB §五(六)"), "D15");
        assert_eq!(rule_id("agreement_filing", "S-LY §三(三)3"), "D16");
        assert_eq!(rule_id("plan_filing", "S-YN Art.10"), "D13");
        assert_eq!(rule_id("agreement_filing", "S-ZZ"), "agreement_filing");
    }

    #[test]
    fn a_five_year_term_ends_the_day_before_the_fifth_anniversary() {
        // D12 (N2 Art.14): at most 5 years; date ranges are inclusive.
        let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        assert_eq!(
            term_end(start, Period::Years(5)),
            NaiveDate::from_ymd_opt(2030, 12, 31)
        );
    }
}
