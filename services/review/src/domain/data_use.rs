//! Data-use applications (用数申请, §2.4): DRAFT → UNDER_REVIEW ⇄ SUPPLEMENT_REQUESTED; UNDER_REVIEW → APPROVED |
//! REJECTED | WITHDRAWN; APPROVED → PROVISIONED; APPROVED | PROVISIONED → REVOKED. In combined profiles the
//! scenario's approval creates one directly APPROVED (CF-3, `data_use_grant`). The one transition table is
//! [`Transition::starts_from`]; the review steps (confirm, approve, reject, return) are in `data_use_review`.

use pdop_kit::auth::{Caller, Role};
use pdop_kit::convert::{actor, timestamp};
use pdop_kit::uow::{Call, Change, Quiet};
use pdop_proto::common::{Deadline, DocumentRef, JurisdictionRef, OrganizationRef};
use pdop_proto::registry::events::v1::AgreementSummary;
use pdop_proto::review::events::v1 as ev;
use pdop_proto::review::v1::{
    DataUseApplication, DataUseApplicationState as State, DataUseItemState, DataUseKind,
    ProviderConfirmation, ProviderConfirmationState, ReviewOutcome, ReviewerRole, ScenarioApplication,
};

pub use super::data_use_checks::{check_flow, check_items};
use super::error::{Error, ErrorReason, require_state};
use super::facts::{self, Demanded};
use super::panel::{OrgRole, SeatSource, SeatSpec};
use super::rules::DataUseRules;
use super::scenario::{self, Decision};

pub const COLLECTION: &str = "dataUseApplications";
const FIELD: &str = "data_use_application";

pub fn state_of(a: &DataUseApplication) -> State {
    State::try_from(a.state).unwrap_or_default()
}

pub fn kind_of(a: &DataUseApplication) -> DataUseKind {
    DataUseKind::try_from(a.kind).unwrap_or_default()
}

/// Every transition guarded by the states it starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Edit,
    Submit,
    /// Confirm, approve, reject, return for supplement.
    Review,
    Withdraw,
    Provision,
    Revoke,
    /// A revoked scenario takes every data use under it that is not yet terminal (§2.3, inferred).
    Cascade,
}

impl Transition {
    #[cfg(test)]
    pub const ALL: [Transition; 7] = [
        Self::Edit,
        Self::Submit,
        Self::Review,
        Self::Withdraw,
        Self::Provision,
        Self::Revoke,
        Self::Cascade,
    ];

    pub fn starts_from(self) -> &'static [State] {
        use State::*;
        match self {
            Self::Edit | Self::Submit => &[Draft, SupplementRequested],
            Self::Review => &[UnderReview],
            Self::Withdraw => &[UnderReview, SupplementRequested],
            Self::Provision => &[Approved],
            Self::Revoke => &[Approved, Provisioned],
            Self::Cascade => &[Draft, UnderReview, SupplementRequested, Approved, Provisioned],
        }
    }

    fn action(self) -> &'static str {
        match self {
            Self::Edit => "editing",
            Self::Submit => "submitting",
            Self::Review => "a review step",
            Self::Withdraw => "withdrawing",
            Self::Provision => "recording provisioning",
            Self::Revoke | Self::Cascade => "revoking",
        }
    }
}

pub fn require(a: &DataUseApplication, t: Transition) -> Result<(), Error> {
    require_state(&a.name, state_of(a), t.starts_from(), t.action())
}

/// The references the events carry (R-RV-11: organizations with their display names).
#[derive(Debug, Clone, Default)]
pub struct Parties {
    pub operator: OrganizationRef,
    pub jurisdiction: JurisdictionRef,
    pub providers: Vec<OrganizationRef>,
}

impl Parties {
    pub fn provider(&self, name: &str) -> OrganizationRef {
        self.providers
            .iter()
            .find(|p| p.name == name)
            .cloned()
            .unwrap_or_else(|| OrganizationRef {
                name: name.to_owned(),
                ..Default::default()
            })
    }
}

pub fn summary(a: &DataUseApplication, p: &Parties) -> ev::DataUseSummary {
    ev::DataUseSummary {
        name: a.name.clone(),
        display_name: a.display_name.clone(),
        kind: a.kind,
        operator: Some(p.operator.clone()),
        scenario_application: a.scenario_application.clone(),
        agreement: a.agreement.clone(),
        jurisdiction: Some(p.jurisdiction.clone()),
        resources: a
            .items
            .iter()
            .filter(|i| !i.resource.is_empty())
            .map(|i| i.resource.clone())
            .collect(),
        delivery_method: a.delivery_method,
        use_period: a.use_period,
        state: a.state,
    }
}

