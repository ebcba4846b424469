//! A registration after coding (N3 Art.9, 15, 20): change and correction applications amend the original,
//! which keeps its code; renewal within 60 days before expiry (D8) extends it by up to 3 years; it is
//! cancelled on an application (D6) or when it expires unrenewed, and revoked for registrant misconduct.
//! Drafts are edited with `update`.

use chrono::{Months, NaiveDate};
use pdop_kit::Violations;
use pdop_kit::auth::Caller;
use pdop_proto::common::DateRange;
use pdop_proto::registry::events::v1 as ev;
use pdop_proto::registry::v1::registration::Subject;
use pdop_proto::registry::v1::{
    CancelRegistrationRequest, CancelRegistrationResponse, CancellationReason, Registration,
    RegistrationKind, RegistrationState, RenewRegistrationRequest, RenewRegistrationResponse,
    RevocationGround, RevokeRegistrationRequest, RevokeRegistrationResponse, UpdateRegistrationRequest,
    UpdateRegistrationResponse,
};
use pdop_rules::deadlines::describe;
use sqlx::{Postgres, Transaction};
use tonic::Status;

use super::{Row, for_change, not_own, require_state, save, state_of, store, summary};
use crate::context::{Ctx, Handling};
use crate::convert::{actor, date, naive_date};
use crate::mask;
use crate::{products, resources};

/// States from which nothing further happens to an application or registration.
const TERMINAL: [RegistrationState; 6] = [
    RegistrationState::NotAccepted,
    RegistrationState::Rejected,
    RegistrationState::Terminated,
    RegistrationState::Completed,
    RegistrationState::Cancelled,
    RegistrationState::Revoked,
];

const MUTABLE: &[&str] = &[
    "title",
    "content_summary",
    "materials",
    "internal_review",
    "change_description",
    "co_applicants",
    "operation_start_date",
    "operating_term_end_date",
];

fn validity_end(reg: &Registration) -> Option<NaiveDate> {
    reg.validity
        .as_ref()
        .and_then(|v| v.end_date.as_ref())
        .and_then(naive_date)
}

pub async fn update(
    ctx: &Ctx,
    caller: &Caller,
    req: UpdateRegistrationRequest,
) -> Result<UpdateRegistrationResponse, Status> {
    const METHOD: &str = "registry.UpdateRegistration";
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
        if let (true, Err(e)) = (paths.has(path), crate::convert::optional_date(d.as_ref())) {
            v.add(format!("registration.{path}"), e);
        }
    }
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    let (row, mut reg) = for_change(ctx, &mut tx, &p.name, &req.etag).await?;
    if caller.organization != reg.applicant {
        return Err(ctx
            .errors()
            .permission_denied("NOT_YOUR_APPLICATION", "only the applicant edits its application"));
    }
    require_state(
        ctx,
        &reg,
        &[RegistrationState::Draft, RegistrationState::ReturnedForSupplement],
        "editing",
    )?;
    let changed: Vec<&str> = MUTABLE.iter().copied().filter(|f| paths.has(f)).collect();
    for field in &changed {
        match *field {
            "title" => reg.title = p.title.trim().to_owned(),
            "content_summary" => reg.content_summary = p.content_summary.trim().to_owned(),
            "materials" => reg.materials = p.materials.clone(),
            "internal_review" => reg.internal_review = p.internal_review.clone(),
            "change_description" => reg.change_description = p.change_description.clone(),
            "co_applicants" => reg.co_applicants = p.co_applicants.clone(),
            "operation_start_date" => reg.operation_start_date = p.operation_start_date,
            "operating_term_end_date" => reg.operating_term_end_date = p.operating_term_end_date,
            _ => {}
        }
    }
    let saved = store(ctx, &mut tx, &row, &reg).await?;
    // Applications are private until submitted: audited, no event.
    ctx.audit(
        &mut tx,
        caller,
        METHOD,
        &saved.name,
        serde_json::json!({ "changed": changed }),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(UpdateRegistrationResponse {
        registration: Some(saved),
    })
}

/// Applies a change or correction application whose notice ended: the original takes the new title and
/// summary and keeps its code; the application is COMPLETED (N3 Art.9(2)-(3)).
pub(super) async fn apply_amendment(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    row: &Row,
    mut app: Registration,
    action: &str,
) -> Result<Registration, Status> {
    let (original_row, mut original) = for_change(ctx, tx, &app.original_registration, "").await?;
    require_state(ctx, &original, &[RegistrationState::Coded], "amending it")?;
    original.title = app.title.clone();
    original.content_summary = app.content_summary.clone();
    original.amendments.push(app.name.clone());
    let original = store(ctx, tx, &original_row, &original).await?;
    app.state = RegistrationState::Completed as i32;
    app.current_deadline = None;
    let event = ev::RegistrationCoded {
        registration: Some(summary(ctx, tx, &original_row, &original).await?),
        application: app.name.clone(),
        registration_code: original.registration_code.clone(),
        validity: original.validity,
        actor: Some(actor(caller)),
    };
    let saved = save(
        ctx,
        tx,
        caller,
        row,
        &app,
        action,
        ("pdop.registry.registration.coded", &event),
    )
    .await?;
    ctx.audit(
        tx,
        caller,
        action,
        &original.name,
        serde_json::json!({ "amended_by": saved.name }),
    )
    .await?;
    Ok(saved)
}

