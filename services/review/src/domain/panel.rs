//! The review panel (审核小组) every reviewable resource shares: seats seeded from the profile, rounds, opinions and
//! the checks before the LEAD decides (R-RV-02, R-RV-03, R-RV-08, R-RV-09). Pure: storage resolves which
//! organizations fill the profile's seats and loads the round's opinions.

use pdop_kit::auth::Caller;
use pdop_kit::convert::audit_info;
use pdop_kit::uow::Call;
use pdop_proto::review::v1::{
    CriterionFinding, OpinionStance, ReviewCriterion, ReviewOpinion, ReviewerAssignment,
    ReviewerAssignmentState, ReviewerRole,
};

use super::error::{Error, ErrorReason};

pub use pdop_rules::profiles::{OrgRole, SeatSource};

/// One seat of a profile panel (`pdop_rules::profiles::PanelSeat`), with the seat as the contract's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatSpec {
    pub org: OrgRole,
    pub seat: ReviewerRole,
    pub binding: bool,
    pub from: SeatSource,
}

/// A profile panel with the organizations storage found for each seat (none for `Assigned` seats).
pub struct Resolved {
    pub spec: SeatSpec,
    pub organizations: Vec<String>,
}

pub fn seat_state(s: &ReviewerAssignment) -> ReviewerAssignmentState {
    ReviewerAssignmentState::try_from(s.state).unwrap_or_default()
}

pub fn role_of(s: &ReviewerAssignment) -> ReviewerRole {
    ReviewerRole::try_from(s.reviewer_role).unwrap_or_default()
}

fn active(s: &ReviewerAssignment) -> bool {
    seat_state(s) != ReviewerAssignmentState::Recused
}

/// Seats the profile panel on `parent` at a submission. Seats already there (a resubmission, experts the lead
/// added) stay and go back to ASSIGNED (R-RV-09); an organization sits once, in the first seat listed (§2.13);
/// the applicant never sits on its own panel (R-RV-02), and a panel whose lead would be the applicant or nobody is
/// PANEL_UNRESOLVED.
pub fn seat(
    parent: &str,
    seats: &mut Vec<ReviewerAssignment>,
    profile_panel: &[Resolved],
    applicant: &str,
    call: &Call,
) -> Result<(), Error> {
    new_round(seats);
    for r in profile_panel {
        for org in &r.organizations {
            if org == applicant
                || seats
                    .iter()
                    .any(|s| &s.organization == org && s.expert_name.is_empty())
            {
                continue;
            }
            let next = next_seat_name(parent, seats);
            seats.push(ReviewerAssignment {
                name: next,
                organization: org.clone(),
                reviewer_role: r.spec.seat as i32,
                binding: r.spec.binding,
                state: ReviewerAssignmentState::Assigned as i32,
                from_profile: true,
                assigned: Some(audit_info(&call.caller, call.now)),
                ..Default::default()
            });
        }
    }
    let has_lead = seats
        .iter()
        .any(|s| active(s) && role_of(s) == ReviewerRole::Lead);
    let lead_is_assigned_later = profile_panel
        .iter()
        .any(|r| r.spec.seat == ReviewerRole::Lead && r.spec.from == SeatSource::Assigned);
    let needs_lead = profile_panel.iter().any(|r| r.spec.seat == ReviewerRole::Lead);
    if needs_lead && !has_lead && !lead_is_assigned_later {
        return Err(Error::refused(
            ErrorReason::PanelUnresolved,
            format!("{parent}: the profile's lead seat resolves to no organization other than the applicant"),
        ));
    }
    Ok(())
}

/// A new round (R-RV-09): every seat not recused is ASSIGNED again.
pub fn new_round(seats: &mut [ReviewerAssignment]) {
    for s in seats.iter_mut().filter(|s| active(s)) {
        s.state = ReviewerAssignmentState::Assigned as i32;
    }
}

/// `{parent}/reviewers/{n}`, numbered in order of seating.
pub fn next_seat_name(parent: &str, seats: &[ReviewerAssignment]) -> String {
    format!("{parent}/reviewers/{}", seats.len() + 1)
}

/// The active LEAD seat, if any.
pub fn lead(seats: &[ReviewerAssignment]) -> Option<&ReviewerAssignment> {
    seats
        .iter()
        .find(|s| active(s) && role_of(s) == ReviewerRole::Lead)
}

/// R-RV-03: only the LEAD's organization decides; a recused lead blocks decisions until a new lead is assigned.
pub fn require_lead(caller: &Caller, parent: &str, seats: &[ReviewerAssignment]) -> Result<(), Error> {
    match lead(seats) {
        Some(l) if l.organization == caller.organization => Ok(()),
        Some(l) => Err(Error::denied(
            ErrorReason::NotTheLead,
            format!("only the lead reviewer {} decides on {parent}", l.organization),
        )),
        None => Err(Error::refused(
            ErrorReason::NotTheLead,
            format!("{parent} has no lead reviewer; the data authority assigns one (AssignReviewer, LEAD)"),
        )),
    }
}