pub fn audit(a: &DataUseApplication) -> serde_json::Value {
    serde_json::json!({ "state": format!("{:?}", state_of(a)), "round": round(a) })
}

pub fn round(a: &DataUseApplication) -> i32 {
    a.timeline.as_ref().map_or(0, |t| t.review_round)
}

/// The providers holding items, each once, in the order of the items.
pub fn providers(a: &DataUseApplication) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in &a.items {
        if !i.provider.is_empty() && !out.contains(&i.provider) {
            out.push(i.provider.clone());
        }
    }
    out
}

/// The panel a submission seats: the profile's for public data; for a social-data import the profile's approver
/// alone, as lead, with no providers (S-LY §六(二)3, S-ZZ Art.18; national: inferred).
pub fn panel_for(a: &DataUseApplication, rules: &DataUseRules) -> Vec<SeatSpec> {
    if kind_of(a) != DataUseKind::SocialDataImport {
        return rules.panel.clone();
    }
    let from = match rules.social_import_approver {
        OrgRole::ImplementingAgency | OrgRole::Operator => SeatSource::Agreement,
        _ => SeatSource::Jurisdiction,
    };
    vec![SeatSpec {
        org: rules.social_import_approver,
        seat: ReviewerRole::Lead,
        binding: true,
        from,
    }]
}

/// Every item back to PENDING, with no decision on it.
fn pending_items(a: &mut DataUseApplication) {
    for item in &mut a.items {
        item.state = DataUseItemState::Pending as i32;
        item.approved_field_keys.clear();
        item.provider_reason.clear();
    }
}

/// ∅ → DRAFT, by the operator of the agreement while it is ACTIVE.
pub fn create(
    a: &mut DataUseApplication,
    call: &Call,
    rules: &DataUseRules,
    agreement: &AgreementSummary,
    scenario: Option<&ScenarioApplication>,
    demanded: &[Demanded],
) -> Result<Change<Quiet>, Error> {
    check_flow(a, rules, scenario)?;
    scenario::may_apply(&call.caller, agreement)?;
    if !a.co_applicant.is_empty() {
        return Err(Error::invalid(
            format!("{FIELD}.co_applicant"),
            "must be empty: the industry regulator joins through UpdateDataUseApplication (S-LY §四)",
        ));
    }
    check_items(a, agreement, scenario, demanded)?;
    a.operator = call.caller.organization.clone();
    a.agreement = agreement.name.clone();
    a.jurisdiction = agreement
        .jurisdiction
        .as_ref()
        .map(|j| j.name.clone())
        .unwrap_or_default();
    a.profile_id = rules.profile_id.clone();
    a.state = State::Draft as i32;
    pending_items(a);
    a.provider_confirmations.clear();
    a.reviewers.clear();
    a.decisions.clear();
    a.timeline = Some(Default::default());
    a.supplement_request = None;
    a.provision_reference.clear();
    a.provision_time = None;
    a.withdraw_reason.clear();
    Ok(Change::new(&a.name, audit(a)))
}

/// The applicant's own staff edit, submit and withdraw.
pub fn own(caller: &Caller, a: &DataUseApplication) -> Result<(), Error> {
    if caller.organization != a.operator {
        return Err(Error::denied(
            ErrorReason::NotTheApplicant,
            format!("only the applicant {} may do this to {}", a.operator, a.name),
        ));
    }
    Ok(())
}

/// An edit of a draft or a returned application: private, so audited and not announced.
pub fn edited(a: &DataUseApplication, paths: Vec<&str>) -> Change<Quiet> {
    Change::new(&a.name, serde_json::json!({ "changed": paths }))
}

