//! The data-use application RPCs (用数申请, §2.4) up to submission and withdrawal: parse, then `mutate`: lock,
//! read the facts, decide in `domain::data_use`, save. The review steps are in `data_use_review`.

use chrono::{DateTime, Utc};
use pdop_kit::Violations;
use pdop_kit::auth::Role;
use pdop_kit::handling::{optional_name, paging};
use pdop_kit::mask::{Mask, update_envelope};
use pdop_kit::uow::{Call, Change, Mutate};
use pdop_proto::review::events::v1 as ev;
use pdop_proto::review::v1 as pb;
use pdop_proto::review::v1::{DataUseApplication, DataUseKind, ScenarioApplication};

use super::parse;
use crate::context::Ctx;
use crate::domain::data_use::{self, COLLECTION, Transition};
use crate::domain::facts::Demanded;
use crate::domain::scenario::Decision;
use crate::domain::{Error, ErrorReason, panel, rules};
use crate::storage::{self, Tx, data_uses, deadlines, facts, scenarios};

const FIELD: &str = "data_use_application";

/// The fields edited in DRAFT and SUPPLEMENT_REQUESTED; repeated fields are replaced whole. `co_applicant` is
/// the industry regulator's (§2.4).
const MUTABLE: &[&str] = &[
    "display_name",
    "co_applicant",
    "purpose",
    "items",
    "delivery_method",
    "environment",
    "use_period",
    "minimum_necessity_statement",
    "security_measures",
    "attachments",
];

fn populated(a: &DataUseApplication, path: &str) -> bool {
    match path {
        "display_name" => !a.display_name.is_empty(),
        "co_applicant" => !a.co_applicant.is_empty(),
        "purpose" => !a.purpose.is_empty(),
        "items" => !a.items.is_empty(),
        "delivery_method" => a.delivery_method != 0,
        "environment" => !a.environment.is_empty(),
        "use_period" => a.use_period.is_some(),
        "minimum_necessity_statement" => !a.minimum_necessity_statement.is_empty(),
        "security_measures" => !a.security_measures.is_empty(),
        "attachments" => !a.attachments.is_empty(),
        _ => false,
    }
}

/// Copies the masked fields but `co_applicant`, which only `data_use::set_co_applicant` changes.
fn apply(to: &mut DataUseApplication, from: &DataUseApplication, mask: &Mask) {
    for path in mask.paths() {
        match path {
            "display_name" => to.display_name = from.display_name.clone(),
            "purpose" => to.purpose = from.purpose.clone(),
            "items" => to.items = from.items.clone(),
            "delivery_method" => to.delivery_method = from.delivery_method,
            "environment" => to.environment = from.environment.clone(),
            "use_period" => to.use_period = from.use_period,
            "minimum_necessity_statement" => {
                to.minimum_necessity_statement = from.minimum_necessity_statement.clone();
            }
            "security_measures" => to.security_measures = from.security_measures.clone(),
            "attachments" => to.attachments = from.attachments.clone(),
            _ => {}
        }
    }
}

/// The items of `kind`: public data names one resource per item; a social-data import names none and describes
/// its lawful source instead (S-ZZ Art.18, S-LY §六(二)3).
fn check_items(kind: DataUseKind, items: &[pb::DataUseItem], v: &mut Violations) {
    let mut seen = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{FIELD}.items[{i}]");
        match kind {
            DataUseKind::SocialDataImport => {
                if !item.resource.is_empty() {
                    v.add(
                        format!("{at}.resource"),
                        "must be empty for SOCIAL_DATA_IMPORT; describe the data in external_source",
                    );
                }
                parse::required(&item.external_source, &format!("{at}.external_source"), v);
            }
            _ => {
                if pdop_kit::names::parse(&item.resource, "resources").is_none() {
                    v.add(format!("{at}.resource"), pdop_kit::names::expected("resources"));
                } else if seen.contains(&item.resource) {
                    v.add(
                        format!("{at}.resource"),
                        "is requested twice; one item per resource",
                    );
                }
                seen.push(item.resource.clone());
            }
        }
        parse::required(&item.necessity, &format!("{at}.necessity"), v);
        parse::document(
            item.subject_authorization.as_ref(),
            &format!("{at}.subject_authorization"),
            v,
        );
        parse::document(item.sharing_consent.as_ref(), &format!("{at}.sharing_consent"), v);
    }
}

