//! The data-use transition table, confirmations and the grant of a combined scenario, without a database.

use pdop_kit::auth::{Caller, Role};
use pdop_kit::uow::Call;
use pdop_proto::registry::events::v1::AgreementSummary;
use pdop_proto::registry::v1::AgreementState;
use pdop_proto::review::v1::{
    DataDemand, DataUseApplication, DataUseApplicationState as State, DataUseItem, DataUseItemDecision,
    DataUseItemState, DataUseKind, ProviderConfirmation, ProviderConfirmationState, ScenarioApplication,
};
use pdop_rules::Profiles;

use super::data_use::{self, Parties, Transition};
use super::data_use_grant;
use super::data_use_review::{self, Confirmation, Decided};
use super::rules::{self, Flow};
use super::scenario::Decision;
use super::{Error, ErrorReason};

fn call(org: &str, role: Role) -> Call {
    let caller = Caller {
        subject: "u".into(),
        organization: org.into(),
        roles: vec![role],
        jurisdiction: "jurisdictions/china".into(),
    };
    Call::new(caller, "review.Test", chrono::Utc::now())
}

fn agreement(state: AgreementState) -> AgreementSummary {
    AgreementSummary {
        name: "agreements/a1".into(),
        state: state as i32,
        ..Default::default()
    }
}

fn item(resource: &str, provider: &str, fields: &[&str]) -> DataUseItem {
    DataUseItem {
        resource: resource.into(),
        provider: provider.into(),
        field_keys: fields.iter().map(|f| (*f).to_owned()).collect(),
        state: DataUseItemState::Pending as i32,
        ..Default::default()
    }
}

