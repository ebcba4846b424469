//! The panel and the scenario transition table without a database.

use pdop_kit::auth::{Caller, Role};
use pdop_kit::uow::Call;
use pdop_proto::review::v1::{
    CriterionAssessment, CriterionFinding, OpinionStance, ReviewCriterion, ReviewOpinion, ReviewerAssignment,
    ReviewerAssignmentState, ReviewerRole, ScenarioApplication, ScenarioApplicationState as State,
};

use super::ErrorReason;
use super::panel::{self, OrgRole, Resolved, SeatSource, SeatSpec};
use super::scenario::{self, Transition};

fn call(org: &str) -> Call {
    let caller = Caller {
        subject: "u".into(),
        organization: org.into(),
        roles: vec![Role::DataAuthority],
        jurisdiction: "jurisdictions/china".into(),
    };
    Call::new(caller, "review.Test", chrono::Utc::now())
}

fn spec(org: OrgRole, seat: ReviewerRole, binding: bool, from: SeatSource) -> SeatSpec {
    SeatSpec {
        org,
        seat,
        binding,
        from,
    }
}

fn resolved(spec: SeatSpec, orgs: &[&str]) -> Resolved {
    Resolved {
        spec,
        organizations: orgs.iter().map(|o| (*o).to_owned()).collect(),
    }
}

