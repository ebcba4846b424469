//! The developer-admission RPCs up to the qualification decision (开发主体准入, §2.7): create, read, update,
//! submit, return, approve, reject, withdraw. The notice, objections, admission and exit are in
//! `admission_notice`.

use chrono::{DateTime, Utc};
use pdop_kit::Violations;
use pdop_kit::handling::{optional_name, paging};
use pdop_kit::mask::{Mask, update_envelope};
use pdop_kit::uow::{Call, Mutate};
use pdop_proto::review::v1 as pb;
use pdop_proto::review::v1::{AdmissionRoute, DeveloperAdmission};

use super::parse;
use crate::context::Ctx;
use crate::domain::admission::{self, COLLECTION, Transition};
use crate::domain::decision::Decision;
use crate::domain::{Error, ErrorReason, panel, rules, scenario};
use crate::storage::admissions::parties;
use crate::storage::{self, admissions, facts, opinions};

const FIELD: &str = "developer_admission";

/// The fields a developer edits in DRAFT and SUPPLEMENT_REQUESTED; repeated fields are replaced whole.
const MUTABLE: &[&str] = &[
    "route",
    "call_reference",
    "scenario_title",
    "scenario_description",
    "requested_products",
    "materials",
];

fn populated(a: &DeveloperAdmission, path: &str) -> bool {
    match path {
        "route" => a.route != 0,
        "call_reference" => !a.call_reference.is_empty(),
        "scenario_title" => !a.scenario_title.is_empty(),
        "scenario_description" => !a.scenario_description.is_empty(),
        "requested_products" => !a.requested_products.is_empty(),
        "materials" => !a.materials.is_empty(),
        _ => false,
    }
}

fn apply(to: &mut DeveloperAdmission, from: DeveloperAdmission, mask: &Mask) {
    for path in mask.paths() {
        match path {
            "route" => to.route = from.route,
            "call_reference" => to.call_reference = from.call_reference.clone(),
            "scenario_title" => to.scenario_title = from.scenario_title.clone(),
            "scenario_description" => to.scenario_description = from.scenario_description.clone(),
            "requested_products" => to.requested_products = from.requested_products.clone(),
            "materials" => to.materials = from.materials.clone(),
            _ => {}
        }
    }
}

/// The applicant's content, checked field by field (every violation at once); `mask` limits it to an update.
fn check_content(a: &DeveloperAdmission, mask: Option<&Mask>, v: &mut Violations) {
    let in_mask = |p: &str| mask.is_none_or(|m| m.has(p));
    let route = AdmissionRoute::try_from(a.route).unwrap_or_default();
    if in_mask("route") && route == AdmissionRoute::Unspecified {
        v.add(
            format!("{FIELD}.route"),
            "must be CALL_RESPONSE or SELF_PROPOSED (S-YN Art.13)",
        );
    }
    if route == AdmissionRoute::CallResponse && (in_mask("route") || in_mask("call_reference")) {
        parse::required(&a.call_reference, &format!("{FIELD}.call_reference"), v);
    }
    if in_mask("scenario_title") {
        parse::required(&a.scenario_title, &format!("{FIELD}.scenario_title"), v);
    }
    if in_mask("requested_products") {
        if a.requested_products.is_empty() {
            v.add(
                format!("{FIELD}.requested_products"),
                "must name at least one product",
            );
        }
        for (i, p) in a.requested_products.iter().enumerate() {
            if pdop_kit::names::parse(p, "products").is_none() {
                v.add(
                    format!("{FIELD}.requested_products[{i}]"),
                    pdop_kit::names::expected("products"),
                );
            }
        }
    }
    if in_mask("materials") {
        for (i, m) in a.materials.iter().enumerate() {
            if m.kind == 0 {
                v.add(format!("{FIELD}.materials[{i}].kind"), "must be set");
            }
            match &m.document {
                None => v.add(format!("{FIELD}.materials[{i}].document"), "is required"),
                Some(d) => parse::document(Some(d), &format!("{FIELD}.materials[{i}].document"), v),
            }
        }
    }
}

