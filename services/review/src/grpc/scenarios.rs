//! The ten scenario-application RPCs (一场景一审核, §2.3): parse, then `mutate`: lock, read the facts, decide in
//! `domain::scenario`, save.

use chrono::{DateTime, Utc};
use pdop_kit::Violations;
use pdop_kit::handling::{optional_name, paging};
use pdop_kit::mask::{Mask, update_envelope};
use pdop_kit::uow::{Call, Mutate};
use pdop_proto::review::v1 as pb;
use pdop_proto::review::v1::ScenarioApplication;

use super::data_uses as data_uses_rpc;
use super::parse;
use crate::context::Ctx;
use crate::domain::scenario::{self, COLLECTION, Parties, Transition};
use crate::domain::{Error, ErrorReason, data_use, data_use_grant, panel, rules};
use crate::storage::{self, Tx, data_uses, facts, opinions, scenarios};

const FIELD: &str = "scenario_application";

/// The fields an applicant edits in DRAFT and SUPPLEMENT_REQUESTED; repeated fields are replaced whole.
const MUTABLE: &[&str] = &[
    "display_name",
    "sector",
    "description",
    "purpose",
    "intended_users",
    "usage_scope",
    "use_class",
    "economic_value",
    "social_value",
    "business_model",
    "data_demands",
    "security_measures",
    "construction_plan",
    "attachments",
    "planned_period",
    "delivery_method",
];

fn populated(a: &ScenarioApplication, path: &str) -> bool {
    match path {
        "display_name" => !a.display_name.is_empty(),
        "sector" => !a.sector.is_empty(),
        "description" => !a.description.is_empty(),
        "purpose" => !a.purpose.is_empty(),
        "intended_users" => !a.intended_users.is_empty(),
        "usage_scope" => !a.usage_scope.is_empty(),
        "use_class" => a.use_class != 0,
        "economic_value" => !a.economic_value.is_empty(),
        "social_value" => !a.social_value.is_empty(),
        "business_model" => !a.business_model.is_empty(),
        "data_demands" => !a.data_demands.is_empty(),
        "security_measures" => !a.security_measures.is_empty(),
        "construction_plan" => a.construction_plan.is_some(),
        "attachments" => !a.attachments.is_empty(),
        "planned_period" => a.planned_period.is_some(),
        "delivery_method" => a.delivery_method != 0,
        _ => false,
    }
}

fn apply(to: &mut ScenarioApplication, from: ScenarioApplication, mask: &Mask) {
    for path in mask.paths() {
        match path {
            "display_name" => to.display_name = from.display_name.clone(),
            "sector" => to.sector = from.sector.clone(),
            "description" => to.description = from.description.clone(),
            "purpose" => to.purpose = from.purpose.clone(),
            "intended_users" => to.intended_users = from.intended_users.clone(),
            "usage_scope" => to.usage_scope = from.usage_scope.clone(),
            "use_class" => to.use_class = from.use_class,
            "economic_value" => to.economic_value = from.economic_value.clone(),
            "social_value" => to.social_value = from.social_value.clone(),
            "business_model" => to.business_model = from.business_model.clone(),
            "data_demands" => to.data_demands = from.data_demands.clone(),
            "security_measures" => to.security_measures = from.security_measures.clone(),
            "construction_plan" => to.construction_plan = from.construction_plan.clone(),
            "attachments" => to.attachments = from.attachments.clone(),
            "planned_period" => to.planned_period = from.planned_period,
            "delivery_method" => to.delivery_method = from.delivery_method,
            _ => {}
        }
    }
}

/// The applicant's content, checked field by field (every violation at once).
fn check_content(a: &ScenarioApplication, mask: Option<&Mask>, v: &mut Violations) {
    let in_mask = |p: &str| mask.is_none_or(|m| m.has(p));
    if in_mask("display_name") {
        parse::required(&a.display_name, &format!("{FIELD}.display_name"), v);
    }
    if in_mask("purpose") {
        parse::required(&a.purpose, &format!("{FIELD}.purpose"), v);
    }
    if in_mask("data_demands") {
        parse::demands(&a.data_demands, &format!("{FIELD}.data_demands"), v);
    }
    if in_mask("security_measures") {
        parse::security_measures(&a.security_measures, &format!("{FIELD}.security_measures"), v);
    }
    if in_mask("planned_period") {
        parse::date_range(a.planned_period.as_ref(), &format!("{FIELD}.planned_period"), v);
    }
    if in_mask("construction_plan") {
        parse::document(
            a.construction_plan.as_ref(),
            &format!("{FIELD}.construction_plan"),
            v,
        );
    }
}

