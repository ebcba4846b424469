//! THREATS H2 for the modules not yet on the spine shape: a supervisor (data authority, implementing agency)
//! acts on a row only inside its token's jurisdiction or below it. The ancestry is loaded here; the decision
//! is `domain::scope::may_supervise`.

use pdop_kit::auth::Caller;
use sqlx::{Postgres, Transaction};
use tonic::Status;

use crate::context::{Ctx, Handling};

/// `what` belongs to `jurisdiction` (a `jurisdictions/…` name or a bare id): the caller must supervise it,
/// else `PERMISSION_DENIED` (OUTSIDE_JURISDICTION).
pub async fn require(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    jurisdiction: &str,
    what: &str,
) -> Result<(), Status> {
    let row = pdop_kit::scope::ancestry(&mut **tx, jurisdiction)
        .await
        .map_err(|e| ctx.db(e))?;
    Ok(crate::domain::scope::may_supervise(caller, &row, what)?)
}

/// The implementing agency (`organizations/…`) of the operator agreement `agreement_id`.
pub async fn agency_of(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    agreement_id: &str,
) -> Result<String, Status> {
    let agency: Option<String> =
        sqlx::query_scalar("SELECT implementing_agency_id FROM agreements WHERE id = $1")
            .bind(agreement_id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(|e| ctx.db(e))?;
    agency.map(|id| format!("organizations/{id}")).ok_or_else(|| {
        ctx.errors()
            .not_found("AGREEMENT_NOT_FOUND", &format!("agreements/{agreement_id}"))
    })
}

/// THREATS H2.3: where DOMAIN binds an act to the agreement's implementing agency, an agency acts only on its own.
pub async fn require_agency(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    agreement_id: &str,
    what: &str,
) -> Result<(), Status> {
    let agency = agency_of(ctx, tx, agreement_id).await?;
    if caller.organization == agency {
        return Ok(());
    }
    Err(ctx.errors().permission_denied(
        "NOT_THE_IMPLEMENTING_AGENCY",
        format!("{what} is acted on by {agency}, the implementing agency of its agreement"),
    ))
}
