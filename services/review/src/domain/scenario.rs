//! Scenario applications (一场景一审核, §2.3): DRAFT → UNDER_REVIEW ⇄ SUPPLEMENT_REQUESTED; UNDER_REVIEW →
//! APPROVED | REJECTED | WITHDRAWN; SUPPLEMENT_REQUESTED → WITHDRAWN; APPROVED → REVOKED. The one transition table
//! is [`Transition::starts_from`]; each transition is a pure function on the locked message returning its `Change`.

use pdop_kit::auth::{Caller, Role};
use pdop_kit::convert::{actor, audit_info, timestamp};
use pdop_kit::uow::{Call, Change, Quiet};
use pdop_proto::common::{JurisdictionRef, OrganizationRef};
use pdop_proto::registry::events::v1::AgreementSummary;
use pdop_proto::review::events::v1 as ev;
use pdop_proto::review::v1::{
    MissingItem, ReviewDecision, ReviewOutcome, ScenarioApplication, ScenarioApplicationState as State,
    SupplementRequest,
};

use super::error::{Error, ErrorReason, require_state};
use super::facts::{self, Demanded};
use super::rules::{Flow, ScenarioRules};

pub const COLLECTION: &str = "scenarioApplications";

pub fn state_of(a: &ScenarioApplication) -> State {
    State::try_from(a.state).unwrap_or_default()
}

/// Every transition guarded by the states it starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Edit,
    Submit,
    Decide,
    Withdraw,
    Revoke,
}

impl Transition {
    #[cfg(test)]
    pub const ALL: [Transition; 5] = [
        Self::Edit,
        Self::Submit,
        Self::Decide,
        Self::Withdraw,
        Self::Revoke,
    ];

    pub fn starts_from(self) -> &'static [State] {
        use State::*;
        match self {
            Self::Edit | Self::Submit => &[Draft, SupplementRequested],
            Self::Decide => &[UnderReview],
            Self::Withdraw => &[UnderReview, SupplementRequested],
            Self::Revoke => &[Approved],
        }
    }

    fn action(self) -> &'static str {
        match self {
            Self::Edit => "editing",
            Self::Submit => "submitting",
            Self::Decide => "a decision",
            Self::Withdraw => "withdrawing",
            Self::Revoke => "revoking",
        }
    }
}

pub fn require(a: &ScenarioApplication, t: Transition) -> Result<(), Error> {
    require_state(&a.name, state_of(a), t.starts_from(), t.action())
}

/// The references the events carry (R-RV-11: organizations with their display names).
#[derive(Debug, Clone, Default)]
pub struct Parties {
    pub operator: OrganizationRef,
    pub jurisdiction: JurisdictionRef,
}

pub fn summary(a: &ScenarioApplication, p: &Parties) -> ev::ScenarioSummary {
    ev::ScenarioSummary {
        name: a.name.clone(),
        display_name: a.display_name.clone(),
        operator: Some(p.operator.clone()),
        agreement: a.agreement.clone(),
        jurisdiction: Some(p.jurisdiction.clone()),
        sector: a.sector.clone(),
        use_class: a.use_class,
        resources: a.data_demands.iter().map(|d| d.resource.clone()).collect(),
        state: a.state,
    }
}

fn audit(a: &ScenarioApplication) -> serde_json::Value {
    serde_json::json!({ "state": format!("{:?}", state_of(a)), "round": round(a) })
}

pub fn round(a: &ScenarioApplication) -> i32 {
    a.timeline.as_ref().map_or(0, |t| t.review_round)
}

/// §2.2: a scenario step exists only in two-step and combined profiles (DU-1: Yunnan has none).
pub fn flow_has_scenarios(rules: &ScenarioRules) -> Result<(), Error> {
    if rules.flow == Flow::DataUseOnly {
        return Err(Error::refused(
            ErrorReason::ScenarioFlow,
            format!(
                "profile {} has no scenario review: data use is applied for directly ({})",
                rules.profile_id, rules.flow_source
            ),
        ));
    }
    Ok(())
}

