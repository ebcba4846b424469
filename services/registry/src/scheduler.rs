//! The registry's scheduler: the transitions that happen because a day arrives. Operator agreements begin
//! and expire, blacklist measures take effect and end, developer agreements expire,
//! registrations expire unrenewed, deadlines fall overdue. Every transition locks
//! its row and re-checks it, so replicas may sweep concurrently.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use pdop_kit::auth::Caller;
use tonic::Status;

use crate::context::Ctx;
use crate::convert::today;
use crate::{agreements, blacklist, deadlines, developer_agreements, registrations};

/// The identity the scheduler's changes are audited under.
fn scheduler() -> Caller {
    Caller {
        subject: "service:registry-scheduler".to_owned(),
        organization: String::new(),
        roles: Vec::new(),
        jurisdiction: String::new(),
    }
}

/// Runs a sweep now and then every `interval` until the service stops.
pub fn spawn(ctx: Arc<Ctx>, interval: Duration) {
    tokio::spawn(async move {
        loop {
            match sweep(&ctx, today()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(transitions = n, "scheduler swept"),
                Err(status) => {
                    tracing::warn!(error = %status.message(), "scheduler sweep failed; retrying next round");
                }
            }
            tokio::select! {
                () = ctx.platform.stopping() => break,
                () = tokio::time::sleep(interval) => {}
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
    done += registrations::expire_due(ctx, &caller, today).await?;
    done += deadlines::mark_overdue(ctx, &caller, today).await?;
    Ok(done)
}
