//! Appeals (申诉, §2.8): FILED → UPHELD | DISMISSED | WITHDRAWN. Only where the profile lists appeal subjects
//! (Laiyuan: "二级市场对…进驻申请、公共数据资源使用申请、数据产品出域合规审核结果存在争议的，可向实施机构提出申诉",
//! S-LY §二(五)); the implementing agency of the subject's agreement handles it, and an upheld appeal sends the
//! subject back under review (REOPENED_ON_APPEAL), a new round with its seats reset.

use pdop_kit::auth::{Caller, Role};
use pdop_kit::convert::{actor, audit_info, timestamp};
use pdop_kit::uow::{Call, Change};
use pdop_proto::common::{JurisdictionRef, OrganizationRef};
use pdop_proto::review::events::v1 as ev;
use pdop_proto::review::v1::{Appeal, AppealDecision, AppealState as State, AppealSubjectKind as Kind};
use pdop_rules::Profile;
use pdop_rules::profiles::{self as rules, CallerRole};

use super::decision::Decision;
use super::error::{Error, ErrorReason, require_state};
use super::reviewable::Reviewable;

pub const COLLECTION: &str = "appeals";

pub fn state_of(a: &Appeal) -> State {
    State::try_from(a.state).unwrap_or_default()
}

/// What an appeal needs of its subject, whatever its kind.
pub trait Appealable: Reviewable {
    fn appeal_kind(&self) -> Kind;
    /// Whether the subject stands decided against its applicant (REJECTED).
    fn contested(&self) -> bool;
    fn agreement(&self) -> &str;
    /// The token subject of whoever took the decision appealed (the latest decision), if any.
    fn decided_by(&self) -> Option<&str>;
    /// Back under review with a REOPENED_ON_APPEAL decision: a new round, seats back to ASSIGNED (§2.8).
    fn reopen(&mut self, call: &Call, reasons: &str);
}

fn profile_kind(kind: Kind) -> Option<rules::AppealSubjectKind> {
    Some(match kind {
        Kind::ScenarioApplication => rules::AppealSubjectKind::ScenarioApplication,
        Kind::DataUseApplication => rules::AppealSubjectKind::DataUseApplication,
        Kind::ProductReview => rules::AppealSubjectKind::ProductReview,
        Kind::DeveloperAdmission => rules::AppealSubjectKind::DeveloperAdmission,
        Kind::DataQualityCheck => rules::AppealSubjectKind::DataQualityCheck,
        Kind::Unspecified => return None,
    })
}

fn token_role(r: CallerRole) -> Role {
    match r {
        CallerRole::Operator => Role::Operator,
        CallerRole::Developer => Role::Developer,
    }
}

/// The profile gate (§2.8, §0): no appeal procedure, a kind the profile does not list, or a caller role outside
/// its appellants is FAILED_PRECONDITION naming the profile and its source.
pub fn may_appeal(caller: &Caller, profile: &Profile, kind: Kind) -> Result<(), Error> {
    let appeals = &profile.review.appeals;
    let Some(subjects) = &appeals.subjects else {
        return Err(Error::refused(
            ErrorReason::AppealsNotEnabled,
            format!(
                "profile {} has no appeal procedure (appeals: S-LY §二(五) only)",
                profile.id
            ),
        ));
    };
    if !profile_kind(kind).is_some_and(|k| subjects.value.contains(&k)) {
        return Err(Error::refused(
            ErrorReason::AppealsNotEnabled,
            format!(
                "profile {} takes no appeal against a {kind:?} ({})",
                profile.id, subjects.source
            ),
        ));
    }
    let appellants = appeals
        .appellants
        .as_ref()
        .map(|a| a.value.as_slice())
        .unwrap_or_default();
    if !appellants.iter().any(|r| caller.has_role(token_role(*r))) {
        let names: Vec<&str> = appellants.iter().map(|r| r.as_str()).collect();
        return Err(Error::refused(
            ErrorReason::AppellantNotAllowed,
            format!(
                "in profile {} appeals are filed by {} only",
                profile.id,
                names.join(", ")
            ),
        ));
    }
    Ok(())
}

/// The references the events carry.
#[derive(Debug, Clone, Default)]
pub struct Parties {
    pub appellant: OrganizationRef,
    pub handling: OrganizationRef,
    pub jurisdiction: JurisdictionRef,
}

fn audit(a: &Appeal) -> serde_json::Value {
    serde_json::json!({ "state": format!("{:?}", state_of(a)), "subject": a.subject })
}

