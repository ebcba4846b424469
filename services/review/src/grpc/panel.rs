//! The panel RPCs on any reviewable resource (§2.9): AssignReviewer, RecuseReviewer, CreateReviewOpinion,
//! ListReviewOpinions.

use pdop_kit::Violations;
use pdop_kit::auth::Role;
use pdop_kit::handling::paging;
use pdop_kit::uow::{Call, Mutate};
use pdop_proto::review::v1 as pb;
use pdop_proto::review::v1::{OpinionStance, ReviewerRole};

use super::parse;
use crate::context::Ctx;
use crate::domain::reviewable::Reviewable;
use crate::domain::{Error, ErrorReason, seats};
use crate::storage::{self, facts, opinions, reviewables};

pub async fn assign(
    ctx: &Ctx,
    call: Call,
    req: pb::AssignReviewerRequest,
) -> Result<pb::AssignReviewerResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let seat = req.reviewer.unwrap_or_default();
    let mut v = Violations::new();
    if reviewables::check_parent(&req.parent, "parent").is_err() {
        v.add(
            "parent",
            "must name a reviewable resource, e.g. scenarioApplications/{id}",
        );
    }
    if pdop_kit::names::parse(&seat.organization, "organizations").is_none() {
        v.add(
            "reviewer.organization",
            pdop_kit::names::expected("organizations"),
        );
    }
    let role = ReviewerRole::try_from(seat.reviewer_role).unwrap_or_default();
    match role {
        ReviewerRole::Unspecified => v.add("reviewer.reviewer_role", "must be set"),
        ReviewerRole::Expert => parse::required(&seat.expert_name, "reviewer.expert_name", &mut v),
        _ if !seat.expert_name.is_empty() => v.add("reviewer.expert_name", "is only for EXPERT seats"),
        _ => {}
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut locked = reviewables::lock(u.tx, &req.parent, "parent").await?;
            let org = facts::known_organization(u.tx, &seat.organization, "reviewer.organization").await?;
            let change = seats::assign(locked.get_mut(), u.call, seat, &org)?;
            reviewables::save(u.tx, &locked, u.call.now).await?;
            let saved = locked.get().reviewers().last().cloned();
            Ok(change.into_write(pb::AssignReviewerResponse { reviewer: saved }))
        })
    })
    .await
}

/// `{parent}/reviewers/{n}` → the parent.
fn parent_of(seat: &str) -> &str {
    seat.rsplit_once("/reviewers/").map_or("", |(p, _)| p)
}

pub async fn recuse(
    ctx: &Ctx,
    call: Call,
    req: pb::RecuseReviewerRequest,
) -> Result<pb::RecuseReviewerResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let mut v = Violations::new();
    let parent = parent_of(&req.name).to_owned();
    if reviewables::check_parent(&parent, "name").is_err() {
        v.add(
            "name",
            "must name a panel seat, e.g. scenarioApplications/{id}/reviewers/{n}",
        );
    }
    parse::required(&req.reason, "reason", &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut locked = reviewables::lock(u.tx, &parent, "name").await?;
            let seat_org = locked
                .get()
                .reviewers()
                .iter()
                .find(|s| s.name == req.name)
                .map(|s| s.organization.clone())
                .ok_or_else(|| Error::not_found(ErrorReason::ReviewerNotFound, &req.name))?;
            let org = facts::organization(u.tx, &seat_org).await?;
            let change = seats::recuse(locked.get_mut(), u.call, &req.name, req.reason, &org)?;
            reviewables::save(u.tx, &locked, u.call.now).await?;
            let saved = locked
                .get()
                .reviewers()
                .iter()
                .find(|s| s.name == req.name)
                .cloned();
            Ok(change.into_write(pb::RecuseReviewerResponse { reviewer: saved }))
        })
    })
    .await
}

