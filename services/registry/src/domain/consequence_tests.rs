use pdop_proto::common::{Date, Deadline};
use pdop_proto::evaluation::events::v1::EvaluationSummary;
use pdop_rules::Profiles;

use super::*;

fn rules(profile: &str) -> EvaluationRules {
    Profiles::builtin()
        .get(profile)
        .expect("builtin profile")
        .evaluation
        .clone()
}

fn completed(
    kind: EvaluationSubjectKind,
    agreement: &str,
    consequences: &[Consequence],
) -> EvaluationCompleted {
    EvaluationCompleted {
        evaluation: Some(EvaluationSummary {
            name: "evaluations/e1".into(),
            subject_kind: kind as i32,
            agreement: agreement.into(),
            ..Default::default()
        }),
        consequences: consequences.iter().map(|c| *c as i32).collect(),
        ..Default::default()
    }
}

fn order(source: RectificationSource, agreement: &str, due: (i32, i32, i32)) -> RectificationSummary {
    RectificationSummary {
        name: "rectificationOrders/r1".into(),
        source: source as i32,
        evaluation: "evaluations/e1".into(),
        agreement: agreement.into(),
        deadline: Some(Deadline {
            due_date: Some(Date {
                year: due.0,
                month: due.1,
                day: due.2,
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

// S-HN Art.22: a veto suspends even while rectification is pending; SUSPENSION_RECOMMENDED is then carried out and
// only the principal interview is left to decide.
#[test]
fn a_henan_veto_suspends_and_leaves_the_interview_to_decide() {
    let mut e = completed(
        EvaluationSubjectKind::Operator,
        "agreements/a1",
        &[
            Consequence::PrincipalInterview,
            Consequence::SuspensionRecommended,
        ],
    );
    e.vetoed = true;
    e.rectification_pending = true;
    e.grade = EvaluationGrade::Fail as i32;
    let c = on_completed(&e, &rules("henan"));
    let s = c.suspend.expect("suspended");
    assert_eq!(s.reason, "评价发现重大安全风险 evaluations/e1 (S-HN Art.22)");
    assert_eq!(s.ground, "evaluations/e1");
    let f = c.follow_up.expect("follow-up");
    assert_eq!(f.consequences, ["EVALUATION_CONSEQUENCE_PRINCIPAL_INTERVIEW"]);
    // Elsewhere a veto is not a suspension ground: the recommendation goes to the authority.
    let c = on_completed(&e, &rules("yunnan"));
    assert!(c.suspend.is_none());
    assert_eq!(c.follow_up.expect("follow-up").consequences.len(), 2);
}

// S-HN Art.22 (final_fail inferred): a FAIL suspends only once no rectification is pending.
#[test]
fn a_henan_fail_suspends_only_when_final() {
    let mut e = completed(EvaluationSubjectKind::Operator, "agreements/a1", &[]);
    e.grade = EvaluationGrade::Fail as i32;
    e.rectification_pending = true;
    assert_eq!(on_completed(&e, &rules("henan")), Consequences::default());
    e.rectification_pending = false;
    let s = on_completed(&e, &rules("henan")).suspend.expect("suspended");
    assert_eq!(s.reason, "评价未通过 evaluations/e1");
}

// §3.8: CONTINUE, RECTIFICATION and ASSESSMENT_REFERENCE ask nothing of the registry; data providers carry none.
#[test]
fn results_used_outside_the_platform_open_nothing() {
    let listed = [
        Consequence::Continue,
        Consequence::Rectification,
        Consequence::AssessmentReference,
    ];
    let e = completed(EvaluationSubjectKind::Operator, "agreements/a1", &listed);
    assert_eq!(on_completed(&e, &rules("hubei")), Consequences::default());
    let e = completed(
        EvaluationSubjectKind::DataProvider,
        "",
        &[Consequence::TerminationRecommended],
    );
    assert_eq!(on_completed(&e, &rules("hubei")), Consequences::default());
}

// S-YN Art.21, 26: developer disqualification is a follow-up of the evaluating operator, on the developer agreement;
// where operators do not evaluate developers it is not recognised.
#[test]
fn developer_disqualification_counts_where_operators_evaluate_developers() {
    let e = completed(
        EvaluationSubjectKind::Developer,
        "developerAgreements/d1",
        &[Consequence::DeveloperDisqualification],
    );
    let f = on_completed(&e, &rules("yunnan")).follow_up.expect("follow-up");
    assert_eq!(f.subject, "developerAgreements/d1");
    assert!(on_completed(&e, &rules("hubei")).follow_up.is_none());
}

// S-ZZ Art.28: an access-suspending order suspends on its own ground, and its passing verification resumes on it.
#[test]
fn an_access_suspension_is_lifted_by_its_own_verification() {
    let o = order(
        RectificationSource::AgreementBreach,
        "agreements/a1",
        (2026, 6, 30),
    );
    let ordered = RectificationOrdered {
        order: Some(o.clone()),
        access_suspended: true,
        ..Default::default()
    };
    let s = on_ordered(&ordered).suspend.expect("suspended");
    assert_eq!(s.ground, "rectificationOrders/r1");
    assert!(
        s.reason
            .starts_with("限期整改期间暂停公共数据使用权限 rectificationOrders/r1")
    );
    let verified = RectificationVerified {
        order: Some(o),
        outcome: VerificationOutcome::Passed as i32,
        ..Default::default()
    };
    let day = NaiveDate::from_ymd_opt(2026, 6, 29).unwrap();
    let r = on_verified(&verified, &rules("zhengzhou"), day)
        .resume
        .expect("resumed");
    assert_eq!(r.ground, "rectificationOrders/r1");
}

// S-ZZ Art.28 "未按照要求整改的，可解除运营授权": a failed verification of a breach order is a termination ground
// only once no time is left to report again.
#[test]
fn a_failed_breach_order_is_a_ground_only_past_its_deadline() {
    let verified = RectificationVerified {
        order: Some(order(
            RectificationSource::AgreementBreach,
            "agreements/a1",
            (2026, 6, 30),
        )),
        outcome: VerificationOutcome::Failed as i32,
        ..Default::default()
    };
    let zz = rules("zhengzhou");
    let before = NaiveDate::from_ymd_opt(2026, 6, 29).unwrap();
    assert!(on_verified(&verified, &zz, before).follow_up.is_none());
    let after = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
    let f = on_verified(&verified, &zz, after).follow_up.expect("follow-up");
    assert!(f.description.contains("可解除运营授权"), "{}", f.description);
    assert!(f.description.contains("S-ZZ Art.28"), "{}", f.description);
    // Yunnan has no such ground (§3.12).
    assert!(
        on_verified(&verified, &rules("yunnan"), after)
            .follow_up
            .is_none()
    );
}

// S-HN Art.22: an evaluation order overdue suspends on the evaluation's ground, which a verification never lifts.
#[test]
fn a_henan_overdue_order_suspends_on_the_evaluation() {
    let overdue = RectificationOverdue {
        order: Some(order(
            RectificationSource::Evaluation,
            "agreements/a1",
            (2026, 4, 30),
        )),
        ..Default::default()
    };
    let c = on_overdue(&overdue, &rules("henan"));
    let s = c.suspend.expect("suspended");
    assert_eq!(s.reason, "未按期整改到位 rectificationOrders/r1");
    assert_eq!(s.ground, "evaluations/e1");
    assert!(c.follow_up.is_none());
    // A supervision order overdue is no suspension ground in Henan.
    let supervision = RectificationOverdue {
        order: Some(order(
            RectificationSource::SupervisionInspection,
            "agreements/a1",
            (2026, 4, 30),
        )),
        ..Default::default()
    };
    assert!(on_overdue(&supervision, &rules("henan")).suspend.is_none());
}
