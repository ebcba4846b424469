//! Data-quality checks (数据校核, §2.5): RAISED → RESPONDED → CLOSED; RAISED → WITHDRAWN. Who may raise one and
//! who must answer it come from the profile (`review.data_check`); the answer is due within the profile's
//! `data.check_response` from the day of receipt (Henan 7 WD, D19, S-HN Art.16; Yunnan 10 WD, D19', S-YN Art.17;
//! none elsewhere), and a late answer is marked.

use chrono::NaiveDate;
use pdop_kit::auth::{Caller, Role};
use pdop_kit::convert::{actor, audit_info, due_date, timestamp};
use pdop_kit::uow::{Call, Change};
use pdop_proto::common::{Deadline, JurisdictionRef, OrganizationRef};
use pdop_proto::review::events::v1 as ev;
use pdop_proto::review::v1::{
    DataQualityCheck, DataQualityCheckOutcome as Outcome, DataQualityCheckResponse,
    DataQualityCheckState as State,
};
use pdop_rules::Profile;
use pdop_rules::profiles::{CallerRole, OrgRole};

use super::error::{Error, ErrorReason, require_state};

pub const COLLECTION: &str = "dataQualityChecks";

/// The step whose deadline a check runs under (`review_deadlines.step`).
pub const STEP: &str = "respond";

pub fn state_of(c: &DataQualityCheck) -> State {
    State::try_from(c.state).unwrap_or_default()
}

/// Who may raise a check and who answers it under a profile.
#[derive(Debug, Clone)]
pub struct CheckRules {
    pub profile_id: String,
    pub requesters: Vec<CallerRole>,
    pub requesters_source: String,
    pub responder: OrgRole,
}

/// National defaults where a profile says nothing: operators raise, providers answer (DOMAIN §1, inferred).
pub fn rules(profile: &Profile) -> CheckRules {
    let check = &profile.review.data_check;
    CheckRules {
        profile_id: profile.id.clone(),
        requesters: check
            .requesters
            .as_ref()
            .map_or_else(|| vec![CallerRole::Operator], |r| r.value.clone()),
        requesters_source: check
            .requesters
            .as_ref()
            .map_or_else(|| "inferred (DOMAIN §1)".to_owned(), |r| r.source.clone()),
        responder: check
            .responder
            .as_ref()
            .map_or(OrgRole::DataProvider, |r| r.value),
    }
}

fn caller_role(r: CallerRole) -> Role {
    match r {
        CallerRole::Operator => Role::Operator,
        CallerRole::Developer => Role::Developer,
    }
}

/// A role the profile does not allow to raise checks is PERMISSION_DENIED, naming the profile (§2.5).
pub fn may_raise(caller: &Caller, rules: &CheckRules) -> Result<CallerRole, Error> {
    rules
        .requesters
        .iter()
        .copied()
        .find(|r| caller.has_role(caller_role(*r)))
        .ok_or_else(|| {
            let allowed: Vec<&str> = rules.requesters.iter().map(|r| r.as_str()).collect();
            Error::denied(
                ErrorReason::NotARequester,
                format!(
                    "in profile {} data checks are raised by {} ({})",
                    rules.profile_id,
                    allowed.join(", "),
                    rules.requesters_source
                ),
            )
        })
}

/// The references the events carry.
#[derive(Debug, Clone, Default)]
pub struct Parties {
    pub requester: OrganizationRef,
    pub responsible: OrganizationRef,
    pub jurisdiction: JurisdictionRef,
}

pub fn summary(c: &DataQualityCheck, p: &Parties) -> ev::DataQualityCheckSummary {
    ev::DataQualityCheckSummary {
        name: c.name.clone(),
        requester: Some(p.requester.clone()),
        responsible_provider: Some(p.responsible.clone()),
        resource: c.resource.clone(),
        field_keys: c.field_keys.clone(),
        issue_kind: c.issue_kind,
        jurisdiction: Some(p.jurisdiction.clone()),
        receive_time: c.receive_time,
        state: c.state,
    }
}

fn audit(c: &DataQualityCheck) -> serde_json::Value {
    serde_json::json!({ "state": format!("{:?}", state_of(c)) })
}

/// ∅ → RAISED: received now; the answer is due by `deadline` where the profile sets one.
pub fn raise(
    c: &mut DataQualityCheck,
    call: &Call,
    profile_id: &str,
    deadline: Option<Deadline>,
    p: &Parties,
) -> Change<ev::DataQualityCheckRaised> {
    c.requester = call.caller.organization.clone();
    c.responsible_provider = p.responsible.name.clone();
    c.jurisdiction = p.jurisdiction.name.clone();
    c.profile_id = profile_id.to_owned();
    c.state = State::Raised as i32;
    c.receive_time = Some(timestamp(call.now));
    c.response_deadline = deadline.clone();
    c.response = None;
    c.response_accepted = false;
    c.close_comment.clear();
    c.withdraw_reason.clear();
    let event = ev::DataQualityCheckRaised {
        check: Some(summary(c, p)),
        description: c.description.clone(),
        response_deadline: deadline,
        actor: Some(actor(&call.caller)),
    };
    Change::new(&c.name, audit(c)).announce(event)
}