/// Only the operator of the agreement applies, under an ACTIVE agreement that is not suspended (R-RV-14).
pub fn may_apply(caller: &Caller, agreement: &AgreementSummary) -> Result<(), Error> {
    let operator = agreement
        .operator
        .as_ref()
        .map(|o| o.name.as_str())
        .unwrap_or_default();
    if caller.organization != operator {
        return Err(Error::denied(
            ErrorReason::NotTheApplicant,
            format!(
                "only the operator {operator} of {} applies under it",
                agreement.name
            ),
        ));
    }
    facts::agreement_open(agreement)
}

/// The applicant's own staff edit, submit and withdraw.
pub fn own(caller: &Caller, a: &ScenarioApplication) -> Result<(), Error> {
    if caller.organization != a.operator {
        return Err(Error::denied(
            ErrorReason::NotTheApplicant,
            format!("only the applicant {} may do this to {}", a.operator, a.name),
        ));
    }
    Ok(())
}

/// Checks the demands against the agreement and the resources, and fills what the service computes (provider,
/// grade, personal-information flag: R-RV-19; client values are ignored).
pub fn check_demands(
    a: &mut ScenarioApplication,
    agreement: &AgreementSummary,
    demanded: &[Demanded],
) -> Result<(), Error> {
    for (i, (d, r)) in a.data_demands.iter_mut().zip(demanded).enumerate() {
        let field = format!("scenario_application.data_demands[{i}].field_keys");
        let holds = facts::holds(&r.snapshot, &d.field_keys, &field)?;
        facts::resource_usable(agreement, r, &d.field_keys)?;
        d.provider = r
            .snapshot
            .provider
            .as_ref()
            .map(|p| p.name.clone())
            .unwrap_or_default();
        d.grade = r.snapshot.grade;
        // CF-1 asks the subjects' authorization for personal information and trade secrets alike.
        d.involves_personal_info = holds.personal_info || holds.trade_secret;
    }
    facts::period_inside_term(
        a.planned_period.as_ref(),
        agreement,
        "scenario_application.planned_period",
    )
}

/// ∅ → DRAFT.
pub fn create(
    a: &mut ScenarioApplication,
    call: &Call,
    rules: &ScenarioRules,
    agreement: &AgreementSummary,
    demanded: &[Demanded],
) -> Result<Change<Quiet>, Error> {
    flow_has_scenarios(rules)?;
    may_apply(&call.caller, agreement)?;
    check_demands(a, agreement, demanded)?;
    a.operator = call.caller.organization.clone();
    a.jurisdiction = agreement
        .jurisdiction
        .as_ref()
        .map(|j| j.name.clone())
        .unwrap_or_default();
    a.profile_id = rules.profile_id.clone();
    a.state = State::Draft as i32;
    a.reviewers.clear();
    a.decisions.clear();
    a.timeline = Some(Default::default());
    a.supplement_request = None;
    a.withdraw_reason.clear();
    Ok(Change::new(&a.name, audit(a)))
}

/// DRAFT / SUPPLEMENT_REQUESTED → UNDER_REVIEW: a new round (R-RV-09). Returns whether it is a resubmission;
/// the handler then seats the panel and announces the submission with [`submitted`].
pub fn submit(
    a: &mut ScenarioApplication,
    call: &Call,
    rules: &ScenarioRules,
    agreement: &AgreementSummary,
    demanded: &[Demanded],
) -> Result<bool, Error> {
    require(a, Transition::Submit)?;
    own(&call.caller, a)?;
    flow_has_scenarios(rules)?;
    facts::agreement_open(agreement)?;
    check_demands(a, agreement, demanded)?;
    let mut missing = Vec::new();
    if a.construction_plan.is_none() {
        missing.push("construction_plan (场景建设方案, S-HB §四(二))");
    }
    if a.data_demands.is_empty() {
        missing.push("data_demands (应用场景及其数据需求, S-HN Art.15)");
    }
    if a.security_measures.is_empty() {
        missing.push("security_measures (inferred)");
    }
    if rules.flow == Flow::Combined {
        if a.delivery_method == 0 {
            missing.push("delivery_method (原始数据不出域、数据可用不可见, CF-1, S-ZZ Art.18)");
        }
        if a.data_demands
            .iter()
            .any(|d| d.involves_personal_info && d.subject_authorization.is_none())
        {
            missing.push("data_demands[].subject_authorization where the fields hold personal information (CF-1, S-ZZ Art.18)");
        }
    }
    if !missing.is_empty() {
        return Err(Error::refused(
            ErrorReason::Incomplete,
            format!("{} cannot be submitted without: {}", a.name, missing.join("; ")),
        ));
    }
    let resubmission = state_of(a) == State::SupplementRequested;
    let timeline = a.timeline.get_or_insert_default();
    timeline.review_round += 1;
    timeline.submit_time = Some(timestamp(call.now));
    timeline.decide_time = None;
    a.state = State::UnderReview as i32;
    a.supplement_request = None;
    Ok(resubmission)
}

