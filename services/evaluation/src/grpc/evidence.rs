//! The three evidence RPCs (评价证据, REVIEW-EVALUATION §3.5). Collected records come from `collectors`.

use chrono::{DateTime, Utc};
use pdop_kit::Violations;
use pdop_kit::convert::optional_date;
use pdop_kit::handling::{optional_name, paging};
use pdop_kit::uow::{Call, Mutate};
use pdop_proto::evaluation::v1 as pb;

use crate::context::Ctx;
use crate::domain::Error;
use crate::domain::evidence::{self, COLLECTION};
use crate::storage::{self, evidence as records, facts};

pub async fn create(
    ctx: &Ctx,
    call: Call,
    req: pb::CreateEvidenceRecordRequest,
) -> Result<pb::CreateEvidenceRecordResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let manual = evidence::parse_manual(req.evidence_record.unwrap_or_default(), call.today())?;
    ctx.mutate(call, |u| {
        Box::pin(async move {
            const FIELD: &str = "evidence_record.organization";
            facts::known_organization(u.tx, &manual.organization, FIELD).await?;
            let jurisdiction = facts::jurisdiction_of(u.tx, &manual.organization)
                .await?
                .unwrap_or_default();
            let ancestry = pdop_kit::scope::ancestry(&mut **u.tx, &jurisdiction).await?;
            evidence::may_create(&u.call.caller, &manual.organization, &ancestry)?;
            let name = format!("{COLLECTION}/{}", storage::new_id());
            let (record, change) = evidence::manual(name, manual, jurisdiction, u.call);
            let saved = records::insert(u.tx, &record, u.call.now)
                .await?
                .ok_or_else(|| Error::Internal(anyhow::anyhow!("{} was not stored", record.name)))?;
            Ok(change.into_write(pb::CreateEvidenceRecordResponse {
                evidence_record: Some(saved),
            }))
        })
    })
    .await
}

pub async fn get(
    ctx: &Ctx,
    call: Call,
    req: pb::GetEvidenceRecordRequest,
) -> Result<pb::GetEvidenceRecordResponse, Error> {
    let r = records::read(&ctx.platform.pool, &req.name).await?;
    let party = evidence::is_concerned(&call.caller, &r);
    let supervisor = evidence::reads_as_supervisor(&call.caller);
    super::may_read(ctx, &call, party, supervisor, &r.jurisdiction, &r.name).await?;
    Ok(pb::GetEvidenceRecordResponse {
        evidence_record: Some(r),
    })
}

pub async fn list(
    ctx: &Ctx,
    call: Call,
    req: pb::ListEvidenceRecordsRequest,
) -> Result<pb::ListEvidenceRecordsResponse, Error> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<(DateTime<Utc>, String)>) =
        paging(req.page_size, &req.page_token, &mut v);
    let organization = optional_name(&req.organization, "organizations", "organization", &mut v);
    let jurisdiction = optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v);
    let mut day = |d: Option<&pdop_proto::common::Date>, field: &str| {
        optional_date(d).unwrap_or_else(|e| {
            v.add(field, e);
            None
        })
    };
    let occur_after = day(req.occur_after.as_ref(), "occur_after");
    let occur_before = day(req.occur_before.as_ref(), "occur_before");
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    let supervised = super::supervised(ctx, &call, evidence::reads_as_supervisor(&call.caller)).await?;
    let (found, next) = records::list(
        &ctx.platform.pool,
        records::Filter {
            organization,
            jurisdiction,
            kind: req.kind,
            occur_after,
            occur_before,
            visible_to: pdop_kit::names::parse(&call.caller.organization, "organizations")
                .unwrap_or_default(),
            supervised,
            size,
            after,
        },
    )
    .await?;
    Ok(pb::ListEvidenceRecordsResponse {
        evidence_records: found,
        next_page_token: next,
    })
}
