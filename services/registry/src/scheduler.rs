//! The registry's scheduler: the transitions that happen because a day arrives. Operator agreements begin
//! and expire, blacklist measures take effect and end, developer agreements expire,
//! registrations expire unrenewed, deadlines fall overdue. Every transition locks
//! its row and re-checks it, so replicas may sweep concurrently.

use std::sync::Arc;

use chrono::NaiveDate;
use pdop_kit::auth::Caller;
use tonic::Status;

use crate::context::Ctx;
use pdop_kit::uow::{Call, Mutate, Write};
use pdop_proto::registry::v1 as pb;
use pdop_proto::registry::v1::CancellationReason;

use crate::domain::Error;
use crate::domain::registration_lifecycle::{self as lifecycle, EXPIRED_NOTE};
use crate::{agreements, blacklist, deadlines, developer_agreements, grpc, storage};

/// The identity the scheduler's changes are audited under.
fn scheduler() -> Caller {
    Caller {
        subject: "service:registry-scheduler".to_owned(),
        organization: String::new(),
        roles: Vec::new(),
        jurisdiction: String::new(),
    }
}

/// Runs a sweep now, then every `registry.scheduler_interval` and whenever the clock is moved, until the service
/// stops; "today" is the platform clock's.
pub fn spawn(ctx: Arc<Ctx>) {
    let interval = ctx.config.scheduler_interval;
    let platform = Arc::clone(&ctx.platform);
    platform.spawn_interval("registry-scheduler", interval, move || {
        let ctx = Arc::clone(&ctx);
        async move {
            match sweep(&ctx, ctx.platform.clock.today()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(transitions = n, "scheduler swept"),
                Err(status) => {
                    tracing::warn!(error = %status.message(), "scheduler sweep failed; retrying next round");
                }
            }
        }
    });
}

/// Makes every transition due on `today`; returns how many were made.
pub async fn sweep(ctx: &Ctx, today: NaiveDate) -> Result<usize, Status> {
    let caller = scheduler();
    let mut done = agreements::sweep(ctx, &caller, today).await?;
    done += blacklist::sweep(ctx, &caller, today).await?;
    done += developer_agreements::expire_due(ctx, &caller, today).await?;
    done += expire_registrations(ctx, today).await.map_err(Status::from)?;
    done += deadlines::mark_overdue(ctx, &caller, today).await?;
    Ok(done)
}

const SCHEDULER: &str = "registry-scheduler";
/// The action the scheduler's transitions have always been audited under.
const SCHEDULED: &str = "registry.Scheduler";

/// Cancels CODED registrations whose validity ended before `today` without renewal (N3 Art.15), one unit of work
/// each, as `service:registry-scheduler`. Returns how many.
async fn expire_registrations(ctx: &Ctx, today: NaiveDate) -> Result<usize, Error> {
    let mut done = 0;
    for name in storage::registrations::due_for_expiry(&ctx.platform.pool, today).await? {
        let call = Call::system(SCHEDULER, SCHEDULED, ctx.platform.clock.now());
        let expired: pb::CancelRegistrationResponse = ctx
            .mutate(call, |u| {
                Box::pin(async move {
                    let mut reg = storage::registrations::lock(u.tx, &name, "").await?;
                    // Another replica (or a renewal) may have got there first: the row is re-checked locked.
                    if !lifecycle::expires(&reg, today) {
                        return Ok(Write::new(pb::CancelRegistrationResponse::default()));
                    }
                    let reason = CancellationReason::ExpiredNotRenewed;
                    let (change, saved) =
                        grpc::lifecycle::cancel_locked(u.tx, u.call, &mut reg, reason, EXPIRED_NOTE).await?;
                    Ok::<_, Error>(change.into_write(pb::CancelRegistrationResponse {
                        registration: Some(saved),
                    }))
                })
            })
            .await?;
        done += usize::from(expired.registration.is_some());
    }
    Ok(done)
}
