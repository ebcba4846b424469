//! The data use an approved combined scenario grants (CF-2, CF-3): the lead's decisions on the demands become the
//! items of a data use created APPROVED in the approval's transaction.

use pdop_kit::Violations;
use pdop_kit::convert::timestamp;
use pdop_kit::uow::{Call, Change};
use pdop_proto::review::events::v1 as ev;
use pdop_proto::review::v1::{
    DataUseApplication, DataUseApplicationState as State, DataUseItem, DataUseItemDecision, DataUseItemState,
    DataUseKind, ReviewTimeline, ScenarioApplication,
};

use super::data_use::{COLLECTION, Parties, audit};
use super::data_use_review::{approved_event, decide_item, granted as is_granted};
use super::error::{Error, ErrorReason};
use super::scenario;

/// CF-2: the lead's decisions on a combined scenario's demands, as the items they grant. A demand without a
/// decision is granted as requested; a decision names a demanded resource once; nothing granted is
/// FAILED_PRECONDITION, and the lead rejects instead.
pub fn grant_demands(
    s: &ScenarioApplication,
    decisions: &[DataUseItemDecision],
) -> Result<Vec<DataUseItem>, Error> {
    let mut items: Vec<DataUseItem> = s
        .data_demands
        .iter()
        .map(|d| DataUseItem {
            resource: d.resource.clone(),
            field_keys: d.field_keys.clone(),
            necessity: d.necessity.clone(),
            involves_personal_info: d.involves_personal_info,
            subject_authorization: d.subject_authorization.clone(),
            provider: d.provider.clone(),
            grade: d.grade,
            state: DataUseItemState::Approved as i32,
            approved_field_keys: d.field_keys.clone(),
            ..Default::default()
        })
        .collect();
    let mut v = Violations::new();
    let mut seen: Vec<&str> = Vec::new();
    for (i, d) in decisions.iter().enumerate() {
        let at = format!("demand_decisions[{i}]");
        match items.iter_mut().find(|item| item.resource == d.resource) {
            None => v.add(
                format!("{at}.resource"),
                format!("{} is not a data demand of {}", d.resource, s.name),
            ),
            Some(_) if seen.contains(&d.resource.as_str()) => {
                v.add(format!("{at}.resource"), "is decided twice")
            }
            Some(item) => {
                decide_item(item, d, &at, &mut v);
                seen.push(&d.resource);
            }
        }
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    if !items.iter().any(is_granted) {
        return Err(Error::refused(
            ErrorReason::NothingApproved,
            format!(
                "the decisions grant no data demand of {}; reject the scenario instead (CF-2)",
                s.name
            ),
        ));
    }
    Ok(items)
}

/// CF-3: ∅ → APPROVED, the data use an approved combined scenario grants (S-HN Art.15, S-ZZ Art.15; mechanics
/// inferred), with the scenario's panel and decisions. From then on it is an ordinary data use.
pub fn granted_by_scenario(
    s: &ScenarioApplication,
    items: Vec<DataUseItem>,
    id: &str,
    call: &Call,
) -> DataUseApplication {
    DataUseApplication {
        name: format!("{COLLECTION}/{id}"),
        display_name: s.display_name.clone(),
        kind: DataUseKind::PublicData as i32,
        operator: s.operator.clone(),
        scenario_application: s.name.clone(),
        agreement: s.agreement.clone(),
        jurisdiction: s.jurisdiction.clone(),
        purpose: s.purpose.clone(),
        items,
        delivery_method: s.delivery_method,
        use_period: s.planned_period,
        security_measures: s.security_measures.clone(),
        state: State::Approved as i32,
        profile_id: s.profile_id.clone(),
        reviewers: s.reviewers.clone(),
        timeline: Some(ReviewTimeline {
            submit_time: s.timeline.as_ref().and_then(|t| t.submit_time),
            decide_time: Some(timestamp(call.now)),
            current_deadline: None,
            review_round: scenario::round(s),
        }),
        decisions: s.decisions.clone(),
        ..Default::default()
    }
}

/// The grant's announcement: the items and fields granted, under the scenario approval's conditions.
pub fn granted(a: &DataUseApplication, call: &Call, p: &Parties) -> Change<ev::DataUseApproved> {
    let conditions = a
        .decisions
        .last()
        .map(|d| d.conditions.clone())
        .unwrap_or_default();
    Change::new(&a.name, audit(a)).announce(approved_event(a, call, conditions, p))
}

/// The scenario's approval announced with the data use it granted (`ScenarioApproved.data_use_application`).
pub fn announcing_grant(
    change: Change<ev::ScenarioApproved>,
    data_use: &str,
) -> Change<ev::ScenarioApproved> {
    let mut event = change.event().cloned().unwrap_or_default();
    event.data_use_application = data_use.to_owned();
    Change::new(change.resource(), change.audit().clone()).announce(event)
}
