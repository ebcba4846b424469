//! The review of a data-use application (§2.4): the providers' confirmations (数据提供单位审核), the lead's
//! decision, and the data use a combined profile's scenario approval grants (CF-2, CF-3).

use chrono::NaiveDate;
use pdop_kit::Violations;
use pdop_kit::convert::{actor, audit_info, due_date, timestamp};
use pdop_kit::uow::{Call, Change};
use pdop_proto::registry::events::v1::AgreementSummary;
use pdop_proto::review::events::v1 as ev;
use pdop_proto::review::v1::{
    DataUseApplication, DataUseApplicationState as State, DataUseItem, DataUseItemDecision, DataUseItemState,
    DataUseKind, ProviderConfirmationState, ReviewDecision, ReviewOpinion, ReviewOutcome, ReviewerRole,
    SupplementRequest,
};

use super::data_use::{Parties, Transition, audit, kind_of, require, round, summary};
use super::error::{Error, ErrorReason};
use super::facts;
use super::panel::{self, role_of};
use super::rules::DataUseRules;
use super::scenario::Decision;

pub fn decision(
    call: &Call,
    a: &DataUseApplication,
    outcome: ReviewOutcome,
    text: Decision,
) -> ReviewDecision {
    text.record(call, outcome, round(a), 0)
}

fn decided(a: &mut DataUseApplication, call: &Call, state: State, d: ReviewDecision) {
    a.state = state as i32;
    a.decisions.push(d);
    let timeline = a.timeline.get_or_insert_default();
    timeline.current_deadline = None;
    if matches!(state, State::Approved | State::Rejected) {
        timeline.decide_time = Some(timestamp(call.now));
    }
}

pub(super) fn granted(item: &DataUseItem) -> bool {
    matches!(
        DataUseItemState::try_from(item.state).unwrap_or_default(),
        DataUseItemState::Approved | DataUseItemState::PartlyApproved
    )
}

/// The granted items and fields of an approval.
pub fn granted_items(a: &DataUseApplication, p: &Parties) -> Vec<ev::GrantedItem> {
    a.items
        .iter()
        .filter(|i| granted(i))
        .map(|i| ev::GrantedItem {
            resource: i.resource.clone(),
            field_keys: i.approved_field_keys.clone(),
            provider: (!i.provider.is_empty()).then(|| p.provider(&i.provider)),
        })
        .collect()
}

pub(super) fn approved_event(
    a: &DataUseApplication,
    call: &Call,
    conditions: Vec<String>,
    p: &Parties,
) -> ev::DataUseApproved {
    ev::DataUseApproved {
        data_use: Some(summary(a, p)),
        granted_items: granted_items(a, p),
        conditions,
        actor: Some(actor(&call.caller)),
    }
}

/// One decision on one item (a provider's, or the lead's on a scenario demand, CF-2) applied to it: approved
/// wholly, narrowed to a subset of its fields (S-YN Art.20 最小必要) or rejected. A rejection or a narrowing
/// states its reason; approved fields must have been requested. Violations are named under `at`.
pub(super) fn decide_item(item: &mut DataUseItem, d: &DataUseItemDecision, at: &str, v: &mut Violations) {
    let requested = &item.field_keys;
    for (k, key) in d.approved_field_keys.iter().enumerate() {
        if !requested.is_empty() && !requested.contains(key) {
            v.add(
                format!("{at}.approved_field_keys[{k}]"),
                format!("`{key}` was not requested for {}", item.resource),
            );
        }
    }
    let narrowed = d.approve
        && !d.approved_field_keys.is_empty()
        && (requested.is_empty()
            || requested.len() != d.approved_field_keys.len()
            || requested.iter().any(|k| !d.approved_field_keys.contains(k)));
    if (!d.approve || narrowed) && d.reason.trim().is_empty() {
        v.add(
            format!("{at}.reason"),
            "is required when an item is rejected or narrowed to fewer fields",
        );
    }
    let (state, fields) = match (d.approve, narrowed) {
        (false, _) => (DataUseItemState::Rejected, Vec::new()),
        (true, true) => (DataUseItemState::PartlyApproved, d.approved_field_keys.clone()),
        (true, false) => (DataUseItemState::Approved, requested.clone()),
    };
    item.state = state as i32;
    item.approved_field_keys = fields;
    item.provider_reason = d.reason.clone();
}

