//! Product compliance reviews (合规审核, §2.6): DRAFT (re-developed products only) → UNDER_REVIEW ⇄
//! SUPPLEMENT_REQUESTED; UNDER_REVIEW → APPROVED | REJECTED | WITHDRAWN. An operator's product review opens
//! UNDER_REVIEW when the registry announces the product submitted. The applicant may revise the materials while the
//! round runs (M-1); every change is a new materials revision (M-2), and each opinion, check result and decision
//! records the revision it saw (M-3).

use pdop_kit::convert::{actor, audit_info, timestamp};
use pdop_kit::uow::{Call, Change};
use pdop_proto::common::{DocumentRef, JurisdictionRef, OrganizationRef};
use pdop_proto::registry::events::v1::ProductSnapshot;
use pdop_proto::review::events::v1 as ev;
use pdop_proto::review::v1::product_review::Subject;
use pdop_proto::review::v1::{
    ComplianceCheck, ComplianceCheckKind, ComplianceCheckResult as Result_, MaterialsRevision, ProductReview,
    ProductReviewState as State, ReviewOutcome, ScenarioApplicationState, SupplementRequest,
};

use super::decision::Decision;
use super::error::{Error, ErrorReason, require_state};
use super::rules::ProductRules;

pub const COLLECTION: &str = "productReviews";

pub fn state_of(r: &ProductReview) -> State {
    State::try_from(r.state).unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Every applicant-owned field.
    Edit,
    /// `materials` only (M-1).
    EditMaterials,
    Submit,
    Check,
    Decide,
    Withdraw,
}

impl Transition {
    #[cfg(test)]
    pub const ALL: [Transition; 6] = [
        Self::Edit,
        Self::EditMaterials,
        Self::Submit,
        Self::Check,
        Self::Decide,
        Self::Withdraw,
    ];

    pub fn starts_from(self) -> &'static [State] {
        use State::*;
        match self {
            Self::Edit | Self::Submit => &[Draft, SupplementRequested],
            Self::EditMaterials => &[Draft, UnderReview, SupplementRequested],
            Self::Check | Self::Decide => &[UnderReview],
            Self::Withdraw => &[UnderReview, SupplementRequested],
        }
    }

    fn action(self) -> &'static str {
        match self {
            Self::Edit => "editing",
            Self::EditMaterials => "revising the materials",
            Self::Submit => "submitting",
            Self::Check => "recording checklist results",
            Self::Decide => "a decision",
            Self::Withdraw => "withdrawing",
        }
    }
}

pub fn require(r: &ProductReview, t: Transition) -> Result<(), Error> {
    require_state(&r.name, state_of(r), t.starts_from(), t.action())
}

pub fn round(r: &ProductReview) -> i32 {
    r.timeline.as_ref().map_or(0, |t| t.review_round)
}

pub fn product_of(r: &ProductReview) -> &str {
    match &r.subject {
        Some(Subject::Product(p)) => p,
        _ => "",
    }
}

#[derive(Debug, Clone, Default)]
pub struct Parties {
    pub applicant: OrganizationRef,
    pub operator: OrganizationRef,
    pub jurisdiction: JurisdictionRef,
}

pub fn summary(r: &ProductReview, p: &Parties) -> ev::ProductReviewSummary {
    ev::ProductReviewSummary {
        name: r.name.clone(),
        product: product_of(r).to_owned(),
        display_name: r.display_name.clone(),
        applicant: Some(p.applicant.clone()),
        operator: Some(p.operator.clone()),
        developer: matches!(r.subject, Some(Subject::RedevelopedProduct(_))).then(|| p.applicant.clone()),
        agreement: r.agreement.clone(),
        jurisdiction: Some(p.jurisdiction.clone()),
        use_class: r.use_class,
        scenario_applications: r.scenario_applications.clone(),
        state: r.state,
    }
}

fn audit(r: &ProductReview) -> serde_json::Value {
    serde_json::json!({ "state": format!("{:?}", state_of(r)), "round": round(r), "materials": r.materials_revision })
}

