//! The six appeal RPCs (申诉, §2.8).

use chrono::{DateTime, Utc};
use pdop_kit::Violations;
use pdop_kit::handling::{optional_name, paging};
use pdop_kit::uow::{Call, Mutate};
use pdop_proto::review::v1 as pb;
use pdop_proto::review::v1::{Appeal, AppealSubjectKind};

use super::parse;
use crate::context::Ctx;
use crate::domain::appeal::{self, COLLECTION, Parties};
use crate::domain::{Error, ErrorReason, scenario};
use crate::storage::reviewables::{self, Locked};
use crate::storage::{self, Tx, appeals, facts, product_reviews};

async fn parties(tx: &mut Tx, a: &Appeal) -> Result<Parties, Error> {
    Ok(Parties {
        appellant: facts::organization(tx, &a.appellant).await?,
        handling: facts::organization(tx, &a.handling_organization).await?,
        jurisdiction: facts::jurisdiction(tx, &a.jurisdiction).await?,
    })
}

fn kind_of(locked: &Locked) -> AppealSubjectKind {
    match locked {
        Locked::Scenario(_) => AppealSubjectKind::ScenarioApplication,
        Locked::DataUse(_) => AppealSubjectKind::DataUseApplication,
        Locked::Product(_) => AppealSubjectKind::ProductReview,
        Locked::Admission(_) => AppealSubjectKind::DeveloperAdmission,
    }
}

pub async fn create(
    ctx: &Ctx,
    call: Call,
    req: pb::CreateAppealRequest,
) -> Result<pb::CreateAppealResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let mut a = req.appeal.unwrap_or_default();
    let mut v = Violations::new();
    if reviewables::check_parent(&a.subject, "appeal.subject").is_err() {
        v.add(
            "appeal.subject",
            "must name a decided application, e.g. productReviews/{id}",
        );
    }
    parse::required(&a.grounds, "appeal.grounds", &mut v);
    for (i, d) in a.evidence.iter().enumerate() {
        parse::document(Some(d), &format!("appeal.evidence[{i}]"), &mut v);
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut locked = reviewables::lock(u.tx, &a.subject, "appeal.subject").await?;
            let kind = kind_of(&locked);
            let jurisdiction = locked.get().jurisdiction().to_owned();
            let profile = facts::profile(u.tx, &u.state.profiles, &jurisdiction).await?;
            appeal::may_appeal(&u.call.caller, &profile, kind)?;
            let superseded = match &locked {
                Locked::Product(r) => product_reviews::superseded(u.tx, r).await?,
                _ => false,
            };
            let Some(subject) = locked.appealable() else {
                return Err(Error::refused(
                    ErrorReason::AppellantNotAllowed,
                    format!(
                        "{kind:?}s are filed by operators, so no appellant of profile {} is their applicant \
                         (REVIEW-EVALUATION §2.14)",
                        profile.id
                    ),
                ));
            };
            let agreement = facts::agreement(u.tx, subject.agreement(), "appeal.subject").await?;
            let handling = agreement.implementing_agency.unwrap_or_default();
            a.name = format!("{COLLECTION}/{}", storage::new_id());
            let p = Parties {
                appellant: facts::organization(u.tx, &u.call.caller.organization).await?,
                handling: facts::organization(u.tx, &handling.name).await?,
                jurisdiction: facts::jurisdiction(u.tx, &jurisdiction).await?,
            };
            let change = appeal::file(&mut a, u.call, &*subject, superseded, &p)?;
            let saved = appeals::insert(u.tx, &a, u.call.now).await?;
            Ok(change.into_write(pb::CreateAppealResponse { appeal: Some(saved) }))
        })
    })
    .await
}

pub async fn get(ctx: &Ctx, call: Call, req: pb::GetAppealRequest) -> Result<pb::GetAppealResponse, Error> {
    let a = appeals::read(&ctx.platform.pool, &req.name).await?;
    let (party, supervisor) = (
        appeal::is_party(&call.caller, &a),
        scenario::is_supervisor(&call.caller),
    );
    super::may_read(ctx, &call, party, supervisor, &a.jurisdiction, &a.name).await?;
    Ok(pb::GetAppealResponse { appeal: Some(a) })
}

