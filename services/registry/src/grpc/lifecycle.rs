//! `UpdateRegistration`, `RenewRegistration`, `CancelRegistration`, `RevokeRegistration` (N3 Art.9, 15, 20),
//! and the cancellation the scheduler also makes when a registration expires unrenewed.

use pdop_kit::Violations;
use pdop_kit::convert::optional_date;
use pdop_kit::uow::{Call, Change, Mutate};
use pdop_proto::registry::events::v1 as ev;
use pdop_proto::registry::v1 as pb;
use pdop_proto::registry::v1::registration::Subject;
use pdop_proto::registry::v1::{CancellationReason, ObligationKind, Registration, RevocationGround};

use super::decide;
use crate::context::Ctx;
use crate::domain::registration_lifecycle::{self as lifecycle, MUTABLE};
use crate::domain::{Error, registration};
use crate::mask;
use crate::names;
use crate::storage::{self, Tx, obligations};

pub async fn update(
    ctx: &Ctx,
    call: Call,
    req: pb::UpdateRegistrationRequest,
) -> Result<pb::UpdateRegistrationResponse, Error> {
    let p = req.registration.unwrap_or_default();
    let mut v = Violations::new();
    let paths = mask::resolve(req.update_mask.as_ref(), MUTABLE, &mut v, |path| match path {
        "title" => !p.title.is_empty(),
        "content_summary" => !p.content_summary.is_empty(),
        "materials" => !p.materials.is_empty(),
        "internal_review" => p.internal_review.is_some(),
        "change_description" => !p.change_description.is_empty(),
        "co_applicants" => !p.co_applicants.is_empty(),
        "operation_start_date" => p.operation_start_date.is_some(),
        "operating_term_end_date" => p.operating_term_end_date.is_some(),
        _ => false,
    });
    for (path, text) in [("title", &p.title), ("content_summary", &p.content_summary)] {
        if paths.has(path) && text.trim().is_empty() {
            v.add(format!("registration.{path}"), "must not be empty");
        }
    }
    for (path, d) in [
        ("operation_start_date", &p.operation_start_date),
        ("operating_term_end_date", &p.operating_term_end_date),
    ] {
        if let (true, Err(e)) = (paths.has(path), optional_date(d.as_ref())) {
            v.add(format!("registration.{path}"), e);
        }
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    let changed: Vec<&'static str> = MUTABLE.iter().copied().filter(|f| paths.has(f)).collect();
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut reg = storage::registrations::lock(u.tx, &p.name, &req.etag).await?;
            let change = lifecycle::update(&mut reg, &u.call.caller, p, &changed)?;
            let saved = storage::registrations::save(u.tx, &reg, u.call.now).await?;
            Ok(change.into_write(pb::UpdateRegistrationResponse {
                registration: Some(saved),
            }))
        })
    })
    .await
}

pub async fn renew(
    ctx: &Ctx,
    call: Call,
    req: pb::RenewRegistrationRequest,
) -> Result<pb::RenewRegistrationResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let years = if req.years == 0 { 3 } else { req.years };
    if !(1..=3).contains(&years) {
        return Err(Error::invalid(
            "years",
            "must be 1 to 3 (N3 Art.15: each renewal lasts at most 3 years)",
        ));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut reg = storage::registrations::lock(u.tx, &req.name, &req.etag).await?;
            lifecycle::may_renew(&u.call.caller, &reg)?;
            let profile = storage::refs::profile_of_registration(u.tx, &u.state.profiles, &reg).await?;
            let parties = storage::refs::parties(u.tx, &reg).await?;
            let rules = (&*profile, &u.state.calendar);
            let change = lifecycle::renew(&mut reg, &parties, u.call, rules, years)?;
            let saved = storage::registrations::save(u.tx, &reg, u.call.now).await?;
            Ok(change.into_write(pb::RenewRegistrationResponse {
                registration: Some(saved),
            }))
        })
    })
    .await
}

