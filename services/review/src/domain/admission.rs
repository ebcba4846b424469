//! Developer admissions (开发主体准入, §2.7): DRAFT → UNDER_REVIEW ⇄ SUPPLEMENT_REQUESTED; UNDER_REVIEW → QUALIFIED
//! (profile with a notice) | ADMITTED (no notice) | REJECTED | WITHDRAWN; QUALIFIED → PUBLIC_NOTICE → ADMITTED |
//! REJECTED (objection upheld); ADMITTED → EXITED. Objections: PENDING → UPHELD | DISMISSED. The one transition
//! table is [`Transition::starts_from`]; each transition is a pure function on the locked message returning its
//! `Change`.

use pdop_kit::auth::Caller;
use pdop_kit::convert::{actor, audit_info, timestamp};
use pdop_kit::uow::{Call, Change, Quiet};
use pdop_proto::common::{JurisdictionRef, OrganizationRef};
use pdop_proto::registry::events::v1::{AgreementSummary, ProductSnapshot};
use pdop_proto::review::events::v1 as ev;
use pdop_proto::review::v1::{
    AdmissionObjectionState as ObjectionState, DeveloperAdmission, DeveloperAdmissionObjection,
    DeveloperAdmissionState as State, ReviewOutcome, SupplementRequest,
};

pub use super::admission_checks::{
    Standing, not_own_products, only_open, procedure, products_listed, require_clear, require_materials,
};
use super::decision::Decision;
use super::error::{Error, ErrorReason, require_state};
use super::facts;
use super::rules::AdmissionRules;

pub const COLLECTION: &str = "developerAdmissions";

pub fn state_of(a: &DeveloperAdmission) -> State {
    State::try_from(a.state).unwrap_or_default()
}

pub fn objection_state(o: &DeveloperAdmissionObjection) -> ObjectionState {
    ObjectionState::try_from(o.state).unwrap_or_default()
}

/// Every transition guarded by the states it starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Edit,
    Submit,
    /// Approve, reject, return for supplement.
    Decide,
    StartNotice,
    /// Uphold or dismiss an objection to the notice.
    DecideObjection,
    Admit,
    Withdraw,
    Exit,
}

impl Transition {
    #[cfg(test)]
    pub const ALL: [Transition; 8] = [
        Self::Edit,
        Self::Submit,
        Self::Decide,
        Self::StartNotice,
        Self::DecideObjection,
        Self::Admit,
        Self::Withdraw,
        Self::Exit,
    ];

    pub fn starts_from(self) -> &'static [State] {
        use State::*;
        match self {
            Self::Edit | Self::Submit => &[Draft, SupplementRequested],
            Self::Decide => &[UnderReview],
            Self::StartNotice => &[Qualified],
            Self::DecideObjection | Self::Admit => &[PublicNotice],
            // "before admission" (inferred).
            Self::Withdraw => &[Draft, UnderReview, SupplementRequested, Qualified, PublicNotice],
            Self::Exit => &[Admitted],
        }
    }

    fn action(self) -> &'static str {
        match self {
            Self::Edit => "editing",
            Self::Submit => "submitting",
            Self::Decide => "a decision",
            Self::StartNotice => "starting the public notice",
            Self::DecideObjection => "deciding an objection",
            Self::Admit => "admitting the developer",
            Self::Withdraw => "withdrawing",
            Self::Exit => "an exit",
        }
    }
}

pub fn require(a: &DeveloperAdmission, t: Transition) -> Result<(), Error> {
    require_state(&a.name, state_of(a), t.starts_from(), t.action())
}

pub fn round(a: &DeveloperAdmission) -> i32 {
    a.timeline.as_ref().map_or(0, |t| t.review_round)
}

/// The references the events carry (R-RV-11: organizations with their display names).
#[derive(Debug, Clone, Default)]
pub struct Parties {
    pub developer: OrganizationRef,
    pub operator: OrganizationRef,
    pub jurisdiction: JurisdictionRef,
}

pub fn summary(a: &DeveloperAdmission, p: &Parties) -> ev::DeveloperAdmissionSummary {
    ev::DeveloperAdmissionSummary {
        name: a.name.clone(),
        developer: Some(p.developer.clone()),
        operator: Some(p.operator.clone()),
        agreement: a.agreement.clone(),
        jurisdiction: Some(p.jurisdiction.clone()),
        route: a.route,
        scenario_title: a.scenario_title.clone(),
        requested_products: a.requested_products.clone(),
        state: a.state,
    }
}

pub(super) fn audit(a: &DeveloperAdmission) -> serde_json::Value {
    serde_json::json!({ "state": format!("{:?}", state_of(a)), "round": round(a) })
}

