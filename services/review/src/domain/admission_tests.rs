//! The developer-admission transition table and rules without a database.

use chrono::NaiveDate;
use pdop_kit::auth::{Caller, Role};
use pdop_kit::uow::Call;
use pdop_proto::common::RealNameParty;
use pdop_proto::registry::v1::{BlacklistAction, CreditStatus};
use pdop_proto::review::v1::{
    AdmissionExitReason, AdmissionMaterial, AdmissionMaterialKind as Kind, DeveloperAdmission,
    DeveloperAdmissionObjection, DeveloperAdmissionState as State,
};
use pdop_rules::{Calendar, Profiles};

use super::ErrorReason;
use super::admission::{self, Standing, Transition};
use super::admission_exit::may_exit;
use super::admission_notice::{NoticeRequest, notice_period, visible_to};
use super::rules;

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

fn call(org: &str, roles: &[Role]) -> Call {
    let caller = Caller {
        subject: "u".into(),
        organization: org.into(),
        roles: roles.to_vec(),
        jurisdiction: "jurisdictions/yunnan".into(),
    };
    Call::new(caller, "review.Test", chrono::Utc::now())
}

fn profile(id: &str) -> rules::AdmissionRules {
    rules::admission(&Profiles::builtin().shared(id).unwrap())
}

#[test]
fn every_admission_transition_starts_only_from_its_states() {
    // §2.7 state machine.
    let all = [
        State::Draft,
        State::UnderReview,
        State::SupplementRequested,
        State::Qualified,
        State::PublicNotice,
        State::Admitted,
        State::Rejected,
        State::Withdrawn,
        State::Exited,
    ];
    for t in Transition::ALL {
        for s in all {
            let a = DeveloperAdmission {
                name: "developerAdmissions/1".into(),
                state: s as i32,
                ..Default::default()
            };
            let got = admission::require(&a, t);
            assert_eq!(got.is_ok(), t.starts_from().contains(&s), "{t:?} from {s:?}");
            if let Err(e) = got {
                assert_eq!(e.reason(), Some(ErrorReason::WrongState));
            }
        }
    }
    assert_eq!(Transition::Admit.starts_from(), [State::PublicNotice]);
    assert_eq!(Transition::Exit.starts_from(), [State::Admitted]);
}

#[test]
fn zhengzhou_has_no_admission_procedure_and_yunnan_a_five_day_notice() {
    // S-ZZ Art.18, 22: no procedure; S-YN Art.13(三), D21: ≥5 WD; Henan, Hubei, Laiyuan: no notice.
    let err = admission::procedure(&profile("zhengzhou")).unwrap_err();
    assert_eq!(err.reason(), Some(ErrorReason::AdmissionNotUsed));
    assert!(err.to_string().contains("zhengzhou"), "{err}");
    assert_eq!(profile("yunnan").notice_min.map(|n| n.0), Some(5));
    for id in ["henan", "hubei", "laiyuan", "national"] {
        assert!(profile(id).notice_min.is_none(), "{id}");
        assert!(admission::procedure(&profile(id)).is_ok(), "{id}");
    }
}

#[test]
fn a_notice_without_a_start_runs_from_the_next_working_day_across_national_day() {
    // D21, S-YN Art.13(三): started Tue 2026-09-29 → first day Wed 09-30; 10-01..10-07 are holidays and Sat 10-10
    // a make-up working day, so the 5th working day is Mon 10-12.
    let cal = Calendar::builtin();
    let rules = profile("yunnan");
    let asked = NoticeRequest {
        working_days: 0,
        start: None,
    };
    let cited = notice_period(&cal, &rules, asked, day(9, 29)).unwrap();
    assert_eq!((cited.start, cited.due), (day(9, 29), day(10, 12)));
    assert_eq!(cited.rule_id, "D21");
    // REVIEW-EVALUATION S6: with 0 on 09-30 the notice is 10-08 … 10-13.
    let cited = notice_period(&cal, &rules, asked, day(9, 30)).unwrap();
    assert_eq!(
        (cited.start.succ_opt().unwrap(), cited.due),
        (day(10, 8), day(10, 13))
    );
}

#[test]
fn a_notice_below_the_minimum_or_starting_in_the_past_is_invalid() {
    // D21: "不少于5个工作日".
    let cal = Calendar::builtin();
    let rules = profile("yunnan");
    let short = NoticeRequest {
        working_days: 4,
        start: None,
    };
    assert!(matches!(
        notice_period(&cal, &rules, short, day(9, 30)),
        Err(super::Error::Invalid(_))
    ));
    let past = NoticeRequest {
        working_days: 5,
        start: Some(day(9, 29)),
    };
    assert!(matches!(
        notice_period(&cal, &rules, past, day(9, 30)),
        Err(super::Error::Invalid(_))
    ));
    // Given start Mon 10-12: 10-12, 10-13, 10-14, 10-15, 10-16.
    let given = NoticeRequest {
        working_days: 5,
        start: Some(day(10, 12)),
    };
    assert_eq!(
        notice_period(&cal, &rules, given, day(9, 30)).unwrap().due,
        day(10, 16)
    );
}

