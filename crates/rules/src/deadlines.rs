//! Deadlines and periods on the working-day calendar, cited to the profile rule behind them.

use chrono::{Days, Months, NaiveDate};

use crate::{Calendar, Period, Profile, Sourced};

/// A deadline computed under a profile's setting, with the rule and provision it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CitedDeadline {
    /// The day the period starts counting from.
    pub start: NaiveDate,
    /// The period as the profile states it.
    pub period: Period,
    /// The last day of the period.
    pub due: NaiveDate,
    /// Whether the calendar did not cover every day counted (see [`crate::Deadline`]).
    pub provisional: bool,
    /// The DOMAIN §5 rule id (e.g. "D14"), or the obligation's name where §5 numbers none.
    pub rule_id: String,
    /// The provision the profile cites for the period (e.g. "S-LY §三(三)3").
    pub source_id: String,
    /// The profile the period was read from.
    pub profile_id: String,
}

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
    calendar: &Calendar,
    profile: &Profile,
    rule_id: &str,
    setting: &Sourced<Period>,
    start: NaiveDate,
) -> CitedDeadline {
    let computed = calendar.due_after(start, setting.value);
    CitedDeadline {
        start,
        period: setting.value,
        due: computed.due,
        provisional: computed.provisional,
        rule_id: rule_id.to_owned(),
        source_id: setting.source.clone(),
        profile_id: profile.id.clone(),
    }
}

/// The last day of a term of `period` starting on `start` (inclusive ranges: five years from
/// 2026-01-01 end on 2030-12-31). Terms are not moved to working days: they are not deadlines.
pub fn term_end(start: NaiveDate, period: Period) -> Option<NaiveDate> {
    let end = match period {
        Period::Years(n) => start.checked_add_months(Months::new(n.checked_mul(12)?))?,
        Period::Months(n) => start.checked_add_months(Months::new(n))?,
        Period::CalendarDays(n) | Period::WorkingDays(n) => {
            start.checked_add_days(Days::new(u64::from(n)))?
        }
    };
    end.pred_opt()
}

/// "5 years", "3 months", … for messages.
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
    use crate::Profiles;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

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
        assert_eq!(
            term_end(day(2026, 1, 1), Period::Years(5)),
            Some(day(2030, 12, 31))
        );
    }

    #[test]
    fn a_deadline_cites_its_rule_source_and_profile() {
        // D16 (S-LY §三(三)3): Laiyuan files an agreement within 10 WD; 2026-02-10 + 10 WD over
        // the Spring Festival is 2026-03-02.
        let profiles = Profiles::builtin();
        let laiyuan = profiles.get("laiyuan").unwrap();
        let setting = laiyuan.agreement.filing_deadline.as_ref().unwrap();
        let d = deadline(
            &Calendar::builtin(),
            laiyuan,
            &rule_id("agreement_filing", &setting.source),
            setting,
            day(2026, 2, 10),
        );
        assert_eq!(
            d,
            CitedDeadline {
                start: day(2026, 2, 10),
                period: Period::WorkingDays(10),
                due: day(2026, 3, 2),
                provisional: false,
                rule_id: "D16".to_owned(),
                source_id: setting.source.clone(),
                profile_id: "laiyuan".to_owned(),
            }
        );
    }
}