/// ∅ → FILED by the subject's applicant against a REJECTED subject; the implementing agency of its agreement
/// handles it (S-LY §二(五) "可向实施机构提出申诉").
pub fn file(
    a: &mut Appeal,
    call: &Call,
    subject: &dyn Appealable,
    superseded: bool,
    p: &Parties,
) -> Result<Change<ev::AppealFiled>, Error> {
    if call.caller.organization != subject.applicant() {
        return Err(Error::denied(
            ErrorReason::NotTheApplicant,
            format!(
                "only the applicant {} appeals against {}",
                subject.applicant(),
                subject.name()
            ),
        ));
    }
    if !subject.contested() {
        return Err(Error::refused(
            ErrorReason::WrongState,
            format!(
                "{} is not rejected; an appeal contests a rejection",
                subject.name()
            ),
        ));
    }
    if superseded {
        return Err(Error::refused(
            ErrorReason::Superseded,
            format!(
                "{} is superseded by a newer review of the same product; appeal that one",
                subject.name()
            ),
        ));
    }
    a.subject = subject.name().to_owned();
    a.subject_kind = subject.appeal_kind() as i32;
    a.appellant = call.caller.organization.clone();
    a.handling_organization = p.handling.name.clone();
    a.jurisdiction = subject.jurisdiction().to_owned();
    a.state = State::Filed as i32;
    a.reviewers.clear();
    a.decision = None;
    a.withdraw_reason.clear();
    a.file_time = Some(timestamp(call.now));
    let event = ev::AppealFiled {
        name: a.name.clone(),
        subject: a.subject.clone(),
        subject_kind: a.subject_kind,
        appellant: Some(p.appellant.clone()),
        handling_organization: Some(p.handling.clone()),
        jurisdiction: Some(p.jurisdiction.clone()),
        grounds: a.grounds.clone(),
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&a.name, audit(a)).announce(event))
}

/// Only the handling implementing agency decides, and never the official who took the decision appealed.
pub fn may_decide(call: &Call, a: &Appeal, decided_by: Option<&str>) -> Result<(), Error> {
    if call.caller.organization != a.handling_organization {
        return Err(Error::denied(
            ErrorReason::NotHandling,
            format!("{} is handled by {}", a.name, a.handling_organization),
        ));
    }
    if decided_by == Some(call.caller.subject.as_str()) {
        return Err(Error::denied(
            ErrorReason::OwnDecision,
            format!(
                "you took the decision {} contests; another official handles the appeal",
                a.name
            ),
        ));
    }
    Ok(())
}

/// FILED → UPHELD (the subject is reopened by the caller) or DISMISSED, with reasons (§2.8).
pub fn decide(
    a: &mut Appeal,
    call: &Call,
    uphold: bool,
    d: Decision,
    p: &Parties,
) -> Result<Change<ev::AppealDecided>, Error> {
    require_state(&a.name, state_of(a), &[State::Filed], "a decision")?;
    let outcome = if uphold { State::Upheld } else { State::Dismissed };
    a.state = outcome as i32;
    a.decision = Some(AppealDecision {
        outcome: outcome as i32,
        reasons: d.reasons.clone(),
        basis: d.basis,
        decision_document: d.document,
        subject_reopened: uphold,
        decided: Some(audit_info(&call.caller, call.now)),
    });
    let event = ev::AppealDecided {
        name: a.name.clone(),
        subject: a.subject.clone(),
        subject_kind: a.subject_kind,
        appellant: Some(p.appellant.clone()),
        jurisdiction: Some(p.jurisdiction.clone()),
        outcome: outcome as i32,
        reasons: d.reasons,
        subject_reopened: uphold,
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&a.name, audit(a)).announce(event))
}

/// FILED → WITHDRAWN by the appellant (inferred).
pub fn withdraw(
    a: &mut Appeal,
    call: &Call,
    reason: String,
    p: &Parties,
) -> Result<Change<ev::AppealWithdrawn>, Error> {
    require_state(&a.name, state_of(a), &[State::Filed], "withdrawing")?;
    if call.caller.organization != a.appellant {
        return Err(Error::denied(
            ErrorReason::NotTheApplicant,
            format!("only the appellant withdraws {}", a.name),
        ));
    }
    a.state = State::Withdrawn as i32;
    a.withdraw_reason = reason.clone();
    let event = ev::AppealWithdrawn {
        name: a.name.clone(),
        subject: a.subject.clone(),
        jurisdiction: Some(p.jurisdiction.clone()),
        reason,
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&a.name, audit(a)).announce(event))
}

pub fn is_party(caller: &Caller, a: &Appeal) -> bool {
    caller.organization == a.appellant || caller.organization == a.handling_organization
}
