//! The developer-admission RPCs after qualification (§2.7): the public notice (D21), the objections disclosure
//! forwards, admission after the notice, and exit.

use pdop_kit::Violations;
use pdop_kit::auth::Role;
use pdop_kit::convert::optional_date;
use pdop_kit::handling::paging;
use pdop_kit::uow::{Call, Mutate};
use pdop_proto::review::v1 as pb;
use pdop_proto::review::v1::{AdmissionExit, AdmissionExitReason, DeveloperAdmission};

use super::parse;
use crate::context::Ctx;
use crate::domain::admission::{self, COLLECTION};
use crate::domain::admission_exit as exits;
use crate::domain::admission_notice::{self as notice, NoticeRequest};
use crate::domain::{Error, ErrorReason, panel, rules};
use crate::storage::admissions::parties;
use crate::storage::{admission_objections as objections, admissions, facts};

pub async fn start_notice(
    ctx: &Ctx,
    call: Call,
    req: pb::StartDeveloperAdmissionNoticeRequest,
) -> Result<pb::StartDeveloperAdmissionNoticeResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let mut v = Violations::new();
    let working_days = u32::try_from(req.working_days).unwrap_or_else(|_| {
        v.add(
            "working_days",
            "must not be negative; 0 takes the profile minimum",
        );
        0
    });
    let start = optional_date(req.start_date.as_ref()).unwrap_or_else(|e| {
        v.add("start_date", e);
        None
    });
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = admissions::lock(u.tx, &req.name, &req.etag, "name").await?;
            admission::require(&a, admission::Transition::StartNotice)?;
            panel::require_lead(&u.call.caller, &a.name, &a.reviewers)?;
            let profile = facts::profile(u.tx, &u.state.profiles, &a.jurisdiction).await?;
            let asked = NoticeRequest { working_days, start };
            let cited = notice::notice_period(
                &u.state.calendar,
                &rules::admission(&profile),
                asked,
                u.call.today(),
            )?;
            let p = parties(u.tx, &a).await?;
            let change = notice::start_notice(&mut a, u.call, &cited, &p)?;
            let saved = admissions::save(u.tx, &a, u.call.now).await?;
            Ok(change.into_write(pb::StartDeveloperAdmissionNoticeResponse {
                developer_admission: Some(saved),
            }))
        })
    })
    .await
}

fn is_lead(ctx_org: &str, a: &DeveloperAdmission) -> bool {
    panel::lead(&a.reviewers).is_some_and(|l| l.organization == ctx_org)
}

pub async fn list_objections(
    ctx: &Ctx,
    call: Call,
    req: pb::ListDeveloperAdmissionObjectionsRequest,
) -> Result<pb::ListDeveloperAdmissionObjectionsResponse, Error> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<i64>) = paging(req.page_size, &req.page_token, &mut v);
    let id = pdop_kit::names::parse(&req.parent, COLLECTION).map(str::to_owned);
    if id.is_none() {
        v.add("parent", pdop_kit::names::expected(COLLECTION));
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    let a = admissions::read(&ctx.platform.pool, &req.parent).await?;
    let caller = &call.caller;
    let lead = is_lead(&caller.organization, &a);
    if !lead && caller.organization != a.developer {
        let supervisor = [Role::DataAuthority, Role::ImplementingAgency, Role::Auditor]
            .iter()
            .any(|r| caller.has_role(*r));
        super::may_read(ctx, &call, false, supervisor, &a.jurisdiction, &a.name).await?;
    }
    let (found, next) = objections::list(
        &ctx.platform.pool,
        &id.unwrap_or_default(),
        req.state,
        size,
        after,
    )
    .await?;
    Ok(pb::ListDeveloperAdmissionObjectionsResponse {
        objections: found.into_iter().map(|o| notice::visible_to(o, lead)).collect(),
        next_page_token: next,
    })
}

/// `developerAdmissions/{a}/objections/{o}` → (the admission, its id, the objection id), or a violation.
fn objection_name(name: &str) -> Result<(String, String, String), Error> {
    let parsed = name.split_once("/objections/").and_then(|(parent, id)| {
        let aid = pdop_kit::names::parse(parent, COLLECTION)?;
        (!id.is_empty() && !id.contains('/')).then(|| (parent.to_owned(), aid.to_owned(), id.to_owned()))
    });
    parsed.ok_or_else(|| {
        Error::invalid(
            "name",
            "must name an objection, `developerAdmissions/{developer_admission}/objections/{objection}`",
        )
    })
}

