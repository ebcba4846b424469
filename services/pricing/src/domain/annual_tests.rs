//! Transitions of annual checks without a database.

use super::*;
use crate::domain::caps::tests::{AGENCY, call_by, case};

const OPERATOR: &str = "organizations/operator";

fn in_effect() -> PricingCase {
    PricingCase {
        state: PricingCaseState::InEffect as i32,
        ..case()
    }
}

fn check(year: i32, state: AnnualCheckState) -> AnnualCheck {
    AnnualCheck {
        name: "annualChecks/a1".into(),
        pricing_case: "pricingCases/c1".into(),
        year,
        state: state as i32,
        report_deadline: Some(Deadline {
            due_date: NaiveDate::from_ymd_opt(year + 1, 3, 31).map(date),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn reason_of<T: std::fmt::Debug>(r: Result<T, Error>) -> Option<ErrorReason> {
    r.err().and_then(|e| e.reason())
}

#[test]
fn a_party_opens_the_check_of_a_year_of_a_case_in_effect() {
    // N1 §四: the authorizing entity checks each year; the operator supplies the figures.
    let a = check(2027, AnnualCheckState::Draft);
    assert!(may_create(&call_by(AGENCY).caller, &a, &in_effect()).is_ok());
    assert!(may_create(&call_by(OPERATOR).caller, &a, &in_effect()).is_ok());
    let r = may_create(&call_by("organizations/drc").caller, &a, &in_effect());
    assert_eq!(reason_of(r), Some(ErrorReason::NotAParty));
    let r = may_create(&call_by(AGENCY).caller, &a, &case());
    assert_eq!(reason_of(r), Some(ErrorReason::WrongState));
    let r = may_create(
        &call_by(AGENCY).caller,
        &check(2030, AnnualCheckState::Draft),
        &in_effect(),
    );
    assert!(matches!(r, Err(Error::Invalid(_))));
}

#[test]
fn a_check_completes_after_its_year_and_a_report_after_31_march_is_late() {
    // D10 (N1 §五): the business report is due by 31 March of the next year. The test call is on 2027-06-01.
    let summary = ev::PricingCaseSummary::default();
    let on = |m, d| NaiveDate::from_ymd_opt(2027, m, d).unwrap_or_default();
    let r = complete(
        &mut check(2027, AnnualCheckState::Draft),
        &in_effect(),
        summary.clone(),
        &call_by(AGENCY),
        None,
        on(5, 1),
        "",
    );
    assert_eq!(reason_of(r), Some(ErrorReason::YearNotEnded));
    let r = complete(
        &mut check(2026, AnnualCheckState::Draft),
        &in_effect(),
        summary.clone(),
        &call_by(OPERATOR),
        None,
        on(3, 1),
        "",
    );
    assert_eq!(reason_of(r), Some(ErrorReason::NotTheAuthorizingEntity));
    let r = complete(
        &mut check(2026, AnnualCheckState::Completed),
        &in_effect(),
        summary.clone(),
        &call_by(AGENCY),
        None,
        on(3, 1),
        "",
    );
    assert_eq!(reason_of(r), Some(ErrorReason::WrongState));
    let mut on_time = check(2026, AnnualCheckState::Draft);
    complete(
        &mut on_time,
        &in_effect(),
        summary.clone(),
        &call_by(AGENCY),
        None,
        on(3, 31),
        "",
    )
    .unwrap();
    assert!(!on_time.report_late);
    let mut late = check(2026, AnnualCheckState::Draft);
    let change = complete(
        &mut late,
        &in_effect(),
        summary,
        &call_by(AGENCY),
        None,
        on(4, 1),
        "",
    )
    .unwrap();
    assert!(late.report_late);
    assert_eq!(change.event().map(|e| e.report_late), Some(true));
    assert!(overdue_or_late(&check(2026, AnnualCheckState::Draft), on(4, 1)));
    assert!(!overdue_or_late(&check(2026, AnnualCheckState::Draft), on(3, 31)));
}

#[test]
fn an_update_changes_the_masked_figures_of_a_draft_and_measures_them_again() {
    // N1 §四: |d| ≤ 10% → the operator adjusts its prices; above → the authorizing entity adjusts the caps.
    let profiles = pdop_rules::Profiles::configured(None).unwrap();
    let profile = profiles.shared("yunnan").unwrap();
    let mut case = in_effect();
    case.max_allowed_revenue = Some(Money {
        amount: "8821333.33".into(),
        currency: "CNY".into(),
    });
    let mut v = Violations::new();
    let fm = prost_types::FieldMask {
        paths: vec!["actual_revenue".into()],
    };
    let mask = crate::domain::mask::resolve(Some(&fm), MUTABLE, &mut v, |_| true);
    let from = AnnualCheck {
        actual_revenue: Some(Money {
            amount: "9000000".into(),
            currency: "CNY".into(),
        }),
        actual_cost: Some(Money {
            amount: "1".into(),
            currency: "CNY".into(),
        }),
        ..Default::default()
    };
    let mut a = check(2026, AnnualCheckState::Draft);
    update(
        &mut a,
        &case,
        &call_by(OPERATOR).caller,
        from.clone(),
        &mask,
        &profile,
    )
    .unwrap();
    assert_eq!(a.actual_cost, None, "not in the mask");
    assert_eq!(a.deviation.as_ref().map(|d| d.value.as_str()), Some("0.020254"));
    let r = update(
        &mut check(2026, AnnualCheckState::Completed),
        &case,
        &call_by(OPERATOR).caller,
        from.clone(),
        &mask,
        &profile,
    );
    assert_eq!(reason_of(r), Some(ErrorReason::WrongState));
    let r = update(
        &mut check(2026, AnnualCheckState::Draft),
        &case,
        &call_by("organizations/drc").caller,
        from,
        &mask,
        &profile,
    );
    assert_eq!(reason_of(r), Some(ErrorReason::NotAParty));
}
