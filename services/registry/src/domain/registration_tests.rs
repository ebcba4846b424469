//! Transitions of a registration without a database: every transition from every state, and the rules with
//! their sources.

use chrono::NaiveDate;
use pdop_kit::auth::Role;
use pdop_kit::service_error::Reason;
use pdop_proto::common::DocumentRef;
use pdop_proto::registry::v1::{
    CancellationReason, MissingMaterial, ObjectionDecisionState, RegistrationMaterial, RegistrationObjection,
    RevocationGround,
};
use pdop_rules::Profiles;

use super::*;
use crate::domain::objection;
use crate::domain::registration_lifecycle::{self as lifecycle, TERMINAL};

const APPLICANT: &str = "organizations/yn-stats";

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
}

fn ymd(y: i32, m: u32, d: u32) -> Option<pdop_proto::common::Date> {
    NaiveDate::from_ymd_opt(y, m, d).map(date)
}

fn caller(organization: &str, roles: &[Role], jurisdiction: &str) -> Caller {
    Caller {
        subject: "someone".into(),
        organization: organization.into(),
        roles: roles.to_vec(),
        jurisdiction: jurisdiction.into(),
    }
}

/// A call on Monday 2026-03-02 (China time) by `caller`.
fn call_by(caller: Caller) -> Call {
    let now = today().and_hms_opt(1, 0, 0).unwrap().and_utc();
    Call::new(caller, "registry.Test", now)
}

fn official() -> Call {
    call_by(caller(
        "organizations/authority",
        &[Role::DataAuthority],
        "jurisdictions/china",
    ))
}

fn applicant() -> Call {
    call_by(caller(APPLICANT, &[Role::DataProvider], "jurisdictions/yunnan"))
}

fn profile(id: &str) -> std::sync::Arc<Profile> {
    Profiles::builtin().shared(id).unwrap()
}

fn calendar() -> Calendar {
    Calendar::builtin()
}

fn parties() -> Parties {
    Parties::default()
}

const ALL_STATES: [RegistrationState; 13] = [
    RegistrationState::Draft,
    RegistrationState::Submitted,
    RegistrationState::ReturnedForSupplement,
    RegistrationState::NotAccepted,
    RegistrationState::Accepted,
    RegistrationState::Rejected,
    RegistrationState::ReviewPassed,
    RegistrationState::PublicNotice,
    RegistrationState::Terminated,
    RegistrationState::Coded,
    RegistrationState::Completed,
    RegistrationState::Cancelled,
    RegistrationState::Revoked,
];

/// A first registration in `state` that meets every other condition of every transition: all materials, a
/// notice that ended, no pending objection, a validity ending within the renewal window.
fn registration(state: RegistrationState) -> Registration {
    Registration {
        name: "registrations/r1".into(),
        kind: RegistrationKind::First as i32,
        subject: Some(Subject::Resource("resources/res1".into())),
        applicant: APPLICANT.into(),
        registrant: APPLICANT.into(),
        jurisdiction: "jurisdictions/yunnan".into(),
        title: "人口基础信息".into(),
        content_summary: "全省常住人口基础信息".into(),
        materials: FIRST_REGISTRATION_MATERIALS
            .iter()
            .map(|k| RegistrationMaterial {
                kind: *k as i32,
                ..Default::default()
            })
            .collect(),
        internal_review: Some(DocumentRef {
            uri: "doc://review".into(),
            ..Default::default()
        }),
        notice_period: Some(DateRange {
            start_date: ymd(2026, 2, 10),
            end_date: ymd(2026, 2, 27),
        }),
        validity: Some(DateRange {
            start_date: ymd(2023, 4, 1),
            end_date: ymd(2026, 4, 1),
        }),
        state: state as i32,
        ..Default::default()
    }
}