/// The demanded resources and the field each is named by.
fn demanded_names(a: &ScenarioApplication) -> Vec<(String, String)> {
    a.data_demands
        .iter()
        .enumerate()
        .map(|(i, d)| (d.resource.clone(), format!("{FIELD}.data_demands[{i}].resource")))
        .collect()
}

async fn parties(tx: &mut Tx, a: &ScenarioApplication) -> Result<Parties, Error> {
    Ok(Parties {
        operator: facts::organization(tx, &a.operator).await?,
        jurisdiction: facts::jurisdiction(tx, &a.jurisdiction).await?,
    })
}

pub async fn create(
    ctx: &Ctx,
    call: Call,
    req: pb::CreateScenarioApplicationRequest,
) -> Result<pb::CreateScenarioApplicationResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let mut a = req.scenario_application.unwrap_or_default();
    let mut v = Violations::new();
    check_content(&a, None, &mut v);
    if pdop_kit::names::parse(&a.agreement, "agreements").is_none() {
        v.add(
            format!("{FIELD}.agreement"),
            pdop_kit::names::expected("agreements"),
        );
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let agreement = facts::agreement(u.tx, &a.agreement, &format!("{FIELD}.agreement")).await?;
            let jurisdiction = agreement.jurisdiction.clone().unwrap_or_default().name;
            let profile = facts::profile(u.tx, &u.state.profiles, &jurisdiction).await?;
            let demanded = facts::demanded(u.tx, &demanded_names(&a)).await?;
            a.name = format!("{COLLECTION}/{}", storage::new_id());
            let change = scenario::create(&mut a, u.call, &rules::scenario(&profile), &agreement, &demanded)?;
            let saved = scenarios::insert(u.tx, &a, u.call.now).await?;
            Ok(change.into_write(pb::CreateScenarioApplicationResponse {
                scenario_application: Some(saved),
            }))
        })
    })
    .await
}

pub async fn get(
    ctx: &Ctx,
    call: Call,
    req: pb::GetScenarioApplicationRequest,
) -> Result<pb::GetScenarioApplicationResponse, Error> {
    let a = scenarios::read(&ctx.platform.pool, &req.name).await?;
    let (party, supervisor) = (
        scenario::is_party(&call.caller, &a),
        scenario::is_supervisor(&call.caller),
    );
    super::may_read(ctx, &call, party, supervisor, &a.jurisdiction, &a.name).await?;
    Ok(pb::GetScenarioApplicationResponse {
        scenario_application: Some(a),
    })
}

pub async fn list(
    ctx: &Ctx,
    call: Call,
    req: pb::ListScenarioApplicationsRequest,
) -> Result<pb::ListScenarioApplicationsResponse, Error> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<(DateTime<Utc>, String)>) =
        paging(req.page_size, &req.page_token, &mut v);
    let jurisdiction = optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v);
    let operator = optional_name(&req.operator, "organizations", "operator", &mut v);
    let agreement = optional_name(&req.agreement, "agreements", "agreement", &mut v);
    let reviewer = optional_name(
        &req.reviewer_organization,
        "organizations",
        "reviewer_organization",
        &mut v,
    );
    let resource = optional_name(&req.resource, "resources", "resource", &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    let supervised = if scenario::is_supervisor(&call.caller) {
        Some(facts::supervised(&ctx.platform.pool, &call.caller.jurisdiction).await?)
    } else {
        None
    };
    let (apps, next) = scenarios::list(
        &ctx.platform.pool,
        scenarios::Filter {
            jurisdiction,
            operator,
            agreement,
            reviewer_organization: reviewer,
            resource,
            state: req.state,
            visible_to: pdop_kit::names::parse(&call.caller.organization, "organizations")
                .unwrap_or_default(),
            supervised,
            size,
            after,
        },
    )
    .await?;
    Ok(pb::ListScenarioApplicationsResponse {
        scenario_applications: apps,
        next_page_token: next,
    })
}