/// Co-application (S-LY §四 "由运营机构联合行业主管部门提出"): only where the profile allows it; only an industry
/// regulator sets `co_applicant`, to its own organization, so its consent is built in; the applicant or the
/// regulator itself may clear it.
pub fn set_co_applicant(
    a: &mut DataUseApplication,
    caller: &Caller,
    rules: &DataUseRules,
    value: &str,
) -> Result<(), Error> {
    let field = format!("{FIELD}.co_applicant");
    if rules.co_applicant != Some(OrgRole::IndustryRegulator) {
        return Err(Error::invalid(
            field,
            format!(
                "profile {} has no co-applicant on data uses (co-application: S-LY §四 only)",
                rules.profile_id
            ),
        ));
    }
    let regulator = caller.has_role(Role::IndustryRegulator) && caller.organization != a.operator;
    if regulator {
        let joins = value == caller.organization;
        let leaves = value.is_empty() && a.co_applicant == caller.organization;
        if !joins && !leaves {
            return Err(Error::denied(
                ErrorReason::NotAParty,
                format!(
                    "an industry regulator sets co_applicant to its own organization {} or clears its own",
                    caller.organization
                ),
            ));
        }
    } else {
        own(caller, a)?;
        if !value.is_empty() {
            return Err(Error::invalid(
                field,
                "only the industry regulator sets co_applicant, to its own organization; the applicant may only \
                 clear it",
            ));
        }
    }
    a.co_applicant = value.to_owned();
    Ok(())
}

/// DRAFT / SUPPLEMENT_REQUESTED → UNDER_REVIEW: a new round (R-RV-09); one confirmation opened per provider
/// holding items, with its deadline (D20), and the items back to PENDING. Returns whether it is a resubmission;
/// the handler then seats the panel and announces it with [`submitted`].
pub fn submit(
    a: &mut DataUseApplication,
    call: &Call,
    rules: &DataUseRules,
    agreement: &AgreementSummary,
    scenario: Option<&ScenarioApplication>,
    demanded: &[Demanded],
    provider_deadline: Option<&Deadline>,
) -> Result<bool, Error> {
    require(a, Transition::Submit)?;
    own(&call.caller, a)?;
    facts::agreement_open(agreement)?;
    check_flow(a, rules, scenario)?;
    check_items(a, agreement, scenario, demanded)?;
    let mut missing = Vec::new();
    if a.items.is_empty() {
        missing.push("items (申请数据项)".to_owned());
    }
    if a.minimum_necessity_statement.trim().is_empty() {
        missing.push("minimum_necessity_statement (最小必要说明, S-YN Art.20)".to_owned());
    }
    if a.delivery_method == 0 {
        missing.push("delivery_method (原始数据不出域、数据可用不可见, S-HN Art.3, S-ZZ Art.18)".to_owned());
    }
    // N2 Art.5: data the provider obtained through government sharing needs the sharing provider's consent.
    if kind_of(a) == DataUseKind::PublicData {
        for (i, (item, r)) in a.items.iter().zip(demanded).enumerate() {
            if r.snapshot.obtained_through_sharing && item.sharing_consent.is_none() {
                missing.push(format!(
                    "items[{i}].sharing_consent: {} was obtained through data sharing (共享提供方同意, N2 Art.5)",
                    item.resource
                ));
            }
        }
    }
    for (i, item) in a.items.iter().enumerate() {
        let sensitive = item.involves_personal_info
            || item.involves_sensitive_personal_info
            || item.involves_trade_secret;
        if sensitive && item.subject_authorization.is_none() {
            missing.push(format!(
                "items[{i}].subject_authorization: {} holds personal information or trade secrets \
                 (S-HB §四(五)2, S-ZZ Art.18)",
                if item.resource.is_empty() {
                    "the import"
                } else {
                    &item.resource
                }
            ));
        }
    }
    if !missing.is_empty() {
        return Err(Error::refused(
            ErrorReason::Incomplete,
            format!("{} cannot be submitted without: {}", a.name, missing.join("; ")),
        ));
    }
    let resubmission = state_of(a) == State::SupplementRequested;
    pending_items(a);
    // A resubmission restarts the provider clocks (inferred): every confirmation opens anew.
    a.provider_confirmations = providers(a)
        .into_iter()
        .map(|provider| ProviderConfirmation {
            provider,
            state: ProviderConfirmationState::Pending as i32,
            deadline: provider_deadline.cloned(),
            ..Default::default()
        })
        .collect();
    let timeline = a.timeline.get_or_insert_default();
    timeline.review_round += 1;
    timeline.submit_time = Some(timestamp(call.now));
    timeline.decide_time = None;
    timeline.current_deadline = provider_deadline.cloned();
    a.state = State::UnderReview as i32;
    a.supplement_request = None;
    Ok(resubmission)
}

