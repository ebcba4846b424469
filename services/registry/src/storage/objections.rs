//! The `registration_objections` table: each objection as its message, keyed by the disclosure service's id, with
//! its state as a column for the listing filter.

use chrono::{DateTime, Utc};
use pdop_proto::registry::v1::{ObjectionDecisionState, RegistrationObjection};
use prost::Message;

use super::Tx;
use crate::domain::{Error, ErrorReason};
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

/// Records a filed objection; false when it was recorded before (a redelivery).
pub async fn insert(
    tx: &mut Tx,
    id: &str,
    registration_id: &str,
    o: &RegistrationObjection,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    let inserted = sqlx::query(
        "INSERT INTO registration_objections (id, registration_id, state, body, file_time)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(registration_id)
    .bind(ObjectionDecisionState::Pending as i16)
    .bind(o.encode_to_vec())
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// The objection `id` of the registration `registration_id`, locked; NOT_FOUND naming `name`.
pub async fn lock(
    tx: &mut Tx,
    registration_id: &str,
    id: &str,
    name: &str,
) -> Result<RegistrationObjection, Error> {
    sqlx::query_as::<_, Row>(
        "SELECT id, registration_id, body, file_time FROM registration_objections
         WHERE id = $1 AND registration_id = $2 FOR UPDATE",
    )
    .bind(id)
    .bind(registration_id)
    .fetch_optional(&mut **tx)
    .await?
    .map(|r| r.to_proto())
    .ok_or_else(|| Error::not_found(ErrorReason::ObjectionNotFound, name))
}

/// Writes the decided objection back (its name is `registrations/{r}/objections/{id}`).
pub async fn save(tx: &mut Tx, o: &RegistrationObjection) -> Result<(), Error> {
    let id = o.name.rsplit('/').next().unwrap_or_default();
    sqlx::query(
        "UPDATE registration_objections SET state = $2, body = $3, version = version + 1 WHERE id = $1",
    )
    .bind(id)
    .bind(i16::try_from(o.state).unwrap_or(0))
    .bind(o.encode_to_vec())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A page of the objections to the registration `registration_id`, oldest filing first.
pub async fn list(
    pool: &sqlx::PgPool,
    registration_id: &str,
    after: Option<(DateTime<Utc>, String)>,
    state: i32,
    size: i64,
) -> Result<(Vec<RegistrationObjection>, String), Error> {
    let (after_time, after_id) = after.unzip();
    let mut rows = sqlx::query_as::<_, Row>(
        "SELECT id, registration_id, body, file_time FROM registration_objections
         WHERE registration_id = $1 AND ($2::timestamptz IS NULL OR (file_time, id) > ($2, $3))
           AND ($4::smallint = 0 OR state = $4)
         ORDER BY file_time, id LIMIT $5",
    )
    .bind(registration_id)
    .bind(after_time)
    .bind(after_id)
    .bind(i16::try_from(state).unwrap_or(0))
    .bind(size + 1)
    .fetch_all(pool)
    .await?;
    let next = pdop_kit::handling::page_after(&mut rows, size, |r| (r.file_time, r.id.clone()));
    Ok((rows.iter().map(Row::to_proto).collect(), next))
}