pub async fn update(
    ctx: &Ctx,
    call: Call,
    req: pb::UpdateScenarioApplicationRequest,
) -> Result<pb::UpdateScenarioApplicationResponse, Error> {
    let from = req.scenario_application.unwrap_or_default();
    let (mask, etag) = update_envelope::<ErrorReason>(
        FIELD,
        &from.name,
        COLLECTION,
        req.update_mask.as_ref(),
        MUTABLE,
        |p| populated(&from, p),
        (req.etag, &from.etag),
    )?;
    let mut v = Violations::new();
    check_content(&from, Some(&mask), &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = scenarios::lock(u.tx, &from.name, &etag, &format!("{FIELD}.name")).await?;
            scenario::require(&a, Transition::Edit)?;
            scenario::own(&u.call.caller, &a)?;
            apply(&mut a, from, &mask);
            if mask.has("data_demands") || mask.has("planned_period") {
                let agreement = facts::agreement(u.tx, &a.agreement, "name").await?;
                let demanded = facts::demanded(u.tx, &demanded_names(&a)).await?;
                scenario::check_demands(&mut a, &agreement, &demanded)?;
            }
            let change = scenario::edited(&a, &mask);
            let saved = scenarios::save(u.tx, &a, u.call.now).await?;
            Ok(change.into_write(pb::UpdateScenarioApplicationResponse {
                scenario_application: Some(saved),
            }))
        })
    })
    .await
}

pub async fn submit(
    ctx: &Ctx,
    call: Call,
    req: pb::SubmitScenarioApplicationRequest,
) -> Result<pb::SubmitScenarioApplicationResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = scenarios::lock(u.tx, &req.name, &req.etag, "name").await?;
            let agreement = facts::agreement(u.tx, &a.agreement, "name").await?;
            let profile = facts::profile(u.tx, &u.state.profiles, &a.jurisdiction).await?;
            let rules = rules::scenario(&profile);
            let demanded = facts::demanded(u.tx, &demanded_names(&a)).await?;
            let resubmission = scenario::submit(&mut a, u.call, &rules, &agreement, &demanded)?;
            let providers: Vec<String> = a.data_demands.iter().map(|d| d.provider.clone()).collect();
            let seats =
                facts::resolve_panel(u.tx, &rules.panel, &a.jurisdiction, &agreement, &providers).await?;
            let (name, operator) = (a.name.clone(), a.operator.clone());
            panel::seat(&name, &mut a.reviewers, &seats, &operator, u.call)?;
            let change = scenario::submitted(&a, u.call, resubmission, &parties(u.tx, &a).await?);
            let saved = scenarios::save(u.tx, &a, u.call.now).await?;
            Ok(change.into_write(pb::SubmitScenarioApplicationResponse {
                scenario_application: Some(saved),
            }))
        })
    })
    .await
}

pub async fn approve(
    ctx: &Ctx,
    call: Call,
    req: pb::ApproveScenarioApplicationRequest,
) -> Result<pb::ApproveScenarioApplicationResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let mut v = Violations::new();
    parse::document(req.decision_document.as_ref(), "decision_document", &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = scenarios::lock(u.tx, &req.name, &req.etag, "name").await?;
            scenario::require(&a, Transition::Decide)?;
            panel::require_lead(&u.call.caller, &a.name, &a.reviewers)?;
            let profile = facts::profile(u.tx, &u.state.profiles, &a.jurisdiction).await?;
            let rules = rules::scenario(&profile);
            if !req.demand_decisions.is_empty() && rules.flow != rules::Flow::Combined {
                return Err(Error::invalid(
                    "demand_decisions",
                    format!(
                        "only combined profiles decide data demands with the scenario; {} is not one",
                        rules.profile_id
                    ),
                ));
            }
            let opinions = opinions::of_round(u.tx, &a.name, scenario::round(&a)).await?;
            panel::ready_to_approve(&a.name, &a.reviewers, &rules.panel, &rules.criteria, &opinions)?;
            let agreement = facts::agreement(u.tx, &a.agreement, "name").await?;
            // R-RV-16, S-YN Art.15: a negative-list entry added since submission refuses the demand now.
            let demanded = facts::demanded(u.tx, &demanded_names(&a)).await?;
            scenario::check_demands(&mut a, &agreement, &demanded)?;
            // CF-2: in combined profiles the lead decides the demands with the scenario.
            let combined = rules.flow == rules::Flow::Combined;
            let granted = if combined {
                Some(data_use_grant::grant_demands(&a, &req.demand_decisions)?)
            } else {
                None
            };
            let decision = scenario::Decision {
                reasons: req.reasons,
                conditions: req.conditions,
                document: req.decision_document,
                late_explanation: req.late_explanation,
                ..Default::default()
            };
            let p = parties(u.tx, &a).await?;
            let change = scenario::approve(&mut a, u.call, &agreement, decision, &p)?;
            let saved = scenarios::save(u.tx, &a, u.call.now).await?;
            let response = pb::ApproveScenarioApplicationResponse {
                scenario_application: Some(saved),
            };
            let Some(items) = granted else {
                return Ok(change.into_write(response));
            };
            // CF-3: the approval creates the APPROVED data use in the same transaction, announced after it.
            let id = storage::new_id();
            let du = data_use_grant::granted_by_scenario(&a, items, &id, u.call);
            let grant = data_use_grant::granted(&du, u.call, &data_uses::parties_of(u.tx, &du).await?);
            data_uses::insert(u.tx, &du, u.call.now).await?;
            let change = data_use_grant::announcing_grant(change, &du.name);
            Ok(change.into_write(response).and(grant))
        })
    })
    .await
}

