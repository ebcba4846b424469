//! Registration (登记, N3 发改数据规〔2025〕26号) of a data resource or product: apply → accept (3 WD, D3) →
//! formal review (20 WD, D4) → public notice (10 WD, D5) → code (赋码), valid 3 years (D7). The one transition
//! table of a registration is [`Transition::starts_from`]; each transition is a pure function on the locked
//! message that returns the `Change` it made. What happens after coding is in `registration_lifecycle`.

use chrono::Months;
use pdop_kit::auth::{Caller, Role};
use pdop_kit::convert::{self, actor, date, naive_date, optional_date, timestamp};
use pdop_kit::scope::Ancestry;
use pdop_kit::uow::{Call, Change};
use pdop_proto::common::{DateRange, JurisdictionRef, OrganizationRef};
use pdop_proto::registry::events::v1 as ev;
use pdop_proto::registry::v1::registration::Subject;
use pdop_proto::registry::v1::{
    MissingMaterial, Registration, RegistrationKind, RegistrationMaterialKind, RegistrationReviewOutcome,
    RegistrationState, ResourceState,
};
use pdop_rules::deadlines::deadline;
use pdop_rules::profiles::RegistrationPrecondition;
use pdop_rules::{Calendar, Profile};

use super::error::{Error, ErrorReason, require_state};

pub const COLLECTION: &str = "registrations";

/// The first-registration materials N3 Art.9 lists (首次登记).
pub const FIRST_REGISTRATION_MATERIALS: [RegistrationMaterialKind; 7] = [
    RegistrationMaterialKind::RegistrantInfo,
    RegistrationMaterialKind::LawfulSource,
    RegistrationMaterialKind::ResourceDescription,
    RegistrationMaterialKind::EvidenceDeposit,
    RegistrationMaterialKind::ProductInfo,
    RegistrationMaterialKind::ScenarioInfo,
    RegistrationMaterialKind::SecurityRiskAssessment,
];

pub fn state_of(r: &Registration) -> RegistrationState {
    RegistrationState::try_from(r.state).unwrap_or(RegistrationState::Unspecified)
}

/// Every transition guarded by the state it starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Edit,
    Submit,
    Accept,
    ReturnForSupplement,
    Refuse,
    CompleteReview,
    StartNotice,
    IssueCode,
    UpholdObjection,
    /// A change, correction or cancellation application names its original.
    ApplyTo,
    /// A change or correction is applied to its original.
    Amend,
    Renew,
    Cancel,
    /// The accepted cancellation application a cancellation completes.
    CompleteCancellation,
}

impl Transition {
    #[cfg(test)]
    pub const ALL: [Transition; 14] = [
        Self::Edit,
        Self::Submit,
        Self::Accept,
        Self::ReturnForSupplement,
        Self::Refuse,
        Self::CompleteReview,
        Self::StartNotice,
        Self::IssueCode,
        Self::UpholdObjection,
        Self::ApplyTo,
        Self::Amend,
        Self::Renew,
        Self::Cancel,
        Self::CompleteCancellation,
    ];

    /// The transition table: the states each transition may start from.
    pub fn starts_from(self) -> &'static [RegistrationState] {
        use RegistrationState::*;
        match self {
            Self::Edit | Self::Submit => &[Draft, ReturnedForSupplement],
            Self::Accept | Self::ReturnForSupplement | Self::Refuse => &[Submitted],
            Self::CompleteReview | Self::CompleteCancellation => &[Accepted],
            Self::StartNotice => &[ReviewPassed],
            Self::IssueCode | Self::UpholdObjection => &[PublicNotice],
            Self::ApplyTo | Self::Amend | Self::Renew | Self::Cancel => &[Coded],
        }
    }

    /// How a refusal names the transition (`… needs it to be …`).
    fn action(self) -> &'static str {
        match self {
            Self::Edit => "editing",
            Self::Submit => "submitting",
            Self::Accept => "accepting",
            Self::ReturnForSupplement => "returning for supplement",
            Self::Refuse => "refusing",
            Self::CompleteReview => "completing the formal review",
            Self::StartNotice => "starting the public notice",
            Self::IssueCode => "issuing the code",
            Self::UpholdObjection => "terminating it",
            Self::ApplyTo => "applying to it",
            Self::Amend => "amending it",
            Self::Renew => "renewal",
            Self::Cancel => "cancellation",
            Self::CompleteCancellation => "completing the cancellation",
        }
    }
}