/// The applicant's content, checked field by field (every violation at once).
fn check_content(a: &DataUseApplication, mask: Option<&Mask>, v: &mut Violations) {
    let in_mask = |p: &str| mask.is_none_or(|m| m.has(p));
    if in_mask("display_name") {
        parse::required(&a.display_name, &format!("{FIELD}.display_name"), v);
    }
    if in_mask("items") {
        check_items(data_use::kind_of(a), &a.items, v);
    }
    if in_mask("security_measures") {
        parse::security_measures(&a.security_measures, &format!("{FIELD}.security_measures"), v);
    }
    if in_mask("use_period") {
        parse::date_range(a.use_period.as_ref(), &format!("{FIELD}.use_period"), v);
    }
    if in_mask("attachments") {
        for (i, d) in a.attachments.iter().enumerate() {
            parse::document(Some(d), &format!("{FIELD}.attachments[{i}]"), v);
        }
    }
}

/// The requested public resources and the field each is named by.
fn requested(a: &DataUseApplication) -> Vec<(String, String)> {
    if data_use::kind_of(a) != DataUseKind::PublicData {
        return Vec::new();
    }
    a.items
        .iter()
        .enumerate()
        .map(|(i, item)| (item.resource.clone(), format!("{FIELD}.items[{i}].resource")))
        .collect()
}

/// The review step of a provider's confirmation, as the deadlines table names it.
pub fn confirm_step(provider: &str) -> String {
    format!("confirm:{provider}")
}

/// The scenario an application names, if any (locked: its revocation waits for this change).
async fn scenario_of(tx: &mut Tx, a: &DataUseApplication) -> Result<Option<ScenarioApplication>, Error> {
    if a.scenario_application.is_empty() {
        return Ok(None);
    }
    let field = format!("{FIELD}.scenario_application");
    Ok(Some(
        scenarios::lock(tx, &a.scenario_application, "", &field).await?,
    ))
}

async fn demanded(tx: &mut Tx, a: &DataUseApplication) -> Result<Vec<Demanded>, Error> {
    facts::demanded(tx, &requested(a)).await
}

pub async fn create(
    ctx: &Ctx,
    call: Call,
    req: pb::CreateDataUseApplicationRequest,
) -> Result<pb::CreateDataUseApplicationResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let mut a = req.data_use_application.unwrap_or_default();
    let mut v = Violations::new();
    if data_use::kind_of(&a) == DataUseKind::Unspecified {
        v.add(format!("{FIELD}.kind"), "must be set");
    }
    check_content(&a, None, &mut v);
    let named = |n: &str, c: &str| n.is_empty() || pdop_kit::names::parse(n, c).is_some();
    if !named(&a.scenario_application, "scenarioApplications") {
        v.add(
            format!("{FIELD}.scenario_application"),
            pdop_kit::names::expected("scenarioApplications"),
        );
    }
    if a.scenario_application.is_empty() && pdop_kit::names::parse(&a.agreement, "agreements").is_none() {
        v.add(
            format!("{FIELD}.scenario_application"),
            "names the APPROVED scenario the data is for; where the profile has no scenario review, set agreement",
        );
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            // The agreement names the profile; without one it is the scenario's.
            let mut scenario = None;
            let agreement_name = if a.agreement.is_empty() {
                let s = scenario_of(u.tx, &a).await?;
                let name = s.as_ref().map(|s| s.agreement.clone()).unwrap_or_default();
                scenario = s;
                name
            } else {
                a.agreement.clone()
            };
            let agreement = facts::agreement(u.tx, &agreement_name, &format!("{FIELD}.agreement")).await?;
            let jurisdiction = agreement.jurisdiction.clone().unwrap_or_default().name;
            let profile = facts::profile(u.tx, &u.state.profiles, &jurisdiction).await?;
            let rules = rules::data_use(&profile);
            // DU-2: a scenario named where the profile has none is refused as such, not looked up.
            if scenario.is_none() && rules.flow != rules::Flow::DataUseOnly {
                scenario = scenario_of(u.tx, &a).await?;
            }
            if let Some(s) = scenario.as_ref().filter(|s| s.agreement != agreement.name) {
                return Err(Error::invalid(
                    format!("{FIELD}.agreement"),
                    format!("must be empty or {}, the agreement of {}", s.agreement, s.name),
                ));
            }
            let demanded = demanded(u.tx, &a).await?;
            a.name = format!("{COLLECTION}/{}", storage::new_id());
            let change = data_use::create(&mut a, u.call, &rules, &agreement, scenario.as_ref(), &demanded)?;
            let saved = data_uses::insert(u.tx, &a, u.call.now).await?;
            Ok(change.into_write(pb::CreateDataUseApplicationResponse {
                data_use_application: Some(saved),
            }))
        })
    })
    .await
}

