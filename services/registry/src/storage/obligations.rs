//! The obligations (法定期限, DOMAIN §5) a registration opens and closes in the transaction of its change: rows
//! of the `deadlines` table, whose RPCs and overdue sweep stay in `crate::deadlines` until it moves.

use pdop_kit::convert::{due_date, timestamp};
use pdop_kit::uow::Call;
use pdop_proto::common::Deadline;
use pdop_proto::registry::v1::{DeadlineState, ObligationDeadline, ObligationKind, Registration};
use prost::Message;

use super::Tx;
use crate::domain::Error;
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