pub async fn list(
    ctx: &Ctx,
    call: Call,
    req: pb::ListAppealsRequest,
) -> Result<pb::ListAppealsResponse, Error> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<(DateTime<Utc>, String)>) =
        paging(req.page_size, &req.page_token, &mut v);
    let jurisdiction = optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v);
    let appellant = optional_name(&req.appellant, "organizations", "appellant", &mut v);
    if !req.subject.is_empty() && reviewables::check_parent(&req.subject, "subject").is_err() {
        v.add(
            "subject",
            "must name a reviewable resource, e.g. productReviews/{id}",
        );
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    let supervised = super::supervised(ctx, &call, scenario::is_supervisor(&call.caller)).await?;
    let (found, next) = appeals::list(
        &ctx.platform.pool,
        appeals::Filter {
            jurisdiction,
            appellant,
            subject: (!req.subject.is_empty()).then_some(req.subject.as_str()),
            subject_kind: req.subject_kind,
            state: req.state,
            visible_to: pdop_kit::names::parse(&call.caller.organization, "organizations")
                .unwrap_or_default(),
            supervised,
            size,
            after,
        },
    )
    .await?;
    Ok(pb::ListAppealsResponse {
        appeals: found,
        next_page_token: next,
    })
}

/// Upholds (the subject goes back under review) or dismisses, in one unit of work.
async fn decide(
    ctx: &Ctx,
    call: Call,
    name: String,
    etag: String,
    uphold: bool,
    grounds: crate::domain::decision::Decision,
) -> Result<Appeal, Error> {
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = appeals::lock(u.tx, &name, &etag).await?;
            let mut locked = reviewables::lock(u.tx, &a.subject, "name").await?;
            let Some(subject) = locked.appealable() else {
                return Err(Error::Internal(anyhow::anyhow!(
                    "{} appeals a kind no appeal reaches",
                    a.name
                )));
            };
            appeal::may_decide(u.call, &a, subject.decided_by())?;
            let reasons = grounds.reasons.clone();
            let p = parties(u.tx, &a).await?;
            let change = appeal::decide(&mut a, u.call, uphold, grounds, &p)?;
            if uphold {
                subject.reopen(u.call, &reasons);
                reviewables::save(u.tx, &locked, u.call.now).await?;
            }
            let saved = appeals::save(u.tx, &a, u.call.now).await?;
            Ok(change.into_write(saved))
        })
    })
    .await
}

pub async fn uphold(
    ctx: &Ctx,
    call: Call,
    req: pb::UpholdAppealRequest,
) -> Result<pb::UpholdAppealResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let grounds = reasons_of(req.reasons, req.basis, req.decision_document)?;
    let a = decide(ctx, call, req.name, req.etag, true, grounds).await?;
    Ok(pb::UpholdAppealResponse { appeal: Some(a) })
}

pub async fn dismiss(
    ctx: &Ctx,
    call: Call,
    req: pb::DismissAppealRequest,
) -> Result<pb::DismissAppealResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let grounds = reasons_of(req.reasons, req.basis, req.decision_document)?;
    let a = decide(ctx, call, req.name, req.etag, false, grounds).await?;
    Ok(pb::DismissAppealResponse { appeal: Some(a) })
}

/// An appeal is decided with reasons (§2.8); the basis is optional.
fn reasons_of(
    reasons: String,
    basis: String,
    document: Option<pdop_proto::common::DocumentRef>,
) -> Result<crate::domain::decision::Decision, Error> {
    let mut v = Violations::new();
    parse::required(&reasons, "reasons", &mut v);
    parse::document(document.as_ref(), "decision_document", &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    Ok(crate::domain::decision::Decision {
        reasons,
        basis,
        document,
        ..Default::default()
    })
}

pub async fn withdraw(
    ctx: &Ctx,
    call: Call,
    req: pb::WithdrawAppealRequest,
) -> Result<pb::WithdrawAppealResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = appeals::lock(u.tx, &req.name, &req.etag).await?;
            let p = parties(u.tx, &a).await?;
            let change = appeal::withdraw(&mut a, u.call, req.reason, &p)?;
            let saved = appeals::save(u.tx, &a, u.call.now).await?;
            Ok(change.into_write(pb::WithdrawAppealResponse { appeal: Some(saved) }))
        })
    })
    .await
}
