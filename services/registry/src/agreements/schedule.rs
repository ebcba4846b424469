//! The agreement part of the scheduler: activates filed agreements whose term has begun and expires those whose term
//! has ended (access revoked). Each transition locks its row and re-checks the state, so several replicas
//! may sweep at once without doing anything twice.

use chrono::NaiveDate;
use pdop_kit::auth::Caller;
use pdop_proto::registry::events::v1 as ev;
use pdop_proto::registry::v1::AgreementState;
use tonic::Status;

use super::lifecycle::scheduled;
use super::{for_change, state_of};
use crate::context::{Ctx, Handling};
use crate::convert::{actor, timestamp};
use crate::names;

/// Rows handled per query; a sweep repeats until none are left.
const BATCH: i64 = 100;

/// Makes every transition due on `today`; returns how many were made.
pub async fn sweep(ctx: &Ctx, caller: &Caller, today: NaiveDate) -> Result<usize, Status> {
    let mut done = 0;
    loop {
        let due: Vec<(String, i16)> = sqlx::query_as(
            "SELECT id, state FROM agreements
             WHERE (state = $1 AND term_start <= $3)
                OR (state = ANY($2) AND term_end < $3)
             ORDER BY id LIMIT $4",
        )
        .bind(AgreementState::Filed as i16)
        .bind(vec![
            AgreementState::Filed as i16,
            AgreementState::Active as i16,
            AgreementState::Suspended as i16,
        ])
        .bind(today)
        .bind(BATCH)
        .fetch_all(ctx.pool())
        .await
        .map_err(|e| ctx.db(e))?;
        if due.is_empty() {
            return Ok(done);
        }
        for (id, _) in &due {
            if transition(ctx, caller, id, today).await? {
                done += 1;
            }
        }
        if i64::try_from(due.len()).unwrap_or(0) < BATCH {
            return Ok(done);
        }
    }
}

/// Expires or activates one agreement if it is still due; false when another sweep got there first.
async fn transition(ctx: &Ctx, caller: &Caller, id: &str, today: NaiveDate) -> Result<bool, Status> {
    let mut tx = ctx.begin().await?;
    let (row, mut a) = for_change(ctx, &mut tx, &names::agreement(id), "").await?;
    let Some((start, end)) = super::term_of(&a) else {
        return Ok(false);
    };
    let state = state_of(&a);
    let running = [
        AgreementState::Filed,
        AgreementState::Active,
        AgreementState::Suspended,
    ];
    if running.contains(&state) && end < today {
        a.state = AgreementState::Expired as i32;
        a.access_revoke_time = Some(timestamp(ctx.platform.clock.now()));
        let successor = a.successor.clone();
        scheduled(
            ctx,
            &mut tx,
            caller,
            &row,
            &a,
            "pdop.registry.agreement.expired",
            |summary| ev::AgreementExpired {
                agreement: Some(summary),
                successor,
                actor: Some(actor(caller)),
            },
        )
        .await?;
    } else if state == AgreementState::Filed && start <= today {
        a.state = AgreementState::Active as i32;
        scheduled(
            ctx,
            &mut tx,
            caller,
            &row,
            &a,
            "pdop.registry.agreement.activated",
            |summary| ev::AgreementActivated {
                agreement: Some(summary),
                actor: Some(actor(caller)),
            },
        )
        .await?;
    } else {
        return Ok(false);
    }
    ctx.commit(tx).await?;
    Ok(true)
}
