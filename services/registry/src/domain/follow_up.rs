//! RecordEvaluationFollowUp (REVIEW-EVALUATION §3.8): the responsible authority records how it dealt with an
//! evaluation result outside the registry (约谈 held, 追责 referred, non-renewal noted), or its reasoned decision to
//! take no measure, and the EVALUATION_FOLLOW_UP obligation is met.

use chrono::NaiveDate;
use pdop_kit::Violations;
use pdop_kit::auth::{Caller, Role};
use pdop_kit::convert::{actor, timestamp};
use pdop_kit::scope::Ancestry;
use pdop_kit::uow::{Call, Change};
use pdop_proto::common::{AuditInfo, DocumentRef};
use pdop_proto::registry::v1::{DeadlineState, EvaluationFollowUp, ObligationDeadline, ObligationKind};

use super::error::{Error, ErrorReason, require_state};
use super::scope::may_supervise;

/// The follow-up as the request states it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    pub decision: String,
    pub reasons: String,
    pub evidence: Vec<DocumentRef>,
}

/// Collects every violation: a decision and reasons are required, and each document needs its address.
pub fn parse(decision: &str, reasons: &str, evidence: Vec<DocumentRef>, v: &mut Violations) -> FollowUp {
    if decision.trim().is_empty() {
        v.add(
            "decision",
            "must state the measure taken or the decision to take none",
        );
    }
    if reasons.trim().is_empty() {
        v.add("reasons", "must give the reasons for the decision");
    }
    for (i, d) in evidence.iter().enumerate() {
        if d.uri.trim().is_empty() {
            v.add(format!("evidence[{i}].uri"), "must give the document's address");
        }
    }
    FollowUp {
        decision: decision.trim().to_owned(),
        reasons: reasons.trim().to_owned(),
        evidence,
    }
}

fn is_developer_obligation(d: &ObligationDeadline) -> bool {
    d.subject.starts_with("developerAgreements/")
}

/// Who records it: a data authority supervising the obligation's jurisdiction; an implementing agency supervising
/// it that is `agency`, the agency of the subject's agreement; the operator that owes a developer obligation.
pub fn may_record(
    caller: &Caller,
    d: &ObligationDeadline,
    ancestry: &Ancestry,
    agency: &str,
) -> Result<(), Error> {
    let supervises = || may_supervise(caller, ancestry, &d.name);
    if caller.has_role(Role::DataAuthority) {
        return supervises();
    }
    if caller.has_role(Role::ImplementingAgency) && caller.organization == agency {
        return supervises();
    }
    if caller.has_role(Role::Operator)
        && is_developer_obligation(d)
        && caller.organization == d.responsible_organization
    {
        return Ok(());
    }
    Err(Error::denied(
        ErrorReason::NotYourObligation,
        format!(
            "{} is followed up by the supervising data authority, the agreement's implementing agency, or for a \
             developer by the operator that owes it",
            d.name
        ),
    ))
}

/// Marks the EVALUATION_FOLLOW_UP obligation `d` (due `due`) MET with the follow-up, late when recorded after the
/// due date.
pub fn record(
    d: &mut ObligationDeadline,
    follow_up: FollowUp,
    call: &Call,
    due: NaiveDate,
) -> Result<Change, Error> {
    if d.kind != ObligationKind::EvaluationFollowUp as i32 {
        return Err(Error::refused(
            ErrorReason::NotAFollowUp,
            format!("{} is not an evaluation follow-up", d.name),
        ));
    }
    let state = DeadlineState::try_from(d.state).unwrap_or_default();
    require_state(
        &d.name,
        state,
        &[DeadlineState::Open, DeadlineState::Overdue],
        "recording a follow-up",
    )?;
    d.state = DeadlineState::Met as i32;
    d.met_late = call.today() > due;
    d.close_time = Some(timestamp(call.now));
    let audit = serde_json::json!({
        "subject": d.subject,
        "decision": follow_up.decision,
        "late": d.met_late,
    });
    let ground = d.ground.get_or_insert_with(Default::default);
    ground.follow_up = Some(EvaluationFollowUp {
        decision: follow_up.decision,
        reasons: follow_up.reasons,
        evidence: follow_up.evidence,
        recorded: Some(AuditInfo {
            actor: Some(actor(&call.caller)),
            time: Some(timestamp(call.now)),
            ..Default::default()
        }),
    });
    Ok(Change::new(&d.name, audit))
}