pub async fn renew(
    ctx: &Ctx,
    caller: &Caller,
    req: RenewRegistrationRequest,
) -> Result<RenewRegistrationResponse, Status> {
    const METHOD: &str = "registry.RenewRegistration";
    let years = if req.years == 0 { 3 } else { req.years };
    if !(1..=3).contains(&years) {
        let mut v = Violations::new();
        v.add(
            "years",
            "must be 1 to 3 (N3 Art.15: each renewal lasts at most 3 years)",
        );
        return Err(ctx.errors().invalid(&v));
    }
    let mut tx = ctx.begin().await?;
    if let Some(previous) = ctx.replay(&mut tx, METHOD, &req.request_id, caller).await? {
        return Ok(previous);
    }
    let (row, mut reg) = for_change(ctx, &mut tx, &req.name, &req.etag).await?;
    if caller.organization != reg.registrant {
        return Err(ctx.errors().permission_denied(
            "NOT_THE_REGISTRANT",
            format!("only {} (the registrant) renews {}", reg.registrant, reg.name),
        ));
    }
    require_state(ctx, &reg, &[RegistrationState::Coded], "renewal")?;
    let end = validity_end(&reg).unwrap_or_else(|| ctx.platform.clock.today());
    let profile = ctx.profile_of(&mut tx, &row.jurisdiction_id).await?;
    // D8 (N3 Art.15): renew within the 60 days before expiry.
    if let Some(window) = &profile.registration.renewal_window {
        let opens = ctx.calendar.opens_before(end, window.value).due;
        if ctx.platform.clock.today() < opens {
            return Err(ctx.errors().failed_precondition(
                "RENEWAL_WINDOW_CLOSED",
                format!(
                    "renewal opens on {opens}, {} before the validity ends on {end} ({})",
                    describe(window.value),
                    window.source
                ),
            ));
        }
    }
    // Each renewal runs from the day after the previous expiry.
    let new_end = end
        .checked_add_months(Months::new(12 * u32::try_from(years).unwrap_or(3)))
        .unwrap_or(end);
    reg.validity = Some(DateRange {
        start_date: reg.validity.and_then(|v| v.start_date),
        end_date: Some(date(new_end)),
    });
    reg.renewal_count += 1;
    let event = ev::RegistrationRenewed {
        registration: Some(summary(ctx, &mut tx, &row, &reg).await?),
        registration_code: reg.registration_code.clone(),
        validity: reg.validity,
        actor: Some(actor(caller)),
    };
    let saved = save(
        ctx,
        &mut tx,
        caller,
        &row,
        &reg,
        METHOD,
        ("pdop.registry.registration.renewed", &event),
    )
    .await?;
    let response = RenewRegistrationResponse {
        registration: Some(saved),
    };
    ctx.remember(&mut tx, METHOD, &req.request_id, caller, &response)
        .await?;
    ctx.commit(tx).await?;
    Ok(response)
}

/// Cancels a CODED registration already locked by the caller: the subject is no longer registered.
#[allow(clippy::too_many_arguments)]
pub(super) async fn cancel_locked(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    row: &Row,
    mut reg: Registration,
    reason: CancellationReason,
    note: &str,
    action: &str,
) -> Result<Registration, Status> {
    require_state(ctx, &reg, &[RegistrationState::Coded], "cancellation")?;
    unlink(ctx, tx, row, &reg).await?;
    reg.state = RegistrationState::Cancelled as i32;
    let event = ev::RegistrationCancelled {
        registration: Some(summary(ctx, tx, row, &reg).await?),
        registration_code: reg.registration_code.clone(),
        reason: reason as i32,
        note: note.to_owned(),
        actor: Some(actor(caller)),
    };
    save(
        ctx,
        tx,
        caller,
        row,
        &reg,
        action,
        ("pdop.registry.registration.cancelled", &event),
    )
    .await
}

/// The resource is no longer authorizable; the product keeps a note that its registration ended.
async fn unlink(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    row: &Row,
    reg: &Registration,
) -> Result<(), Status> {
    if reg.kind != RegistrationKind::First as i32 || state_of(reg) != RegistrationState::Coded {
        return Ok(());
    }
    if let Some(resource_id) = &row.resource_id {
        resources::set_registration(ctx, tx, resource_id, None).await?;
    }
    if let Some(Subject::Product(name)) = &reg.subject
        && let Some((product_row, mut product)) = products::for_change(ctx, tx, name, "").await?
    {
        product.registration.clear();
        products::save(ctx, tx, &product_row, &product).await?;
    }
    Ok(())
}