pub(super) fn fresh_checklist(kinds: &[ComplianceCheckKind]) -> Vec<ComplianceCheck> {
    kinds
        .iter()
        .map(|k| ComplianceCheck {
            kind: *k as i32,
            result: Result_::Pending as i32,
            ..Default::default()
        })
        .collect()
}

/// ∅ → UNDER_REVIEW (round 1) for a product the registry announced submitted ("在…发布前，提交合规审核申请",
/// S-HN Art.15; S-HB §四(五)1): the profile's checklist, no materials yet (revision 0). The handler seats the panel,
/// then announces the opening with [`opened`].
pub fn open(r: &mut ProductReview, call: &Call, product: &ProductSnapshot, rules: &ProductRules) {
    let operator = product
        .operator
        .as_ref()
        .map(|o| o.name.clone())
        .unwrap_or_default();
    r.subject = Some(Subject::Product(product.name.clone()));
    r.display_name = product.display_name.clone();
    r.applicant = operator.clone();
    r.operator = operator;
    r.agreement = product.agreement.clone();
    r.jurisdiction = product
        .jurisdiction
        .as_ref()
        .map(|j| j.name.clone())
        .unwrap_or_default();
    r.source_resources = product.source_resources.clone();
    r.scenario_applications = product.scenario_applications.clone();
    r.use_class = product.use_class;
    r.involves_personal_info = product.involves_personal_info;
    r.checks = fresh_checklist(&rules.checklist);
    r.state = State::UnderReview as i32;
    r.profile_id = rules.profile_id.clone();
    r.registration_required = rules.registration_required;
    r.materials_revision = 0;
    r.timeline = Some(pdop_proto::review::v1::ReviewTimeline {
        submit_time: Some(timestamp(call.now)),
        review_round: 1,
        ..Default::default()
    });
}

pub fn opened(
    r: &ProductReview,
    call: &Call,
    source_event_id: &str,
    p: &Parties,
) -> Change<ev::ProductReviewOpened> {
    let event = ev::ProductReviewOpened {
        review: Some(summary(r, p)),
        source_event_id: source_event_id.to_owned(),
        review_deadline: None,
        actor: Some(actor(&call.caller)),
    };
    Change::new(&r.name, audit(r)).announce(event)
}

/// M-1, M-2: a change of the materials is a new revision; it starts no round and leaves the seats as they are.
pub fn revise_materials(
    r: &mut ProductReview,
    call: &Call,
    materials: Vec<DocumentRef>,
) -> Result<(), Error> {
    require(r, Transition::EditMaterials)?;
    own(call, r)?;
    r.materials_revision += 1;
    r.material_revisions.push(MaterialsRevision {
        revision: r.materials_revision,
        materials: materials.clone(),
        changed: Some(audit_info(&call.caller, call.now)),
    });
    r.materials = materials;
    Ok(())
}

pub fn own(call: &Call, r: &ProductReview) -> Result<(), Error> {
    if call.caller.organization != r.applicant {
        return Err(Error::denied(
            ErrorReason::NotTheApplicant,
            format!("only the applicant {} may do this to {}", r.applicant, r.name),
        ));
    }
    Ok(())
}

/// An edit of the review outside the materials: private, audited, not announced.
pub fn edited(r: &ProductReview, paths: Vec<&str>) -> Change {
    Change::new(
        &r.name,
        serde_json::json!({ "changed": paths, "materials": r.materials_revision }),
    )
}

/// DRAFT / SUPPLEMENT_REQUESTED → UNDER_REVIEW: a new round; checklist results and seats start again (R-RV-09).
pub fn submit(
    r: &mut ProductReview,
    call: &Call,
    rules: &ProductRules,
    p: &Parties,
) -> Result<Change<ev::ProductReviewSubmitted>, Error> {
    require(r, Transition::Submit)?;
    own(call, r)?;
    let resubmission = state_of(r) == State::SupplementRequested;
    r.checks = fresh_checklist(&rules.checklist);
    let timeline = r.timeline.get_or_insert_default();
    timeline.review_round += 1;
    timeline.submit_time = Some(timestamp(call.now));
    r.state = State::UnderReview as i32;
    r.supplement_request = None;
    let event = ev::ProductReviewSubmitted {
        review: Some(summary(r, p)),
        resubmission,
        review_deadline: None,
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&r.name, audit(r)).announce(event))
}

