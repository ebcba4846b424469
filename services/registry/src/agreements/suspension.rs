//! Suspension (暂停) and resumption of an operator agreement. One transition serves every path: a person's
//! SuspendAgreement / ResumeAgreement, a blacklist measure, and the evaluation consequences the registry carries out
//! (REVIEW-EVALUATION §3.8). A suspension made on an evaluation or rectification order stores that ground, so that
//! the automatic resumption applies only to its own suspension.

use pdop_kit::auth::Caller;
use pdop_proto::registry::events::v1 as ev;
use pdop_proto::registry::v1::{
    Agreement, AgreementState, ResumeAgreementRequest, ResumeAgreementResponse, SuspendAgreementRequest,
    SuspendAgreementResponse,
};
use sqlx::{Postgres, Transaction};
use tonic::Status;

use super::lifecycle::{check_agency_or_authority, reason_required, require};
use super::{Row, commit_change, for_change, state_of, term_of};
use crate::context::{Ctx, Handling};
use crate::convert::{actor, date};

const SUSPEND: &str = "registry.SuspendAgreement";
const RESUME: &str = "registry.ResumeAgreement";

/// Why a suspension happens: its reason as announced, and the evaluation or order it carries out (empty when a
/// person or a blacklist measure decided it).
struct Ground<'a> {
    reason: &'a str,
    source: &'a str,
}

/// ACTIVE → SUSPENDED on `ground`: one revision, one audit row under `action`, one AgreementSuspended.
#[allow(clippy::too_many_arguments)]
async fn suspend_locked(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    row: &Row,
    mut a: Agreement,
    ground: Ground<'_>,
    action: &str,
) -> Result<Agreement, Status> {
    a.state = AgreementState::Suspended as i32;
    a.suspension_reason = ground.reason.to_owned();
    a.suspension_date = Some(date(ctx.platform.clock.today()));
    a.suspension_ground = ground.source.to_owned();
    commit_change(
        ctx,
        tx,
        caller,
        row,
        &a,
        &[
            "state",
            "suspension_reason",
            "suspension_date",
            "suspension_ground",
        ],
        action,
        "pdop.registry.agreement.suspended",
        |summary| ev::AgreementSuspended {
            agreement: Some(summary),
            reason: a.suspension_reason.clone(),
            suspension_date: a.suspension_date,
            actor: Some(actor(caller)),
        },
    )
    .await
}

/// SUSPENDED → ACTIVE: the ground is spent; one revision, one audit row, one AgreementResumed.
async fn resume_locked(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    row: &Row,
    mut a: Agreement,
    reason: &str,
) -> Result<Agreement, Status> {
    a.state = AgreementState::Active as i32;
    a.suspension_ground.clear();
    commit_change(
        ctx,
        tx,
        caller,
        row,
        &a,
        &["state", "suspension_ground"],
        RESUME,
        "pdop.registry.agreement.resumed",
        |summary| ev::AgreementResumed {
            agreement: Some(summary),
            reason: reason.to_owned(),
            actor: Some(actor(caller)),
        },
    )
    .await
}

fn term_ended(ctx: &Ctx, a: &Agreement) -> bool {
    term_of(a).is_some_and(|(_, end)| end < ctx.platform.clock.today())
}

/// The agreement `name` (at `etag`) locked for a person's decision, once they may act on it and it is in the state
/// `action` needs.
async fn for_decision(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    (name, etag): (&str, &str),
    (state, action): (AgreementState, &str),
) -> Result<(Row, Agreement), Status> {
    let (row, a) = for_change(ctx, tx, name, etag).await?;
    check_agency_or_authority(ctx, tx, caller, &a).await?;
    require(ctx, &a, &[state], action)?;
    Ok((row, a))
}

