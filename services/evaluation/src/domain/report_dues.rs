//! When operator reports are due (§3.7; D24, D25), which reports an agreement owes, and which of them were missing
//! at their due date. The profile's `[reports]` keys decide: the cadence, the quarterly period after a quarter's
//! last day (Henan 15 CD, inferred), the annual date (`operator_annual_due_date`, else 31 March for "每年第一季度").
//! Annual dates are fixed dates: never moved to a working day (§0).

use chrono::{Datelike, NaiveDate};
use pdop_kit::convert::due_date;
use pdop_proto::common::{Deadline, JurisdictionRef, OrganizationRef};
use pdop_proto::evaluation::events::v1 as ev;
use pdop_proto::evaluation::v1::{OperatorReport, OperatorReportState as State, ReportKind};
use pdop_rules::profiles::{AnnualReportDue, Cadence};
use pdop_rules::{Calendar, Profile};

use super::due;
use super::error::Error;

/// DOMAIN §5: D24 quarterly reports (S-HN Art.22), D25 annual reports.
const QUARTERLY_RULE: &str = "D24";
const ANNUAL_RULE: &str = "D25";

fn cadence(kind: ReportKind) -> Option<Cadence> {
    match kind {
        ReportKind::Quarterly => Some(Cadence::Quarterly),
        ReportKind::Annual => Some(Cadence::Annual),
        ReportKind::Unspecified => None,
    }
}

/// The kind must be one the profile's operators file (`reports.operator_cadence`); else INVALID_ARGUMENT on `field`
/// naming the profile (Yunnan sets no report, S-YN Art.26).
pub fn filed(profile: &Profile, kind: ReportKind, field: &str) -> Result<(), Error> {
    let Some(c) = cadence(kind) else {
        return Err(Error::invalid(field, "must be QUARTERLY or ANNUAL"));
    };
    if profile.reports.files(c) {
        return Ok(());
    }
    let cadence = profile.reports.operator_cadence.as_ref();
    Err(Error::invalid(
        field,
        format!(
            "profile {} has no {kind:?} operator reports (filed: {}; {})",
            profile.id,
            cadence.map_or_else(
                || "none".to_owned(),
                |c| c
                    .value
                    .iter()
                    .map(|c| format!("{c:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            cadence.map_or("no cadence is set", |c| c.source.as_str()),
        ),
    ))
}

/// The first and last day a report covers: the quarter (1–4) or, for 0, the year.
pub fn covered(year: i32, quarter: i32) -> Option<(NaiveDate, NaiveDate)> {
    if quarter == 0 {
        return Some((
            NaiveDate::from_ymd_opt(year, 1, 1)?,
            NaiveDate::from_ymd_opt(year, 12, 31)?,
        ));
    }
    let first_month = u32::try_from(quarter * 3 - 2).ok()?;
    let start = NaiveDate::from_ymd_opt(year, first_month, 1)?;
    let next = if quarter == 4 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, first_month + 3, 1)?
    };
    Some((start, next.pred_opt()?))
}

/// The due date of the report of `kind` on `year` (and `quarter`), citing the profile setting it comes from; `None`
/// when the profile gives none.
pub fn due(
    calendar: &Calendar,
    profile: &Profile,
    kind: ReportKind,
    year: i32,
    quarter: i32,
) -> Option<Deadline> {
    let (_, last) = covered(year, quarter)?;
    let rules = &profile.reports;
    match kind {
        ReportKind::Quarterly => {
            let setting = rules.operator_quarterly_due.as_ref()?;
            let d = pdop_rules::deadlines::deadline(calendar, profile, QUARTERLY_RULE, setting, last);
            Some(pdop_kit::convert::deadline(&d))
        }
        ReportKind::Annual => {
            let (day, source) = match (&rules.operator_annual_due_date, &rules.operator_annual_due) {
                (Some(date), _) => (date.value.in_year(year + 1)?, date.source.as_str()),
                // "每年第一季度报送" (S-HN Art.22, S-LY §七(二)2): by the quarter's last day, 31 March.
                (None, Some(q)) if q.value == AnnualReportDue::FirstQuarter => {
                    (NaiveDate::from_ymd_opt(year + 1, 3, 31)?, q.source.as_str())
                }
                _ => return None,
            };
            Some(due::fixed(calendar, &profile.id, ANNUAL_RULE, source, last, day))
        }
        ReportKind::Unspecified => None,
    }
}

/// A report an agreement owes.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    pub kind: ReportKind,
    pub year: i32,
    pub quarter: i32,
    pub due: Deadline,
}