/// ∅ → DRAFT, by the developer (from the token) under the operator's ACTIVE agreement.
pub fn create(
    a: &mut DeveloperAdmission,
    call: &Call,
    rules: &AdmissionRules,
    agreement: &AgreementSummary,
    products: &[ProductSnapshot],
) -> Result<Change<Quiet>, Error> {
    procedure(rules)?;
    let operator = agreement
        .operator
        .as_ref()
        .map(|o| o.name.clone())
        .unwrap_or_default();
    if !a.operator.is_empty() && a.operator != operator {
        return Err(Error::invalid(
            "developer_admission.operator",
            format!("must be the operator of {} ({operator})", agreement.name),
        ));
    }
    a.developer = call.caller.organization.clone();
    a.operator = operator;
    not_own_products(&a.developer, &a.operator)?;
    facts::agreement_open(agreement)?;
    products_listed(a, products)?;
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
    a.blacklist_check = None;
    a.notice_period = None;
    a.notice_deadline = None;
    a.objection_count = 0;
    a.admit_time = None;
    a.developer_agreement.clear();
    a.exit = None;
    a.withdraw_reason.clear();
    Ok(Change::new(&a.name, audit(a)))
}

/// The applicant's own staff edit, submit and withdraw.
pub fn own(caller: &Caller, a: &DeveloperAdmission) -> Result<(), Error> {
    if caller.organization != a.developer {
        return Err(Error::denied(
            ErrorReason::NotTheApplicant,
            format!("only the applicant {} may do this to {}", a.developer, a.name),
        ));
    }
    Ok(())
}

/// An edit of a draft or returned admission: private, audited, not announced.
pub fn edited(a: &DeveloperAdmission, paths: Vec<&str>) -> Change<Quiet> {
    Change::new(&a.name, serde_json::json!({ "changed": paths }))
}

/// DRAFT / SUPPLEMENT_REQUESTED → UNDER_REVIEW: a new round (R-RV-09) after the required materials, R-RV-14,
/// R-RV-17 and R-RV-18. Returns whether it is a resubmission; the handler seats the panel and announces it with
/// [`submitted`].
pub fn submit(
    a: &mut DeveloperAdmission,
    call: &Call,
    rules: &AdmissionRules,
    agreement: &AgreementSummary,
    products: &[ProductSnapshot],
    standing: &Standing,
) -> Result<bool, Error> {
    require(a, Transition::Submit)?;
    own(&call.caller, a)?;
    procedure(rules)?;
    not_own_products(&a.developer, &a.operator)?;
    facts::agreement_open(agreement)?;
    products_listed(a, products)?;
    require_materials(a, rules)?;
    require_clear(a, call, standing)?;
    let resubmission = state_of(a) == State::SupplementRequested;
    let timeline = a.timeline.get_or_insert_default();
    timeline.review_round += 1;
    timeline.submit_time = Some(timestamp(call.now));
    timeline.decide_time = None;
    timeline.current_deadline = None;
    a.state = State::UnderReview as i32;
    a.supplement_request = None;
    Ok(resubmission)
}

pub fn submitted(
    a: &DeveloperAdmission,
    call: &Call,
    resubmission: bool,
    p: &Parties,
) -> Change<ev::DeveloperAdmissionSubmitted> {
    let event = ev::DeveloperAdmissionSubmitted {
        admission: Some(summary(a, p)),
        resubmission,
        blacklist_clear: a.blacklist_check.as_ref().is_some_and(|c| c.clear),
        actor: Some(actor(&call.caller)),
    };
    Change::new(&a.name, audit(a)).announce(event)
}

pub(super) fn decided(
    a: &mut DeveloperAdmission,
    call: &Call,
    state: State,
    d: Decision,
    outcome: ReviewOutcome,
) {
    let record = d.record(call, outcome, round(a), 0);
    a.state = state as i32;
    a.decisions.push(record);
    if state != State::SupplementRequested {
        a.timeline.get_or_insert_default().decide_time = Some(timestamp(call.now));
    }
}

pub(super) fn admitted(
    a: &mut DeveloperAdmission,
    call: &Call,
    p: &Parties,
) -> Change<ev::DeveloperAdmitted> {
    a.state = State::Admitted as i32;
    a.admit_time = Some(timestamp(call.now));
    let timeline = a.timeline.get_or_insert_default();
    timeline.decide_time = Some(timestamp(call.now));
    timeline.current_deadline = None;
    let event = ev::DeveloperAdmitted {
        admission: Some(summary(a, p)),
        notice_period: a.notice_period,
        actor: Some(actor(&call.caller)),
    };
    Change::new(&a.name, audit(a)).announce(event)
}

/// UNDER_REVIEW → QUALIFIED where the profile has a public notice (D21), else → ADMITTED (with both events). The
/// panel checks (R-RV-03, R-RV-08) run before; R-RV-14 and R-RV-17 are checked again here.
pub fn approve(
    a: &mut DeveloperAdmission,
    call: &Call,
    rules: &AdmissionRules,
    agreement: &AgreementSummary,
    standing: &Standing,
    d: Decision,
    p: &Parties,
) -> Result<
    (
        Change<ev::DeveloperQualified>,
        Option<Change<ev::DeveloperAdmitted>>,
    ),
    Error,