/// What a provider's confirmation says.
#[derive(Debug, Clone, Default)]
pub struct Confirmation {
    pub decisions: Vec<DataUseItemDecision>,
    pub comments: String,
    pub late_explanation: String,
}

/// A confirmation, and the decision it took where the panel has no lead and it was the last (Hubei).
pub struct Confirmed {
    pub confirmed: Change<ev::DataUseConfirmed>,
    pub decided: Option<Decided>,
}

pub enum Decided {
    Approved(Change<ev::DataUseApproved>),
    Rejected(Change<ev::DataUseRejected>),
}

/// Provider PENDING → CONFIRMED (数据提供单位审核): a decision for every item the caller's organization holds.
/// A confirmation after the provider's deadline needs `late_explanation` (R-RV-06) and is marked late. Where
/// the panel has no LEAD (Hubei, S-HB §四(三)), the last confirmation decides: APPROVED if any item is
/// approved, else REJECTED.
pub fn confirm(
    a: &mut DataUseApplication,
    call: &Call,
    rules: &DataUseRules,
    agreement: &AgreementSummary,
    c: Confirmation,
    p: &Parties,
) -> Result<Confirmed, Error> {
    require(a, Transition::Review)?;
    facts::agreement_open(agreement)?;
    let org = call.caller.organization.clone();
    let Some(at) = a.provider_confirmations.iter().position(|x| x.provider == org) else {
        return Err(Error::denied(
            ErrorReason::NotAProvider,
            format!(
                "{org} holds no item of {}; only the providers of its items confirm",
                a.name
            ),
        ));
    };
    if a.provider_confirmations[at].state == ProviderConfirmationState::Confirmed as i32 {
        return Err(Error::refused(
            ErrorReason::AlreadyConfirmed,
            format!("{org} has already confirmed {} in this round", a.name),
        ));
    }
    let today: NaiveDate = call.today();
    let deadline = a.provider_confirmations[at].deadline.clone();
    let late = due_date(deadline.as_ref()).is_some_and(|due| today > due);
    let mut v = Violations::new();
    if late && c.late_explanation.trim().is_empty() {
        v.add(
            "late_explanation",
            "is required: the provider's deadline has passed (R-RV-06)",
        );
    }
    if c.decisions.is_empty() {
        v.add("decisions", "must decide every item your organization holds");
    }
    let mut decided_resources: Vec<String> = Vec::new();
    for (i, d) in c.decisions.iter().enumerate() {
        let at = format!("decisions[{i}]");
        let held = a
            .items
            .iter_mut()
            .find(|item| item.resource == d.resource && item.provider == org);
        match held {
            None => v.add(
                format!("{at}.resource"),
                format!("{} is not an item of {} that {org} holds", d.resource, a.name),
            ),
            Some(_) if decided_resources.contains(&d.resource) => {
                v.add(format!("{at}.resource"), "is decided twice")
            }
            Some(item) => {
                decide_item(item, d, &at, &mut v);
                decided_resources.push(d.resource.clone());
            }
        }
    }
    let undecided: Vec<&str> = a
        .items
        .iter()
        .filter(|i| i.provider == org && !decided_resources.contains(&i.resource))
        .map(|i| i.resource.as_str())
        .collect();
    if !undecided.is_empty() && !c.decisions.is_empty() {
        v.add("decisions", format!("misses {}", undecided.join(", ")));
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    let confirmation = &mut a.provider_confirmations[at];
    confirmation.state = ProviderConfirmationState::Confirmed as i32;
    confirmation.comments = c.comments;
    confirmation.late = late;
    confirmation.confirmed = Some(audit_info(&call.caller, call.now));
    // The confirmation is the provider seat's opinion of the round (R-RV-03 asks nothing more of it).
    if let Some(seat) = a
        .reviewers
        .iter()
        .find(|s| s.organization == org && role_of(s) == ReviewerRole::DataProvider)
        .map(|s| s.name.clone())
    {
        panel::opinion_given(&mut a.reviewers, &seat);
    }
    let (approved, rejected): (Vec<&DataUseItem>, Vec<&DataUseItem>) = a
        .items
        .iter()
        .filter(|i| i.provider == org)
        .partition(|i| granted(i));
    let event = ev::DataUseConfirmed {
        data_use: Some(summary(a, p)),
        provider: Some(p.provider(&org)),
        approved_resources: approved.iter().map(|i| i.resource.clone()).collect(),
        rejected_resources: rejected.iter().map(|i| i.resource.clone()).collect(),
        late,
        deadline,
        actor: Some(actor(&call.caller)),
    };
    let mut detail = audit(a);
    detail["provider"] = org.clone().into();
    detail["late"] = late.into();
    let confirmed = Change::new(&a.name, detail).announce(event);
    let last = a
        .provider_confirmations
        .iter()
        .all(|x| x.state == ProviderConfirmationState::Confirmed as i32);
    let decided =
        (last && panel::lead(&a.reviewers).is_none()).then(|| decide_by_providers(a, call, rules, p));
    Ok(Confirmed { confirmed, decided })
}

/// Hubei: no lead; the last confirmation decides (S-HB §四(三) "数据提供单位…在5个工作日内完成审核").
fn decide_by_providers(
    a: &mut DataUseApplication,
    call: &Call,
    rules: &DataUseRules,
    p: &Parties,
) -> Decided {
    let basis = format!("{} (profile {})", rules.panel_source, rules.profile_id);
    if a.items.iter().any(granted) {
        let text = Decision {
            reasons: "every data provider confirmed; the last confirmation decides".to_owned(),
            basis,
            ..Default::default()
        };
        let record = decision(call, a, ReviewOutcome::Approved, text);
        decided(a, call, State::Approved, record);
        return Decided::Approved(Change::new(&a.name, audit(a)).announce(approved_event(
            a,
            call,
            Vec::new(),
            p,
        )));
    }
    let reasons = a
        .items
        .iter()
        .map(|i| format!("{}: {}", i.resource, i.provider_reason))
        .collect::<Vec<_>>()
        .join("; ");
    let text = Decision {
        reasons: reasons.clone(),
        basis: basis.clone(),
        ..Default::default()
    };
    let record = decision(call, a, ReviewOutcome::Rejected, text);
    decided(a, call, State::Rejected, record);
    let event = ev::DataUseRejected {
        data_use: Some(summary(a, p)),
        reasons,
        basis,
        actor: Some(actor(&call.caller)),
    };
    Decided::Rejected(Change::new(&a.name, audit(a)).announce(event))
}

/// Only the LEAD decides (R-RV-03); a panel without one (Hubei) is decided by its providers' confirmations.
pub fn require_lead(a: &DataUseApplication, call: &Call, rules: &DataUseRules) -> Result<(), Error> {
    let profile_has_lead = panel::lead(&a.reviewers).is_some()
        || super::data_use::panel_for(a, rules)
            .iter()
            .any(|s| s.seat == ReviewerRole::Lead);
    if !profile_has_lead {
        return Err(Error::refused(
            ErrorReason::NoLead,
            format!(
                "profile {} seats no lead on {}: the last provider confirmation decides ({})",
                rules.profile_id, a.name, rules.panel_source
            ),
        ));
    }
    panel::require_lead(&call.caller, &a.name, &a.reviewers)
}

/// UNDER_REVIEW → APPROVED by the LEAD (Yunnan data authority, S-YN Art.20; Laiyuan 实施机构, S-LY §四; the
/// social-import approver) once every provider confirmed; only provider-approved items and fields are granted.
pub fn approve(
    a: &mut DataUseApplication,
    call: &Call,
    rules: &DataUseRules,
    agreement: &AgreementSummary,
    opinions: &[ReviewOpinion],
    d: Decision,
    p: &Parties,
) -> Result<Change<ev::DataUseApproved>, Error> {
    require(a, Transition::Review)?;
    require_lead(a, call, rules)?;
    facts::agreement_open(agreement)?;
    let pending: Vec<&str> = a
        .provider_confirmations
        .iter()
        .filter(|c| c.state != ProviderConfirmationState::Confirmed as i32)
        .map(|c| c.provider.as_str())
        .collect();
    if !pending.is_empty() {
        return Err(Error::refused(
            ErrorReason::ConfirmationsPending,
            format!(
                "{}: waiting for the confirmation of {}",
                a.name,
                pending.join(", ")
            ),
        ));
    }
    if kind_of(a) == DataUseKind::SocialDataImport {
        // No provider sits on an import: the approver grants what was asked.
        for item in &mut a.items {
            item.state = DataUseItemState::Approved as i32;
            item.approved_field_keys = item.field_keys.clone();
        }
    }
    if !a.items.iter().any(granted) {
        return Err(Error::refused(
            ErrorReason::NothingApproved,
            format!("no provider approved any item of {}; reject it instead", a.name),
        ));
    }
    // Provider seats have spoken through their confirmations; the other seats' opinions and criteria count.
    let others: Vec<_> = a
        .reviewers
        .iter()
        .filter(|s| role_of(s) != ReviewerRole::DataProvider)
        .cloned()
        .collect();
    let spec: Vec<_> = super::data_use::panel_for(a, rules)
        .into_iter()
        .filter(|s| s.seat != ReviewerRole::DataProvider)
        .collect();
    panel::ready_to_approve(&a.name, &others, &spec, &rules.criteria, opinions)?;
    let conditions = d.conditions.clone();
    let record = decision(call, a, ReviewOutcome::Approved, d);
    decided(a, call, State::Approved, record);
    Ok(Change::new(&a.name, audit(a)).announce(approved_event(a, call, conditions, p)))
}

/// UNDER_REVIEW → REJECTED by the LEAD, with reasons and basis (R-RV-04); also from SUPPLEMENT_REQUESTED once
/// the supplement's due date passed (R-RV-05).
pub fn reject(
    a: &mut DataUseApplication,
    call: &Call,
    rules: &DataUseRules,
    d: Decision,
    p: &Parties,
) -> Result<Change<ev::DataUseRejected>, Error> {
    let lapsed = super::data_use::state_of(a) == State::SupplementRequested
        && super::decision::lapsed(a.supplement_request.as_ref(), call.today());
    if !lapsed {
        require(a, Transition::Review)?;
    }
    require_lead(a, call, rules)?;
    let (reasons, basis) = (d.reasons.clone(), d.basis.clone());
    let record = decision(call, a, ReviewOutcome::Rejected, d);
    decided(a, call, State::Rejected, record);
    let event = ev::DataUseRejected {
        data_use: Some(summary(a, p)),
        reasons,
        basis,
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&a.name, audit(a)).announce(event))
}