/// R-RV-01: the parties read an application; supervisors and auditors of its jurisdiction or one above.
async fn may_read(ctx: &Ctx, call: &Call, a: &DataUseApplication) -> Result<(), Error> {
    let party = data_use::is_party(&call.caller, a);
    let supervisor = crate::domain::scenario::is_supervisor(&call.caller);
    super::may_read(ctx, call, party, supervisor, &a.jurisdiction, &a.name).await
}

pub async fn get(
    ctx: &Ctx,
    call: Call,
    req: pb::GetDataUseApplicationRequest,
) -> Result<pb::GetDataUseApplicationResponse, Error> {
    let a = data_uses::read(&ctx.platform.pool, &req.name).await?;
    may_read(ctx, &call, &a).await?;
    Ok(pb::GetDataUseApplicationResponse {
        data_use_application: Some(a),
    })
}

pub async fn list(
    ctx: &Ctx,
    call: Call,
    req: pb::ListDataUseApplicationsRequest,
) -> Result<pb::ListDataUseApplicationsResponse, Error> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<(DateTime<Utc>, String)>) =
        paging(req.page_size, &req.page_token, &mut v);
    let jurisdiction = optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v);
    let operator = optional_name(&req.operator, "organizations", "operator", &mut v);
    let scenario = optional_name(
        &req.scenario_application,
        "scenarioApplications",
        "scenario_application",
        &mut v,
    );
    let provider = optional_name(&req.provider, "organizations", "provider", &mut v);
    let resource = optional_name(&req.resource, "resources", "resource", &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    let supervised = if crate::domain::scenario::is_supervisor(&call.caller) {
        Some(facts::supervised(&ctx.platform.pool, &call.caller.jurisdiction).await?)
    } else {
        None
    };
    let (apps, next) = data_uses::list(
        &ctx.platform.pool,
        data_uses::Filter {
            jurisdiction,
            operator,
            scenario,
            provider,
            resource,
            kind: req.kind,
            state: req.state,
            visible_to: pdop_kit::names::parse(&call.caller.organization, "organizations")
                .unwrap_or_default(),
            supervised,
            size,
            after,
        },
    )
    .await?;
    Ok(pb::ListDataUseApplicationsResponse {
        data_use_applications: apps,
        next_page_token: next,
    })
}

pub async fn update(
    ctx: &Ctx,
    call: Call,
    req: pb::UpdateDataUseApplicationRequest,
) -> Result<pb::UpdateDataUseApplicationResponse, Error> {
    let from = req.data_use_application.unwrap_or_default();
    let (mask, etag) = update_envelope::<ErrorReason>(
        FIELD,
        &from.name,
        COLLECTION,
        req.update_mask.as_ref(),
        MUTABLE,
        |p| populated(&from, p),
        (req.etag, &from.etag),
    )?;
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = data_uses::lock(u.tx, &from.name, &etag, &format!("{FIELD}.name")).await?;
            data_use::require(&a, Transition::Edit)?;
            let caller = &u.call.caller;
            // §2.4: an industry regulator changes only `co_applicant`; everything else is the applicant's.
            let regulator = caller.organization != a.operator && caller.has_role(Role::IndustryRegulator);
            if regulator && mask.paths().any(|p| p != "co_applicant") {
                return Err(Error::denied(
                    ErrorReason::NotTheApplicant,
                    format!("an industry regulator changes only co_applicant of {}", a.name),
                ));
            }
            if !regulator {
                data_use::own(caller, &a)?;
            }
            // The kind is the stored one: the items are checked as what they are.
            let mut candidate = from;
            candidate.kind = a.kind;
            let mut v = Violations::new();
            check_content(&candidate, Some(&mask), &mut v);
            if !v.is_empty() {
                return Err(Error::Invalid(v));
            }
            if mask.has("co_applicant") {
                let profile = facts::profile(u.tx, &u.state.profiles, &a.jurisdiction).await?;
                data_use::set_co_applicant(
                    &mut a,
                    caller,
                    &rules::data_use(&profile),
                    &candidate.co_applicant,
                )?;
            }
            apply(&mut a, &candidate, &mask);
            if mask.has("items") || mask.has("use_period") {
                let scenario = scenario_of(u.tx, &a).await?;
                let agreement = facts::agreement(u.tx, &a.agreement, "name").await?;
                let demanded = demanded(u.tx, &a).await?;
                data_use::check_items(&mut a, &agreement, scenario.as_ref(), &demanded)?;
            }
            let change = data_use::edited(&a, mask.paths().collect());
            let saved = data_uses::save(u.tx, &a, u.call.now).await?;
            Ok(change.into_write(pb::UpdateDataUseApplicationResponse {
                data_use_application: Some(saved),
            }))
        })
    })
    .await
}

