//! The end of data collection (§3.4), a job of the daily sweep (`scheduler`): every evaluation still
//! collecting data on the day after its self-assessment date moves to SCORING without one. The missing
//! self-assessment is left for the evaluators to weigh as a REFUSAL_OR_CONCEALMENT veto candidate; it never
//! triggers one by itself (R-EV-06). One unit of work per evaluation; a failure is logged and retried next sweep.

use pdop_kit::uow::{Call, Mutate, Write};

use crate::context::Ctx;
use crate::domain::{Error, evaluation};
use crate::storage::evaluations;

const NAME: &str = "evaluation-collection";
const METHOD: &str = "evaluation.CloseDataCollection";

pub async fn sweep(ctx: &Ctx) {
    let clock = &ctx.platform.clock;
    let passed = match evaluations::collection_passed(&ctx.platform.pool, clock.today()).await {
        Ok(passed) => passed,
        Err(err) => {
            tracing::warn!(error = %err, "could not read the evaluations whose self-assessment date passed");
            return;
        }
    };
    for name in passed {
        let call = Call::system(NAME, METHOD, clock.now());
        if let Err(err) = close(ctx, call, name.clone()).await {
            tracing::warn!(evaluation = %name, error = %err, "could not close data collection");
        }
    }
}

async fn close(ctx: &Ctx, call: Call, name: String) -> Result<(), Error> {
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut e = evaluations::lock(u.tx, &name, "").await?;
            let due = pdop_kit::convert::due_date(e.self_assessment_deadline.as_ref());
            if e.state != pdop_proto::evaluation::v1::EvaluationState::DataCollection as i32
                || due.is_none_or(|d| d >= u.call.today())
            {
                return Ok(Write::new(()));
            }
            let change = evaluation::close_collection(&mut e)?;
            evaluations::save(u.tx, &e, u.call.now).await?;
            Ok(change.into_write(()))
        })
    })
    .await
}