/// Runs transition `t` on a registration in `state` with inputs that meet every other condition.
fn run(t: Transition, state: RegistrationState) -> Result<(), Error> {
    let mut reg = registration(state);
    let (national, cal, p) = (profile("national"), calendar(), parties());
    match t {
        Transition::Edit => {
            lifecycle::update(&mut reg, &applicant().caller, Registration::default(), &[]).map(drop)
        }
        Transition::Submit => submit(&mut reg, &p, &applicant(), &national, &cal, None).map(drop),
        Transition::Accept => accept(&mut reg, &p, &official(), &national, &cal).map(drop),
        Transition::ReturnForSupplement => {
            return_for_supplement(&mut reg, &p, &official(), vec![MissingMaterial::default()], "").map(drop)
        }
        Transition::Refuse => refuse(&mut reg, &p, &official(), "不符合").map(drop),
        Transition::CompleteReview => {
            let review = Review {
                outcome: RegistrationReviewOutcome::Passed,
                reasons: String::new(),
                late_explanation: String::new(),
            };
            complete_review(&mut reg, &p, &official(), review).map(drop)
        }
        Transition::StartNotice => {
            start_notice(&mut reg, &p, &official(), &national, &cal, today()).map(drop)
        }
        Transition::IssueCode => issue_code(&mut reg, &p, &official(), "DJ-1".into()).map(drop),
        Transition::UpholdObjection => {
            objection::uphold(&mut reg, &p, &official(), &RegistrationObjection::default()).map(drop)
        }
        Transition::ApplyTo => may_apply_to(&reg, "resources/res1"),
        Transition::Amend => {
            let mut app = Registration {
                name: "registrations/r2".into(),
                kind: RegistrationKind::Change as i32,
                ..registration(RegistrationState::PublicNotice)
            };
            lifecycle::amend(&mut app, &mut reg, &p, &official()).map(drop)
        }
        Transition::Renew => lifecycle::renew(&mut reg, &p, &applicant(), (&national, &cal), 3).map(drop),
        Transition::Cancel => {
            lifecycle::cancel(&mut reg, &p, &official(), CancellationReason::RightsEnded, "").map(drop)
        }
        Transition::CompleteCancellation => {
            let app = Registration {
                kind: RegistrationKind::Cancellation as i32,
                original_registration: "registrations/r0".into(),
                ..reg
            };
            lifecycle::may_complete_cancellation(&app, "registrations/r0")
        }
    }
}

// The transition table (N3 Art.7-15): each transition succeeds from its states and is FAILED_PRECONDITION
// (WRONG_STATE) from every other.
#[test]
fn every_transition_runs_from_its_states_only() {
    for t in Transition::ALL {
        for state in ALL_STATES {
            let outcome = run(t, state);
            if t.starts_from().contains(&state) {
                assert!(outcome.is_ok(), "{t:?} from {state:?}: {outcome:?}");
            } else {
                let err = outcome.expect_err(&format!("{t:?} from {state:?} must be refused"));
                assert!(
                    matches!(err, Error::Refused { .. }),
                    "{t:?} from {state:?}: {err:?}"
                );
                assert_eq!(
                    err.reason(),
                    Some(ErrorReason::WrongState),
                    "{t:?} from {state:?}"
                );
            }
        }
    }
}

// N3 Art.20: anything not yet ended can be revoked; an ended one is ALREADY_ENDED.
#[test]
fn revocation_needs_something_left_to_revoke() {
    for state in ALL_STATES {
        let mut reg = registration(state);
        let outcome = lifecycle::revoke(
            &mut reg,
            &parties(),
            &official(),
            RevocationGround::FalseMaterials,
            "虚假材料",
        );
        if TERMINAL.contains(&state) {
            assert_eq!(outcome.unwrap_err().reason(), Some(ErrorReason::AlreadyEnded));
        } else {
            assert_eq!(state_of(&reg), RegistrationState::Revoked, "from {state:?}");
            assert!(outcome.is_ok());
        }
    }
}

// N3 Art.15: the scheduler cancels a CODED registration the day after its validity ends, and nothing else.
#[test]
fn only_a_coded_registration_past_its_validity_expires() {
    let after = NaiveDate::from_ymd_opt(2026, 4, 2).unwrap();
    let last = NaiveDate::from_ymd_opt(2026, 4, 1).unwrap();
    for state in ALL_STATES {
        let reg = registration(state);
        assert_eq!(lifecycle::expires(&reg, after), state == RegistrationState::Coded);
        assert!(!lifecycle::expires(&reg, last), "its last day is still valid");
    }
}

// THREATS H2: a data authority decides only on registrations of its jurisdiction or below.
#[test]
fn a_data_authority_decides_only_inside_its_jurisdiction() {
    let reg = registration(RegistrationState::Submitted);
    let yunnan = Ancestry::new(["yunnan", "china"]);
    let henan = caller(
        "organizations/hn-da",
        &[Role::DataAuthority],
        "jurisdictions/henan",
    );
    let err = may_decide(&henan, &yunnan, &reg).unwrap_err();
    assert!(matches!(err, Error::Denied { .. }));
    assert_eq!(err.reason(), Some(ErrorReason::OutsideJurisdiction));
    assert_eq!(err.reason().map(Reason::as_str), Some("OUTSIDE_JURISDICTION"));
    for own in ["jurisdictions/yunnan", "jurisdictions/china"] {
        let da = caller("organizations/da", &[Role::DataAuthority], own);
        assert!(may_decide(&da, &yunnan, &reg).is_ok(), "{own}");
    }
}