pub async fn cancel(
    ctx: &Ctx,
    caller: &Caller,
    req: CancelRegistrationRequest,
) -> Result<CancelRegistrationResponse, Status> {
    const METHOD: &str = "registry.CancelRegistration";
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
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    let application = if expired {
        None
    } else {
        let (app_row, app) = for_change(ctx, &mut tx, &req.cancellation_application, "").await?;
        let ok = app.kind == RegistrationKind::Cancellation as i32 && app.original_registration == req.name;
        if !ok {
            return Err(ctx.errors().failed_precondition(
                "NOT_A_CANCELLATION_OF_THIS",
                format!("{} is not a cancellation application for {}", app.name, req.name),
            ));
        }
        require_state(
            ctx,
            &app,
            &[RegistrationState::Accepted],
            "completing the cancellation",
        )?;
        Some((app_row, app))
    };
    let (row, reg) = for_change(ctx, &mut tx, &req.name, &req.etag).await?;
    not_own(ctx, caller, &reg)?;
    if expired && validity_end(&reg).is_none_or(|end| end >= ctx.platform.clock.today()) {
        return Err(ctx.errors().failed_precondition(
            "NOT_EXPIRED",
            format!(
                "{} is valid until {}; it is not expired",
                reg.name,
                validity_end(&reg).map(|d| d.to_string()).unwrap_or_default()
            ),
        ));
    }
    let saved = cancel_locked(ctx, &mut tx, caller, &row, reg, reason, req.note.trim(), METHOD).await?;
    if let Some((app_row, mut app)) = application {
        app.state = RegistrationState::Completed as i32;
        app.current_deadline = None;
        crate::deadlines::meet(
            ctx,
            &mut tx,
            &app.name,
            pdop_proto::registry::v1::ObligationKind::RegistrationCancellation,
        )
        .await?;
        store(ctx, &mut tx, &app_row, &app).await?;
        ctx.audit(
            &mut tx,
            caller,
            METHOD,
            &app.name,
            serde_json::json!({ "state": "COMPLETED" }),
        )
        .await?;
    }
    ctx.commit(tx).await?;
    Ok(CancelRegistrationResponse {
        registration: Some(saved),
    })
}

pub async fn revoke(
    ctx: &Ctx,
    caller: &Caller,
    req: RevokeRegistrationRequest,
) -> Result<RevokeRegistrationResponse, Status> {
    const METHOD: &str = "registry.RevokeRegistration";
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
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    let (row, mut reg) = for_change(ctx, &mut tx, &req.name, &req.etag).await?;
    not_own(ctx, caller, &reg)?;
    if TERMINAL.contains(&state_of(&reg)) {
        return Err(ctx.errors().failed_precondition(
            "ALREADY_ENDED",
            format!("{} is {:?}; nothing is left to revoke", reg.name, state_of(&reg)),
        ));
    }
    unlink(ctx, &mut tx, &row, &reg).await?;
    for kind in crate::deadlines::ALL_REGISTRATION_KINDS {
        crate::deadlines::cancel(ctx, &mut tx, &reg.name, kind).await?;
    }
    reg.state = RegistrationState::Revoked as i32;
    reg.decision_reason = req.description.trim().to_owned();
    reg.current_deadline = None;
    let event = ev::RegistrationRevoked {
        registration: Some(summary(ctx, &mut tx, &row, &reg).await?),
        registration_code: reg.registration_code.clone(),
        ground: ground as i32,
        description: reg.decision_reason.clone(),
        actor: Some(actor(caller)),
    };
    let saved = save(
        ctx,
        &mut tx,
        caller,
        &row,
        &reg,
        METHOD,
        ("pdop.registry.registration.revoked", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(RevokeRegistrationResponse {
        registration: Some(saved),
    })
}

/// Cancels CODED registrations whose validity ended before `today` without renewal (N3 Art.15); run by the
/// scheduler. Returns how many.
pub async fn expire_due(ctx: &Ctx, caller: &Caller, today: NaiveDate) -> Result<usize, Status> {
    let due: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM registrations WHERE state = $1 AND validity_end < $2 ORDER BY id LIMIT 100",
    )
    .bind(RegistrationState::Coded as i16)
    .bind(today)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let mut done = 0;
    for id in due {
        let mut tx = ctx.begin().await?;
        let (row, reg) = for_change(ctx, &mut tx, &crate::names::registration(&id), "").await?;
        if state_of(&reg) == RegistrationState::Coded && validity_end(&reg).is_some_and(|end| end < today) {
            let note = "期满未续展 (N3 Art.15)";
            cancel_locked(
                ctx,
                &mut tx,
                caller,
                &row,
                reg,
                CancellationReason::ExpiredNotRenewed,
                note,
                "registry.Scheduler",
            )
            .await?;
            done += 1;
        }
        ctx.commit(tx).await?;
    }
    Ok(done)
}
