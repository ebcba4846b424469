//! Panel actions on any reviewable resource (§2.9): AssignReviewer, RecuseReviewer, CreateReviewOpinion. Seat
//! state: ASSIGNED ⇄ OPINION_GIVEN (reset each round); → RECUSED (terminal).

use pdop_kit::auth::{Caller, Role};
use pdop_kit::convert::{actor, audit_info};
use pdop_kit::uow::{Call, Change};
use pdop_proto::common::{OrganizationRef, OrganizationRole};
use pdop_proto::review::events::v1 as ev;
use pdop_proto::review::v1::{
    OpinionStance, ReviewOpinion, ReviewerAssignment, ReviewerAssignmentState, ReviewerRole,
};

use super::error::{Error, ErrorReason};
use super::panel::{self, role_of, seat_state};
use super::reviewable::Reviewable;

fn under_review(r: &dyn Reviewable, action: &str) -> Result<(), Error> {
    if !r.under_review() {
        return Err(Error::refused(
            ErrorReason::WrongState,
            format!("{} is not under review; {action} needs it to be", r.name()),
        ));
    }
    Ok(())
}

/// The LEAD assigns; the data authority assigns a lead where none is active (a recused lead, inferred).
pub fn may_assign(caller: &Caller, r: &dyn Reviewable, role: ReviewerRole) -> Result<(), Error> {
    let no_lead = panel::lead(r.reviewers()).is_none();
    if no_lead && role == ReviewerRole::Lead && caller.has_role(Role::DataAuthority) {
        return Ok(());
    }
    panel::require_lead(caller, r.name(), r.reviewers())
}

/// ∅ → ASSIGNED: an expert, third party, regulator or joint reviewer the lead adds (S-HB §二(三), §四(五)1;
/// S-ZZ Art.15; S-YN Art.13(二)). `org` is the organization as announced by the registry.
pub fn assign(
    r: &mut dyn Reviewable,
    call: &Call,
    mut seat: ReviewerAssignment,
    org: &OrganizationRef,
) -> Result<Change<ev::ReviewerAssigned>, Error> {
    under_review(r, "assigning a reviewer")?;
    let role = role_of(&seat);
    may_assign(&call.caller, r, role)?;
    if role == ReviewerRole::IndustryRegulator
        && !org.roles.contains(&(OrganizationRole::IndustryRegulator as i32))
    {
        return Err(Error::refused(
            ErrorReason::NotIndustryRegulator,
            format!(
                "{} does not hold the industry regulator role (行业主管部门) in the registry",
                org.name
            ),
        ));
    }
    panel::may_assign(r.name(), r.reviewers(), &seat, r.applicant())?;
    seat.name = panel::next_seat_name(r.name(), r.reviewers());
    seat.state = ReviewerAssignmentState::Assigned as i32;
    seat.recusal_reason.clear();
    seat.from_profile = false;
    seat.assigned = Some(audit_info(&call.caller, call.now));
    seat.recused = None;
    let event = ev::ReviewerAssigned {
        name: seat.name.clone(),
        parent: r.name().to_owned(),
        organization: Some(org.clone()),
        reviewer_role: seat.reviewer_role,
        binding: seat.binding,
        actor: Some(actor(&call.caller)),
    };
    let audit =
        serde_json::json!({ "seat": seat.name, "role": format!("{role:?}"), "binding": seat.binding });
    let name = seat.name.clone();
    r.reviewers_mut().push(seat);
    Ok(Change::new(name, audit).announce(event))
}

/// → RECUSED (回避), by the seat itself, the LEAD or the data authority, with a reason (R-RV-02).
pub fn recuse(
    r: &mut dyn Reviewable,
    call: &Call,
    seat_name: &str,
    reason: String,
    org: &OrganizationRef,
) -> Result<Change<ev::ReviewerRecused>, Error> {
    let caller = &call.caller;
    let is_lead = panel::lead(r.reviewers()).is_some_and(|l| l.organization == caller.organization);
    let seat = r
        .reviewers()
        .iter()
        .find(|s| s.name == seat_name)
        .ok_or_else(|| Error::not_found(ErrorReason::ReviewerNotFound, seat_name))?;
    if seat.organization != caller.organization && !is_lead && !caller.has_role(Role::DataAuthority) {
        return Err(Error::denied(
            ErrorReason::NotYourSeat,
            format!(
                "only {} itself, the lead or the data authority recuses {seat_name}",
                seat.organization
            ),
        ));
    }
    if seat_state(seat) == ReviewerAssignmentState::Recused {
        return Err(Error::refused(
            ErrorReason::SeatRecused,
            format!("{seat_name} is already recused"),
        ));
    }
    let parent = r.name().to_owned();
    let Some(seat) = r.reviewers_mut().iter_mut().find(|s| s.name == seat_name) else {
        return Err(Error::not_found(ErrorReason::ReviewerNotFound, seat_name));
    };
    seat.state = ReviewerAssignmentState::Recused as i32;
    seat.recusal_reason = reason.clone();
    seat.recused = Some(audit_info(&call.caller, call.now));
    let event = ev::ReviewerRecused {
        name: seat.name.clone(),
        parent,
        organization: Some(org.clone()),
        reviewer_role: seat.reviewer_role,
        reason,
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(seat_name, serde_json::json!({ "state": "RECUSED" })).announce(event))
}

/// ASSIGNED / OPINION_GIVEN → OPINION_GIVEN: the caller's own seat gives a written opinion in the current round
/// (a later one replaces it for R-RV-03). Regulator seats need an `industry_regulator` token (§1.1).
pub fn give_opinion(
    r: &mut dyn Reviewable,
    call: &Call,
    mut opinion: ReviewOpinion,
    id: &str,
    org: &OrganizationRef,
) -> Result<(ReviewOpinion, Change<ev::ReviewOpinionGiven>), Error> {
    under_review(r, "an opinion")?;
    let seat = panel::own_seat(&call.caller, r.name(), r.reviewers(), &opinion.reviewer)?;
    let role = role_of(seat);
    if role == ReviewerRole::IndustryRegulator && !call.caller.has_role(Role::IndustryRegulator) {
        return Err(Error::denied(
            ErrorReason::NotIndustryRegulator,
            "an industry regulator seat gives its opinion with an industry_regulator token",
        ));
    }
    opinion.name = format!("{}/opinions/{id}", r.name());
    opinion.organization = seat.organization.clone();
    opinion.reviewer_role = seat.reviewer_role;
    opinion.review_round = r.round();
    opinion.materials_revision = r.materials_revision();
    opinion.given = Some(audit_info(&call.caller, call.now));
    let seat_name = seat.name.clone();
    panel::opinion_given(r.reviewers_mut(), &seat_name);
    let event = ev::ReviewOpinionGiven {
        name: opinion.name.clone(),
        parent: r.name().to_owned(),
        organization: Some(org.clone()),
        reviewer_role: opinion.reviewer_role,
        stance: opinion.stance,
        review_round: opinion.review_round,
        actor: Some(actor(&call.caller)),
        materials_revision: opinion.materials_revision,
    };
    let audit = serde_json::json!({
        "seat": seat_name,
        "stance": format!("{:?}", OpinionStance::try_from(opinion.stance).unwrap_or_default()),
        "round": opinion.review_round,
    });
    let change = Change::new(opinion.name.clone(), audit).announce(event);
    Ok((opinion, change))
}
