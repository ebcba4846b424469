//! The review scheduler (R-RV-07): once a day and whenever the clock is moved, every review deadline that passed
//! unmet is announced as `ReviewDeadlineMissed`, exactly once, on the day after its due date (whatever that day
//! is). One unit of work per deadline, as `service:review-scheduler`; a deadline that fails is logged and the
//! sweep goes on, and the next sweep tries it again.

use std::sync::Arc;
use std::time::Duration;

use pdop_kit::uow::{Call, Change, Mutate, Write};
use pdop_proto::review::events::v1 as ev;

use crate::context::Ctx;
use crate::domain::Error;
use crate::storage::{deadlines, facts};

const NAME: &str = "review-scheduler";
const METHOD: &str = "review.ReviewDeadlineMissed";

pub fn start(ctx: Arc<Ctx>, interval: Duration) {
    let platform = ctx.platform.clone();
    platform.spawn_interval(NAME, interval, move || {
        let ctx = ctx.clone();
        async move { sweep(&ctx).await }
    });
}

pub async fn sweep(ctx: &Ctx) {
    let clock = &ctx.platform.clock;
    let passed = match deadlines::passed(&ctx.platform.pool, clock.today()).await {
        Ok(passed) => passed,
        Err(err) => {
            tracing::warn!(error = %err, "could not read the passed review deadlines");
            return;
        }
    };
    for (subject, step) in passed {
        let call = Call::system(NAME, METHOD, clock.now());
        if let Err(err) = announce(ctx, call, subject.clone(), step.clone()).await {
            tracing::warn!(%subject, %step, error = %err, "could not announce a missed review deadline");
        }
    }
}

async fn announce(ctx: &Ctx, call: Call, subject: String, step: String) -> Result<(), Error> {
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let Some(missed) = deadlines::take_missed(u.tx, &subject, &step, u.call.now).await? else {
                return Ok(Write::new(()));
            };
            let event = ev::ReviewDeadlineMissed {
                subject: missed.subject.clone(),
                step: missed.step.clone(),
                responsible_organization: Some(facts::organization(u.tx, &missed.responsible).await?),
                jurisdiction: Some(facts::jurisdiction(u.tx, &missed.jurisdiction).await?),
                deadline: Some(missed.deadline),
            };
            let audit = serde_json::json!({ "step": missed.step });
            Ok(Write::new(()).and(Change::new(&missed.subject, audit).announce(event)))
        })
    })
    .await
}