/// WRONG_STATE unless `reg` is in a state `t` starts from.
pub fn require(reg: &Registration, t: Transition) -> Result<(), Error> {
    require_state(&reg.name, state_of(reg), t.starts_from(), t.action())
}

/// The applicant's own staff, or the registry's (data authority), may read an application.
pub fn may_read(caller: &Caller, applicant: &str) -> bool {
    caller.has_role(Role::DataAuthority) || caller.has_role(Role::Auditor) || caller.organization == applicant
}

/// Nobody decides their own organization's application.
pub fn not_own(caller: &Caller, reg: &Registration) -> Result<(), Error> {
    if caller.organization == reg.applicant {
        return Err(Error::denied(
            ErrorReason::OwnApplication,
            format!(
                "{} is your own organization's matter; another official must decide it",
                reg.name
            ),
        ));
    }
    Ok(())
}

/// A data authority decides on registrations of its own jurisdiction and those below it (THREATS H2), never on
/// its own organization's application.
pub fn may_decide(caller: &Caller, ancestry: &Ancestry, reg: &Registration) -> Result<(), Error> {
    not_own(caller, reg)?;
    super::scope::may_supervise(caller, ancestry, &reg.name)
}

/// Only the applicant edits and submits its application.
pub fn own_application(caller: &Caller, reg: &Registration, what: &str) -> Result<(), Error> {
    if caller.organization != reg.applicant {
        return Err(Error::denied(ErrorReason::NotYourApplication, what.to_owned()));
    }
    Ok(())
}

/// A change, correction or cancellation applies to a CODED registration of the same subject.
pub fn may_apply_to(original: &Registration, subject: &str) -> Result<(), Error> {
    require(original, Transition::ApplyTo)?;
    if subject_name(original) != subject {
        return Err(Error::refused(
            ErrorReason::SubjectMismatch,
            format!("{} registers another subject", original.name),
        ));
    }
    Ok(())
}

/// The `resources/…` or `products/…` name a registration is about.
pub fn subject_name(reg: &Registration) -> String {
    match &reg.subject {
        Some(Subject::Resource(n) | Subject::Product(n)) => n.clone(),
        None => String::new(),
    }
}

/// The references a registration's events carry, read by storage for the locked registration.
#[derive(Debug, Clone, Default)]
pub struct Parties {
    pub applicant: OrganizationRef,
    pub registrant: OrganizationRef,
    pub jurisdiction: JurisdictionRef,
}

/// The self-contained summary events carry (the disclosure service publishes from it).
pub fn summary(reg: &Registration, parties: &Parties) -> ev::RegistrationSummary {
    ev::RegistrationSummary {
        name: reg.name.clone(),
        kind: reg.kind,
        subject: subject_name(reg),
        registrant: Some(parties.registrant.clone()),
        applicant: Some(parties.applicant.clone()),
        jurisdiction: Some(parties.jurisdiction.clone()),
        title: reg.title.clone(),
        content_summary: reg.content_summary.clone(),
        original_registration: reg.original_registration.clone(),
        state: reg.state,
    }
}

/// The audit detail of a state change: the new state and the due date of the clock now running.
pub fn audit_detail(reg: &Registration) -> serde_json::Value {
    let deadline = reg
        .current_deadline
        .as_ref()
        .and_then(|d| d.due_date)
        .map(|d| format!("{}-{:02}-{:02}", d.year, d.month, d.day));
    serde_json::json!({ "state": format!("{:?}", state_of(reg)), "deadline": deadline })
}