/// The resource is no longer authorizable; the product keeps a note that its registration ended.
async fn unlink(tx: &mut Tx, call: &Call, reg: &Registration) -> Result<(), Error> {
    if !lifecycle::unlinks(reg) {
        return Ok(());
    }
    match &reg.subject {
        Some(Subject::Resource(name)) => {
            if let Some(id) = names::parse(name, "resources") {
                storage::subjects::link_resource(tx, id, None, call.now).await?;
            }
        }
        Some(Subject::Product(name)) => {
            if let Some(mut p) = storage::subjects::lock_product(tx, name).await? {
                p.registration.clear();
                storage::subjects::save_product(tx, &p, call.now).await?;
            }
        }
        None => {}
    }
    Ok(())
}

/// Cancels a CODED registration already locked: the subject is no longer registered.
pub(crate) async fn cancel_locked(
    tx: &mut Tx,
    call: &Call,
    reg: &mut Registration,
    reason: CancellationReason,
    note: &str,
) -> Result<(Change<ev::RegistrationCancelled>, Registration), Error> {
    registration::require(reg, registration::Transition::Cancel)?;
    unlink(tx, call, reg).await?;
    let parties = storage::refs::parties(tx, reg).await?;
    let change = lifecycle::cancel(reg, &parties, call, reason, note)?;
    let saved = storage::registrations::save(tx, reg, call.now).await?;
    Ok((change, saved))
}

pub async fn cancel(
    ctx: &Ctx,
    call: Call,
    req: pb::CancelRegistrationRequest,
) -> Result<pb::CancelRegistrationResponse, Error> {
    let reason = CancellationReason::try_from(req.reason).unwrap_or_default();
    let expired = reason == CancellationReason::ExpiredNotRenewed;
    let mut v = Violations::new();
    if reason == CancellationReason::Unspecified {
        v.add(
            "reason",
            "must name the cancellation reason (N3 Art.9(4), Art.15)",
        );
    }
    if !expired && req.cancellation_application.is_empty() {
        v.add(
            "cancellation_application",
            "must name the accepted cancellation application (or use EXPIRED_NOT_RENEWED)",
        );
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let application = if expired {
                None
            } else {
                let app = storage::registrations::lock(u.tx, &req.cancellation_application, "").await?;
                lifecycle::may_complete_cancellation(&app, &req.name)?;
                Some(app)
            };
            let mut reg = storage::registrations::lock(u.tx, &req.name, &req.etag).await?;
            decide::may_decide(u.tx, u.call, &reg).await?;
            if expired {
                lifecycle::may_cancel_as_expired(&reg, u.call.today())?;
            }
            let (cancelled, saved) = cancel_locked(u.tx, u.call, &mut reg, reason, req.note.trim()).await?;
            let write = cancelled.into_write(pb::CancelRegistrationResponse {
                registration: Some(saved),
            });
            let Some(mut app) = application else {
                return Ok(write);
            };
            let completed = lifecycle::complete_cancellation(&mut app);
            let kind = ObligationKind::RegistrationCancellation;
            obligations::meet(u.tx, u.call, &app.name, kind).await?;
            storage::registrations::save(u.tx, &app, u.call.now).await?;
            Ok(write.and(completed))
        })
    })
    .await
}

pub async fn revoke(
    ctx: &Ctx,
    call: Call,
    req: pb::RevokeRegistrationRequest,
) -> Result<pb::RevokeRegistrationResponse, Error> {
    let ground = RevocationGround::try_from(req.ground).unwrap_or_default();
    let mut v = Violations::new();
    if ground == RevocationGround::Unspecified {
        v.add(
            "ground",
            "must be FALSE_MATERIALS, TAMPERING or UNLAWFUL_USE (N3 Art.20)",
        );
    }
    if req.description.trim().is_empty() {
        v.add("description", "must state the facts found");
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut reg = storage::registrations::lock(u.tx, &req.name, &req.etag).await?;
            decide::may_decide(u.tx, u.call, &reg).await?;
            lifecycle::may_revoke(&u.call.caller, &reg)?;
            unlink(u.tx, u.call, &reg).await?;
            for kind in obligations::ALL_REGISTRATION_KINDS {
                obligations::cancel(u.tx, u.call, &reg.name, kind).await?;
            }
            let parties = storage::refs::parties(u.tx, &reg).await?;
            let change = lifecycle::revoke(&mut reg, &parties, u.call, ground, &req.description)?;
            let saved = storage::registrations::save(u.tx, &reg, u.call.now).await?;
            Ok(change.into_write(pb::RevokeRegistrationResponse {
                registration: Some(saved),
            }))
        })
    })
    .await
}