/// The submission's announcement, with the seated panel's organizations.
pub fn submitted(
    a: &ScenarioApplication,
    call: &Call,
    resubmission: bool,
    p: &Parties,
) -> Change<ev::ScenarioApplicationSubmitted> {
    let event = ev::ScenarioApplicationSubmitted {
        scenario: Some(summary(a, p)),
        resubmission,
        review_round: round(a),
        reviewer_organizations: a.reviewers.iter().map(|s| s.organization.clone()).collect(),
        review_deadline: None,
        actor: Some(actor(&call.caller)),
    };
    Change::new(&a.name, audit(a)).announce(event)
}

/// An edit of a draft or a returned application: private, so audited and not announced.
pub fn edited(a: &ScenarioApplication, mask: &pdop_kit::mask::Mask) -> Change<Quiet> {
    Change::new(
        &a.name,
        serde_json::json!({ "changed": mask.paths().collect::<Vec<_>>() }),
    )
}

pub use super::decision::Decision;

fn decided(a: &mut ScenarioApplication, call: &Call, state: State, d: ReviewDecision) {
    a.state = state as i32;
    a.decisions.push(d);
    if matches!(state, State::Approved | State::Rejected) {
        a.timeline.get_or_insert_default().decide_time = Some(timestamp(call.now));
    }
}

/// UNDER_REVIEW → APPROVED. The panel checks (R-RV-03, R-RV-08) run before, in `panel::ready_to_approve`.
pub fn approve(
    a: &mut ScenarioApplication,
    call: &Call,
    agreement: &AgreementSummary,
    d: Decision,
    p: &Parties,
) -> Result<Change<ev::ScenarioApproved>, Error> {
    require(a, Transition::Decide)?;
    facts::agreement_open(agreement)?;
    let conditions = d.conditions.clone();
    let record = d.record(call, ReviewOutcome::Approved, round(a), 0);
    decided(a, call, State::Approved, record);
    let event = ev::ScenarioApproved {
        scenario: Some(summary(a, p)),
        conditions,
        late: false,
        actor: Some(actor(&call.caller)),
        data_use_application: String::new(),
    };
    Ok(Change::new(&a.name, audit(a)).announce(event))
}

/// Rejection: from UNDER_REVIEW, or from SUPPLEMENT_REQUESTED once the supplement's due date passed (R-RV-05).
pub fn require_reject(a: &ScenarioApplication, today: chrono::NaiveDate) -> Result<(), Error> {
    if state_of(a) == State::SupplementRequested
        && super::decision::lapsed(a.supplement_request.as_ref(), today)
    {
        return Ok(());
    }
    require(a, Transition::Decide)
}

/// UNDER_REVIEW → REJECTED, with reasons and basis (R-RV-04, S-HN Art.15).
pub fn reject(
    a: &mut ScenarioApplication,
    call: &Call,
    d: Decision,
    p: &Parties,
) -> Result<Change<ev::ScenarioRejected>, Error> {
    require_reject(a, call.today())?;
    let (reasons, basis) = (d.reasons.clone(), d.basis.clone());
    let record = d.record(call, ReviewOutcome::Rejected, round(a), 0);
    decided(a, call, State::Rejected, record);
    let event = ev::ScenarioRejected {
        scenario: Some(summary(a, p)),
        reasons,
        basis,
        late: false,
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&a.name, audit(a)).announce(event))
}