fn change<E>(reg: &Registration) -> Change<E> {
    Change::new(&reg.name, audit_detail(reg))
}

/// Who applies: the registrant (provider or operator), or a data authority for it; anyone with an interest may
/// apply for a correction (N3 Art.9(3)). Returns the applicant.
pub fn applicant_for(kind: RegistrationKind, caller: &Caller, registrant: &str) -> Result<String, Error> {
    if kind == RegistrationKind::Correction {
        return Ok(caller.organization.clone());
    }
    if !(caller.organization == registrant || caller.has_role(Role::DataAuthority)) {
        return Err(Error::denied(
            ErrorReason::NotTheRegistrant,
            format!("only {registrant} may apply for this registration"),
        ));
    }
    Ok(registrant.to_owned())
}

/// A new DRAFT application with its filing deadline: D1 (N3 Art.9) apply within 20 WD of starting operation;
/// D2 for operations predating N3. Drafts are private: audited, but no event.
pub fn draft(reg: &mut Registration, profile: &Profile, calendar: &Calendar) -> Change {
    let kind = RegistrationKind::try_from(reg.kind).unwrap_or(RegistrationKind::Unspecified);
    reg.state = RegistrationState::Draft as i32;
    let start = optional_date(reg.operation_start_date.as_ref()).ok().flatten();
    let rules = &profile.registration;
    reg.current_deadline = match (kind, reg.legacy_operation) {
        (RegistrationKind::First, true) => {
            match (&rules.legacy_registration, &rules.legacy_registration_from) {
                (Some(period), Some(from)) => Some(convert::deadline(&deadline(
                    calendar, profile, "D2", period, from.value,
                ))),
                _ => None,
            }
        }
        (RegistrationKind::First, false) => match (&rules.first_registration, start) {
            (Some(period), Some(start)) => Some(convert::deadline(&deadline(
                calendar, profile, "D1", period, start,
            ))),
            _ => None,
        },
        _ => None,
    };
    Change::new(
        &reg.name,
        serde_json::json!({ "subject": subject_name(reg), "kind": format!("{kind:?}") }),
    )
}

/// What acceptance needs of the registered resource under some profiles (S-HN Art.10).
#[derive(Debug, Clone, Copy)]
pub struct ResourceFacts {
    pub state: ResourceState,
    pub state_asset_duties_fulfilled: bool,
}

