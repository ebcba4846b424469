//! The six indicator-system RPCs (评价指标体系, §3.2).

use chrono::{DateTime, Utc};
use pdop_kit::Violations;
use pdop_kit::auth::Role;
use pdop_kit::handling::{optional_name, paging};
use pdop_kit::mask::{Mask, update_envelope};
use pdop_kit::uow::{Call, Mutate};
use pdop_proto::evaluation::v1 as pb;
use pdop_proto::evaluation::v1::{IndicatorSystem, IndicatorSystemState as State};

use crate::context::Ctx;
use crate::domain::indicator_system::{self as system, COLLECTION, state_of};
use crate::domain::{Error, ErrorReason};
use crate::storage::{self, Tx, facts, indicator_systems};

const FIELD: &str = "indicator_system";

/// The fields an owner edits in DRAFT; repeated and nested fields are replaced whole.
const MUTABLE: &[&str] = &[
    "display_name",
    "description",
    "subject_kind",
    "year",
    "dimensions",
    "veto_items",
    "grading",
    "sources",
    "supersedes",
];

fn populated(s: &IndicatorSystem, path: &str) -> bool {
    match path {
        "display_name" => !s.display_name.is_empty(),
        "description" => !s.description.is_empty(),
        "subject_kind" => s.subject_kind != 0,
        "year" => s.year != 0,
        "dimensions" => !s.dimensions.is_empty(),
        "veto_items" => !s.veto_items.is_empty(),
        "grading" => s.grading.is_some(),
        "sources" => !s.sources.is_empty(),
        "supersedes" => !s.supersedes.is_empty(),
        _ => false,
    }
}

fn apply(s: &mut IndicatorSystem, from: IndicatorSystem, mask: &Mask) {
    let IndicatorSystem {
        display_name,
        description,
        subject_kind,
        year,
        dimensions,
        veto_items,
        grading,
        sources,
        supersedes,
        ..
    } = from;
    for path in mask.paths() {
        match path {
            "display_name" => s.display_name = display_name.clone(),
            "description" => s.description = description.clone(),
            "subject_kind" => s.subject_kind = subject_kind,
            "year" => s.year = year,
            "dimensions" => s.dimensions = dimensions.clone(),
            "veto_items" => s.veto_items = veto_items.clone(),
            "grading" => s.grading = grading.clone(),
            "sources" => s.sources = sources.clone(),
            "supersedes" => s.supersedes = supersedes.clone(),
            _ => {}
        }
    }
}

/// The caller's organization must belong to the system's jurisdiction, and its kind must evaluate the subject kind
/// there (§3.3).
async fn may_own(tx: &mut Tx, ctx: &Ctx, call: &Call, s: &IndicatorSystem) -> Result<String, Error> {
    let profile = facts::profile(tx, &ctx.profiles, &s.jurisdiction).await?;
    let own = facts::jurisdiction_of(tx, &call.caller.organization).await?;
    if own.as_deref() != Some(s.jurisdiction.as_str()) {
        return Err(Error::denied(
            ErrorReason::NotAParty,
            format!(
                "{} issues indicator systems in its own jurisdiction, not {}",
                call.caller.organization, s.jurisdiction
            ),
        ));
    }
    if let Some(kind) = system::subject_kind(s.subject_kind) {
        system::may_evaluate(&profile, kind, &call.caller)?;
    }
    Ok(profile.id.clone())
}

/// A system named in `supersedes` must be a PUBLISHED one of the same jurisdiction and subject kind.
async fn check_supersedes(tx: &mut Tx, s: &IndicatorSystem) -> Result<(), Error> {
    if s.supersedes.is_empty() {
        return Ok(());
    }
    let old = indicator_systems::read(&mut **tx, &s.supersedes).await?;
    if state_of(&old) != State::Published
        || old.jurisdiction != s.jurisdiction
        || old.subject_kind != s.subject_kind
    {
        return Err(Error::refused(
            ErrorReason::SystemNotPublished,
            format!(
                "{} supersedes only a PUBLISHED system of the same jurisdiction and subject kind",
                s.name
            ),
        ));
    }
    Ok(())
}

pub async fn create(
    ctx: &Ctx,
    call: Call,
    req: pb::CreateIndicatorSystemRequest,
) -> Result<pb::CreateIndicatorSystemResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let mut s = req.indicator_system.unwrap_or_default();
    let mut v = Violations::new();
    if pdop_kit::names::parse(&s.jurisdiction, "jurisdictions").is_none() {
        v.add(
            format!("{FIELD}.jurisdiction"),
            pdop_kit::names::expected("jurisdictions"),
        );
    }
    system::check_shape(&s, FIELD, &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let profile_id = may_own(u.tx, u.state, u.call, &s).await?;
            s.name = format!("{COLLECTION}/{}", storage::new_id());
            check_supersedes(u.tx, &s).await?;
            let change = system::create(&mut s, u.call, &profile_id);
            let saved = indicator_systems::insert(u.tx, &s, u.call.now).await?;
            Ok(change.into_write(pb::CreateIndicatorSystemResponse {
                indicator_system: Some(saved),
            }))
        })
    })
    .await
}