pub async fn create_opinion(
    ctx: &Ctx,
    call: Call,
    req: pb::CreateReviewOpinionRequest,
) -> Result<pb::CreateReviewOpinionResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let opinion = req.opinion.unwrap_or_default();
    let mut v = Violations::new();
    if reviewables::check_parent(&req.parent, "parent").is_err() {
        v.add(
            "parent",
            "must name a reviewable resource, e.g. scenarioApplications/{id}",
        );
    }
    if parent_of(&opinion.reviewer) != req.parent {
        v.add(
            "opinion.reviewer",
            "must be a seat of the parent's panel, `{parent}/reviewers/{n}`",
        );
    }
    let stance = OpinionStance::try_from(opinion.stance).unwrap_or_default();
    if stance == OpinionStance::Unspecified {
        v.add("opinion.stance", "must be set");
    }
    parse::required(&opinion.comments, "opinion.comments", &mut v);
    if stance == OpinionStance::AgreeWithConditions && opinion.conditions.is_empty() {
        v.add(
            "opinion.conditions",
            "AGREE_WITH_CONDITIONS lists at least one condition",
        );
    }
    for (i, c) in opinion.criteria.iter().enumerate() {
        if c.criterion == 0 {
            v.add(format!("opinion.criteria[{i}].criterion"), "must be set");
        }
        if c.finding == 0 {
            v.add(format!("opinion.criteria[{i}].finding"), "must be set");
        }
    }
    for (i, d) in opinion.attachments.iter().enumerate() {
        parse::document(Some(d), &format!("opinion.attachments[{i}]"), &mut v);
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut locked = reviewables::lock(u.tx, &req.parent, "parent").await?;
            let org = facts::organization(u.tx, &u.call.caller.organization).await?;
            let id = storage::new_id();
            let (given, change) = seats::give_opinion(locked.get_mut(), u.call, opinion, &id, &org)?;
            opinions::insert(u.tx, &req.parent, &given, u.call.now).await?;
            reviewables::save(u.tx, &locked, u.call.now).await?;
            Ok(change.into_write(pb::CreateReviewOpinionResponse { opinion: Some(given) }))
        })
    })
    .await
}

/// The panel, supervisors of the jurisdiction and auditors read opinions; the applicant once decided (§2.9).
async fn may_read_opinions(ctx: &Ctx, call: &Call, r: &dyn Reviewable) -> Result<(), Error> {
    let caller = &call.caller;
    if r.reviewers()
        .iter()
        .any(|s| s.organization == caller.organization)
    {
        return Ok(());
    }
    if caller.organization == r.applicant() && r.decided() {
        return Ok(());
    }
    if [Role::DataAuthority, Role::ImplementingAgency, Role::Auditor]
        .iter()
        .any(|x| caller.has_role(*x))
    {
        let row = pdop_kit::scope::ancestry(&ctx.platform.pool, r.jurisdiction()).await?;
        return pdop_kit::scope::may_supervise(caller, &row, r.name(), ErrorReason::NotAParty);
    }
    Err(Error::denied(
        ErrorReason::NotAParty,
        format!(
            "the opinions on {} are read by its panel, its supervisors and, once decided, its applicant",
            r.name()
        ),
    ))
}

pub async fn list_opinions(
    ctx: &Ctx,
    call: Call,
    req: pb::ListReviewOpinionsRequest,
) -> Result<pb::ListReviewOpinionsResponse, Error> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<i64>) = paging(req.page_size, &req.page_token, &mut v);
    if req.review_round < 0 {
        v.add("review_round", "must not be negative");
    }
    if reviewables::check_parent(&req.parent, "parent").is_err() {
        v.add(
            "parent",
            "must name a reviewable resource, e.g. scenarioApplications/{id}",
        );
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    let parent = reviewables::read(&ctx.platform.pool, &req.parent, "parent").await?;
    may_read_opinions(ctx, &call, parent.get()).await?;
    let (opinions, next) =
        opinions::list(&ctx.platform.pool, &req.parent, req.review_round, size, after).await?;
    Ok(pb::ListReviewOpinionsResponse {
        opinions,
        next_page_token: next,
    })
}