/// UNDER_REVIEW → SUPPLEMENT_REQUESTED, by the LEAD or a provider for its items: every missing item in one
/// notice (R-RV-05); resubmission restarts the provider clocks.
pub fn return_for_supplement(
    a: &mut DataUseApplication,
    call: &Call,
    request: SupplementRequest,
    p: &Parties,
) -> Result<Change<ev::DataUseSupplementRequested>, Error> {
    require(a, Transition::Review)?;
    let org = &call.caller.organization;
    let is_lead = panel::lead(&a.reviewers).is_some_and(|l| &l.organization == org);
    let is_provider = a.provider_confirmations.iter().any(|c| &c.provider == org);
    if !is_lead && !is_provider {
        return Err(Error::denied(
            ErrorReason::NotTheLead,
            format!("only the lead or a provider of its items returns {}", a.name),
        ));
    }
    let reasons = request
        .items
        .iter()
        .map(|i| i.description.clone())
        .collect::<Vec<_>>()
        .join("; ");
    let text = Decision {
        reasons,
        ..Default::default()
    };
    let record = decision(call, a, ReviewOutcome::SupplementRequested, text);
    let missing_items = request.items.iter().map(|i| i.item.clone()).collect();
    let due_date = request.due_date;
    a.supplement_request = Some(SupplementRequest {
        requested: Some(audit_info(&call.caller, call.now)),
        ..request
    });
    decided(a, call, State::SupplementRequested, record);
    let event = ev::DataUseSupplementRequested {
        data_use: Some(summary(a, p)),
        missing_items,
        due_date,
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&a.name, audit(a)).announce(event))
}