/// UNDER_REVIEW → SUPPLEMENT_REQUESTED: every missing item in one notice, with an optional due date (R-RV-05).
pub fn return_for_supplement(
    a: &mut ScenarioApplication,
    call: &Call,
    request: SupplementRequest,
    p: &Parties,
) -> Result<Change<ev::ScenarioSupplementRequested>, Error> {
    require(a, Transition::Decide)?;
    let reasons = request
        .items
        .iter()
        .map(|i: &MissingItem| i.description.clone())
        .collect::<Vec<_>>()
        .join("; ");
    let record = Decision {
        reasons,
        ..Default::default()
    }
    .record(call, ReviewOutcome::SupplementRequested, round(a), 0);
    let event = ev::ScenarioSupplementRequested {
        scenario: None,
        missing_items: request.items.iter().map(|i| i.item.clone()).collect(),
        due_date: request.due_date,
        actor: Some(actor(&call.caller)),
    };
    a.supplement_request = Some(SupplementRequest {
        requested: Some(audit_info(&call.caller, call.now)),
        ..request
    });
    decided(a, call, State::SupplementRequested, record);
    let event = ev::ScenarioSupplementRequested {
        scenario: Some(summary(a, p)),
        ..event
    };
    Ok(Change::new(&a.name, audit(a)).announce(event))
}

/// UNDER_REVIEW / SUPPLEMENT_REQUESTED → WITHDRAWN, by the applicant (inferred).
pub fn withdraw(
    a: &mut ScenarioApplication,
    call: &Call,
    reason: String,
    p: &Parties,
) -> Result<Change<ev::ScenarioApplicationWithdrawn>, Error> {
    require(a, Transition::Withdraw)?;
    own(&call.caller, a)?;
    a.state = State::Withdrawn as i32;
    a.withdraw_reason = reason.clone();
    let event = ev::ScenarioApplicationWithdrawn {
        scenario: Some(summary(a, p)),
        reason,
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&a.name, audit(a)).announce(event))
}

/// APPROVED → REVOKED by a supervisor, with reasons and basis; the data uses under it follow (cascade by the
/// handler). A data authority or implementing agency acts only in its jurisdiction (THREATS H2, checked before).
pub fn revoke(
    a: &mut ScenarioApplication,
    call: &Call,
    d: Decision,
    evidence: &[pdop_proto::common::DocumentRef],
    p: &Parties,
) -> Result<Change<ev::ScenarioRevoked>, Error> {
    require(a, Transition::Revoke)?;
    if call.caller.organization == a.operator {
        return Err(Error::denied(
            ErrorReason::OwnApplication,
            format!(
                "{} is your own organization's application; another organization must revoke it (回避)",
                a.name
            ),
        ));
    }
    let (reasons, basis) = (d.reasons.clone(), d.basis.clone());
    let record = d.record(call, ReviewOutcome::Revoked, round(a), 0);
    decided(a, call, State::Revoked, record);
    let event = ev::ScenarioRevoked {
        scenario: Some(summary(a, p)),
        reasons,
        basis,
        actor: Some(actor(&call.caller)),
    };
    let mut detail = audit(a);
    detail["evidence"] = evidence.iter().map(|e| e.uri.clone()).collect::<Vec<_>>().into();
    Ok(Change::new(&a.name, detail).announce(event))
}

/// Who reads an application (R-RV-01): its parties (applicant, panel), and supervisors and auditors (whose
/// jurisdiction storage checks).
pub fn is_party(caller: &Caller, a: &ScenarioApplication) -> bool {
    caller.organization == a.operator || a.reviewers.iter().any(|s| s.organization == caller.organization)
}

pub fn is_supervisor(caller: &Caller) -> bool {
    [Role::DataAuthority, Role::ImplementingAgency, Role::Auditor]
        .iter()
        .any(|r| caller.has_role(*r))
}
