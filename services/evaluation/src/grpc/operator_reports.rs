//! The seven operator-report RPCs (运营报告, §3.7).

use pdop_kit::Violations;
use pdop_kit::auth::Role;
use pdop_kit::handling::{optional_name, paging};
use pdop_kit::mask::{Mask, update_envelope};
use pdop_kit::names;
use pdop_kit::uow::{Announcement, Call, Change, Mutate};
use pdop_proto::common::OrganizationRole;
use pdop_proto::evaluation::v1 as pb;
use pdop_proto::evaluation::v1::OperatorReport;
use pdop_proto::registry::events::v1::AgreementSummary;
use pdop_rules::Profile;
use pdop_rules::profiles::OrgRole;

use crate::context::Ctx;
use crate::domain::reports::{self, COLLECTION, FIELD, Parties, kind_of};
use crate::domain::{Error, ErrorReason, report_dues};
use crate::storage::{Tx, facts, operator_reports as store};

/// The fields an operator writes; the rest is computed or output.
const MUTABLE: &[&str] = &["content_items", "metrics", "document", "attachments"];

fn populated(r: &OperatorReport, path: &str) -> bool {
    match path {
        "content_items" => !r.content_items.is_empty(),
        "metrics" => r.metrics.is_some(),
        "document" => r.document.is_some(),
        "attachments" => !r.attachments.is_empty(),
        _ => false,
    }
}

fn apply(r: &mut OperatorReport, from: OperatorReport, mask: &Mask) {
    for path in mask.paths() {
        match path {
            "content_items" => r.content_items = from.content_items.clone(),
            "metrics" => r.metrics = from.metrics.clone(),
            "document" => r.document = from.document.clone(),
            "attachments" => r.attachments = from.attachments.clone(),
            _ => {}
        }
    }
}

fn organization_role(role: OrgRole) -> OrganizationRole {
    match role {
        OrgRole::DataAuthority => OrganizationRole::DataAuthority,
        OrgRole::ImplementingAgency => OrganizationRole::ImplementingAgency,
        OrgRole::Operator => OrganizationRole::Operator,
        OrgRole::DataProvider => OrganizationRole::DataProvider,
        OrgRole::IndustryRegulator => OrganizationRole::IndustryRegulator,
    }
}

/// The organizations a report goes to (`reports.recipients`): the agreement's implementing agency, and for every
/// other kind the organizations of that kind in the agreement's jurisdiction (Henan: 实施机构及其同级公共数据主管部门,
/// S-HN Art.22). A kind the registry has announced no organization for is FAILED_PRECONDITION NO_RECIPIENT.
async fn recipients(tx: &mut Tx, profile: &Profile, a: &AgreementSummary) -> Result<Vec<String>, Error> {
    let jurisdiction = a.jurisdiction.clone().unwrap_or_default().name;
    let mut found: Vec<String> = Vec::new();
    let roles = profile
        .reports
        .recipients
        .as_ref()
        .map(|r| r.value.clone())
        .unwrap_or_default();
    for role in &roles {
        let of_role = match role {
            OrgRole::ImplementingAgency => a.implementing_agency.iter().map(|o| o.name.clone()).collect(),
            other => facts::holders(tx, &jurisdiction, organization_role(*other)).await?,
        };
        if of_role.is_empty() {
            return Err(Error::refused(
                ErrorReason::NoRecipient,
                format!(
                    "no {} of {jurisdiction} is known to receive the report (profile {})",
                    role.as_str(),
                    profile.id
                ),
            ));
        }
        found.extend(
            of_role
                .into_iter()
                .filter(|o| !found.contains(o))
                .collect::<Vec<_>>(),
        );
    }
    if found.is_empty() {
        return Err(Error::refused(
            ErrorReason::NoRecipient,
            format!("profile {} names no recipient of operator reports", profile.id),
        ));
    }
    Ok(found)
}

pub async fn create(
    ctx: &Ctx,
    call: Call,
    req: pb::CreateOperatorReportRequest,
) -> Result<pb::CreateOperatorReportResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let mut r = req.operator_report.unwrap_or_default();
    let mut v = Violations::new();
    if names::parse(&r.agreement, "agreements").is_none() {
        v.add(format!("{FIELD}.agreement"), names::expected("agreements"));
    }
    reports::check_period(&r, &mut v);
    reports::check_content(&r, |_| true, &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let a = facts::agreement(u.tx, &r.agreement, &format!("{FIELD}.agreement")).await?;
            let operator = a.operator.clone().unwrap_or_default().name;
            reports::may_report(&u.call.caller, &operator, &r.agreement)?;
            let jurisdiction = a.jurisdiction.clone().unwrap_or_default().name;
            let profile = facts::profile(u.tx, &u.state.profiles, &jurisdiction).await?;
            let kind = kind_of(&r);
            report_dues::filed(&profile, kind, &format!("{FIELD}.kind"))?;
            let due =
                report_dues::due(&u.state.calendar, &profile, kind, r.year, r.quarter).ok_or_else(|| {
                    Error::invalid(
                        format!("{FIELD}.kind"),
                        format!("profile {} gives no due date for {kind:?} reports", profile.id),
                    )
                })?;
            let to = recipients(u.tx, &profile, &a).await?;
            let p = Parties {
                operator: facts::organization(u.tx, &operator).await?,
                jurisdiction: facts::jurisdiction(u.tx, &jurisdiction).await?,
            };
            r.name = store::new_name();
            let change = reports::create(&mut r, &profile, due, to, &p);
            let saved = store::insert(u.tx, &r, u.call.now).await?;
            Ok(change.into_write(pb::CreateOperatorReportResponse {
                operator_report: Some(saved),
            }))
        })
    })
    .await
}