/// The submission's announcement: the providers that must confirm, each with its deadline.
pub fn submitted(
    a: &DataUseApplication,
    call: &Call,
    resubmission: bool,
    p: &Parties,
) -> Change<ev::DataUseApplicationSubmitted> {
    let event = ev::DataUseApplicationSubmitted {
        data_use: Some(summary(a, p)),
        resubmission,
        providers: a
            .provider_confirmations
            .iter()
            .map(|c| p.provider(&c.provider))
            .collect(),
        provider_deadlines: a
            .provider_confirmations
            .iter()
            .map(|c| c.deadline.clone().unwrap_or_default())
            .collect(),
        actor: Some(actor(&call.caller)),
    };
    Change::new(&a.name, audit(a)).announce(event)
}

/// UNDER_REVIEW / SUPPLEMENT_REQUESTED → WITHDRAWN, by the applicant (inferred).
pub fn withdraw(
    a: &mut DataUseApplication,
    call: &Call,
    reason: String,
    p: &Parties,
) -> Result<Change<ev::DataUseApplicationWithdrawn>, Error> {
    require(a, Transition::Withdraw)?;
    own(&call.caller, a)?;
    a.state = State::Withdrawn as i32;
    a.withdraw_reason = reason.clone();
    a.timeline.get_or_insert_default().current_deadline = None;
    let event = ev::DataUseApplicationWithdrawn {
        data_use: Some(summary(a, p)),
        reason,
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&a.name, audit(a)).announce(event))
}

/// APPROVED → PROVISIONED: the data reached the 授权数据资源库 (S-HB §四(三); S-ZZ Art.15 "开展数据对接"); never
/// under a suspended agreement (R-RV-14).
pub fn provision(
    a: &mut DataUseApplication,
    call: &Call,
    agreement: &AgreementSummary,
    reference: String,
    p: &Parties,
) -> Result<Change<ev::DataUseProvisioned>, Error> {
    require(a, Transition::Provision)?;
    facts::agreement_open(agreement)?;
    a.state = State::Provisioned as i32;
    a.provision_reference = reference.clone();
    a.provision_time = Some(timestamp(call.now));
    let event = ev::DataUseProvisioned {
        data_use: Some(summary(a, p)),
        provision_reference: reference,
        provision_time: a.provision_time,
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&a.name, audit(a)).announce(event))
}

/// APPROVED / PROVISIONED → REVOKED with reasons and basis (超授权使用, N2 Art.21; S-HB §五(五)4): access is
/// closed. With `revoked_scenario` set, the scenario's revocation takes every data use under it not yet terminal.
pub fn revoke(
    a: &mut DataUseApplication,
    call: &Call,
    d: Decision,
    evidence: &[DocumentRef],
    revoked_scenario: &str,
    p: &Parties,
) -> Result<Change<ev::DataUseRevoked>, Error> {
    let t = if revoked_scenario.is_empty() {
        Transition::Revoke
    } else {
        Transition::Cascade
    };
    require(a, t)?;
    if !call.caller.organization.is_empty() && call.caller.organization == a.operator {
        return Err(Error::denied(
            ErrorReason::OwnApplication,
            format!(
                "{} is your own organization's application; another organization revokes it",
                a.name
            ),
        ));
    }
    let (reasons, basis) = (d.reasons.clone(), d.basis.clone());
    a.decisions.push(super::data_use_review::decision(
        call,
        a,
        ReviewOutcome::Revoked,
        d,
    ));
    a.state = State::Revoked as i32;
    a.timeline.get_or_insert_default().current_deadline = None;
    let event = ev::DataUseRevoked {
        data_use: Some(summary(a, p)),
        reasons,
        basis,
        revoked_scenario: revoked_scenario.to_owned(),
        actor: Some(actor(&call.caller)),
    };
    let mut detail = audit(a);
    detail["evidence"] = evidence.iter().map(|e| e.uri.clone()).collect::<Vec<_>>().into();
    Ok(Change::new(&a.name, detail).announce(event))
}

/// Whether the caller's organization provides items of the application.
pub fn holds_items(caller: &Caller, a: &DataUseApplication) -> bool {
    !caller.organization.is_empty() && a.items.iter().any(|i| i.provider == caller.organization)
}

/// Who reads an application (R-RV-01): the applicant, the co-applicant, the providers holding items and the panel;
/// supervisors and auditors of its jurisdiction (checked by the handler).
pub fn is_party(caller: &Caller, a: &DataUseApplication) -> bool {
    let org = &caller.organization;
    !org.is_empty()
        && (org == &a.operator
            || org == &a.co_applicant
            || holds_items(caller, a)
            || a.reviewers.iter().any(|s| &s.organization == org))
}