> {
    require(a, Transition::Decide)?;
    facts::agreement_open(agreement)?;
    require_clear(a, call, standing)?;
    let conditions = d.conditions.clone();
    decided(a, call, State::Qualified, d, ReviewOutcome::Approved);
    let admitted = rules.notice_min.is_none().then(|| admitted(a, call, p));
    let event = ev::DeveloperQualified {
        admission: Some(summary(a, p)),
        conditions,
        actor: Some(actor(&call.caller)),
    };
    Ok((Change::new(&a.name, audit(a)).announce(event), admitted))
}

/// Rejection: from UNDER_REVIEW, or from SUPPLEMENT_REQUESTED once the supplement's due date passed (R-RV-05).
pub fn require_reject(a: &DeveloperAdmission, today: chrono::NaiveDate) -> Result<(), Error> {
    if state_of(a) == State::SupplementRequested
        && super::decision::lapsed(a.supplement_request.as_ref(), today)
    {
        return Ok(());
    }
    require(a, Transition::Decide)
}

/// UNDER_REVIEW → REJECTED with reasons and basis (R-RV-04); no public entry follows (§3.11).
pub fn reject(
    a: &mut DeveloperAdmission,
    call: &Call,
    d: Decision,
    p: &Parties,
) -> Result<Change<ev::DeveloperAdmissionRejected>, Error> {
    require_reject(a, call.today())?;
    let (reasons, basis) = (d.reasons.clone(), d.basis.clone());
    decided(a, call, State::Rejected, d, ReviewOutcome::Rejected);
    let event = ev::DeveloperAdmissionRejected {
        admission: Some(summary(a, p)),
        reasons,
        basis,
        objection: String::new(),
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&a.name, audit(a)).announce(event))
}

/// UNDER_REVIEW → SUPPLEMENT_REQUESTED: every missing item in one notice, "在规定时限内" (S-YN Art.13(二), R-RV-05).
pub fn return_for_supplement(
    a: &mut DeveloperAdmission,
    call: &Call,
    request: SupplementRequest,
    p: &Parties,
) -> Result<Change<ev::DeveloperAdmissionSupplementRequested>, Error> {
    require(a, Transition::Decide)?;
    let reasons = request
        .items
        .iter()
        .map(|i| i.description.clone())
        .collect::<Vec<_>>()
        .join("; ");
    let missing = request.items.iter().map(|i| i.item.clone()).collect();
    let due_date = request.due_date;
    a.supplement_request = Some(SupplementRequest {
        requested: Some(audit_info(&call.caller, call.now)),
        ..request
    });
    let d = Decision {
        reasons,
        ..Default::default()
    };
    decided(
        a,
        call,
        State::SupplementRequested,
        d,
        ReviewOutcome::SupplementRequested,
    );
    let event = ev::DeveloperAdmissionSupplementRequested {
        admission: Some(summary(a, p)),
        missing_items: missing,
        due_date,
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&a.name, audit(a)).announce(event))
}

/// A withdrawal before admission, by the applicant (inferred).
pub fn withdraw(
    a: &mut DeveloperAdmission,
    call: &Call,
    reason: String,
    p: &Parties,
) -> Result<Change<ev::DeveloperAdmissionWithdrawn>, Error> {
    require(a, Transition::Withdraw)?;
    own(&call.caller, a)?;
    a.state = State::Withdrawn as i32;
    a.withdraw_reason = reason.clone();
    if let Some(t) = a.timeline.as_mut() {
        t.current_deadline = None;
    }
    let event = ev::DeveloperAdmissionWithdrawn {
        admission: Some(summary(a, p)),
        reason,
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&a.name, audit(a)).announce(event))
}

/// Who reads an admission (R-RV-01): the developer, the operator and the panel; supervisors and auditors of its
/// jurisdiction (checked by the handler).
pub fn is_party(caller: &Caller, a: &DeveloperAdmission) -> bool {
    caller.organization == a.developer
        || caller.organization == a.operator
        || a.reviewers.iter().any(|s| s.organization == caller.organization)
}

/// §2.7, §2.8: REJECTED → UNDER_REVIEW on an upheld appeal (Laiyuan, S-LY §二(五)).
impl super::appeal::Appealable for DeveloperAdmission {
    fn appeal_kind(&self) -> pdop_proto::review::v1::AppealSubjectKind {
        pdop_proto::review::v1::AppealSubjectKind::DeveloperAdmission
    }
    fn contested(&self) -> bool {
        state_of(self) == State::Rejected
    }
    fn agreement(&self) -> &str {
        &self.agreement
    }
    fn decided_by(&self) -> Option<&str> {
        self.decisions
            .last()
            .and_then(|d| d.decided.as_ref())
            .and_then(|a| a.actor.as_ref())
            .map(|a| a.subject.as_str())
    }
    fn reopen(&mut self, call: &Call, reasons: &str) {
        let d = Decision {
            reasons: reasons.to_owned(),
            ..Default::default()
        };
        self.decisions
            .push(d.record(call, ReviewOutcome::ReopenedOnAppeal, round(self) + 1, 0));
        super::panel::new_round(&mut self.reviewers);
        let timeline = self.timeline.get_or_insert_default();
        timeline.review_round += 1;
        timeline.submit_time = Some(timestamp(call.now));
        timeline.decide_time = None;
        self.state = State::UnderReview as i32;
    }
}