pub async fn reject(
    ctx: &Ctx,
    call: Call,
    req: pb::RejectScenarioApplicationRequest,
) -> Result<pb::RejectScenarioApplicationResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let decision = parse::grounds(
        req.reasons,
        req.basis,
        req.decision_document,
        req.late_explanation,
    )?;
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = scenarios::lock(u.tx, &req.name, &req.etag, "name").await?;
            scenario::require_reject(&a, u.call.today())?;
            panel::require_lead(&u.call.caller, &a.name, &a.reviewers)?;
            let p = parties(u.tx, &a).await?;
            let change = scenario::reject(&mut a, u.call, decision, &p)?;
            let saved = scenarios::save(u.tx, &a, u.call.now).await?;
            Ok(change.into_write(pb::RejectScenarioApplicationResponse {
                scenario_application: Some(saved),
            }))
        })
    })
    .await
}

pub async fn return_for_supplement(
    ctx: &Ctx,
    call: Call,
    req: pb::ReturnScenarioApplicationForSupplementRequest,
) -> Result<pb::ReturnScenarioApplicationForSupplementResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let today = call.today();
    let request = parse::supplement(req.items, req.note, req.due_date, today)?;
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = scenarios::lock(u.tx, &req.name, &req.etag, "name").await?;
            scenario::require(&a, Transition::Decide)?;
            panel::require_lead(&u.call.caller, &a.name, &a.reviewers)?;
            let p = parties(u.tx, &a).await?;
            let change = scenario::return_for_supplement(&mut a, u.call, request, &p)?;
            let saved = scenarios::save(u.tx, &a, u.call.now).await?;
            Ok(
                change.into_write(pb::ReturnScenarioApplicationForSupplementResponse {
                    scenario_application: Some(saved),
                }),
            )
        })
    })
    .await
}

pub async fn withdraw(
    ctx: &Ctx,
    call: Call,
    req: pb::WithdrawScenarioApplicationRequest,
) -> Result<pb::WithdrawScenarioApplicationResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = scenarios::lock(u.tx, &req.name, &req.etag, "name").await?;
            let p = parties(u.tx, &a).await?;
            let change = scenario::withdraw(&mut a, u.call, req.reason, &p)?;
            let saved = scenarios::save(u.tx, &a, u.call.now).await?;
            Ok(change.into_write(pb::WithdrawScenarioApplicationResponse {
                scenario_application: Some(saved),
            }))
        })
    })
    .await
}

pub async fn revoke(
    ctx: &Ctx,
    call: Call,
    req: pb::RevokeScenarioApplicationRequest,
) -> Result<pb::RevokeScenarioApplicationResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let decision = parse::grounds(req.reasons, req.basis, None, String::new())?;
    let evidence = req.evidence;
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = scenarios::lock(u.tx, &req.name, &req.etag, "name").await?;
            let row = facts::ancestry(u.tx, &a.jurisdiction).await?;
            pdop_kit::scope::may_supervise(&u.call.caller, &row, &a.name, ErrorReason::NotAParty)?;
            let p = parties(u.tx, &a).await?;
            let grounds = decision.clone();
            let change = scenario::revoke(&mut a, u.call, decision, &evidence, &p)?;
            let saved = scenarios::save(u.tx, &a, u.call.now).await?;
            // §2.3: every data use under the scenario not yet terminal is revoked with it (inferred).
            let open =
                data_uses::under_scenario(u.tx, &a.name, data_use::Transition::Cascade.starts_from()).await?;
            let cascade = data_uses_rpc::revoke_all(u.tx, u.call, open, &grounds, &a.name).await?;
            let write = change.into_write(pb::RevokeScenarioApplicationResponse {
                scenario_application: Some(saved),
            });
            Ok(cascade.into_iter().fold(write, |w, c| w.and(c)))
        })
    })
    .await
}
