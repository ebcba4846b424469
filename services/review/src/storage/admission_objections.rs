//! The `admission_objections` table: each objection to a developer's notice as its message, keyed by the
//! disclosure service's id, with its admission and state as columns.

use chrono::{DateTime, Utc};
use pdop_proto::review::v1::{AdmissionObjectionState as State, DeveloperAdmissionObjection};
use prost::Message;

use super::Tx;
use crate::domain::{Error, ErrorReason};

fn decode(body: &[u8]) -> Result<DeveloperAdmissionObjection, Error> {
    DeveloperAdmissionObjection::decode(body).map_err(|e| Error::Internal(e.into()))
}

/// Stores a received objection; false when it was stored before (a redelivery).
pub async fn insert(
    tx: &mut Tx,
    id: &str,
    admission_id: &str,
    o: &DeveloperAdmissionObjection,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    let inserted = sqlx::query(
        "INSERT INTO admission_objections (id, admission_id, state, body, create_time)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(admission_id)
    .bind(i16::try_from(o.state).unwrap_or(0))
    .bind(o.encode_to_vec())
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// The objection `id` of the admission `admission_id`, locked; NOT_FOUND naming `name`.
pub async fn lock(
    tx: &mut Tx,
    admission_id: &str,
    id: &str,
    name: &str,
) -> Result<DeveloperAdmissionObjection, Error> {
    let body: Option<Vec<u8>> = sqlx::query_scalar(
        "SELECT body FROM admission_objections WHERE id = $1 AND admission_id = $2 FOR UPDATE",
    )
    .bind(id)
    .bind(admission_id)
    .fetch_optional(&mut **tx)
    .await?;
    decode(&body.ok_or_else(|| Error::not_found(ErrorReason::ObjectionNotFound, name))?)
}

pub async fn save(tx: &mut Tx, id: &str, o: &DeveloperAdmissionObjection) -> Result<(), Error> {
    sqlx::query("UPDATE admission_objections SET state = $2, body = $3 WHERE id = $1")
        .bind(id)
        .bind(i16::try_from(o.state).unwrap_or(0))
        .bind(o.encode_to_vec())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The names of the admission's objections that block admission (PENDING or UPHELD, S-YN Art.13(四)).
pub async fn blocking(tx: &mut Tx, admission_id: &str) -> Result<Vec<String>, Error> {
    let bodies: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT body FROM admission_objections WHERE admission_id = $1 AND state IN ($2, $3) ORDER BY seq",
    )
    .bind(admission_id)
    .bind(State::Pending as i16)
    .bind(State::Upheld as i16)
    .fetch_all(&mut **tx)
    .await?;
    bodies.iter().map(|b| decode(b).map(|o| o.name)).collect()
}

/// A page of the admission's objections (state 0: all), oldest first, after the keyset `after` (a seq).
pub async fn list(
    pool: &sqlx::PgPool,
    admission_id: &str,
    state: i32,
    size: i64,
    after: Option<i64>,
) -> Result<(Vec<DeveloperAdmissionObjection>, String), Error> {
    let mut rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT seq, body FROM admission_objections
         WHERE admission_id = $1 AND ($2::smallint = 0 OR state = $2) AND ($3::bigint IS NULL OR seq > $3)
         ORDER BY seq LIMIT $4",
    )
    .bind(admission_id)
    .bind(i16::try_from(state).unwrap_or(0))
    .bind(after)
    .bind(size + 1)
    .fetch_all(pool)
    .await?;
    let next = pdop_kit::handling::page_after(&mut rows, size, |r| r.0);
    let objections = rows.iter().map(|r| decode(&r.1)).collect::<Result<_, _>>()?;
    Ok((objections, next))
}