fn opinion(seat: &str, stance: OpinionStance, criteria: &[ReviewCriterion]) -> ReviewOpinion {
    ReviewOpinion {
        reviewer: seat.into(),
        stance: stance as i32,
        criteria: criteria
            .iter()
            .map(|c| CriterionAssessment {
                criterion: *c as i32,
                finding: CriterionFinding::Met as i32,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

const LEAD: SeatSpec = SeatSpec {
    org: OrgRole::DataAuthority,
    seat: ReviewerRole::Lead,
    binding: true,
    from: SeatSource::Jurisdiction,
};
const PROVIDERS: SeatSpec = SeatSpec {
    org: OrgRole::DataProvider,
    seat: ReviewerRole::DataProvider,
    binding: true,
    from: SeatSource::Resources,
};

#[test]
fn one_organization_sits_once_and_never_on_its_own_panel() {
    // §2.13: one seat per organization, the first listed (Laiyuan's 实施机构 is also the county authority);
    // R-RV-02: the applicant never sits.
    let mut seats = Vec::new();
    let panel = [
        resolved(LEAD, &["organizations/da"]),
        resolved(
            spec(
                OrgRole::ImplementingAgency,
                ReviewerRole::Joint,
                true,
                SeatSource::Agreement,
            ),
            &["organizations/da"],
        ),
        resolved(PROVIDERS, &["organizations/op", "organizations/dp"]),
    ];
    panel::seat(
        "scenarioApplications/1",
        &mut seats,
        &panel,
        "organizations/op",
        &call("organizations/op"),
    )
    .unwrap();
    let orgs: Vec<_> = seats
        .iter()
        .map(|s| (s.organization.as_str(), s.reviewer_role))
        .collect();
    assert_eq!(
        orgs,
        [
            ("organizations/da", ReviewerRole::Lead as i32),
            ("organizations/dp", ReviewerRole::DataProvider as i32)
        ]
    );
    assert_eq!(seats[1].name, "scenarioApplications/1/reviewers/2");
}

#[test]
fn a_lead_that_resolves_to_the_applicant_leaves_the_panel_unresolved() {
    let mut seats = Vec::new();
    let err = panel::seat(
        "x/1",
        &mut seats,
        &[resolved(LEAD, &["organizations/op"])],
        "organizations/op",
        &call("o"),
    )
    .unwrap_err();
    assert_eq!(err.reason(), Some(ErrorReason::PanelUnresolved));
}

#[test]
fn approval_waits_for_binding_agreement_assigned_seats_and_criteria() {
    // R-RV-03, R-RV-08.
    let mut seats = Vec::new();
    panel::seat(
        "p",
        &mut seats,
        &[resolved(LEAD, &["o/da"]), resolved(PROVIDERS, &["o/dp"])],
        "o/op",
        &call("o/op"),
    )
    .unwrap();
    let dp = seats[1].name.clone();
    let ready = |ops: &[ReviewOpinion], profile: &[SeatSpec], criteria: &[ReviewCriterion]| {
        panel::ready_to_approve("p", &seats, profile, criteria, ops).map_err(|e| e.reason())
    };
    assert_eq!(
        ready(&[], &[LEAD, PROVIDERS], &[]),
        Err(Some(ErrorReason::BindingSeatPending))
    );
    let disagree = opinion(&dp, OpinionStance::Disagree, &[]);
    assert_eq!(
        ready(std::slice::from_ref(&disagree), &[LEAD, PROVIDERS], &[]),
        Err(Some(ErrorReason::BindingSeatPending))
    );
    // The latest opinion of a seat counts.
    let agree = opinion(
        &dp,
        OpinionStance::AgreeWithConditions,
        &[ReviewCriterion::DataNeedNecessary],
    );
    assert_eq!(
        ready(&[disagree.clone(), agree.clone()], &[LEAD, PROVIDERS], &[]),
        Ok(())
    );
    assert_eq!(
        ready(&[agree.clone(), disagree], &[LEAD, PROVIDERS], &[]),
        Err(Some(ErrorReason::BindingSeatPending))
    );
    let criteria = [
        ReviewCriterion::DataNeedNecessary,
        ReviewCriterion::ScenarioFeasibility,
    ];
    assert_eq!(
        ready(std::slice::from_ref(&agree), &[LEAD], &criteria),
        Err(Some(ErrorReason::CriterionNotAssessed))
    );
    let regulator = spec(
        OrgRole::IndustryRegulator,
        ReviewerRole::IndustryRegulator,
        true,
        SeatSource::Assigned,
    );
    assert_eq!(
        ready(&[agree], &[LEAD, regulator], &[]),
        Err(Some(ErrorReason::BindingSeatPending))
    );
}

#[test]
fn a_recused_lead_blocks_decisions_and_others_are_not_the_lead() {
    let mut seats = Vec::new();
    panel::seat(
        "p",
        &mut seats,
        &[resolved(LEAD, &["o/da"])],
        "o/op",
        &call("o/op"),
    )
    .unwrap();
    assert!(panel::require_lead(&call("o/da").caller, "p", &seats).is_ok());
    let other = panel::require_lead(&call("o/ia").caller, "p", &seats).unwrap_err();
    assert_eq!(other.reason(), Some(ErrorReason::NotTheLead));
    seats[0].state = ReviewerAssignmentState::Recused as i32;
    let gone = panel::require_lead(&call("o/da").caller, "p", &seats).unwrap_err();
    assert_eq!(gone.reason(), Some(ErrorReason::NotTheLead));
    let seat = ReviewerAssignment {
        organization: "o/op".into(),
        reviewer_role: ReviewerRole::Expert as i32,
        ..Default::default()
    };
    assert_eq!(
        panel::may_assign("p", &seats, &seat, "o/op")
            .unwrap_err()
            .reason(),
        Some(ErrorReason::OwnApplication)
    );
}

#[test]
fn every_scenario_transition_starts_only_from_its_states() {
    // §2.3 state machine.
    let all = [
        State::Draft,
        State::UnderReview,
        State::SupplementRequested,
        State::Approved,
        State::Rejected,
        State::Withdrawn,
        State::Revoked,
    ];
    for t in Transition::ALL {
        for s in all {
            let a = ScenarioApplication {
                name: "scenarioApplications/1".into(),
                state: s as i32,
                ..Default::default()
            };
            let allowed = t.starts_from().contains(&s);
            let got = scenario::require(&a, t);
            assert_eq!(got.is_ok(), allowed, "{t:?} from {s:?}");
            if let Err(e) = got {
                assert_eq!(e.reason(), Some(ErrorReason::WrongState));
            }
        }
    }
    assert_eq!(Transition::Revoke.starts_from(), [State::Approved]);
    assert_eq!(
        Transition::Withdraw.starts_from(),
        [State::UnderReview, State::SupplementRequested]
    );
}

#[test]
fn every_product_review_transition_starts_only_from_its_states() {
    // §2.6 state machine; M-1: the materials change in DRAFT, UNDER_REVIEW and SUPPLEMENT_REQUESTED.
    use super::product_review::{self, Transition as T};
    use pdop_proto::review::v1::{ProductReview, ProductReviewState as S};
    let all = [
        S::Draft,
        S::UnderReview,
        S::SupplementRequested,
        S::Approved,
        S::Rejected,
        S::Withdrawn,
    ];
    for t in T::ALL {
        for s in all {
            let r = ProductReview {
                name: "productReviews/1".into(),
                state: s as i32,
                ..Default::default()
            };
            assert_eq!(
                product_review::require(&r, t).is_ok(),
                t.starts_from().contains(&s),
                "{t:?} from {s:?}"
            );
        }
    }
    assert_eq!(
        T::EditMaterials.starts_from(),
        [S::Draft, S::UnderReview, S::SupplementRequested]
    );
    assert_eq!(T::Edit.starts_from(), [S::Draft, S::SupplementRequested]);
}
