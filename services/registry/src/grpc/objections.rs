//! `ListRegistrationObjections`, `UpholdRegistrationObjection`, `DismissRegistrationObjection`: the registry's
//! re-check (复核) of the objections to a public notice (N3 Art.12).

use chrono::{DateTime, Utc};
use pdop_kit::Violations;
use pdop_kit::auth::Role;
use pdop_kit::handling::paging;
use pdop_kit::uow::{Call, Mutate, Write};
use pdop_proto::registry::v1 as pb;
use pdop_proto::registry::v1::{ObjectionDecisionState, ObligationKind, Registration, RegistrationObjection};

use super::decide;
use crate::context::Ctx;
use crate::domain::registration::{self, COLLECTION, Transition};
use crate::domain::{Error, ErrorReason, objection};
use crate::names;
use crate::storage::{self, Tx, obligations};

pub async fn list(
    ctx: &Ctx,
    call: Call,
    req: pb::ListRegistrationObjectionsRequest,
) -> Result<pb::ListRegistrationObjectionsResponse, Error> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<(DateTime<Utc>, String)>) =
        paging(req.page_size, &req.page_token, &mut v);
    let id = names::parse(&req.parent, COLLECTION);
    if id.is_none() {
        v.add("parent", names::expected(COLLECTION));
    }
    let (Some(id), true) = (id, v.is_empty()) else {
        return Err(Error::Invalid(v));
    };
    let pool = &ctx.platform.pool;
    let (reg, _) = storage::registrations::read(pool, &req.parent).await?;
    if !registration::may_read(&call.caller, &reg.applicant) {
        return Err(Error::denied(
            ErrorReason::NotYourApplication,
            "only the applicant and the registry read its objections",
        ));
    }
    let (mut objections, next_page_token) =
        storage::objections::list(pool, id, after, req.state, size).await?;
    // Identity numbers and contacts are personal information: only the registry sees them.
    if !call.caller.has_role(Role::DataAuthority) {
        for party in objections.iter_mut().filter_map(|o| o.objector.as_mut()) {
            party.identity_number.clear();
            party.contact.clear();
        }
    }
    Ok(pb::ListRegistrationObjectionsResponse {
        objections,
        next_page_token,
    })
}

/// The objection `registrations/{r}/objections/{o}` and the findings of the re-check (复核意见), checked.
fn parse(name: &str, reason: &str) -> Result<(String, String), Error> {
    let mut v = Violations::new();
    let parsed = name
        .split_once("/objections/")
        .filter(|(parent, id)| names::parse(parent, COLLECTION).is_some() && names::valid_id(id));
    if parsed.is_none() {
        v.add(
            "name",
            "must be `registrations/{registration}/objections/{objection}`",
        );
    }
    if reason.trim().is_empty() {
        v.add("reason", "must give the findings of the re-check (复核意见)");
    }
    match parsed {
        Some((parent, id)) if v.is_empty() => Ok((parent.to_owned(), id.to_owned())),
        _ => Err(Error::Invalid(v)),
    }
}

/// The registration and its pending objection `name`, locked, once the caller may decide on them.
async fn pending(
    tx: &mut Tx,
    call: &Call,
    name: &str,
    (parent, id): (&str, &str),
) -> Result<(Registration, RegistrationObjection), Error> {
    let reg = storage::registrations::lock(tx, parent, "").await?;
    decide::may_decide(tx, call, &reg).await?;
    let registration_id = names::parse(parent, COLLECTION).unwrap_or_default();
    let o = storage::objections::lock(tx, registration_id, id, name).await?;
    objection::require_pending(&o)?;
    Ok((reg, o))
}

pub async fn uphold(
    ctx: &Ctx,
    call: Call,
    req: pb::UpholdRegistrationObjectionRequest,
) -> Result<pb::UpholdRegistrationObjectionResponse, Error> {
    let (parent, id) = parse(&req.name, &req.reason)?;
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let (mut reg, mut o) = pending(u.tx, u.call, &req.name, (&parent, &id)).await?;
            registration::require(&reg, Transition::UpholdObjection)?;
            let jurisdiction = storage::refs::jurisdiction(u.tx, &reg.jurisdiction, "jurisdiction")
                .await
                .ok();
            let upheld = ObjectionDecisionState::Upheld;
            let decided = objection::decide(&mut o, &reg.name, u.call, upheld, &req.reason, jurisdiction)?;
            storage::objections::save(u.tx, &o).await?;
            obligations::meet(u.tx, u.call, &reg.name, ObligationKind::RegistrationNotice).await?;
            let parties = storage::refs::parties(u.tx, &reg).await?;
            let terminated = objection::uphold(&mut reg, &parties, u.call, &o)?;
            let saved = storage::registrations::save(u.tx, &reg, u.call.now).await?;
            Ok(Write::new(pb::UpholdRegistrationObjectionResponse {
                objection: Some(o),
                registration: Some(saved),
            })
            .and(decided)
            .and(terminated))
        })
    })
    .await
}

pub async fn dismiss(
    ctx: &Ctx,
    call: Call,
    req: pb::DismissRegistrationObjectionRequest,
) -> Result<pb::DismissRegistrationObjectionResponse, Error> {
    let (parent, id) = parse(&req.name, &req.reason)?;
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let (mut reg, mut o) = pending(u.tx, u.call, &req.name, (&parent, &id)).await?;
            let jurisdiction = storage::refs::jurisdiction(u.tx, &reg.jurisdiction, "jurisdiction")
                .await
                .ok();
            let dismissed = ObjectionDecisionState::Dismissed;
            let decided = objection::decide(&mut o, &reg.name, u.call, dismissed, &req.reason, jurisdiction)?;
            storage::objections::save(u.tx, &o).await?;
            let change = objection::dismissed(&mut reg);
            storage::registrations::save(u.tx, &reg, u.call.now).await?;
            Ok(
                Write::new(pb::DismissRegistrationObjectionResponse { objection: Some(o) })
                    .and(decided)
                    .and(change),
            )
        })
    })
    .await
}
