//! Objections (异议) to a registration's public notice (N3 Art.12): filed real-name with evidence through the
//! disclosure service and received here from its ObjectionFiled event; the registry re-checks each. An upheld
//! objection terminates the registration; no code is issued while one is pending.

use chrono::{DateTime, Utc};
use pdop_kit::Violations;
use pdop_kit::auth::{Caller, Role};
use pdop_proto::common::AuditInfo;
use pdop_proto::disclosure::events::v1::ObjectionFiled;
use pdop_proto::registry::events::v1 as ev;
use pdop_proto::registry::v1::{
    DismissRegistrationObjectionRequest, DismissRegistrationObjectionResponse,
    ListRegistrationObjectionsRequest, ListRegistrationObjectionsResponse, ObjectionDecisionState,
    RegistrationObjection, RegistrationState, UpholdRegistrationObjectionRequest,
    UpholdRegistrationObjectionResponse,
};
use prost::Message;
use sqlx::{Postgres, Transaction};
use tonic::Status;

use super::{COLLECTION, for_change, may_read, save, state_of, store, summary};
use crate::context::{Ctx, Handling, paging};
use crate::convert::{actor, timestamp};
use crate::jurisdictions::page_after;
use crate::names;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    registration_id: String,
    body: Vec<u8>,
    file_time: DateTime<Utc>,
}

impl Row {
    fn to_proto(&self) -> RegistrationObjection {
        let mut o = RegistrationObjection::decode(self.body.as_slice()).unwrap_or_default();
        o.name = format!(
            "{}/objections/{}",
            names::registration(&self.registration_id),
            self.id
        );
        o
    }
}

/// Records an objection received from the disclosure service; a redelivery changes nothing.
pub async fn record_objection(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    filed: &ObjectionFiled,
) -> Result<(), Status> {
    let (Some(registration_id), Some(objection_id)) = (
        names::parse(&filed.subject, COLLECTION),
        names::parse(&filed.name, "objections"),
    ) else {
        return Ok(());
    };
    // An objection to a registration this registry does not hold is dropped; any other failure (a deadlock,
    // a lost connection) has aborted the transaction and must reach the consumer, which retries.
    let (row, mut reg) = match for_change(ctx, tx, &filed.subject, "").await {
        Ok(found) => found,
        Err(status) if status.code() == tonic::Code::NotFound => return Ok(()),
        Err(status) => return Err(status),
    };
    let objection = RegistrationObjection {
        objection: filed.name.clone(),
        objector: filed.objector.clone(),
        grounds: filed.grounds.clone(),
        evidence: filed.evidence.clone(),
        file_time: filed.file_time,
        state: ObjectionDecisionState::Pending as i32,
        ..Default::default()
    };
    let inserted = sqlx::query(
        "INSERT INTO registration_objections (id, registration_id, state, body, file_time)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
    )
    .bind(objection_id)
    .bind(registration_id)
    .bind(ObjectionDecisionState::Pending as i16)
    .bind(objection.encode_to_vec())
    .bind(ctx.platform.clock.now())
    .execute(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))?
    .rows_affected();
    if inserted == 0 {
        return Ok(());
    }
    // The count of pending objections holds the code back (N3 Art.13).
    reg.objection_count += 1;
    let saved = store(ctx, tx, &row, &reg).await?;
    ctx.audit(
        tx,
        caller,
        "registry.ObjectionReceived",
        &saved.name,
        serde_json::json!({ "objection": filed.name, "pending": saved.objection_count }),
    )
    .await
}

pub async fn list_objections(
    ctx: &Ctx,
    caller: &Caller,
    req: ListRegistrationObjectionsRequest,
) -> Result<ListRegistrationObjectionsResponse, Status> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<(DateTime<Utc>, String)>) =
        paging(req.page_size, &req.page_token, &mut v);
    let id = names::parse(&req.parent, COLLECTION);
    if id.is_none() {
        v.add("parent", names::expected(COLLECTION));
    }
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    let (_, reg) = for_change(ctx, &mut tx, &req.parent, "").await?;
    ctx.commit(tx).await?;
    if !may_read(caller, &reg.applicant) {
        return Err(ctx.errors().permission_denied(
            "NOT_YOUR_APPLICATION",
            "only the applicant and the registry read its objections",
        ));
    }
    let (after_time, after_id) = after.unzip();
    let mut rows = sqlx::query_as::<_, Row>(
        "SELECT id, registration_id, body, file_time FROM registration_objections
         WHERE registration_id = $1 AND ($2::timestamptz IS NULL OR (file_time, id) > ($2, $3))
           AND ($4::smallint = 0 OR state = $4)
         ORDER BY file_time, id LIMIT $5",
    )
    .bind(id.unwrap_or_default())
    .bind(after_time)
    .bind(after_id)
    .bind(i16::try_from(req.state).unwrap_or(0))
    .bind(size + 1)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let next_page_token = page_after(&mut rows, size, |r| (r.file_time, r.id.clone()));
    // Identity numbers and contacts are personal information: only the registry sees them.
    let registry = caller.has_role(Role::DataAuthority);
    let objections = rows
        .iter()
        .map(|r| {
            let mut o = r.to_proto();
            if !registry && let Some(party) = o.objector.as_mut() {
                party.identity_number.clear();
                party.contact.clear();
            }
            o
        })
        .collect();
    Ok(ListRegistrationObjectionsResponse {
        objections,
        next_page_token,
    })
}