fn is_supervisor(call: &Call) -> bool {
    [Role::DataAuthority, Role::Auditor]
        .iter()
        .any(|r| call.caller.has_role(*r))
}

pub async fn get(
    ctx: &Ctx,
    call: Call,
    req: pb::GetIndicatorSystemRequest,
) -> Result<pb::GetIndicatorSystemResponse, Error> {
    let s = indicator_systems::read(&ctx.platform.pool, &req.name).await?;
    // Published systems are public to any authenticated caller; drafts and retired ones to the owner and supervisors.
    let party = state_of(&s) == State::Published || s.owner == call.caller.organization;
    super::may_read(ctx, &call, party, is_supervisor(&call), &s.jurisdiction, &s.name).await?;
    Ok(pb::GetIndicatorSystemResponse {
        indicator_system: Some(s),
    })
}

pub async fn list(
    ctx: &Ctx,
    call: Call,
    req: pb::ListIndicatorSystemsRequest,
) -> Result<pb::ListIndicatorSystemsResponse, Error> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<(DateTime<Utc>, String)>) =
        paging(req.page_size, &req.page_token, &mut v);
    let jurisdiction = optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    let supervised = super::supervised(ctx, &call, is_supervisor(&call)).await?;
    let owner = pdop_kit::names::parse(&call.caller.organization, "organizations").unwrap_or_default();
    let (systems, next) = indicator_systems::list(
        &ctx.platform.pool,
        indicator_systems::Filter {
            jurisdiction,
            subject_kind: req.subject_kind,
            year: req.year,
            state: req.state,
            owner,
            supervised,
            size,
            after,
        },
    )
    .await?;
    Ok(pb::ListIndicatorSystemsResponse {
        indicator_systems: systems,
        next_page_token: next,
    })
}

pub async fn update(
    ctx: &Ctx,
    call: Call,
    req: pb::UpdateIndicatorSystemRequest,
) -> Result<pb::UpdateIndicatorSystemResponse, Error> {
    let from = req.indicator_system.unwrap_or_default();
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
            let mut s = indicator_systems::lock(u.tx, &from.name, &etag).await?;
            let change = system::update(&s, &u.call.caller)?;
            apply(&mut s, from, &mask);
            let mut v = Violations::new();
            system::check_shape(&s, FIELD, &mut v);
            if !v.is_empty() {
                return Err(Error::Invalid(v));
            }
            may_own(u.tx, u.state, u.call, &s).await?;
            check_supersedes(u.tx, &s).await?;
            let saved = indicator_systems::save(u.tx, &s, u.call.now).await?;
            Ok(change.into_write(pb::UpdateIndicatorSystemResponse {
                indicator_system: Some(saved),
            }))
        })
    })
    .await
}

pub async fn publish(
    ctx: &Ctx,
    call: Call,
    req: pb::PublishIndicatorSystemRequest,
) -> Result<pb::PublishIndicatorSystemResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut s = indicator_systems::lock(u.tx, &req.name, &req.etag).await?;
            let profile = facts::profile(u.tx, &u.state.profiles, &s.jurisdiction).await?;
            let jurisdiction = facts::jurisdiction(u.tx, &s.jurisdiction).await?;
            check_supersedes(u.tx, &s).await?;
            let change = system::publish(&mut s, u.call, &profile, jurisdiction.clone())?;
            let saved = indicator_systems::save(u.tx, &s, u.call.now).await?;
            let mut write = change.into_write(pb::PublishIndicatorSystemResponse {
                indicator_system: Some(saved),
            });
            // The system it supersedes is retired by this publication; evaluations keep using it.
            if !s.supersedes.is_empty() {
                let mut old = indicator_systems::lock(u.tx, &s.supersedes, "").await?;
                let reason = format!("superseded by {}", s.name);
                let retired = system::retire(&mut old, u.call, reason, jurisdiction)?;
                indicator_systems::save(u.tx, &old, u.call.now).await?;
                write = write.and(retired);
            }
            Ok(write)
        })
    })
    .await
}

pub async fn retire(
    ctx: &Ctx,
    call: Call,
    req: pb::RetireIndicatorSystemRequest,
) -> Result<pb::RetireIndicatorSystemResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    if req.reason.trim().is_empty() {
        return Err(Error::invalid("reason", "is required"));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut s = indicator_systems::lock(u.tx, &req.name, &req.etag).await?;
            let jurisdiction = facts::jurisdiction(u.tx, &s.jurisdiction).await?;
            let change = system::retire(&mut s, u.call, req.reason, jurisdiction)?;
            let saved = indicator_systems::save(u.tx, &s, u.call.now).await?;
            Ok(change.into_write(pb::RetireIndicatorSystemResponse {
                indicator_system: Some(saved),
            }))
        })
    })
    .await
}