/// RAISED → RESPONDED by the responsible party (核实、更正并反馈, S-YN Art.17); late after the due date.
/// `working_days` counts the working days from receipt to today, the day of receipt not counted.
pub fn respond(
    c: &mut DataQualityCheck,
    call: &Call,
    mut response: DataQualityCheckResponse,
    working_days: i32,
    p: &Parties,
) -> Result<Change<ev::DataQualityCheckResponded>, Error> {
    require_state(&c.name, state_of(c), &[State::Raised], "a response")?;
    if call.caller.organization != c.responsible_provider {
        return Err(Error::denied(
            ErrorReason::NotResponsible,
            format!(
                "{} is answered by {}, the party the profile names",
                c.name, c.responsible_provider
            ),
        ));
    }
    let late = due_date(c.response_deadline.as_ref()).is_some_and(|due| call.today() > due);
    response.late = late;
    response.responded = Some(audit_info(&call.caller, call.now));
    c.state = State::Responded as i32;
    let event = ev::DataQualityCheckResponded {
        check: Some(summary(c, p)),
        outcome: response.outcome,
        corrected_revision: response.corrected_revision.clone(),
        planned_correction_date: response.planned_correction_date,
        late,
        working_days_taken: working_days,
        actor: Some(actor(&call.caller)),
    };
    c.response = Some(response);
    Ok(Change::new(&c.name, audit(c)).announce(event))
}

fn own(caller: &Caller, c: &DataQualityCheck, what: &str) -> Result<(), Error> {
    if caller.organization != c.requester {
        return Err(Error::denied(
            ErrorReason::NotTheApplicant,
            format!("only the requester {} {what} {}", c.requester, c.name),
        ));
    }
    Ok(())
}

/// RESPONDED → CLOSED by the requester, accepting the answer or disputing it with a comment (inferred).
pub fn close(
    c: &mut DataQualityCheck,
    call: &Call,
    accepted: bool,
    comment: String,
    p: &Parties,
) -> Result<Change<ev::DataQualityCheckClosed>, Error> {
    require_state(&c.name, state_of(c), &[State::Responded], "closing")?;
    own(&call.caller, c, "closes")?;
    c.state = State::Closed as i32;
    c.response_accepted = accepted;
    c.close_comment = comment;
    let event = ev::DataQualityCheckClosed {
        check: Some(summary(c, p)),
        response_accepted: accepted,
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&c.name, audit(c)).announce(event))
}

/// RAISED → WITHDRAWN by the requester (inferred).
pub fn withdraw(
    c: &mut DataQualityCheck,
    call: &Call,
    reason: String,
    p: &Parties,
) -> Result<Change<ev::DataQualityCheckWithdrawn>, Error> {
    require_state(&c.name, state_of(c), &[State::Raised], "withdrawing")?;
    own(&call.caller, c, "withdraws")?;
    c.state = State::Withdrawn as i32;
    c.withdraw_reason = reason.clone();
    let event = ev::DataQualityCheckWithdrawn {
        check: Some(summary(c, p)),
        reason,
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&c.name, audit(c)).announce(event))
}

/// CORRECTED names the corrected revision, CORRECTION_SCHEDULED a date not in the past (S-YN Art.17).
pub fn check_response(r: &DataQualityCheckResponse, today: NaiveDate, v: &mut pdop_kit::Violations) {
    match Outcome::try_from(r.outcome).unwrap_or_default() {
        Outcome::Unspecified => v.add("response.outcome", "must be set"),
        Outcome::Corrected if r.corrected_revision.trim().is_empty() => v.add(
            "response.corrected_revision",
            "CORRECTED names the corrected revision",
        ),
        Outcome::CorrectionScheduled => match r
            .planned_correction_date
            .as_ref()
            .map(pdop_kit::convert::naive_date)
        {
            None => v.add(
                "response.planned_correction_date",
                "CORRECTION_SCHEDULED names the date",
            ),
            Some(None) => v.add("response.planned_correction_date", "is not a calendar date"),
            Some(Some(d)) if d < today => {
                v.add("response.planned_correction_date", "must not be in the past")
            }
            Some(Some(_)) => {}
        },
        _ => {}
    }
    if r.explanation.trim().is_empty() {
        v.add("response.explanation", "is required (核实、更正并反馈)");
    }
}

/// Who reads a check: the requester, the responsible party, supervisors and evaluators (storage checks their
/// jurisdiction), auditors.
pub fn is_party(caller: &Caller, c: &DataQualityCheck) -> bool {
    caller.organization == c.requester || caller.organization == c.responsible_provider
}

/// DOMAIN §5 numbers the Yunnan period D19' and the Henan one D19.
pub fn rule_id(source: &str) -> &'static str {
    if source.starts_with("S-YN") { "D19'" } else { "D19" }
}