pub async fn suspend(
    ctx: &Ctx,
    caller: &Caller,
    req: SuspendAgreementRequest,
) -> Result<SuspendAgreementResponse, Status> {
    reason_required(ctx, "reason", &req.reason, "must say why operation is suspended")?;
    let mut tx = ctx.begin().await?;
    let active = (AgreementState::Active, "suspension");
    let (row, a) = for_decision(ctx, &mut tx, caller, (&req.name, &req.etag), active).await?;
    // Suspending is one of the measures an evaluation follow-up asks for (REVIEW-EVALUATION §3.8).
    crate::follow_ups::meet(ctx, &mut tx, &a.name).await?;
    let ground = Ground {
        reason: req.reason.trim(),
        source: "",
    };
    let saved = suspend_locked(ctx, &mut tx, caller, &row, a, ground, SUSPEND).await?;
    ctx.commit(tx).await?;
    Ok(SuspendAgreementResponse {
        agreement: Some(saved),
    })
}

pub async fn resume(
    ctx: &Ctx,
    caller: &Caller,
    req: ResumeAgreementRequest,
) -> Result<ResumeAgreementResponse, Status> {
    reason_required(ctx, "reason", &req.reason, "must say why operation may resume")?;
    let mut tx = ctx.begin().await?;
    let suspended = (AgreementState::Suspended, "resumption");
    let (row, a) = for_decision(ctx, &mut tx, caller, (&req.name, &req.etag), suspended).await?;
    if term_ended(ctx, &a) {
        return Err(ctx.errors().failed_precondition(
            "TERM_ENDED",
            format!("{}'s term has ended; it cannot resume", a.name),
        ));
    }
    let saved = resume_locked(ctx, &mut tx, caller, &row, a, req.reason.trim()).await?;
    ctx.commit(tx).await?;
    Ok(ResumeAgreementResponse {
        agreement: Some(saved),
    })
}

/// Suspends the operator's running agreements in a jurisdiction because a blacklist measure took effect
/// (暂停资格 / 取消资格, S-YN Art.21, 25): data access stops at once; resumption is the agency's decision.
pub async fn suspend_operator(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    operator: &str,
    jurisdiction: &str,
    reason: &str,
) -> Result<(), Status> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM agreements WHERE operator_id = $1 AND jurisdiction_id = $2 AND state = $3 ORDER BY id FOR UPDATE",
    )
    .bind(operator.trim_start_matches("organizations/"))
    .bind(jurisdiction.trim_start_matches("jurisdictions/"))
    .bind(AgreementState::Active as i16)
    .fetch_all(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))?;
    for id in ids {
        let (row, a) = for_change(ctx, tx, &crate::names::agreement(&id), "").await?;
        let ground = Ground { reason, source: "" };
        suspend_locked(ctx, tx, caller, &row, a, ground, "registry.CreateBlacklistEntry").await?;
    }
    Ok(())
}

/// Carries out a suspension an evaluation fact makes mandatory: the agreement `name`, if ACTIVE, is suspended
/// with `reason` on `source` (the evaluation or order); in any other state it is left as it is. Returns whether it
/// was suspended.
pub async fn suspend_on_ground(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    name: &str,
    reason: &str,
    source: &str,
) -> Result<bool, Status> {
    let (row, a) = for_change(ctx, tx, name, "").await?;
    if state_of(&a) != AgreementState::Active {
        return Ok(false);
    }
    suspend_locked(ctx, tx, caller, &row, a, Ground { reason, source }, SUSPEND).await?;
    Ok(true)
}

/// Lifts the suspension made on `source` (a rectification order whose access suspension ends): only an agreement
/// SUSPENDED on that very ground, with its term running, resumes; a suspension a person or another fact made stays.
/// Returns whether it resumed.
pub async fn resume_on_ground(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    name: &str,
    source: &str,
    reason: &str,
) -> Result<bool, Status> {
    let (row, a) = for_change(ctx, tx, name, "").await?;
    let own = state_of(&a) == AgreementState::Suspended && a.suspension_ground == source;
    if !own || source.is_empty() || term_ended(ctx, &a) {
        return Ok(false);
    }
    resume_locked(ctx, tx, caller, &row, a, reason).await?;
    Ok(true)
}