/// Checks what submitting needs before anything is read for it: the applicant, the state and the materials.
/// N3 Art.7: after internal business review, with the evidence deposit (存证) made; Art.9: a first registration
/// needs every listed material, a later application at least one supporting material.
pub fn may_submit(caller: &Caller, reg: &Registration) -> Result<(), Error> {
    own_application(caller, reg, "only the applicant submits its application")?;
    require(reg, Transition::Submit)?;
    let first = reg.kind == RegistrationKind::First as i32;
    let mut missing: Vec<String> = if first {
        FIRST_REGISTRATION_MATERIALS
            .iter()
            .filter(|kind| !reg.materials.iter().any(|m| m.kind == **kind as i32))
            .map(|kind| format!("{kind:?}"))
            .collect()
    } else if reg.materials.is_empty() {
        vec!["a supporting material for the change, correction or cancellation".to_owned()]
    } else {
        Vec::new()
    };
    if reg.internal_review.as_ref().is_none_or(|d| d.uri.is_empty()) {
        missing.push("internal business review (N3 Art.7)".to_owned());
    }
    if !missing.is_empty() {
        return Err(Error::refused(
            ErrorReason::MaterialsMissing,
            format!(
                "add these materials before submitting (N3 Art.7, Art.9): {}",
                missing.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Profile preconditions of acceptance, e.g. Henan (S-HN Art.10): catalogue compiled, state-asset duties done.
pub fn check_preconditions(profile: &Profile, resource: &ResourceFacts) -> Result<(), Error> {
    let Some(preconditions) = &profile.registration.preconditions else {
        return Ok(());
    };
    for precondition in &preconditions.value {
        let (met, what) = match precondition {
            RegistrationPrecondition::CatalogueCompiled => (
                resource.state == ResourceState::Catalogued,
                "catalogue the resource (目录编制) first",
            ),
            RegistrationPrecondition::StateAssetRules => (
                resource.state_asset_duties_fulfilled,
                "record that state-asset duties are fulfilled on the resource first",
            ),
        };
        if !met {
            return Err(Error::refused(
                ErrorReason::ProfilePrecondition,
                format!(
                    "{} ({}) does not accept this registration yet: {what}",
                    profile.id, preconditions.source
                ),
            ));
        }
    }
    Ok(())
}

/// SUBMITTED, with D3 (N3 Art.10): 3 WD to accept, counted from receipt; a resubmission restarts it.
pub fn submit(
    reg: &mut Registration,
    parties: &Parties,
    call: &Call,
    profile: &Profile,
    calendar: &Calendar,
    resource: Option<&ResourceFacts>,
) -> Result<Change<ev::RegistrationSubmitted>, Error> {
    may_submit(&call.caller, reg)?;
    if let Some(resource) = resource {
        check_preconditions(profile, resource)?;
    }
    let resubmission = state_of(reg) == RegistrationState::ReturnedForSupplement;
    reg.state = RegistrationState::Submitted as i32;
    reg.submit_time = Some(timestamp(call.now));
    reg.current_deadline = profile
        .registration
        .acceptance
        .as_ref()
        .map(|p| convert::deadline(&deadline(calendar, profile, "D3", p, call.today())));
    Ok(change(reg).announce(ev::RegistrationSubmitted {
        registration: Some(summary(reg, parties)),
        resubmission,
        acceptance_deadline: reg.current_deadline.clone(),
        actor: Some(actor(&call.caller)),
    }))
}

/// ACCEPTED, with D4 (N3 Art.11): formal review within 20 WD of acceptance; or D6 (N3 Art.9(4)): a
/// cancellation is completed within 10 WD of acceptance.
pub fn accept(
    reg: &mut Registration,
    parties: &Parties,
    call: &Call,
    profile: &Profile,
    calendar: &Calendar,
) -> Result<Change<ev::RegistrationAccepted>, Error> {
    require(reg, Transition::Accept)?;
    reg.state = RegistrationState::Accepted as i32;
    reg.accept_time = Some(timestamp(call.now));
    reg.missing_materials.clear();
    let (rule, setting) = if is_cancellation(reg) {
        ("D6", &profile.registration.cancellation)
    } else {
        ("D4", &profile.registration.formal_review)
    };
    reg.current_deadline = setting
        .as_ref()
        .map(|p| convert::deadline(&deadline(calendar, profile, rule, p, call.today())));
    Ok(change(reg).announce(ev::RegistrationAccepted {
        registration: Some(summary(reg, parties)),
        next_deadline: reg.current_deadline.clone(),
        actor: Some(actor(&call.caller)),
    }))
}

pub fn is_cancellation(reg: &Registration) -> bool {
    reg.kind == RegistrationKind::Cancellation as i32
}

/// RETURNED_FOR_SUPPLEMENT with the one-time list of what is missing (一次性告知, N3 Art.10). The applicant owes
/// the supplement; no registry clock runs until it is resubmitted.
pub fn return_for_supplement(
    reg: &mut Registration,
    parties: &Parties,
    call: &Call,
    missing: Vec<MissingMaterial>,
    note: &str,
) -> Result<Change<ev::RegistrationReturnedForSupplement>, Error> {
    require(reg, Transition::ReturnForSupplement)?;
    reg.state = RegistrationState::ReturnedForSupplement as i32;
    reg.decision_reason = note.trim().to_owned();
    reg.current_deadline = None;
    reg.missing_materials = missing;
    Ok(change(reg).announce(ev::RegistrationReturnedForSupplement {
        registration: Some(summary(reg, parties)),
        missing_kinds: reg.missing_materials.iter().map(|m| m.kind).collect(),
        missing_descriptions: reg
            .missing_materials
            .iter()
            .map(|m| m.description.clone())
            .collect(),
        actor: Some(actor(&call.caller)),
    }))
}

/// NOT_ACCEPTED with reasons (N3 Art.10).
pub fn refuse(
    reg: &mut Registration,
    parties: &Parties,
    call: &Call,
    reason: &str,
) -> Result<Change<ev::RegistrationRefused>, Error> {
    require(reg, Transition::Refuse)?;
    reg.state = RegistrationState::NotAccepted as i32;
    reg.decision_reason = reason.trim().to_owned();
    reg.current_deadline = None;
    Ok(change(reg).announce(ev::RegistrationRefused {
        registration: Some(summary(reg, parties)),
        reason: reg.decision_reason.clone(),
        actor: Some(actor(&call.caller)),
    }))
}

/// The outcome of a formal review as the request gives it.
#[derive(Debug, Clone)]
pub struct Review {
    pub outcome: RegistrationReviewOutcome,
    pub reasons: String,
    pub late_explanation: String,
}

/// Whether completing the review of `reg` (ACCEPTED) cancels its original: a cancellation needs no public
/// notice, passing review completes it (N3 Art.9(4), D6).
pub fn review_cancels_original(reg: &Registration, review: &Review) -> bool {
    is_cancellation(reg) && review.outcome == RegistrationReviewOutcome::Passed
}

/// Checks what completing the review needs before anything is read: the state, and (N3 Art.11) a review
/// finished after its 20 WD explains why.
pub fn may_complete_review(reg: &Registration, call: &Call, review: &Review) -> Result<(), Error> {
    require(reg, Transition::CompleteReview)?;
    let due = reg
        .current_deadline
        .as_ref()
        .and_then(|d| d.due_date.as_ref())
        .and_then(naive_date);
    if due.is_some_and(|due| call.today() > due) && review.late_explanation.trim().is_empty() {
        return Err(Error::invalid(
            "late_explanation",
            "the 20-working-day review period (D4, N3 Art.11) has passed; explain the delay",
        ));
    }
    Ok(())
}

/// REJECTED, REVIEW_PASSED, or COMPLETED for a cancellation that passed.
pub fn complete_review(
    reg: &mut Registration,
    parties: &Parties,
    call: &Call,
    review: Review,
) -> Result<Change<ev::RegistrationReviewCompleted>, Error> {
    may_complete_review(reg, call, &review)?;
    let completes = review_cancels_original(reg, &review);
    reg.late_explanation = review.late_explanation.trim().to_owned();
    reg.review_complete_time = Some(timestamp(call.now));
    reg.decision_reason = review.reasons.trim().to_owned();
    reg.state = match (review.outcome, completes) {
        (RegistrationReviewOutcome::Failed, _) => RegistrationState::Rejected as i32,
        (_, true) => RegistrationState::Completed as i32,
        _ => RegistrationState::ReviewPassed as i32,
    };
    reg.current_deadline = None;
    Ok(change(reg).announce(ev::RegistrationReviewCompleted {
        registration: Some(summary(reg, parties)),
        outcome: review.outcome as i32,
        reasons: reg.decision_reason.clone(),
        late: !reg.late_explanation.is_empty(),
        late_explanation: reg.late_explanation.clone(),
        actor: Some(actor(&call.caller)),
    }))
}

/// PUBLIC_NOTICE from `start`. D5 (N3 Art.12): the notice lasts 10 WD and its first day is one of them. A period
/// counts the working days after its trigger day (DOMAIN §10), so the count runs from the day before the notice
/// starts.
pub fn start_notice(
    reg: &mut Registration,
    parties: &Parties,
    call: &Call,
    profile: &Profile,
    calendar: &Calendar,
    start: chrono::NaiveDate,
) -> Result<Change<ev::RegistrationNoticeStarted>, Error> {
    require(reg, Transition::StartNotice)?;
    let notice = profile.registration.public_notice.as_ref().map(|p| {
        let trigger = start.pred_opt().unwrap_or(start);
        let mut notice = deadline(calendar, profile, "D5", p, trigger);
        notice.start = start;
        convert::deadline(&notice)
    });
    reg.state = RegistrationState::PublicNotice as i32;
    reg.notice_period = Some(DateRange {
        start_date: Some(date(start)),
        end_date: notice.as_ref().and_then(|d| d.due_date),
    });
    reg.current_deadline = notice;
    Ok(change(reg).announce(ev::RegistrationNoticeStarted {
        registration: Some(summary(reg, parties)),
        notice_period: reg.notice_period,
        period_working_days: reg.current_deadline.as_ref().map_or(0, |d| d.duration),
        notice_deadline: reg.current_deadline.clone(),
        actor: Some(actor(&call.caller)),
    }))
}

/// Checks that the code may follow the notice: it ended (N3 Art.12-13) and no objection is pending.
pub fn may_issue(reg: &Registration, call: &Call) -> Result<(), Error> {
    require(reg, Transition::IssueCode)?;
    let notice_end = reg
        .notice_period
        .as_ref()
        .and_then(|p| p.end_date.as_ref())
        .and_then(naive_date);
    if notice_end.is_none_or(|end| call.today() <= end) {
        return Err(Error::refused(
            ErrorReason::NoticeOpen,
            format!(
                "the public notice runs until {}; the code is issued after it ends without an upheld objection (N3 Art.12-13)",
                notice_end.map(|d| d.to_string()).unwrap_or_default()
            ),
        ));
    }
    if reg.objection_count > 0 {
        return Err(Error::refused(
            ErrorReason::ObjectionsOpen,
            "decide every objection before issuing the code",
        ));
    }
    Ok(())
}

pub fn is_first(reg: &Registration) -> bool {
    reg.kind == RegistrationKind::First as i32
}

/// CODED under `code`. D7 (N3 Art.15): valid 3 years from coding, or the operating term when that ends sooner.
pub fn issue_code(
    reg: &mut Registration,
    parties: &Parties,
    call: &Call,
    code: String,
) -> Result<Change<ev::RegistrationCoded>, Error> {
    may_issue(reg, call)?;
    let today = call.today();
    reg.registration_code = code;
    let three_years = today.checked_add_months(Months::new(36)).unwrap_or(today);
    let term_end = optional_date(reg.operating_term_end_date.as_ref()).ok().flatten();
    let valid_until = term_end.filter(|end| *end < three_years).unwrap_or(three_years);
    reg.validity = Some(DateRange {
        start_date: Some(date(today)),
        end_date: Some(date(valid_until)),
    });
    reg.state = RegistrationState::Coded as i32;
    reg.current_deadline = None;
    Ok(change(reg).announce(ev::RegistrationCoded {
        registration: Some(summary(reg, parties)),
        application: reg.name.clone(),
        registration_code: reg.registration_code.clone(),
        validity: reg.validity,
        actor: Some(actor(&call.caller)),
    }))
}

/// Fills the configured code pattern: `{division}` (GB/T 2260 code, or the jurisdiction id), `{year}`,
/// `{seq}` (six digits). The national coding rules (N3 Art.13) were not published, so it is configurable.
pub fn format_code(pattern: &str, division: &str, year: i32, seq: i64) -> String {
    code_space(pattern, division, year).replace("{seq}", &format!("{seq:06}"))
}

/// The code without its sequence number: codes are numbered per code space.
pub fn code_space(pattern: &str, division: &str, year: i32) -> String {
    pattern
        .replace("{division}", division)
        .replace("{year}", &year.to_string())
}

#[cfg(test)]
#[path = "registration_tests.rs"]
mod tests;
