//! The gRPC handlers: parse the request into typed values (collecting every violation), then hand `mutate` a
//! body that locks, reads the facts, decides (in `domain`) and writes (in `storage`); reads use the pool.

pub mod campaigns;
pub mod evaluations;
pub mod evidence;
pub mod indicator_systems;

use pdop_kit::uow::Call;

use crate::context::Ctx;
use crate::domain::{Error, ErrorReason};

pub mod operator_reports;
pub mod rectification_orders;

/// A party to the resource reads it; so does a `supervisor` (by role) of its jurisdiction or one above it; anyone
/// else is PERMISSION_DENIED (`pdop_kit::scope::may_read`).
pub async fn may_read(
    ctx: &Ctx,
    call: &Call,
    party: bool,
    supervisor: bool,
    jurisdiction: &str,
    name: &str,
) -> Result<(), Error> {
    let pool = &ctx.platform.pool;
    pdop_kit::scope::may_read(
        pool,
        &call.caller,
        party,
        supervisor,
        jurisdiction,
        name,
        ErrorReason::NotAParty,
    )
    .await
}

/// The jurisdictions a supervisor lists in: its own and every one below it; none for anyone else.
pub async fn supervised(ctx: &Ctx, call: &Call, supervisor: bool) -> Result<Vec<String>, Error> {
    if !supervisor {
        return Ok(Vec::new());
    }
    crate::storage::facts::supervised(&ctx.platform.pool, &call.caller.jurisdiction).await
}
