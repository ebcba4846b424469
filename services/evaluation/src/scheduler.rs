//! The evaluation scheduler (R-EV-04): a daily sweep, also run whenever the clock is moved, with one job per kind
//! of due date. A passed due date is acted on once, the day after it (whatever that day is), in one unit of work
//! per resource as `service:evaluation-scheduler`; a resource that fails is logged and the next sweep tries it
//! again.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use pdop_kit::uow::{Call, Change, Mutate, Write};

use crate::context::Ctx;
use crate::domain::{Error, ErrorReason, rectification, report_dues};
use crate::storage::operator_reports::{self, InForce};
use crate::storage::{facts, rectification_orders};

const NAME: &str = "evaluation-scheduler";

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One kind of due date: looks for the passed ones and acts on each.
type Job = fn(&Ctx) -> BoxFuture<'_, Result<(), Error>>;

/// The sweep's jobs, in order.
const JOBS: &[(&str, Job)] = &[
    ("self-assessment dates", collection),
    ("rectification deadlines", rectifications),
    ("operator report due dates", operator_reports),
];

pub fn start(ctx: Arc<Ctx>) {
    let platform = ctx.platform.clone();
    let interval = ctx.scheduler_interval;
    platform.spawn_interval(NAME, interval, move || {
        let ctx = ctx.clone();
        async move { sweep(&ctx).await }
    });
}

pub async fn sweep(ctx: &Ctx) {
    for (job, run) in JOBS {
        if let Err(err) = run(ctx).await {
            tracing::warn!(job, error = %err, "a scheduler job could not read its due dates");
        }
    }
}

/// §3.4: evaluations still collecting data the day after their self-assessment date move to SCORING.
fn collection(ctx: &Ctx) -> BoxFuture<'_, Result<(), Error>> {
    Box::pin(async move {
        crate::collection_sweep::sweep(ctx).await;
        Ok(())
    })
}

fn rectifications(ctx: &Ctx) -> BoxFuture<'_, Result<(), Error>> {
    Box::pin(async move {
        let clock = &ctx.platform.clock;
        for name in rectification_orders::past_due(&ctx.platform.pool, clock.today()).await? {
            let call = Call::system(NAME, "evaluation.RectificationOverdue", clock.now());
            if let Err(err) = rectification_overdue(ctx, call, name.clone()).await {
                tracing::warn!(%name, error = %err, "could not mark a rectification order overdue");
            }
        }
        Ok(())
    })
}

/// §3.6: `overdue` and RectificationOverdue, once, the day after a deadline without a passed verification.
async fn rectification_overdue(ctx: &Ctx, call: Call, name: String) -> Result<(), Error> {
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut o = rectification_orders::lock(u.tx, &name, "").await?;
            let p = rectification_orders::parties(u.tx, &o).await?;
            let Some(change) = rectification::mark_overdue(&mut o, u.call.today(), &p) else {
                return Ok(Write::new(()));
            };
            rectification_orders::save(u.tx, &o, u.call.now).await?;
            Ok(Write::new(()).and(change))
        })
    })
    .await
}

fn operator_reports(ctx: &Ctx) -> BoxFuture<'_, Result<(), Error>> {
    Box::pin(async move {
        let pool = &ctx.platform.pool;
        let clock = &ctx.platform.clock;
        for a in operator_reports::agreements_in_force(pool).await? {
            // An agreement whose jurisdiction is not known yet waits for the next sweep; the others go on.
            let profile = match pdop_kit::readmodel::profile(
                pool,
                &ctx.profiles,
                &a.jurisdiction,
                ErrorReason::JurisdictionNotFound,
            )
            .await
            {
                Ok(profile) => profile,
                Err(err) => {
                    tracing::warn!(agreement = %a.agreement, error = %err, "no profile for an agreement's reports");
                    continue;
                }
            };
            let id = pdop_kit::documents::column(&a.agreement, "agreements");
            let settled = operator_reports::settled(pool, &id).await?;
            let owed = report_dues::owed(&ctx.calendar, &profile, a.from, a.until, clock.today());
            for e in owed {
                if settled.contains(&(e.kind as i16, e.year, e.quarter)) {
                    continue;
                }
                let call = Call::system(NAME, "evaluation.OperatorReportOverdue", clock.now());
                if let Err(err) = report_due(ctx, call, a.clone(), e).await {
                    tracing::warn!(agreement = %a.agreement, error = %err, "could not settle a report due date");
                }
            }
        }
        Ok(())
    })
}

/// §3.7: an expected report missing at its due date is announced once, on the day after (`report` empty when none
/// was started); one on time is settled silently.
async fn report_due(ctx: &Ctx, call: Call, a: InForce, e: report_dues::Expected) -> Result<(), Error> {
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let id = pdop_kit::documents::column(&a.agreement, "agreements");
            let report = operator_reports::of_period(u.tx, &id, &e).await?;
            let operator = facts::organization(u.tx, &a.operator).await?;
            let jurisdiction = facts::jurisdiction(u.tx, &a.jurisdiction).await?;
            let event = report_dues::overdue(&e, report.as_ref(), operator, &a.agreement, jurisdiction);
            if !operator_reports::settle(u.tx, &id, &e, event.is_some(), u.call.now).await? {
                return Ok(Write::new(()));
            }
            let Some(event) = event else {
                return Ok(Write::new(()));
            };
            let audit =
                serde_json::json!({ "kind": event.kind, "year": event.year, "quarter": event.quarter });
            Ok(Write::new(()).and(Change::new(&a.agreement, audit).announce(event)))
        })
    })
    .await
}