// Nobody decides their own organization's application.
#[test]
fn the_applicant_does_not_decide_its_own_application() {
    let reg = registration(RegistrationState::Submitted);
    let own = caller(APPLICANT, &[Role::DataAuthority], "jurisdictions/yunnan");
    let err = may_decide(&own, &Ancestry::new(["yunnan"]), &reg).unwrap_err();
    assert_eq!(err.reason(), Some(ErrorReason::OwnApplication));
}

// D5 (N3 Art.12): the public notice lasts 10 WD including its first day.
#[test]
fn the_notice_lasts_ten_working_days() {
    let mut reg = registration(RegistrationState::ReviewPassed);
    let start = NaiveDate::from_ymd_opt(2026, 3, 9).unwrap();
    let change = start_notice(
        &mut reg,
        &parties(),
        &official(),
        &profile("national"),
        &calendar(),
        start,
    )
    .unwrap();
    let event = change.event().unwrap();
    assert_eq!(event.period_working_days, 10);
    let period = reg.notice_period.unwrap();
    assert_eq!(period.start_date, Some(date(start)));
    assert_eq!(
        period.end_date,
        ymd(2026, 3, 20),
        "Mon 9 March to Fri 20 March: 10 WD"
    );
}

// D3 (N3 Art.10): 3 WD to accept, counted from receipt.
#[test]
fn submitting_starts_the_acceptance_clock() {
    let mut reg = registration(RegistrationState::Draft);
    submit(
        &mut reg,
        &parties(),
        &applicant(),
        &profile("national"),
        &calendar(),
        None,
    )
    .unwrap();
    let due = reg.current_deadline.unwrap().due_date;
    assert_eq!(due, ymd(2026, 3, 5), "Mon 2 March + 3 WD");
}

// N3 Art.7, Art.9: a first registration needs every listed material and the internal review.
#[test]
fn submitting_without_every_material_is_refused() {
    let mut reg = registration(RegistrationState::Draft);
    reg.materials.pop();
    reg.internal_review = None;
    let err = may_submit(&applicant().caller, &reg).unwrap_err();
    assert_eq!(err.reason(), Some(ErrorReason::MaterialsMissing));
    let other = caller("organizations/other", &[Role::DataProvider], "");
    let err = may_submit(&other, &registration(RegistrationState::Draft)).unwrap_err();
    assert_eq!(err.reason(), Some(ErrorReason::NotYourApplication));
}

// S-HN Art.10: Henan accepts a resource only once it is catalogued.
#[test]
fn henan_requires_a_catalogued_resource() {
    let facts = ResourceFacts {
        state: ResourceState::Draft,
        state_asset_duties_fulfilled: true,
    };
    let err = check_preconditions(&profile("henan"), &facts).unwrap_err();
    assert_eq!(err.reason(), Some(ErrorReason::ProfilePrecondition));
    assert!(check_preconditions(&profile("national"), &facts).is_ok());
}

// N3 Art.11: a review finished after its 20 WD must explain why (INVALID_ARGUMENT on late_explanation).
#[test]
fn a_late_review_explains_the_delay() {
    let mut reg = registration(RegistrationState::Accepted);
    reg.current_deadline = Some(pdop_proto::common::Deadline {
        due_date: ymd(2026, 2, 27),
        ..Default::default()
    });
    let review = |late: &str| Review {
        outcome: RegistrationReviewOutcome::Passed,
        reasons: String::new(),
        late_explanation: late.into(),
    };
    assert!(matches!(
        may_complete_review(&reg, &official(), &review("")),
        Err(Error::Invalid(_))
    ));
    let change = complete_review(&mut reg, &parties(), &official(), review("人手不足")).unwrap();
    assert!(change.event().unwrap().late);
    assert_eq!(state_of(&reg), RegistrationState::ReviewPassed);
}