/// Data authorities, evaluators, pricing authorities and auditors read the reports of their jurisdiction and below.
fn is_supervisor(call: &Call) -> bool {
    [
        Role::DataAuthority,
        Role::Evaluator,
        Role::PricingAuthority,
        Role::Auditor,
    ]
    .iter()
    .any(|r| call.caller.has_role(*r))
}

pub async fn get(
    ctx: &Ctx,
    call: Call,
    req: pb::GetOperatorReportRequest,
) -> Result<pb::GetOperatorReportResponse, Error> {
    let r = store::read(&ctx.platform.pool, &req.name).await?;
    let org = &call.caller.organization;
    let party = *org == r.operator || r.recipients.contains(org);
    super::may_read(ctx, &call, party, is_supervisor(&call), &r.jurisdiction, &r.name).await?;
    Ok(pb::GetOperatorReportResponse {
        operator_report: Some(r),
    })
}

pub async fn list(
    ctx: &Ctx,
    call: Call,
    req: pb::ListOperatorReportsRequest,
) -> Result<pb::ListOperatorReportsResponse, Error> {
    let mut v = Violations::new();
    let (size, after) = paging(req.page_size, &req.page_token, &mut v);
    let operator = optional_name(&req.operator, "organizations", "operator", &mut v);
    let agreement = optional_name(&req.agreement, "agreements", "agreement", &mut v);
    let jurisdiction = optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    let supervised = super::supervised(ctx, &call, is_supervisor(&call)).await?;
    let (found, next) = store::list(
        &ctx.platform.pool,
        store::Filter {
            operator,
            agreement,
            jurisdiction,
            kind: req.kind,
            year: req.year,
            state: req.state,
            visible_to: names::parse(&call.caller.organization, "organizations").unwrap_or_default(),
            supervised,
            size,
            after,
        },
    )
    .await?;
    Ok(pb::ListOperatorReportsResponse {
        operator_reports: found,
        next_page_token: next,
    })
}

pub async fn update(
    ctx: &Ctx,
    call: Call,
    req: pb::UpdateOperatorReportRequest,
) -> Result<pb::UpdateOperatorReportResponse, Error> {
    let from = req.operator_report.unwrap_or_default();
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
    reports::check_content(&from, |p| mask.has(p), &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut r = store::lock(u.tx, &from.name, &etag, &format!("{FIELD}.name")).await?;
            reports::may_edit(&u.call.caller, &r, "an update")?;
            apply(&mut r, from, &mask);
            let change = reports::edited(&r, mask.paths().collect());
            let saved = store::save(u.tx, &r, u.call.now).await?;
            Ok(change.into_write(pb::UpdateOperatorReportResponse {
                operator_report: Some(saved),
            }))
        })
    })
    .await
}

/// Every change to a stored report but an edit: lock it (checking the etag), decide under its profile, save,
/// answer with the saved report.
async fn transition<R, E, D>(
    ctx: &Ctx,
    call: Call,
    (name, etag): (String, String),
    decide: D,
    respond: fn(OperatorReport) -> R,
) -> Result<R, Error>
where
    R: prost::Message + Default + 'static,
    E: Announcement,
    D: FnOnce(&mut OperatorReport, &Call, &Profile, &Parties) -> Result<Change<E>, Error> + Send + 'static,
{
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut r = store::lock(u.tx, &name, &etag, "name").await?;
            let profile = facts::profile(u.tx, &u.state.profiles, &r.jurisdiction).await?;
            let p = store::parties(u.tx, &r).await?;
            let change = decide(&mut r, u.call, &profile, &p)?;
            let saved = store::save(u.tx, &r, u.call.now).await?;
            Ok(change.into_write(respond(saved)))
        })
    })
    .await
}

pub async fn submit(
    ctx: &Ctx,
    call: Call,
    req: pb::SubmitOperatorReportRequest,
) -> Result<pb::SubmitOperatorReportResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    transition(ctx, call, (req.name, req.etag), reports::submit, |r| {
        pb::SubmitOperatorReportResponse {
            operator_report: Some(r),
        }
    })
    .await
}

pub async fn accept(
    ctx: &Ctx,
    call: Call,
    req: pb::AcceptOperatorReportRequest,
) -> Result<pb::AcceptOperatorReportResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let comments = req.comments;
    let decide =
        move |r: &mut _, call: &Call, _: &Profile, p: &Parties| reports::accept(r, call, &comments, p);
    transition(ctx, call, (req.name, req.etag), decide, |r| {
        pb::AcceptOperatorReportResponse {
            operator_report: Some(r),
        }
    })
    .await
}

pub async fn return_report(
    ctx: &Ctx,
    call: Call,
    req: pb::ReturnOperatorReportRequest,
) -> Result<pb::ReturnOperatorReportResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    if req.reason.trim().is_empty() {
        return Err(Error::invalid(
            "reason",
            "is required: what must be added or corrected",
        ));
    }
    let reason = req.reason;
    let decide = move |r: &mut _, call: &Call, _: &Profile, p: &Parties| {
        reports::return_for_correction(r, call, reason, p)
    };
    transition(ctx, call, (req.name, req.etag), decide, |r| {
        pb::ReturnOperatorReportResponse {
            operator_report: Some(r),
        }
    })
    .await
}