/// The reports owed under the profile's cadence by an agreement in force from `from` to `until` (§3.7: the cadence ×
/// an agreement active in the period) whose due date is before `today`.
pub fn owed(
    calendar: &Calendar,
    profile: &Profile,
    from: NaiveDate,
    until: Option<NaiveDate>,
    today: NaiveDate,
) -> Vec<Expected> {
    let mut periods = Vec::new();
    if profile.reports.files(Cadence::Quarterly) {
        periods.extend((1..=4).map(|q| (ReportKind::Quarterly, q)));
    }
    if profile.reports.files(Cadence::Annual) {
        periods.push((ReportKind::Annual, 0));
    }
    let mut owed = Vec::new();
    for year in from.year()..=today.year() {
        for &(kind, quarter) in &periods {
            let Some((start, end)) = covered(year, quarter) else {
                continue;
            };
            if end < from || until.is_some_and(|u| u < start) {
                continue;
            }
            let Some(due) = due(calendar, profile, kind, year, quarter) else {
                continue;
            };
            if due_date(Some(&due)).is_some_and(|d| d < today) {
                owed.push(Expected {
                    kind,
                    year,
                    quarter,
                    due,
                });
            }
        }
    }
    owed
}

/// The report was missing at its due date: none was started, it was still a draft or returned, or it was first
/// submitted late. `OperatorReportOverdue` names the report when one was started.
pub fn overdue(
    e: &Expected,
    report: Option<&OperatorReport>,
    operator: OrganizationRef,
    agreement: &str,
    jurisdiction: JurisdictionRef,
) -> Option<ev::OperatorReportOverdue> {
    let missing = report.is_none_or(|r| {
        r.late
            || matches!(
                State::try_from(r.state).unwrap_or_default(),
                State::Draft | State::Returned
            )
    });
    missing.then(|| ev::OperatorReportOverdue {
        operator: Some(operator),
        agreement: agreement.to_owned(),
        jurisdiction: Some(jurisdiction),
        kind: e.kind as i32,
        year: e.year,
        quarter: e.quarter,
        report: report.map(|r| r.name.clone()).unwrap_or_default(),
        deadline: Some(e.due.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pdop_rules::Profiles;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn due_on(profile: &str, kind: ReportKind, year: i32, quarter: i32) -> (NaiveDate, bool, String) {
        let profiles = Profiles::builtin();
        let d = due(
            &Calendar::builtin(),
            profiles.get(profile).unwrap(),
            kind,
            year,
            quarter,
        )
        .unwrap();
        let source = d.source.clone().unwrap_or_default().source_id;
        (due_date(Some(&d)).unwrap(), d.provisional, source)
    }

    #[test]
    fn quarters_cover_their_three_months() {
        assert_eq!(covered(2025, 3), Some((day(2025, 7, 1), day(2025, 9, 30))));
        assert_eq!(covered(2025, 4), Some((day(2025, 10, 1), day(2025, 12, 31))));
        assert_eq!(covered(2025, 0), Some((day(2025, 1, 1), day(2025, 12, 31))));
    }

    #[test]
    fn henan_quarterly_reports_are_due_15_calendar_days_after_the_quarter() {
        // D24, S-HN Art.22 (no date; 15 CD inferred): Q3 2025 → 10-15, Q4 2025 → 2026-01-15, Q4 2026 provisional.
        let (d, provisional, source) = due_on("henan", ReportKind::Quarterly, 2025, 3);
        assert_eq!((d, provisional), (day(2025, 10, 15), false));
        assert!(source.starts_with("inferred —"), "{source}");
        assert_eq!(
            due_on("henan", ReportKind::Quarterly, 2025, 4).0,
            day(2026, 1, 15)
        );
        assert!(
            due_on("henan", ReportKind::Quarterly, 2026, 4).1,
            "2027 is past the loaded calendar"
        );
    }

    #[test]
    fn annual_reports_fall_on_fixed_dates_never_moved() {
        // D25: Henan and Laiyuan 每年第一季度 → 03-31; Hubei 01-31 (a Saturday, inferred); Zhengzhou 03-31 (inferred).
        assert_eq!(due_on("henan", ReportKind::Annual, 2025, 0).0, day(2026, 3, 31));
        assert_eq!(due_on("laiyuan", ReportKind::Annual, 2025, 0).0, day(2026, 3, 31));
        let (hubei, _, source) = due_on("hubei", ReportKind::Annual, 2025, 0);
        assert_eq!(hubei, day(2026, 1, 31));
        assert!(source.starts_with("inferred —"));
        assert_eq!(
            due_on("zhengzhou", ReportKind::Annual, 2025, 0).0,
            day(2026, 3, 31)
        );
    }

    #[test]
    fn an_agreement_owes_the_reports_of_the_periods_it_was_in_force() {
        // Henan agreement from 2025-07-01: Q3 and Q4 2025 are owed by 2026-01-16; Q1/Q2 and the annual are not.
        let profiles = Profiles::builtin();
        let henan = profiles.get("henan").unwrap();
        let owed = owed(
            &Calendar::builtin(),
            henan,
            day(2025, 7, 1),
            None,
            day(2026, 1, 16),
        );
        let periods: Vec<_> = owed.iter().map(|e| (e.kind, e.year, e.quarter)).collect();
        assert_eq!(
            periods,
            [(ReportKind::Quarterly, 2025, 3), (ReportKind::Quarterly, 2025, 4)]
        );
        let yunnan = profiles.get("yunnan").unwrap();
        assert!(owed_none(yunnan));
    }

    fn owed_none(profile: &Profile) -> bool {
        owed(
            &Calendar::builtin(),
            profile,
            day(2025, 1, 1),
            None,
            day(2027, 1, 1),
        )
        .is_empty()
    }
}