pub async fn submit(
    ctx: &Ctx,
    call: Call,
    req: pb::SubmitDataUseApplicationRequest,
) -> Result<pb::SubmitDataUseApplicationResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = data_uses::lock(u.tx, &req.name, &req.etag, "name").await?;
            let agreement = facts::agreement(u.tx, &a.agreement, "name").await?;
            let profile = facts::profile(u.tx, &u.state.profiles, &a.jurisdiction).await?;
            let rules = rules::data_use(&profile);
            let scenario = scenario_of(u.tx, &a).await?;
            let demanded = demanded(u.tx, &a).await?;
            // D20: each provider reviews within the profile's period from the submission (Hubei 5 WD, S-HB §四(三)).
            let deadline = rules.use_review.as_ref().map(|setting| {
                let cited = pdop_rules::deadlines::deadline(
                    &u.state.calendar,
                    &profile,
                    "D20",
                    setting,
                    u.call.today(),
                );
                pdop_kit::convert::deadline(&cited)
            });
            let resubmission = data_use::submit(
                &mut a,
                u.call,
                &rules,
                &agreement,
                scenario.as_ref(),
                &demanded,
                deadline.as_ref(),
            )?;
            let spec = data_use::panel_for(&a, &rules);
            let providers = data_use::providers(&a);
            let seats = facts::resolve_panel(u.tx, &spec, &a.jurisdiction, &agreement, &providers).await?;
            let (name, operator) = (a.name.clone(), a.operator.clone());
            panel::seat(&name, &mut a.reviewers, &seats, &operator, u.call)?;
            // R-RV-07: each provider's clock runs until it confirms; a resubmission restarts them all.
            deadlines::meet_all(u.tx, &a.name, u.call.now).await?;
            for c in &a.provider_confirmations {
                if let Some(d) = &c.deadline {
                    let step = confirm_step(&c.provider);
                    deadlines::open(u.tx, &a.name, &step, &c.provider, &a.jurisdiction, d).await?;
                }
            }
            let p = data_uses::parties_of(u.tx, &a).await?;
            let change = data_use::submitted(&a, u.call, resubmission, &p);
            let saved = data_uses::save(u.tx, &a, u.call.now).await?;
            Ok(change.into_write(pb::SubmitDataUseApplicationResponse {
                data_use_application: Some(saved),
            }))
        })
    })
    .await
}

pub async fn withdraw(
    ctx: &Ctx,
    call: Call,
    req: pb::WithdrawDataUseApplicationRequest,
) -> Result<pb::WithdrawDataUseApplicationResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = data_uses::lock(u.tx, &req.name, &req.etag, "name").await?;
            let p = data_uses::parties_of(u.tx, &a).await?;
            let change = data_use::withdraw(&mut a, u.call, req.reason, &p)?;
            deadlines::meet_all(u.tx, &a.name, u.call.now).await?;
            let saved = data_uses::save(u.tx, &a, u.call.now).await?;
            Ok(change.into_write(pb::WithdrawDataUseApplicationResponse {
                data_use_application: Some(saved),
            }))
        })
    })
    .await
}

/// Revokes each named data use on the same grounds: the cascade of a scenario's revocation (`revoked_scenario`
/// set, §2.3) or of an ended agreement (R-RV-15).
pub async fn revoke_all(
    tx: &mut Tx,
    call: &Call,
    names: Vec<String>,
    grounds: &Decision,
    revoked_scenario: &str,
) -> Result<Vec<Change<ev::DataUseRevoked>>, Error> {
    let mut changes = Vec::with_capacity(names.len());
    for name in names {
        let mut a = data_uses::lock(tx, &name, "", "name").await?;
        let p = data_uses::parties_of(tx, &a).await?;
        let change = data_use::revoke(&mut a, call, grounds.clone(), &[], revoked_scenario, &p)?;
        deadlines::meet_all(tx, &a.name, call.now).await?;
        data_uses::save(tx, &a, call.now).await?;
        changes.push(change);
    }
    Ok(changes)
}