pub async fn create(
    ctx: &Ctx,
    call: Call,
    req: pb::CreateDeveloperAdmissionRequest,
) -> Result<pb::CreateDeveloperAdmissionResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let mut a = req.developer_admission.unwrap_or_default();
    let mut v = Violations::new();
    check_content(&a, None, &mut v);
    if pdop_kit::names::parse(&a.agreement, "agreements").is_none() {
        v.add(
            format!("{FIELD}.agreement"),
            pdop_kit::names::expected("agreements"),
        );
    }
    if !a.operator.is_empty() && pdop_kit::names::parse(&a.operator, "organizations").is_none() {
        v.add(
            format!("{FIELD}.operator"),
            pdop_kit::names::expected("organizations"),
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
            let field = format!("{FIELD}.requested_products");
            let products = admissions::products(u.tx, &a.requested_products, &field).await?;
            a.name = format!("{COLLECTION}/{}", storage::new_id());
            let change =
                admission::create(&mut a, u.call, &rules::admission(&profile), &agreement, &products)?;
            admission::only_open(&a, admissions::open_of(u.tx, &a.developer, &a.operator).await?)?;
            let saved = admissions::insert(u.tx, &a, u.call.now).await?;
            Ok(change.into_write(pb::CreateDeveloperAdmissionResponse {
                developer_admission: Some(saved),
            }))
        })
    })
    .await
}

pub async fn get(
    ctx: &Ctx,
    call: Call,
    req: pb::GetDeveloperAdmissionRequest,
) -> Result<pb::GetDeveloperAdmissionResponse, Error> {
    let a = admissions::read(&ctx.platform.pool, &req.name).await?;
    let (party, supervisor) = (
        admission::is_party(&call.caller, &a),
        scenario::is_supervisor(&call.caller),
    );
    super::may_read(ctx, &call, party, supervisor, &a.jurisdiction, &a.name).await?;
    Ok(pb::GetDeveloperAdmissionResponse {
        developer_admission: Some(a),
    })
}

pub async fn list(
    ctx: &Ctx,
    call: Call,
    req: pb::ListDeveloperAdmissionsRequest,
) -> Result<pb::ListDeveloperAdmissionsResponse, Error> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<(DateTime<Utc>, String)>) =
        paging(req.page_size, &req.page_token, &mut v);
    let jurisdiction = optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v);
    let developer = optional_name(&req.developer, "organizations", "developer", &mut v);
    let operator = optional_name(&req.operator, "organizations", "operator", &mut v);
    let reviewer = optional_name(
        &req.reviewer_organization,
        "organizations",
        "reviewer_organization",
        &mut v,
    );
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    let supervised = super::supervised(ctx, &call, scenario::is_supervisor(&call.caller)).await?;
    let (found, next) = admissions::list(
        &ctx.platform.pool,
        admissions::Filter {
            jurisdiction,
            developer,
            operator,
            reviewer_organization: reviewer,
            state: req.state,
            visible_to: pdop_kit::names::parse(&call.caller.organization, "organizations")
                .unwrap_or_default(),
            supervised,
            size,
            after,
        },
    )
    .await?;
    Ok(pb::ListDeveloperAdmissionsResponse {
        developer_admissions: found,
        next_page_token: next,
    })
}

pub async fn update(
    ctx: &Ctx,
    call: Call,
    req: pb::UpdateDeveloperAdmissionRequest,
) -> Result<pb::UpdateDeveloperAdmissionResponse, Error> {
    let from = req.developer_admission.unwrap_or_default();
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
            let mut a = admissions::lock(u.tx, &from.name, &etag, &format!("{FIELD}.name")).await?;
            admission::own(&u.call.caller, &a)?;
            admission::require(&a, Transition::Edit)?;
            apply(&mut a, from, &mask);
            let change = admission::edited(&a, mask.paths().collect());
            let saved = admissions::save(u.tx, &a, u.call.now).await?;
            Ok(change.into_write(pb::UpdateDeveloperAdmissionResponse {
                developer_admission: Some(saved),
            }))
        })
    })
    .await
}

pub async fn submit(
    ctx: &Ctx,
    call: Call,
    req: pb::SubmitDeveloperAdmissionRequest,
) -> Result<pb::SubmitDeveloperAdmissionResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = admissions::lock(u.tx, &req.name, &req.etag, "name").await?;
            let agreement = facts::agreement(u.tx, &a.agreement, "name").await?;
            let profile = facts::profile(u.tx, &u.state.profiles, &a.jurisdiction).await?;
            let rules = rules::admission(&profile);
            let products = admissions::products(u.tx, &a.requested_products, "name").await?;
            let standing = admissions::standing(u.tx, &a.developer).await?;
            let resubmission = admission::submit(&mut a, u.call, &rules, &agreement, &products, &standing)?;
            let providers = admissions::providers(u.tx, &products).await?;
            let panel_spec = admission::procedure(&rules)?;
            let seats =
                facts::resolve_panel(u.tx, panel_spec, &a.jurisdiction, &agreement, &providers).await?;
            let (name, developer) = (a.name.clone(), a.developer.clone());
            panel::seat(&name, &mut a.reviewers, &seats, &developer, u.call)?;
            let change = admission::submitted(&a, u.call, resubmission, &parties(u.tx, &a).await?);
            let saved = admissions::save(u.tx, &a, u.call.now).await?;
            Ok(change.into_write(pb::SubmitDeveloperAdmissionResponse {
                developer_admission: Some(saved),
            }))
        })
    })
    .await
}

