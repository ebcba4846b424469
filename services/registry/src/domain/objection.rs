//! Objections (异议) to a registration's public notice (N3 Art.12): filed real-name with evidence through the
//! disclosure service and received from its ObjectionFiled event; the registry re-checks each. An upheld
//! objection terminates the registration; no code is issued while one is pending (N3 Art.13).

use pdop_kit::convert::{actor, timestamp};
use pdop_kit::uow::{Call, Change};
use pdop_proto::common::{AuditInfo, JurisdictionRef};
use pdop_proto::disclosure::events::v1::ObjectionFiled;
use pdop_proto::registry::events::v1 as ev;
use pdop_proto::registry::v1::{
    ObjectionDecisionState, Registration, RegistrationObjection, RegistrationState,
};

use super::error::{Error, require_state};
use super::registration::{Parties, Transition, audit_detail, require, summary};

/// The action a decision on an objection has always been audited under, whichever RPC made it.
pub const DECIDED: &str = "registry.DecideObjection";

pub fn state_of(o: &RegistrationObjection) -> ObjectionDecisionState {
    ObjectionDecisionState::try_from(o.state).unwrap_or_default()
}

/// The PENDING objection a filing records.
pub fn filed(filed: &ObjectionFiled) -> RegistrationObjection {
    RegistrationObjection {
        objection: filed.name.clone(),
        objector: filed.objector.clone(),
        grounds: filed.grounds.clone(),
        evidence: filed.evidence.clone(),
        file_time: filed.file_time,
        state: ObjectionDecisionState::Pending as i32,
        ..Default::default()
    }
}

/// A newly recorded objection holds the code back: the registration counts it as pending.
pub fn received(reg: &mut Registration, objection: &str) -> Change {
    reg.objection_count += 1;
    Change::new(
        &reg.name,
        serde_json::json!({ "objection": objection, "pending": reg.objection_count }),
    )
}

/// Only a PENDING objection is decided.
pub fn require_pending(o: &RegistrationObjection) -> Result<(), Error> {
    require_state(
        &o.name,
        state_of(o),
        &[ObjectionDecisionState::Pending],
        "a decision",
    )
}

/// Records the decision (`Upheld` or `Dismissed`) with the findings of the re-check (复核意见) and announces it.
pub fn decide(
    o: &mut RegistrationObjection,
    registration: &str,
    call: &Call,
    state: ObjectionDecisionState,
    reason: &str,
    jurisdiction: Option<JurisdictionRef>,
) -> Result<Change<ev::RegistrationObjectionResolved>, Error> {
    require_pending(o)?;
    o.state = state as i32;
    o.decision_reason = reason.trim().to_owned();
    o.decided = Some(AuditInfo {
        actor: Some(actor(&call.caller)),
        time: Some(timestamp(call.now)),
        ..Default::default()
    });
    Ok(
        Change::new(&o.name, serde_json::json!({ "outcome": format!("{state:?}") }))
            .audited_as(DECIDED)
            .announce(ev::RegistrationObjectionResolved {
                registration: registration.to_owned(),
                objection: o.objection.clone(),
                outcome: state as i32,
                reason: o.decision_reason.clone(),
                jurisdiction,
                actor: Some(actor(&call.caller)),
            }),
    )
}

/// An objection that holds terminates the registration (N3 Art.12); its notice has done its work.
pub fn uphold(
    reg: &mut Registration,
    parties: &Parties,
    call: &Call,
    objection: &RegistrationObjection,
) -> Result<Change<ev::RegistrationTerminated>, Error> {
    require(reg, Transition::UpholdObjection)?;
    reg.objection_count = (reg.objection_count - 1).max(0);
    reg.state = RegistrationState::Terminated as i32;
    reg.decision_reason = objection.decision_reason.clone();
    reg.current_deadline = None;
    Ok(
        Change::new(&reg.name, audit_detail(reg)).announce(ev::RegistrationTerminated {
            registration: Some(summary(reg, parties)),
            objection: objection.objection.clone(),
            reason: reg.decision_reason.clone(),
            actor: Some(actor(&call.caller)),
        }),
    )
}

/// A dismissed objection no longer holds the code back.
pub fn dismissed(reg: &mut Registration) -> Change {
    reg.objection_count = (reg.objection_count - 1).max(0);
    Change::new(&reg.name, serde_json::json!({ "pending": reg.objection_count }))
}
