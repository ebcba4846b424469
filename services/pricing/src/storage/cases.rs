//! The pricing cases caps and prices belong to: read, locked, and moved to IN_EFFECT by a first cap.

use chrono::{DateTime, Utc};
use pdop_proto::pricing::v1::PricingCase;
use prost::Message;

use super::{Tx, fetch, id_of};
use crate::domain::{Error, ErrorReason};

pub const COLLECTION: &str = "pricingCases";

crate::rows::body_row!(PricingCase, "pricing_cases", COLLECTION, "PRICING_CASE_NOT_FOUND");

/// The case `name` (`field` names it in a malformed-name error), locked for the change when `lock`.
pub async fn get(tx: &mut Tx, name: &str, field: &str, lock: bool) -> Result<PricingCase, Error> {
    let id = id_of(name, COLLECTION, field)?;
    let row: Row = fetch(&mut **tx, id, name, ErrorReason::PricingCaseNotFound, lock).await?;
    Ok(row.to_proto())
}

/// As [`get`], read from the pool with no transaction.
pub async fn read(pool: &sqlx::PgPool, name: &str, field: &str) -> Result<PricingCase, Error> {
    let id = id_of(name, COLLECTION, field)?;
    let row: Row = fetch(pool, id, name, ErrorReason::PricingCaseNotFound, false).await?;
    Ok(row.to_proto())
}

/// Writes the case's state and body back.
pub async fn save(tx: &mut Tx, c: &PricingCase, now: DateTime<Utc>) -> Result<PricingCase, Error> {
    let id = id_of(&c.name, COLLECTION, "name")?;
    let row = sqlx::query_as::<_, Row>(&format!(
        "UPDATE pricing_cases SET state = $2, body = $3, update_time = $4, version = version + 1
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(i16::try_from(c.state).unwrap_or(0))
    .bind(c.encode_to_vec())
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.to_proto())
}