/// An application under review with r1 (p1, fields a and b) and r2 (p2), both confirmations pending.
fn under_review() -> DataUseApplication {
    DataUseApplication {
        name: "dataUseApplications/1".into(),
        kind: DataUseKind::PublicData as i32,
        operator: "organizations/op".into(),
        state: State::UnderReview as i32,
        items: vec![
            item("resources/r1", "organizations/p1", &["a", "b"]),
            item("resources/r2", "organizations/p2", &[]),
        ],
        provider_confirmations: ["organizations/p1", "organizations/p2"]
            .iter()
            .map(|p| ProviderConfirmation {
                provider: (*p).into(),
                state: ProviderConfirmationState::Pending as i32,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn yes(resource: &str, fields: &[&str], reason: &str) -> DataUseItemDecision {
    DataUseItemDecision {
        resource: resource.into(),
        approved_field_keys: fields.iter().map(|f| (*f).to_owned()).collect(),
        approve: true,
        reason: reason.into(),
    }
}

fn no(resource: &str, reason: &str) -> DataUseItemDecision {
    DataUseItemDecision {
        resource: resource.into(),
        approve: false,
        reason: reason.into(),
        ..Default::default()
    }
}

fn confirmation(decisions: Vec<DataUseItemDecision>) -> Confirmation {
    Confirmation {
        decisions,
        ..Default::default()
    }
}

fn hubei() -> rules::DataUseRules {
    rules::data_use(Profiles::builtin().get("hubei").unwrap())
}

fn reason_of(err: &Error) -> Option<ErrorReason> {
    err.reason()
}

#[test]
fn each_transition_starts_only_from_its_states() {
    // §2.4: the data-use state machine; the cascade of §2.3 takes every state that is not terminal.
    for t in Transition::ALL {
        for state in [
            State::Draft,
            State::UnderReview,
            State::SupplementRequested,
            State::Approved,
            State::Provisioned,
            State::Rejected,
            State::Withdrawn,
            State::Revoked,
        ] {
            let a = DataUseApplication {
                state: state as i32,
                ..Default::default()
            };
            let allowed = t.starts_from().contains(&state);
            assert_eq!(data_use::require(&a, t).is_ok(), allowed, "{t:?} from {state:?}");
        }
    }
    let terminal = [State::Rejected, State::Withdrawn, State::Revoked];
    assert!(
        terminal
            .iter()
            .all(|s| !Transition::Cascade.starts_from().contains(s))
    );
}

#[test]
fn profiles_read_as_the_spec_tables_say() {
    // §2.13: Hubei D20 5 WD with providers and no lead (S-HB §四(三)); Laiyuan co-applicant regulator and 实施机构
    // import approver (S-LY §四, §六(二)3); Yunnan data_use_only; Henan combined.
    let profiles = Profiles::builtin();
    let of = |id: &str| rules::data_use(profiles.get(id).unwrap());
    let hubei = of("hubei");
    assert_eq!(
        hubei.use_review.as_ref().map(|p| p.value),
        Some(pdop_rules::Period::WorkingDays(5))
    );
    assert!(
        hubei
            .panel
            .iter()
            .all(|s| s.seat != pdop_proto::review::v1::ReviewerRole::Lead)
    );
    let laiyuan = of("laiyuan");
    assert_eq!(
        laiyuan.co_applicant,
        Some(super::panel::OrgRole::IndustryRegulator)
    );
    assert_eq!(
        laiyuan.social_import_approver,
        super::panel::OrgRole::ImplementingAgency
    );
    assert!(laiyuan.use_review.is_none(), "no source sets D20 outside Hubei");
    assert_eq!(of("yunnan").flow, Flow::DataUseOnly);
    assert_eq!(of("henan").flow, Flow::Combined);
    assert_eq!(
        of("henan").social_import_approver,
        super::panel::OrgRole::DataAuthority
    );
}

#[test]
fn a_provider_narrows_with_a_reason_and_the_last_confirmation_decides_without_a_lead() {
    // S-YN Art.20 (最小必要) by analogy: narrowing needs a reason; S-HB §四(三): the last confirmation decides.
    let mut a = under_review();
    let open = agreement(AgreementState::Active);
    let rules = hubei();
    let p1 = call("organizations/p1", Role::DataProvider);
    let err = data_use_review::confirm(
        &mut a,
        &p1,
        &rules,
        &open,
        confirmation(vec![yes("resources/r1", &["a"], "")]),
        &Parties::default(),
    )
    .err()
    .unwrap();
    assert!(matches!(err, Error::Invalid(_)), "{err:?}");
    let done = data_use_review::confirm(
        &mut under_review(),
        &p1,
        &rules,
        &open,
        confirmation(vec![yes("resources/r1", &["a"], "b 非必要")]),
        &Parties::default(),
    )
    .unwrap();
    assert!(done.decided.is_none(), "p2 has not confirmed");

    let mut a = under_review();
    data_use_review::confirm(
        &mut a,
        &p1,
        &rules,
        &open,
        confirmation(vec![no("resources/r1", "不同意")]),
        &Parties::default(),
    )
    .unwrap();
    let p2 = call("organizations/p2", Role::DataProvider);
    let done = data_use_review::confirm(
        &mut a,
        &p2,
        &rules,
        &open,
        confirmation(vec![yes("resources/r2", &[], "")]),
        &Parties::default(),
    )
    .unwrap();
    assert!(matches!(done.decided, Some(Decided::Approved(_))));
    assert_eq!(a.state, State::Approved as i32);
    assert_eq!(a.items[1].state, DataUseItemState::Approved as i32);

    let mut a = under_review();
    data_use_review::confirm(
        &mut a,
        &p1,
        &rules,
        &open,
        confirmation(vec![no("resources/r1", "x")]),
        &Parties::default(),
    )
    .unwrap();
    let done = data_use_review::confirm(
        &mut a,
        &p2,
        &rules,
        &open,
        confirmation(vec![no("resources/r2", "y")]),
        &Parties::default(),
    )
    .unwrap();
    assert!(matches!(done.decided, Some(Decided::Rejected(_))));
    assert_eq!(a.state, State::Rejected as i32);
}

#[test]
fn confirmations_are_refused_to_strangers_twice_and_under_a_suspended_agreement() {
    // R-RV-14 (S-HN Art.22): no confirmation under a suspended agreement; only providers confirm, once a round.
    let rules = hubei();
    let p1 = call("organizations/p1", Role::DataProvider);
    let ok = || confirmation(vec![yes("resources/r1", &[], "")]);
    let suspended = agreement(AgreementState::Suspended);
    let err = data_use_review::confirm(
        &mut under_review(),
        &p1,
        &rules,
        &suspended,
        ok(),
        &Parties::default(),
    )
    .err()
    .unwrap();
    assert_eq!(reason_of(&err), Some(ErrorReason::AgreementSuspended));
    let open = agreement(AgreementState::Active);
    let stranger = call("organizations/x", Role::DataProvider);
    let err = data_use_review::confirm(
        &mut under_review(),
        &stranger,
        &rules,
        &open,
        ok(),
        &Parties::default(),
    )
    .err()
    .unwrap();
    assert_eq!(reason_of(&err), Some(ErrorReason::NotAProvider));
    let mut a = under_review();
    data_use_review::confirm(&mut a, &p1, &rules, &open, ok(), &Parties::default()).unwrap();
    let err = data_use_review::confirm(&mut a, &p1, &rules, &open, ok(), &Parties::default())
        .err()
        .unwrap();
    assert_eq!(reason_of(&err), Some(ErrorReason::AlreadyConfirmed));
}

#[test]
fn the_lead_approves_nothing_before_every_provider_confirmed_and_never_without_a_lead() {
    // §2.4 ApproveDataUseApplication; Hubei has no lead (S-HB §四(三)).
    let open = agreement(AgreementState::Active);
    let da = call("organizations/da", Role::DataAuthority);
    let err = data_use_review::approve(
        &mut under_review(),
        &da,
        &hubei(),
        &open,
        &[],
        Decision::default(),
        &Parties::default(),
    )
    .err()
    .unwrap();
    assert_eq!(reason_of(&err), Some(ErrorReason::NoLead));
    let yunnan = rules::data_use(Profiles::builtin().get("yunnan").unwrap());
    let mut a = under_review();
    a.reviewers.push(pdop_proto::review::v1::ReviewerAssignment {
        name: "dataUseApplications/1/reviewers/1".into(),
        organization: "organizations/da".into(),
        reviewer_role: pdop_proto::review::v1::ReviewerRole::Lead as i32,
        state: pdop_proto::review::v1::ReviewerAssignmentState::Assigned as i32,
        ..Default::default()
    });
    let err = data_use_review::approve(
        &mut a.clone(),
        &da,
        &yunnan,
        &open,
        &[],
        Decision::default(),
        &Parties::default(),
    )
    .err()
    .unwrap();
    assert_eq!(reason_of(&err), Some(ErrorReason::ConfirmationsPending));
    for c in &mut a.provider_confirmations {
        c.state = ProviderConfirmationState::Confirmed as i32;
    }
    for i in &mut a.items {
        i.state = DataUseItemState::Rejected as i32;
    }
    let err = data_use_review::approve(
        &mut a,
        &da,
        &yunnan,
        &open,
        &[],
        Decision::default(),
        &Parties::default(),
    )
    .err()
    .unwrap();
    assert_eq!(reason_of(&err), Some(ErrorReason::NothingApproved));
}

#[test]
fn a_combined_scenario_grants_its_demands_as_decided() {
    // CF-2 (S-HN Art.4, S-ZZ Art.15): empty decisions grant every demand; narrowing and rejection need reasons;
    // nothing granted is refused.
    let s = ScenarioApplication {
        name: "scenarioApplications/s".into(),
        data_demands: vec![
            DataDemand {
                resource: "resources/r1".into(),
                field_keys: vec!["a".into(), "b".into()],
                ..Default::default()
            },
            DataDemand {
                resource: "resources/r2".into(),
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let all = data_use_grant::grant_demands(&s, &[]).unwrap();
    assert!(all.iter().all(|i| i.state == DataUseItemState::Approved as i32));
    assert_eq!(all[0].approved_field_keys, ["a", "b"]);
    let narrowed = data_use_grant::grant_demands(
        &s,
        &[
            yes("resources/r1", &["a"], "b 非必要"),
            no("resources/r2", "非必要"),
        ],
    )
    .unwrap();
    assert_eq!(
        (narrowed[0].state, narrowed[1].state),
        (
            DataUseItemState::PartlyApproved as i32,
            DataUseItemState::Rejected as i32
        )
    );
    for bad in [
        vec![yes("resources/r1", &["a"], "")],
        vec![yes("resources/r1", &["c"], "x")],
        vec![no("resources/r3", "x")],
        vec![no("resources/r1", "x"), no("resources/r1", "x")],
    ] {
        let err = data_use_grant::grant_demands(&s, &bad).err().unwrap();
        assert!(matches!(err, Error::Invalid(_)), "{bad:?}: {err:?}");
    }
    let err = data_use_grant::grant_demands(&s, &[no("resources/r1", "x"), no("resources/r2", "y")])
        .err()
        .unwrap();
    assert_eq!(reason_of(&err), Some(ErrorReason::NothingApproved));
}

#[test]
fn combined_profiles_refuse_public_data_and_data_use_only_refuses_a_scenario() {
    // CF-4 (S-HN Art.15; S-ZZ Art.14, 18); DU-2 (S-YN Art.20).
    let profiles = Profiles::builtin();
    let public = DataUseApplication {
        kind: DataUseKind::PublicData as i32,
        purpose: "p".into(),
        ..Default::default()
    };
    let henan = rules::data_use(profiles.get("henan").unwrap());
    let err = data_use::check_flow(&public, &henan, None).err().unwrap();
    assert_eq!(reason_of(&err), Some(ErrorReason::ScenarioFlow));
    let yunnan = rules::data_use(profiles.get("yunnan").unwrap());
    assert!(data_use::check_flow(&public, &yunnan, None).is_ok());
    let named = DataUseApplication {
        scenario_application: "scenarioApplications/s".into(),
        ..public
    };
    assert!(matches!(
        data_use::check_flow(&named, &yunnan, None),
        Err(Error::Invalid(_))
    ));
}
