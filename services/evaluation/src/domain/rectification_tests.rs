//! Rectification orders without a database: the deadline rule and the orders of an evaluation, which only
//! CompleteEvaluation issues.

use chrono::NaiveDate;
use pdop_kit::auth::{Caller, Role};
use pdop_kit::convert::{date, due_date};
use pdop_kit::uow::Call;
use pdop_proto::common::{DeadlineUnit, OrganizationRef};
use pdop_proto::evaluation::v1::{
    EvaluationGrade, IssueMeasure, RectificationIssue, RectificationOrder, RectificationOrderState as State,
    RectificationPlan, RectificationReport, RectificationSource as Source, RectificationVerification,
    VerificationOutcome,
};
use pdop_rules::{Calendar, Profiles};

use super::ErrorReason;
use super::rectification::{self, Parties};

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn call(org: &str, on: NaiveDate) -> Call {
    let caller = Caller {
        subject: "u".into(),
        organization: org.into(),
        roles: vec![Role::ImplementingAgency, Role::Operator],
        jurisdiction: "jurisdictions/yunnan".into(),
    };
    Call::new(
        caller,
        "evaluation.Test",
        on.and_hms_opt(2, 0, 0).unwrap().and_utc(),
    )
}

fn org(name: &str) -> OrganizationRef {
    OrganizationRef {
        name: name.into(),
        display_name: format!("{name} 名称"),
        ..Default::default()
    }
}

fn parties() -> Parties {
    Parties {
        subject: org("organizations/op"),
        issuer: org("organizations/ia"),
        ..Default::default()
    }
}

/// A Yunnan evaluation's order issued on 2026-01-16 with 30 CD (D23), as CompleteEvaluation issues it.
fn evaluation_order() -> RectificationOrder {
    let profiles = Profiles::builtin();
    let yunnan = profiles.get("yunnan").unwrap();
    let issued = day(2026, 1, 16);
    let deadline = rectification::deadline(&Calendar::builtin(), yunnan, issued, None, "due_date").unwrap();
    let mut o = RectificationOrder {
        name: "rectificationOrders/r1".into(),
        source: Source::Evaluation as i32,
        evaluation: "evaluations/e1".into(),
        issues: vec![RectificationIssue {
            description: "数据安全管理制度不健全".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    rectification::issue(
        &mut o,
        &call("organizations/ia", issued),
        yunnan,
        deadline,
        &parties(),
    )
    .unwrap();
    o
}

fn measure(text: &str) -> IssueMeasure {
    IssueMeasure {
        issue_key: "issue-1".into(),
        measure: text.into(),
        ..Default::default()
    }
}

#[test]
fn a_yunnan_deadline_runs_30_days_and_rolls_past_spring_festival() {
    // D23, S-YN Art.26 "30日内完成整改": 2026-01-16 + 30 CD = Sun 02-15, a holiday → Tue 02-24.
    let o = evaluation_order();
    let d = o.deadline.clone().unwrap();
    assert_eq!(due_date(Some(&d)), Some(day(2026, 2, 24)));
    assert_eq!(d.unit, DeadlineUnit::CalendarDays as i32);
    assert_eq!(d.source.unwrap().rule_id, "D23");
    assert_eq!(o.issues[0].key, "issue-1");
}

#[test]
fn a_yunnan_deadline_rolls_past_national_day_and_into_2027_is_provisional() {
    // D23, S-YN Art.26: 2026-09-05 + 30 CD = Mon 10-05, inside the National Day holiday (10-01…10-07) → Thu 10-08.
    let profiles = Profiles::builtin();
    let yunnan = profiles.get("yunnan").unwrap();
    let calendar = Calendar::builtin();
    let d = rectification::deadline(&calendar, yunnan, day(2026, 9, 5), None, "due_date").unwrap();
    assert_eq!(due_date(Some(&d)), Some(day(2026, 10, 8)));
    assert!(!d.provisional);
    // R-EV-10: 2026-12-20 + 30 CD runs into 2027, past the loaded calendar: provisional.
    let d = rectification::deadline(&calendar, yunnan, day(2026, 12, 20), None, "due_date").unwrap();
    assert_eq!(due_date(Some(&d)), Some(day(2027, 1, 19)));
    assert!(d.provisional);
}

#[test]
fn without_a_profile_period_the_issuer_dates_the_order() {
    // Henan sets no rectification period: the issuer's date is required and used as written.
    let profiles = Profiles::builtin();
    let henan = profiles.get("henan").unwrap();
    let calendar = Calendar::builtin();
    let err = rectification::deadline(&calendar, henan, day(2026, 3, 10), None, "due_date").unwrap_err();
    assert!(matches!(err, super::Error::Invalid(_)));
    let d = rectification::deadline(&calendar, henan, day(2026, 3, 10), Some(day(2026, 4, 30)), "f").unwrap();
    assert_eq!(d.due_date, Some(date(day(2026, 4, 30))));
    assert_eq!(d.unit, DeadlineUnit::FixedDate as i32);
    assert!(!d.provisional);
}

#[test]
fn an_evaluation_order_is_final_at_its_first_verification() {
    // §3.6 (inferred): the verification of an evaluation's order is its re-evaluation; a second report is refused.
    let mut o = evaluation_order();
    let p = parties();
    let subject = call("organizations/op", day(2026, 1, 20));
    let plan = RectificationPlan {
        measures: vec![measure("修订制度")],
        planned_completion_date: Some(date(day(2026, 2, 10))),
        ..Default::default()
    };
    rectification::submit_plan(&mut o, &subject, plan, &p).unwrap();
    let report = RectificationReport {
        actions: vec![measure("已修订")],
        ..Default::default()
    };
    // S-YN Art.26: a report on 02-25, after the deadline, is accepted and marked late.
    let late = call("organizations/op", day(2026, 2, 25));
    rectification::submit_report(&mut o, &late, report.clone(), &p).unwrap();
    assert!(o.reports[0].late);
    let failed = RectificationVerification {
        outcome: VerificationOutcome::Failed as i32,
        comments: "整改不到位".into(),
        ..Default::default()
    };
    let issuer = call("organizations/ia", day(2026, 3, 2));
    let change = rectification::verify(&mut o, &issuer, failed, &[], &p).unwrap();
    assert_eq!(o.state, State::VerifiedFailed as i32);
    assert_eq!(
        change.event().unwrap().re_evaluation_grade,
        EvaluationGrade::Fail as i32,
        "the re-evaluation of a failed verification is FAIL"
    );
    let again = call("organizations/op", day(2026, 2, 20));
    let err = rectification::submit_report(&mut o, &again, report, &p).unwrap_err();
    assert_eq!(err.reason(), Some(ErrorReason::OrderFinal));
}

#[test]
fn a_re_evaluation_grade_must_follow_the_outcome() {
    let mut o = evaluation_order();
    o.state = State::ReportSubmitted as i32;
    let passed_as_fail = RectificationVerification {
        outcome: VerificationOutcome::Passed as i32,
        comments: "整改到位".into(),
        re_evaluation_grade: EvaluationGrade::Fail as i32,
        ..Default::default()
    };
    let issuer = call("organizations/ia", day(2026, 2, 20));
    let err = rectification::verify(&mut o, &issuer, passed_as_fail, &[], &parties()).unwrap_err();
    assert!(matches!(err, super::Error::Invalid(_)), "{err:?}");
}
