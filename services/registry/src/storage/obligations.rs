//! The obligations (法定期限, DOMAIN §5) a registration opens and closes in the transaction of its change: rows
//! of the `deadlines` table, whose RPCs and overdue sweep stay in `crate::deadlines` until it moves.

use pdop_kit::convert::{due_date, timestamp};
use pdop_kit::uow::Call;
use pdop_proto::common::Deadline;
use pdop_proto::registry::v1::{DeadlineState, ObligationDeadline, ObligationKind, Registration};
use prost::Message;

use chrono::{DateTime, Utc};

use super::Tx;
use crate::domain::{Error, ErrorReason};
use crate::names;

/// Every obligation about a registration application.
pub use crate::deadlines::ALL_REGISTRATION_KINDS;

/// A public notice (D5) elapses on its own and the code can only follow its last day, so it is never met late.
const ELAPSES: ObligationKind = ObligationKind::RegistrationNotice;

/// Opens the obligation `kind` about `reg` with `deadline`, owed by `responsible` (empty for the registry's own
/// duties), replacing an open one of the same kind (a restarted clock, e.g. resubmission, D3).
pub async fn open(
    tx: &mut Tx,
    call: &Call,
    reg: &Registration,
    kind: ObligationKind,
    responsible: &str,
    deadline: &Deadline,
) -> Result<(), Error> {
    let Some(due) = due_date(Some(deadline)) else {
        return Ok(());
    };
    cancel(tx, call, &reg.name, kind).await?;
    let body = ObligationDeadline {
        kind: kind as i32,
        subject: reg.name.clone(),
        responsible_organization: responsible.to_owned(),
        jurisdiction: reg.jurisdiction.clone(),
        deadline: Some(deadline.clone()),
        state: DeadlineState::Open as i32,
        ..Default::default()
    };
    sqlx::query(
        "INSERT INTO deadlines (id, kind, subject, responsible_id, jurisdiction_id, due_date, state, body, create_time,
                                update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(kind as i16)
    .bind(&reg.name)
    .bind(names::parse(responsible, "organizations"))
    .bind(reg.jurisdiction.trim_start_matches("jurisdictions/"))
    .bind(due)
    .bind(DeadlineState::Open as i16)
    .bind(body.encode_to_vec())
    .bind(call.now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Marks the open obligation met (late when met after its due date).
pub async fn meet(tx: &mut Tx, call: &Call, subject: &str, kind: ObligationKind) -> Result<(), Error> {
    close(tx, call, subject, kind, DeadlineState::Met).await
}

/// Cancels the open obligation: it went away (application revoked, clock restarted).
pub async fn cancel(tx: &mut Tx, call: &Call, subject: &str, kind: ObligationKind) -> Result<(), Error> {
    close(tx, call, subject, kind, DeadlineState::Cancelled).await
}

#[derive(sqlx::FromRow)]
struct Open {
    id: String,
    due_date: chrono::NaiveDate,
    body: Vec<u8>,
}

async fn close(
    tx: &mut Tx,
    call: &Call,
    subject: &str,
    kind: ObligationKind,
    state: DeadlineState,
) -> Result<(), Error> {
    let open = [DeadlineState::Open as i16, DeadlineState::Overdue as i16];
    let row = sqlx::query_as::<_, Open>(
        "SELECT id, due_date, body FROM deadlines WHERE subject = $1 AND kind = $2 AND state = ANY($3) FOR UPDATE",
    )
    .bind(subject)
    .bind(kind as i16)
    .bind(&open[..])
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(()) };
    let late = state == DeadlineState::Met && kind != ELAPSES && call.today() > row.due_date;
    let mut d = ObligationDeadline::decode(row.body.as_slice()).unwrap_or_default();
    d.state = state as i32;
    d.met_late = late;
    d.close_time = Some(timestamp(call.now));
    sqlx::query(
        "UPDATE deadlines SET state = $2, met_late = $3, body = $4, update_time = $5, version = version + 1 WHERE id = $1",
    )
    .bind(&row.id)
    .bind(state as i16)
    .bind(late)
    .bind(d.encode_to_vec())
    .bind(call.now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Stored {
    id: String,
    due_date: chrono::NaiveDate,
    state: i16,
    met_late: bool,
    body: Vec<u8>,
}

/// The obligation `name` (`deadlines/{id}`), locked, with its due date; NOT_FOUND if absent.
pub async fn lock(tx: &mut Tx, name: &str) -> Result<(ObligationDeadline, chrono::NaiveDate), Error> {
    let id = super::id_of(name, "deadlines", "name")?;
    let row = sqlx::query_as::<_, Stored>(
        "SELECT id, due_date, state, met_late, body FROM deadlines WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| Error::not_found(ErrorReason::DeadlineNotFound, name))?;
    let mut d = ObligationDeadline::decode(row.body.as_slice()).unwrap_or_default();
    d.name = names::deadline(&row.id);
    d.state = i32::from(row.state);
    d.met_late = row.met_late;
    Ok((d, row.due_date))
}

/// Writes the closing of `d` (state, lateness, body), returning it as stored.
pub async fn save(
    tx: &mut Tx,
    d: &ObligationDeadline,
    now: DateTime<Utc>,
) -> Result<ObligationDeadline, Error> {
    let id = super::id_of(&d.name, "deadlines", "name")?;
    let (create_time, update_time): (DateTime<Utc>, DateTime<Utc>) = sqlx::query_as(
        "UPDATE deadlines SET state = $2, met_late = $3, body = $4, update_time = $5, version = version + 1
         WHERE id = $1 RETURNING create_time, update_time",
    )
    .bind(id)
    .bind(i16::try_from(d.state).unwrap_or(0))
    .bind(d.met_late)
    .bind(d.encode_to_vec())
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(ObligationDeadline {
        create_time: Some(timestamp(create_time)),
        update_time: Some(timestamp(update_time)),
        ..d.clone()
    })
}

/// The implementing agency (`organizations/…`) of the agreement an obligation is about: the agreement's own, or for
/// a developer agreement that of the operator agreement it hangs under; empty for other subjects.
pub async fn agency_of_subject(tx: &mut Tx, subject: &str) -> Result<String, Error> {
    let sql = if let Some(id) = names::parse(subject, "agreements") {
        ("SELECT implementing_agency_id FROM agreements WHERE id = $1", id)
    } else if let Some(id) = names::parse(subject, "developerAgreements") {
        (
            "SELECT a.implementing_agency_id FROM developer_agreements d JOIN agreements a ON a.id = d.agreement_id
             WHERE d.id = $1",
            id,
        )
    } else {
        return Ok(String::new());
    };
    let agency: Option<String> = sqlx::query_scalar(sql.0)
        .bind(sql.1)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(agency.map(|id| names::organization(&id)).unwrap_or_default())
}
