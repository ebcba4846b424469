//! Exits of admitted developers (退出, S-YN Art.21, 25(5)): recorded by the operator, the implementing agency or
//! (voluntarily) the developer, or caused by the registry's facts (§2.7 consumers); and the developer agreement
//! the registry signed on an admission.

use pdop_kit::auth::{Caller, Role};
use pdop_kit::convert::{actor, audit_info};
use pdop_kit::uow::{Call, Change, Quiet};
use pdop_proto::review::events::v1 as ev;
use pdop_proto::review::v1::{
    AdmissionExit, AdmissionExitReason as ExitReason, DeveloperAdmission, DeveloperAdmissionState as State,
};

use super::admission::{Parties, Transition, audit, require, state_of, summary};
use super::error::{Error, ErrorReason};

/// Who records an exit (§2.7): the operator, an implementing agency (whose jurisdiction the handler checks), and
/// the developer itself for a voluntary exit only. Returns whether the caller acts as a supervisor.
pub fn may_exit(caller: &Caller, a: &DeveloperAdmission, reason: ExitReason) -> Result<bool, Error> {
    if caller.organization == a.operator {
        return Ok(false);
    }
    if caller.organization == a.developer {
        if reason != ExitReason::Voluntary {
            return Err(Error::denied(
                ErrorReason::VoluntaryOnly,
                format!(
                    "a developer records only its own VOLUNTARY exit from {}; the operator records the others",
                    a.name
                ),
            ));
        }
        return Ok(false);
    }
    if caller.has_role(Role::ImplementingAgency) {
        return Ok(true);
    }
    Err(Error::denied(
        ErrorReason::NotAParty,
        format!(
            "only the operator, the implementing agency or the developer records an exit from {}",
            a.name
        ),
    ))
}

/// ADMITTED → EXITED: platform access is to be closed at once and data deletion supervised (S-YN Art.25(5)).
pub fn exit(
    a: &mut DeveloperAdmission,
    call: &Call,
    mut details: AdmissionExit,
    p: &Parties,
) -> Result<Change<ev::DeveloperExited>, Error> {
    require(a, Transition::Exit)?;
    details.recorded = Some(audit_info(&call.caller, call.now));
    let event = ev::DeveloperExited {
        admission: None,
        reason: details.reason,
        description: details.description.clone(),
        related: details.related.clone(),
        access_closed: details.access_closed,
        actor: Some(actor(&call.caller)),
    };
    a.exit = Some(details);
    a.state = State::Exited as i32;
    let event = ev::DeveloperExited {
        admission: Some(summary(a, p)),
        ..event
    };
    Ok(Change::new(&a.name, audit(a)).announce(event))
}

/// An exit the registry's facts cause (§2.7 consumers): only an ADMITTED admission exits, so a second fact about
/// the same admission changes nothing.
pub fn exit_on_fact(
    a: &mut DeveloperAdmission,
    call: &Call,
    reason: ExitReason,
    description: String,
    related: String,
    p: &Parties,
) -> Option<Change<ev::DeveloperExited>> {
    if state_of(a) != State::Admitted {
        return None;
    }
    let details = AdmissionExit {
        reason: reason as i32,
        description,
        related,
        ..Default::default()
    };
    exit(a, call, details, p).ok()
}

/// The registry signed the developer agreement resting on this admission; nothing is announced.
pub fn agreement_signed(a: &mut DeveloperAdmission, developer_agreement: &str) -> Option<Change<Quiet>> {
    if a.developer_agreement == developer_agreement {
        return None;
    }
    a.developer_agreement = developer_agreement.to_owned();
    Some(Change::new(
        &a.name,
        serde_json::json!({ "developer_agreement": developer_agreement }),
    ))
}