#[test]
fn suspend_disqualify_bar_and_dishonesty_block_while_a_warning_does_not() {
    // R-RV-17: the registry's excluding set, and CREDIT_STATUS_DISHONEST_LISTED (S-YN Art.21, Art.12(一)).
    let c = call("organizations/dev", &[Role::Developer]);
    let entry = |a: BlacklistAction| Standing {
        entries: vec![("blacklistEntries/b1".into(), a as i32)],
        credit_status: CreditStatus::Good as i32,
    };
    assert!(super::admission_checks::blacklist_check(&entry(BlacklistAction::Warn), &c).clear);
    for a in [
        BlacklistAction::Suspend,
        BlacklistAction::Disqualify,
        BlacklistAction::Bar,
    ] {
        let check = super::admission_checks::blacklist_check(&entry(a), &c);
        assert!(!check.clear, "{a:?}");
        assert_eq!(check.blocking_entries, ["blacklistEntries/b1"]);
    }
    let dishonest = Standing {
        entries: Vec::new(),
        credit_status: CreditStatus::DishonestListed as i32,
    };
    let check = super::admission_checks::blacklist_check(&dishonest, &c);
    assert!(!check.clear && check.dishonest_listed);
    let mut a = DeveloperAdmission::default();
    let err = admission::require_clear(&mut a, &c, &dishonest).unwrap_err();
    assert_eq!(err.reason(), Some(ErrorReason::Blacklisted));
}

#[test]
fn the_operator_never_develops_its_own_products_and_yunnan_materials_are_required() {
    // §1.2 (N2 Art.6); S-YN Art.13(一).
    let err = admission::not_own_products("organizations/op", "organizations/op").unwrap_err();
    assert_eq!(err.reason(), Some(ErrorReason::OwnProducts));
    let mut a = DeveloperAdmission {
        name: "developerAdmissions/1".into(),
        ..Default::default()
    };
    a.materials = [
        Kind::ScenarioPlan,
        Kind::SecurityCommitment,
        Kind::QualificationProof,
    ]
    .iter()
    .map(|k| AdmissionMaterial {
        kind: *k as i32,
        document: Some(Default::default()),
        ..Default::default()
    })
    .collect();
    let err = admission::require_materials(&a, &profile("yunnan")).unwrap_err();
    assert_eq!(err.reason(), Some(ErrorReason::MaterialsMissing));
    assert!(err.to_string().contains("CREDIT_REPORT"), "{err}");
    assert!(admission::require_materials(&a, &profile("henan")).is_ok());
}

#[test]
fn only_the_lead_sees_objector_identity_numbers() {
    // developer_admission.proto: identity numbers only to the lead reviewer's organization (PIPL).
    let o = DeveloperAdmissionObjection {
        objector: Some(RealNameParty {
            display_name: "张三".into(),
            identity_number: "530102199001011234".into(),
            contact: "13800000000".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let seen = visible_to(o.clone(), false).objector.unwrap();
    assert_eq!(
        (
            seen.display_name.as_str(),
            seen.identity_number.as_str(),
            seen.contact.as_str()
        ),
        ("张三", "", "")
    );
    assert_eq!(
        visible_to(o, true).objector.unwrap().identity_number,
        "530102199001011234"
    );
}

#[test]
fn a_developer_exits_only_voluntarily() {
    // §2.7 ExitDeveloperAdmission: developer (VOLUNTARY only).
    let a = DeveloperAdmission {
        developer: "organizations/dev".into(),
        operator: "organizations/op".into(),
        ..Default::default()
    };
    let dev = call("organizations/dev", &[Role::Developer]);
    assert!(may_exit(&dev.caller, &a, AdmissionExitReason::Voluntary).is_ok());
    let err = may_exit(&dev.caller, &a, AdmissionExitReason::Disqualified).unwrap_err();
    assert_eq!(err.reason(), Some(ErrorReason::VoluntaryOnly));
    let op = call("organizations/op", &[Role::Operator]);
    assert_eq!(
        may_exit(&op.caller, &a, AdmissionExitReason::Disqualified).ok(),
        Some(false)
    );
    let ia = call("organizations/ia", &[Role::ImplementingAgency]);
    assert_eq!(
        may_exit(&ia.caller, &a, AdmissionExitReason::EvaluationFailed).ok(),
        Some(true)
    );
}