/// Checklist results from a panel seat: each kind must be on the profile's checklist and a FAILED one needs a
/// finding; each result records the materials revision it was recorded on (M-3).
pub fn record_checks(
    r: &mut ProductReview,
    call: &Call,
    results: Vec<ComplianceCheck>,
) -> Result<Change, Error> {
    require(r, Transition::Check)?;
    for result in results {
        let Some(item) = r.checks.iter_mut().find(|c| c.kind == result.kind) else {
            return Err(Error::refused(
                ErrorReason::NotOnChecklist,
                format!(
                    "{:?} is not on the checklist of profile {} for {}",
                    ComplianceCheckKind::try_from(result.kind).unwrap_or_default(),
                    r.profile_id,
                    r.name
                ),
            ));
        };
        item.result = result.result;
        item.comment = result.comment;
        item.evidence = result.evidence;
        item.recorded = Some(audit_info(&call.caller, call.now));
        item.materials_revision = r.materials_revision;
    }
    Ok(Change::new(&r.name, audit(r)))
}

fn result_of(c: &ComplianceCheck) -> Result_ {
    Result_::try_from(c.result).unwrap_or_default()
}

fn kinds(r: &ProductReview, want: Result_) -> Vec<i32> {
    r.checks
        .iter()
        .filter(|c| result_of(c) == want)
        .map(|c| c.kind)
        .collect()
}

fn decided(r: &mut ProductReview, call: &Call, state: State, d: Decision, outcome: ReviewOutcome) {
    let record = d.record(call, outcome, round(r), r.materials_revision);
    r.state = state as i32;
    r.decisions.push(record);
    if matches!(state, State::Approved | State::Rejected) {
        r.timeline.get_or_insert_default().decide_time = Some(timestamp(call.now));
    }
}

/// UNDER_REVIEW → APPROVED: every applicable checklist item PASSED; where the profile requires it (Henan, Laiyuan)
/// at least one scenario named and every named one APPROVED (S-HN Art.15 一场景一审核; S-LY §三(三)4(3)). The panel
/// checks (R-RV-03) run before. The registry lists the product, or holds it until registration.
pub fn approve(
    r: &mut ProductReview,
    call: &Call,
    rules: &ProductRules,
    scenarios: &[(String, ScenarioApplicationState)],
    d: Decision,
    p: &Parties,
) -> Result<Change<ev::ProductComplianceApproved>, Error> {
    require(r, Transition::Decide)?;
    let open: Vec<String> = r
        .checks
        .iter()
        .filter(|c| !matches!(result_of(c), Result_::Passed | Result_::NotApplicable))
        .map(|c| format!("{:?}", ComplianceCheckKind::try_from(c.kind).unwrap_or_default()))
        .collect();
    if !open.is_empty() {
        return Err(Error::refused(
            ErrorReason::ChecklistOpen,
            format!("{}: checklist items not PASSED: {}", r.name, open.join(", ")),
        ));
    }
    if let Some(source) = &rules.requires_approved_scenario {
        let unapproved: Vec<&str> = r
            .scenario_applications
            .iter()
            .filter(|s| {
                !scenarios
                    .iter()
                    .any(|(n, st)| n == *s && *st == ScenarioApplicationState::Approved)
            })
            .map(String::as_str)
            .collect();
        if r.scenario_applications.is_empty() || !unapproved.is_empty() {
            return Err(Error::refused(
                ErrorReason::ScenarioNotApproved,
                format!(
                    "profile {} releases products only for approved scenarios ({source}); {}",
                    rules.profile_id,
                    if unapproved.is_empty() {
                        "the product names none".to_owned()
                    } else {
                        format!("not approved: {}", unapproved.join(", "))
                    }
                ),
            ));
        }
    }
    let conditions = d.conditions.clone();
    decided(r, call, State::Approved, d, ReviewOutcome::Approved);
    let event = ev::ProductComplianceApproved {
        review: Some(summary(r, p)),
        passed_checks: kinds(r, Result_::Passed),
        conditions,
        registration_required: r.registration_required,
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&r.name, audit(r)).announce(event))
}