pub async fn return_for_supplement(
    ctx: &Ctx,
    call: Call,
    req: pb::ReturnDeveloperAdmissionForSupplementRequest,
) -> Result<pb::ReturnDeveloperAdmissionForSupplementResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let request = parse::supplement(req.items, req.note, req.due_date, call.today())?;
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = admissions::lock(u.tx, &req.name, &req.etag, "name").await?;
            admission::require(&a, Transition::Decide)?;
            panel::require_lead(&u.call.caller, &a.name, &a.reviewers)?;
            let p = parties(u.tx, &a).await?;
            let change = admission::return_for_supplement(&mut a, u.call, request, &p)?;
            let saved = admissions::save(u.tx, &a, u.call.now).await?;
            Ok(
                change.into_write(pb::ReturnDeveloperAdmissionForSupplementResponse {
                    developer_admission: Some(saved),
                }),
            )
        })
    })
    .await
}

pub async fn approve(
    ctx: &Ctx,
    call: Call,
    req: pb::ApproveDeveloperAdmissionRequest,
) -> Result<pb::ApproveDeveloperAdmissionResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let mut v = Violations::new();
    parse::document(req.decision_document.as_ref(), "decision_document", &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = admissions::lock(u.tx, &req.name, &req.etag, "name").await?;
            admission::require(&a, Transition::Decide)?;
            panel::require_lead(&u.call.caller, &a.name, &a.reviewers)?;
            let profile = facts::profile(u.tx, &u.state.profiles, &a.jurisdiction).await?;
            let rules = rules::admission(&profile);
            let opinions = opinions::of_round(u.tx, &a.name, admission::round(&a)).await?;
            let panel_spec = admission::procedure(&rules)?;
            panel::ready_to_approve(&a.name, &a.reviewers, panel_spec, &rules.criteria, &opinions)?;
            let agreement = facts::agreement(u.tx, &a.agreement, "name").await?;
            let standing = admissions::standing(u.tx, &a.developer).await?;
            let decision = Decision {
                reasons: req.reasons,
                conditions: req.conditions,
                document: req.decision_document,
                late_explanation: req.late_explanation,
                ..Default::default()
            };
            let p = parties(u.tx, &a).await?;
            let (qualified, admitted) =
                admission::approve(&mut a, u.call, &rules, &agreement, &standing, decision, &p)?;
            let saved = admissions::save(u.tx, &a, u.call.now).await?;
            let write = qualified.into_write(pb::ApproveDeveloperAdmissionResponse {
                developer_admission: Some(saved),
            });
            Ok(match admitted {
                Some(admitted) => write.and(admitted),
                None => write,
            })
        })
    })
    .await
}

pub async fn reject(
    ctx: &Ctx,
    call: Call,
    req: pb::RejectDeveloperAdmissionRequest,
) -> Result<pb::RejectDeveloperAdmissionResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let decision = parse::grounds(
        req.reasons,
        req.basis,
        req.decision_document,
        req.late_explanation,
    )?;
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = admissions::lock(u.tx, &req.name, &req.etag, "name").await?;
            admission::require_reject(&a, u.call.today())?;
            panel::require_lead(&u.call.caller, &a.name, &a.reviewers)?;
            let p = parties(u.tx, &a).await?;
            let change = admission::reject(&mut a, u.call, decision, &p)?;
            let saved = admissions::save(u.tx, &a, u.call.now).await?;
            Ok(change.into_write(pb::RejectDeveloperAdmissionResponse {
                developer_admission: Some(saved),
            }))
        })
    })
    .await
}

pub async fn withdraw(
    ctx: &Ctx,
    call: Call,
    req: pb::WithdrawDeveloperAdmissionRequest,
) -> Result<pb::WithdrawDeveloperAdmissionResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = admissions::lock(u.tx, &req.name, &req.etag, "name").await?;
            let p = parties(u.tx, &a).await?;
            let change = admission::withdraw(&mut a, u.call, req.reason, &p)?;
            let saved = admissions::save(u.tx, &a, u.call.now).await?;
            Ok(change.into_write(pb::WithdrawDeveloperAdmissionResponse {
                developer_admission: Some(saved),
            }))
        })
    })
    .await
}
