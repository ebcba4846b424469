//! What a data-use application must satisfy whatever its state (§2.2, §2.4): the profile's flow, and items inside
//! the agreement, the scenario's demand and the resources' facts.

use pdop_proto::registry::events::v1::AgreementSummary;
use pdop_proto::review::v1::{
    DataUseApplication, DataUseKind, ScenarioApplication, ScenarioApplicationState,
};

use super::data_use::kind_of;
use super::error::{Error, ErrorReason};
use super::facts::{self, Demanded};
use super::rules::{DataUseRules, Flow};
use super::scenario;

const FIELD: &str = "data_use_application";

/// §2.2: CF-4 (combined profiles grant public data with the scenario), DU-2 (data_use_only has no scenario), and
/// the APPROVED scenario two-step profiles and social-data imports need (S-HB §四(三)).
pub fn check_flow(
    a: &DataUseApplication,
    rules: &DataUseRules,
    scenario: Option<&ScenarioApplication>,
) -> Result<(), Error> {
    let public = kind_of(a) == DataUseKind::PublicData;
    if rules.flow == Flow::Combined && public {
        return Err(Error::refused(
            ErrorReason::ScenarioFlow,
            format!(
                "profile {} grants public data with the scenario's approval (CF-4, {}); apply through \
                 ApproveScenarioApplication's data demands instead",
                rules.profile_id, rules.flow_source
            ),
        ));
    }
    if rules.flow == Flow::DataUseOnly {
        if !a.scenario_application.is_empty() {
            return Err(Error::invalid(
                format!("{FIELD}.scenario_application"),
                format!(
                    "must be empty: profile {} has no scenario review (DU-2, {})",
                    rules.profile_id, rules.flow_source
                ),
            ));
        }
        if a.purpose.trim().is_empty() {
            return Err(Error::invalid(
                format!("{FIELD}.purpose"),
                "is required and describes the scenario (DU-2, S-YN Art.20)",
            ));
        }
        return Ok(());
    }
    let Some(s) = scenario else {
        return Err(Error::invalid(
            format!("{FIELD}.scenario_application"),
            format!(
                "is required: in profile {} data use follows an APPROVED scenario (S-HB §四(三))",
                rules.profile_id
            ),
        ));
    };
    if scenario::state_of(s) != ScenarioApplicationState::Approved {
        return Err(Error::refused(
            ErrorReason::ScenarioNotApproved,
            format!(
                "{} is {:?}; data use is applied for under an APPROVED scenario (S-HB §四(三))",
                s.name,
                scenario::state_of(s)
            ),
        ));
    }
    Ok(())
}

/// Checks the items against the agreement, the scenario's demand (two-step) and the resources, and fills what the
/// service computes: provider, grade and the personal-information flags (R-RV-19; client values are ignored).
pub fn check_items(
    a: &mut DataUseApplication,
    agreement: &AgreementSummary,
    scenario: Option<&ScenarioApplication>,
    demanded: &[Demanded],
) -> Result<(), Error> {
    if kind_of(a) == DataUseKind::PublicData {
        for (i, (item, r)) in a.items.iter_mut().zip(demanded).enumerate() {
            let field = format!("{FIELD}.items[{i}].field_keys");
            let holds = facts::holds(&r.snapshot, &item.field_keys, &field)?;
            facts::resource_usable(agreement, r, &item.field_keys)?;
            if let Some(s) = scenario {
                in_demand(s, &item.resource, &item.field_keys)?;
            }
            item.provider = r
                .snapshot
                .provider
                .as_ref()
                .map(|p| p.name.clone())
                .unwrap_or_default();
            item.grade = r.snapshot.grade;
            item.involves_personal_info = holds.personal_info;
            item.involves_sensitive_personal_info = holds.sensitive_personal_info;
            item.involves_trade_secret = holds.trade_secret;
        }
    } else {
        for item in &mut a.items {
            item.provider.clear();
            item.grade = 0;
        }
    }
    facts::period_inside_term(a.use_period.as_ref(), agreement, &format!("{FIELD}.use_period"))?;
    if let Some(s) = scenario {
        inside_planned(a, s)?;
    }
    Ok(())
}

/// Two-step: an item asks only for what the scenario demanded (S-HB §四(三) "基于已审核通过的应用场景").
fn in_demand(s: &ScenarioApplication, resource: &str, field_keys: &[String]) -> Result<(), Error> {
    let Some(d) = s.data_demands.iter().find(|d| d.resource == resource) else {
        return Err(Error::refused(
            ErrorReason::NotDemanded,
            format!("{resource} is not among the data demands of {}", s.name),
        ));
    };
    let wider = !d.field_keys.is_empty()
        && (field_keys.is_empty() || field_keys.iter().any(|k| !d.field_keys.contains(k)));
    if wider {
        return Err(Error::refused(
            ErrorReason::NotDemanded,
            format!(
                "{} demands only fields {} of {resource}",
                s.name,
                d.field_keys.join(", ")
            ),
        ));
    }
    Ok(())
}

fn inside_planned(a: &DataUseApplication, s: &ScenarioApplication) -> Result<(), Error> {
    let (Some(period), Some(planned)) = (a.use_period.as_ref(), s.planned_period.as_ref()) else {
        return Ok(());
    };
    let as_agreement = AgreementSummary {
        name: s.name.clone(),
        term: Some(*planned),
        ..Default::default()
    };
    facts::period_inside_term(Some(period), &as_agreement, &format!("{FIELD}.use_period"))
}
