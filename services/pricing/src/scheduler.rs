//! The pricing scheduler: ends every PUBLISHED cap and price whose effective period ended before today
//! (已终止), one unit of work per row, as `service:pricing-scheduler`. A row that fails is logged and the
//! sweep goes on; the next sweep tries it again.

use std::sync::Arc;
use std::time::Duration;

use pdop_kit::uow::{Call, Mutate};
use pdop_proto::pricing::v1::{CapPrice, SpecificPrice};

use crate::context::Ctx;
use crate::domain::ending::{EndReason, period_over};
use crate::domain::{Error, caps, prices};
use crate::storage;

const NAME: &str = "pricing-scheduler";
const METHOD: &str = "pricing.EndPrices";

/// Sweeps now, then every `interval` and whenever the clock is moved, until the service stops.
pub fn start(ctx: Arc<Ctx>, interval: Duration) {
    let platform = ctx.platform.clone();
    platform.spawn_interval(NAME, interval, move || {
        let ctx = ctx.clone();
        async move { sweep(&ctx).await }
    });
}

/// Ends what is over today.
pub async fn sweep(ctx: &Ctx) {
    let clock = &ctx.platform.clock;
    let today = clock.today();
    match storage::caps::published(&ctx.platform.pool).await {
        Ok(caps) => {
            for c in caps
                .iter()
                .filter(|c| period_over(c.effective_period.as_ref(), today))
            {
                let call = Call::system(NAME, METHOD, clock.now());
                if let Err(err) = end_cap(ctx, call, c.name.clone()).await {
                    tracing::warn!(cap = %c.name, error = %err, "could not end a cap whose period is over");
                }
            }
        }
        Err(err) => tracing::warn!(error = %err, "could not read the published caps"),
    }
    match storage::prices::published(&ctx.platform.pool).await {
        Ok(prices) => {
            for p in prices
                .iter()
                .filter(|p| period_over(p.effective_period.as_ref(), today))
            {
                let call = Call::system(NAME, METHOD, clock.now());
                if let Err(err) = end_price(ctx, call, p.name.clone()).await {
                    tracing::warn!(price = %p.name, error = %err, "could not end a price whose period is over");
                }
            }
        }
        Err(err) => tracing::warn!(error = %err, "could not read the published prices"),
    }
}

async fn end_cap(ctx: &Ctx, call: Call, name: String) -> Result<CapPrice, Error> {
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut c = storage::caps::lock(u.tx, &name, "").await?;
            let case = storage::cases::get(u.tx, &c.pricing_case, "pricing_case", false).await?;
            let change = caps::end(&mut c, &case, u.call, EndReason::PeriodOver)?;
            let saved = storage::caps::save(u.tx, &c, u.call.now).await?;
            Ok(change.into_write(saved))
        })
    })
    .await
}

async fn end_price(ctx: &Ctx, call: Call, name: String) -> Result<SpecificPrice, Error> {
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut p = storage::prices::lock(u.tx, &name, "").await?;
            let case = storage::cases::get(u.tx, &p.pricing_case, "pricing_case", false).await?;
            let change = prices::end(&mut p, &case, u.call, EndReason::PeriodOver)?;
            let saved = storage::prices::save(u.tx, &p, u.call.now).await?;
            Ok(change.into_write(saved))
        })
    })
    .await
}