// N3 Art.9(4), D6: a cancellation that passes review is completed, without a notice.
#[test]
fn a_passed_cancellation_is_completed() {
    let mut reg = Registration {
        kind: RegistrationKind::Cancellation as i32,
        ..registration(RegistrationState::Accepted)
    };
    let review = Review {
        outcome: RegistrationReviewOutcome::Passed,
        reasons: String::new(),
        late_explanation: String::new(),
    };
    assert!(review_cancels_original(&reg, &review));
    complete_review(&mut reg, &parties(), &official(), review).unwrap();
    assert_eq!(state_of(&reg), RegistrationState::Completed);
}

// N3 Art.12-13: the code follows the notice's last day, with no objection pending.
#[test]
fn the_code_waits_for_the_notice_and_the_objections() {
    let mut reg = registration(RegistrationState::PublicNotice);
    reg.notice_period = Some(DateRange {
        start_date: ymd(2026, 2, 16),
        end_date: ymd(2026, 3, 2),
    });
    assert_eq!(
        may_issue(&reg, &official()).unwrap_err().reason(),
        Some(ErrorReason::NoticeOpen)
    );
    let mut reg = registration(RegistrationState::PublicNotice);
    reg.objection_count = 1;
    assert_eq!(
        may_issue(&reg, &official()).unwrap_err().reason(),
        Some(ErrorReason::ObjectionsOpen)
    );
}

// D7 (N3 Art.15): valid 3 years from coding, or until the operating term ends when that is sooner.
#[test]
fn a_code_is_valid_three_years_or_to_the_end_of_the_term() {
    let mut reg = registration(RegistrationState::PublicNotice);
    issue_code(&mut reg, &parties(), &official(), "DJ-1".into()).unwrap();
    assert_eq!(reg.validity.unwrap().end_date, ymd(2029, 3, 2));
    let mut reg = registration(RegistrationState::PublicNotice);
    reg.operating_term_end_date = ymd(2027, 12, 31);
    issue_code(&mut reg, &parties(), &official(), "DJ-2".into()).unwrap();
    assert_eq!(reg.validity.unwrap().end_date, ymd(2027, 12, 31));
}

// D8 (N3 Art.15): renewal opens 60 days before expiry; each renewal runs from the previous expiry.
#[test]
fn renewal_opens_sixty_days_before_expiry() {
    let mut reg = registration(RegistrationState::Coded);
    reg.validity = Some(DateRange {
        start_date: ymd(2024, 1, 1),
        end_date: ymd(2026, 12, 31),
    });
    let (national, cal) = (profile("national"), calendar());
    let err = lifecycle::renew(&mut reg, &parties(), &applicant(), (&national, &cal), 3).unwrap_err();
    assert_eq!(err.reason(), Some(ErrorReason::RenewalWindowClosed));
    let mut reg = registration(RegistrationState::Coded);
    lifecycle::renew(&mut reg, &parties(), &applicant(), (&national, &cal), 2).unwrap();
    assert_eq!(reg.validity.unwrap().end_date, ymd(2028, 4, 1));
    assert_eq!(reg.renewal_count, 1);
}

// N3 Art.12: an upheld objection terminates the registration; a dismissed one releases the code.
#[test]
fn objections_are_decided_once() {
    let mut o = RegistrationObjection {
        name: "registrations/r1/objections/o1".into(),
        state: ObjectionDecisionState::Pending as i32,
        ..Default::default()
    };
    let mut reg = registration(RegistrationState::PublicNotice);
    objection::received(&mut reg, "objections/o1");
    objection::decide(
        &mut o,
        &reg.name,
        &official(),
        ObjectionDecisionState::Upheld,
        " 权属不清 ",
        None,
    )
    .unwrap();
    assert_eq!(o.decision_reason, "权属不清");
    assert_eq!(
        objection::require_pending(&o).unwrap_err().reason(),
        Some(ErrorReason::WrongState)
    );
    objection::uphold(&mut reg, &parties(), &official(), &o).unwrap();
    assert_eq!(state_of(&reg), RegistrationState::Terminated);
    assert_eq!(reg.objection_count, 0);
}

#[test]
fn a_change_applies_only_to_a_coded_registration_of_the_same_subject() {
    let original = registration(RegistrationState::Coded);
    let err = may_apply_to(&original, "resources/other").unwrap_err();
    assert_eq!(err.reason(), Some(ErrorReason::SubjectMismatch));
}

#[test]
fn codes_follow_the_configured_pattern() {
    // N3 Art.13: the unified coding rules are not published, so the pattern is configuration.
    assert_eq!(
        format_code("DJ-{division}-{year}-{seq}", "530000", 2026, 7),
        "DJ-530000-2026-000007"
    );
}