/// The registration and objection named `registrations/{r}/objections/{o}`, locked, the objection pending.
async fn pending(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    name: &str,
    reason: &str,
) -> Result<(super::Row, pdop_proto::registry::v1::Registration, Row), Status> {
    let mut v = Violations::new();
    let parsed = name
        .split_once("/objections/")
        .filter(|(parent, id)| names::parse(parent, COLLECTION).is_some() && names::valid_id(id));
    if parsed.is_none() {
        v.add(
            "name",
            "must be `registrations/{registration}/objections/{objection}`",
        );
    }
    if reason.trim().is_empty() {
        v.add("reason", "must give the findings of the re-check (复核意见)");
    }
    v.into_result(ctx.errors())?;
    let (parent, id) = parsed.unwrap_or_default();
    let (row, reg) = for_change(ctx, tx, parent, "").await?;
    ctx.not_own(caller, &[reg.applicant.as_str()], &reg.name)?;
    let objection = sqlx::query_as::<_, Row>(
        "SELECT id, registration_id, body, file_time FROM registration_objections
         WHERE id = $1 AND registration_id = $2 FOR UPDATE",
    )
    .bind(id)
    .bind(&row.id)
    .fetch_optional(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))?
    .ok_or_else(|| ctx.errors().not_found("OBJECTION_NOT_FOUND", name))?;
    let state = ObjectionDecisionState::try_from(objection.to_proto().state).unwrap_or_default();
    ctx.require_state(name, state, &[ObjectionDecisionState::Pending], "a decision")?;
    Ok((row, reg, objection))
}

/// Records the decision on the objection and the one event announcing it.
async fn decide(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    objection: &Row,
    state: ObjectionDecisionState,
    reason: &str,
    jurisdiction: &str,
) -> Result<RegistrationObjection, Status> {
    let mut o = objection.to_proto();
    o.state = state as i32;
    o.decision_reason = reason.trim().to_owned();
    o.decided = Some(AuditInfo {
        actor: Some(actor(caller)),
        time: Some(timestamp(ctx.platform.clock.now())),
        ..Default::default()
    });
    sqlx::query(
        "UPDATE registration_objections SET state = $2, body = $3, version = version + 1 WHERE id = $1",
    )
    .bind(&objection.id)
    .bind(state as i16)
    .bind(o.encode_to_vec())
    .execute(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))?;
    let event = ev::RegistrationObjectionResolved {
        registration: names::registration(&objection.registration_id),
        objection: o.objection.clone(),
        outcome: state as i32,
        reason: o.decision_reason.clone(),
        jurisdiction: crate::jurisdictions::reference(ctx, tx, jurisdiction, "jurisdiction")
            .await
            .ok(),
        actor: Some(actor(caller)),
    };
    ctx.record(
        tx,
        caller,
        "registry.DecideObjection",
        &o.name,
        serde_json::json!({ "outcome": format!("{state:?}") }),
        ("pdop.registry.registration.objection_resolved", &event),
    )
    .await?;
    Ok(o)
}

pub async fn uphold_objection(
    ctx: &Ctx,
    caller: &Caller,
    req: UpholdRegistrationObjectionRequest,
) -> Result<UpholdRegistrationObjectionResponse, Status> {
    const METHOD: &str = "registry.UpholdRegistrationObjection";
    let mut tx = ctx.begin().await?;
    let (row, mut reg, objection) = pending(ctx, &mut tx, caller, &req.name, &req.reason).await?;
    ctx.require_state(
        &reg.name,
        state_of(&reg),
        &[RegistrationState::PublicNotice],
        "terminating it",
    )?;
    let decided = decide(
        ctx,
        &mut tx,
        caller,
        &objection,
        ObjectionDecisionState::Upheld,
        &req.reason,
        &reg.jurisdiction,
    )
    .await?;
    // N3 Art.12: an objection that holds terminates the registration; its notice has done its work.
    crate::deadlines::meet(
        ctx,
        &mut tx,
        &reg.name,
        pdop_proto::registry::v1::ObligationKind::RegistrationNotice,
    )
    .await?;
    reg.objection_count = (reg.objection_count - 1).max(0);
    reg.state = RegistrationState::Terminated as i32;
    reg.decision_reason = req.reason.trim().to_owned();
    reg.current_deadline = None;
    let event = ev::RegistrationTerminated {
        registration: Some(summary(ctx, &mut tx, &row, &reg).await?),
        objection: decided.objection.clone(),
        reason: reg.decision_reason.clone(),
        actor: Some(actor(caller)),
    };
    let saved = save(
        ctx,
        &mut tx,
        caller,
        &row,
        &reg,
        METHOD,
        ("pdop.registry.registration.terminated", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(UpholdRegistrationObjectionResponse {
        objection: Some(decided),
        registration: Some(saved),
    })
}

pub async fn dismiss_objection(
    ctx: &Ctx,
    caller: &Caller,
    req: DismissRegistrationObjectionRequest,
) -> Result<DismissRegistrationObjectionResponse, Status> {
    const METHOD: &str = "registry.DismissRegistrationObjection";
    let mut tx = ctx.begin().await?;
    let (row, mut reg, objection) = pending(ctx, &mut tx, caller, &req.name, &req.reason).await?;
    let decided = decide(
        ctx,
        &mut tx,
        caller,
        &objection,
        ObjectionDecisionState::Dismissed,
        &req.reason,
        &reg.jurisdiction,
    )
    .await?;
    reg.objection_count = (reg.objection_count - 1).max(0);
    let saved = store(ctx, &mut tx, &row, &reg).await?;
    ctx.audit(
        &mut tx,
        caller,
        METHOD,
        &saved.name,
        serde_json::json!({ "pending": saved.objection_count }),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(DismissRegistrationObjectionResponse {
        objection: Some(decided),
    })
}