/// Rejection: from UNDER_REVIEW, or from SUPPLEMENT_REQUESTED once the supplement's due date passed (R-RV-05).
pub fn require_reject(r: &ProductReview, today: chrono::NaiveDate) -> Result<(), Error> {
    if state_of(r) == State::SupplementRequested
        && super::decision::lapsed(r.supplement_request.as_ref(), today)
    {
        return Ok(());
    }
    require(r, Transition::Decide)
}

/// UNDER_REVIEW → REJECTED with reasons and basis (R-RV-04); the failed items are listed. The registry returns the
/// product to DRAFT.
pub fn reject(
    r: &mut ProductReview,
    call: &Call,
    d: Decision,
    p: &Parties,
) -> Result<Change<ev::ProductComplianceRejected>, Error> {
    require_reject(r, call.today())?;
    let (reasons, basis) = (d.reasons.clone(), d.basis.clone());
    decided(r, call, State::Rejected, d, ReviewOutcome::Rejected);
    let event = ev::ProductComplianceRejected {
        review: Some(summary(r, p)),
        failed_checks: kinds(r, Result_::Failed),
        reasons,
        basis,
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&r.name, audit(r)).announce(event))
}

/// UNDER_REVIEW → SUPPLEMENT_REQUESTED (R-RV-05).
pub fn return_for_supplement(
    r: &mut ProductReview,
    call: &Call,
    request: SupplementRequest,
    p: &Parties,
) -> Result<Change<ev::ProductReviewSupplementRequested>, Error> {
    require(r, Transition::Decide)?;
    let reasons = request
        .items
        .iter()
        .map(|i| i.description.clone())
        .collect::<Vec<_>>()
        .join("; ");
    let missing = request.items.iter().map(|i| i.item.clone()).collect();
    let due_date = request.due_date;
    r.supplement_request = Some(SupplementRequest {
        requested: Some(audit_info(&call.caller, call.now)),
        ..request
    });
    let d = Decision {
        reasons,
        ..Default::default()
    };
    decided(
        r,
        call,
        State::SupplementRequested,
        d,
        ReviewOutcome::SupplementRequested,
    );
    let event = ev::ProductReviewSupplementRequested {
        review: Some(summary(r, p)),
        missing_items: missing,
        due_date,
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&r.name, audit(r)).announce(event))
}

/// UNDER_REVIEW / SUPPLEMENT_REQUESTED → WITHDRAWN by the applicant (inferred); the registry returns the product
/// to DRAFT (RG-1).
pub fn withdraw(
    r: &mut ProductReview,
    call: &Call,
    reason: String,
    p: &Parties,
) -> Result<Change<ev::ProductReviewWithdrawn>, Error> {
    require(r, Transition::Withdraw)?;
    own(call, r)?;
    r.state = State::Withdrawn as i32;
    r.withdraw_reason = reason.clone();
    let event = ev::ProductReviewWithdrawn {
        review: Some(summary(r, p)),
        reason,
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&r.name, audit(r)).announce(event))
}

/// Who reads a review: the applicant, the operator concerned and the panel; supervisors and auditors of its
/// jurisdiction (checked by the handler).
pub fn is_party(caller: &pdop_kit::auth::Caller, r: &ProductReview) -> bool {
    caller.organization == r.applicant
        || caller.organization == r.operator
        || r.reviewers.iter().any(|s| s.organization == caller.organization)
}

impl super::appeal::Appealable for ProductReview {
    fn appeal_kind(&self) -> pdop_proto::review::v1::AppealSubjectKind {
        pdop_proto::review::v1::AppealSubjectKind::ProductReview
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
        let record = d.record(
            call,
            ReviewOutcome::ReopenedOnAppeal,
            round(self) + 1,
            self.materials_revision,
        );
        self.decisions.push(record);
        for c in &mut self.checks {
            c.result = Result_::Pending as i32;
            c.recorded = None;
        }
        super::panel::new_round(&mut self.reviewers);
        let timeline = self.timeline.get_or_insert_default();
        timeline.review_round += 1;
        timeline.submit_time = Some(timestamp(call.now));
        timeline.decide_time = None;
        self.state = State::UnderReview as i32;
    }
}
