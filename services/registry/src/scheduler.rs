//! The registry's scheduler: the transitions that happen because a day arrives. Operator agreements begin
//! and expire, blacklist measures take effect and end, developer agreements expire,
//! registrations expire unrenewed, deadlines fall overdue. Every transition locks
//! its row and re-checks it, so replicas may sweep concurrently.

use std::sync::Arc;

use chrono::NaiveDate;
use pdop_kit::auth::Caller;
use tonic::Status;

use crate::context::Ctx;
use crate::{agreements, blacklist, deadlines, developer_agreements, grpc};

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
    done += grpc::lifecycle::expire_due(ctx, today)
        .await
        .map_err(Status::from)?;
    done += deadlines::mark_overdue(ctx, &caller, today).await?;
    Ok(done)
}