async fn decide(
    ctx: &Ctx,
    call: Call,
    name: String,
    reason: String,
    uphold: bool,
) -> Result<pb::UpholdDeveloperAdmissionObjectionResponse, Error> {
    let (parent, admission_id, id) = objection_name(&name)?;
    let mut v = Violations::new();
    parse::required(&reason, "reason", &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = admissions::lock(u.tx, &parent, "", "name").await?;
            panel::require_lead(&u.call.caller, &a.name, &a.reviewers)?;
            let mut o = objections::lock(u.tx, &admission_id, &id, &name).await?;
            let p = parties(u.tx, &a).await?;
            let (resolved, rejected) = notice::decide_objection(&mut a, &mut o, u.call, uphold, reason, &p)?;
            objections::save(u.tx, &id, &o).await?;
            let saved = admissions::save(u.tx, &a, u.call.now).await?;
            // Both decisions answer with the objection and the admission; Dismiss returns the objection only.
            let write = resolved.into_write(pb::UpholdDeveloperAdmissionObjectionResponse {
                objection: Some(o),
                developer_admission: Some(saved),
            });
            Ok(match rejected {
                Some(rejected) => write.and(rejected),
                None => write,
            })
        })
    })
    .await
}

pub async fn uphold(
    ctx: &Ctx,
    call: Call,
    req: pb::UpholdDeveloperAdmissionObjectionRequest,
) -> Result<pb::UpholdDeveloperAdmissionObjectionResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    decide(ctx, call, req.name, req.reason, true).await
}

pub async fn dismiss(
    ctx: &Ctx,
    call: Call,
    req: pb::DismissDeveloperAdmissionObjectionRequest,
) -> Result<pb::DismissDeveloperAdmissionObjectionResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let decided = decide(ctx, call, req.name, req.reason, false).await?;
    Ok(pb::DismissDeveloperAdmissionObjectionResponse {
        objection: decided.objection,
    })
}

pub async fn admit(
    ctx: &Ctx,
    call: Call,
    req: pb::AdmitDeveloperRequest,
) -> Result<pb::AdmitDeveloperResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = admissions::lock(u.tx, &req.name, &req.etag, "name").await?;
            admission::require(&a, admission::Transition::Admit)?;
            panel::require_lead(&u.call.caller, &a.name, &a.reviewers)?;
            let id = pdop_kit::names::parse(&a.name, COLLECTION)
                .unwrap_or_default()
                .to_owned();
            let blocking = objections::blocking(u.tx, &id).await?;
            let agreement = facts::agreement(u.tx, &a.agreement, "name").await?;
            let standing = admissions::standing(u.tx, &a.developer).await?;
            let p = parties(u.tx, &a).await?;
            let change = notice::admit(&mut a, u.call, &agreement, &standing, &blocking, &p)?;
            let saved = admissions::save(u.tx, &a, u.call.now).await?;
            Ok(change.into_write(pb::AdmitDeveloperResponse {
                developer_admission: Some(saved),
            }))
        })
    })
    .await
}

pub async fn exit(
    ctx: &Ctx,
    call: Call,
    req: pb::ExitDeveloperAdmissionRequest,
) -> Result<pb::ExitDeveloperAdmissionResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let mut v = Violations::new();
    let reason = AdmissionExitReason::try_from(req.reason).unwrap_or_default();
    if reason == AdmissionExitReason::Unspecified {
        v.add("reason", "must be set");
    }
    parse::required(&req.description, "description", &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = admissions::lock(u.tx, &req.name, &req.etag, "name").await?;
            if exits::may_exit(&u.call.caller, &a, reason)? {
                let row = facts::ancestry(u.tx, &a.jurisdiction).await?;
                pdop_kit::scope::may_supervise(&u.call.caller, &row, &a.name, ErrorReason::NotAParty)?;
            }
            let details = AdmissionExit {
                reason: reason as i32,
                description: req.description,
                related: req.related,
                access_closed: req.access_closed,
                data_deletion_confirmed: req.data_deletion_confirmed,
                recorded: None,
            };
            let p = parties(u.tx, &a).await?;
            let change = exits::exit(&mut a, u.call, details, &p)?;
            let saved = admissions::save(u.tx, &a, u.call.now).await?;
            Ok(change.into_write(pb::ExitDeveloperAdmissionResponse {
                developer_admission: Some(saved),
            }))
        })
    })
    .await
}
