//! `RecordEvaluationFollowUp` (REVIEW-EVALUATION §3.8): how an evaluation result that recommended a measure was dealt
//! with outside the registry, which meets its EVALUATION_FOLLOW_UP obligation.

use pdop_kit::Violations;
use pdop_kit::uow::{Call, Mutate};
use pdop_proto::registry::v1 as pb;

use crate::context::Ctx;
use crate::domain::{Error, follow_up};
use crate::names;
use crate::storage::obligations;

const COLLECTION: &str = "deadlines";

pub async fn record(
    ctx: &Ctx,
    call: Call,
    req: pb::RecordEvaluationFollowUpRequest,
) -> Result<pb::RecordEvaluationFollowUpResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let mut v = Violations::new();
    if names::parse(&req.name, COLLECTION).is_none() {
        v.add("name", names::expected(COLLECTION));
    }
    let decided = follow_up::parse(&req.decision, &req.reasons, req.evidence, &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    let name = req.name;
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let (mut d, due) = obligations::lock(u.tx, &name).await?;
            let ancestry = pdop_kit::scope::ancestry(&mut **u.tx, &d.jurisdiction).await?;
            let agency = obligations::agency_of_subject(u.tx, &d.subject).await?;
            follow_up::may_record(&u.call.caller, &d, &ancestry, &agency)?;
            let change = follow_up::record(&mut d, decided, u.call, due)?;
            let saved = obligations::save(u.tx, &d, u.call.now).await?;
            Ok(change.into_write(pb::RecordEvaluationFollowUpResponse {
                deadline: Some(saved),
            }))
        })
    })
    .await
}