/// The caller's active seat on the panel (for opinions), or why it has none.
pub fn own_seat<'a>(
    caller: &Caller,
    parent: &str,
    seats: &'a [ReviewerAssignment],
    reviewer: &str,
) -> Result<&'a ReviewerAssignment, Error> {
    let seat = seats
        .iter()
        .find(|s| s.name == reviewer)
        .ok_or_else(|| Error::not_found(ErrorReason::ReviewerNotFound, reviewer))?;
    if seat.organization != caller.organization {
        return Err(Error::denied(
            ErrorReason::NotYourSeat,
            format!(
                "{reviewer} is the seat of {}, not of your organization",
                seat.organization
            ),
        ));
    }
    if !active(seat) {
        return Err(Error::refused(
            ErrorReason::SeatRecused,
            format!("{reviewer} recused itself from {parent} and can no longer act"),
        ));
    }
    Ok(seat)
}

/// The latest opinion of each seat among `round_opinions` (oldest first).
fn latest<'a>(seat: &str, round_opinions: &'a [ReviewOpinion]) -> Option<&'a ReviewOpinion> {
    round_opinions.iter().rev().find(|o| o.reviewer == seat)
}

fn agrees(o: &ReviewOpinion) -> bool {
    matches!(
        OpinionStance::try_from(o.stance).unwrap_or_default(),
        OpinionStance::Agree | OpinionStance::AgreeWithConditions
    )
}

/// What approval waits for (R-RV-03, R-RV-08): every binding seat other than the lead agreeing in its latest
/// opinion of the round, every `Assigned` seat of the profile filled, every profile criterion assessed.
pub fn ready_to_approve(
    parent: &str,
    seats: &[ReviewerAssignment],
    profile_panel: &[SeatSpec],
    criteria: &[ReviewCriterion],
    round_opinions: &[ReviewOpinion],
) -> Result<(), Error> {
    for spec in profile_panel.iter().filter(|s| s.from == SeatSource::Assigned) {
        if !seats.iter().any(|s| active(s) && role_of(s) == spec.seat) {
            return Err(Error::refused(
                ErrorReason::BindingSeatPending,
                format!(
                    "{parent}: the profile's {:?} seat has not been assigned yet (AssignReviewer)",
                    spec.seat
                ),
            ));
        }
    }
    for s in seats
        .iter()
        .filter(|s| active(s) && s.binding && role_of(s) != ReviewerRole::Lead)
    {
        match latest(&s.name, round_opinions) {
            None => {
                return Err(Error::refused(
                    ErrorReason::BindingSeatPending,
                    format!(
                        "{parent}: binding reviewer {} has given no opinion in this round",
                        s.organization
                    ),
                ));
            }
            Some(o) if !agrees(o) => {
                return Err(Error::refused(
                    ErrorReason::BindingSeatPending,
                    format!(
                        "{parent}: binding reviewer {} does not agree ({:?}); return the application or reject it",
                        s.organization,
                        OpinionStance::try_from(o.stance).unwrap_or_default()
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    for c in criteria {
        let assessed = round_opinions.iter().any(|o| {
            o.criteria.iter().any(|a| {
                a.criterion == *c as i32
                    && CriterionFinding::try_from(a.finding).unwrap_or_default()
                        != CriterionFinding::Unspecified
            })
        });
        if !assessed {
            return Err(Error::refused(
                ErrorReason::CriterionNotAssessed,
                format!("{parent}: no opinion of this round assesses the criterion {c:?} the profile lists"),
            ));
        }
    }
    Ok(())
}

/// Marks the seat as having given an opinion in the round.
pub fn opinion_given(seats: &mut [ReviewerAssignment], reviewer: &str) {
    if let Some(s) = seats.iter_mut().find(|s| s.name == reviewer) {
        s.state = ReviewerAssignmentState::OpinionGiven as i32;
    }
}

/// R-RV-02 at assignment: never the applicant's organization, never a second LEAD.
pub fn may_assign(
    parent: &str,
    seats: &[ReviewerAssignment],
    new: &ReviewerAssignment,
    applicant: &str,
) -> Result<(), Error> {
    if new.organization == applicant {
        return Err(Error::refused(
            ErrorReason::OwnApplication,
            format!(
                "{} is the applicant of {parent} and cannot review it (回避)",
                new.organization
            ),
        ));
    }
    if role_of(new) == ReviewerRole::Lead && lead(seats).is_some() {
        return Err(Error::refused(
            ErrorReason::LeadExists,
            format!("{parent} already has a lead reviewer; recuse it first"),
        ));
    }
    Ok(())
}
