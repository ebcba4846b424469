//! The `opinions` table: every opinion given on any reviewable resource, immutable, in the order given.

use chrono::{DateTime, Utc};
use pdop_proto::review::v1::ReviewOpinion;
use prost::Message;

use super::Tx;
use crate::domain::Error;

pub async fn insert(tx: &mut Tx, parent: &str, o: &ReviewOpinion, now: DateTime<Utc>) -> Result<(), Error> {
    let id = o.name.rsplit('/').next().unwrap_or_default();
    sqlx::query(
        "INSERT INTO opinions (parent, id, review_round, body, create_time) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(parent)
    .bind(id)
    .bind(o.review_round)
    .bind(o.encode_to_vec())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The opinions of one round on `parent`, oldest first (R-RV-03 reads the latest of each seat).
pub async fn of_round(tx: &mut Tx, parent: &str, round: i32) -> Result<Vec<ReviewOpinion>, Error> {
    let bodies: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT body FROM opinions WHERE parent = $1 AND review_round = $2 ORDER BY seq")
            .bind(parent)
            .bind(round)
            .fetch_all(&mut **tx)
            .await?;
    decode(bodies)
}

fn decode(bodies: Vec<Vec<u8>>) -> Result<Vec<ReviewOpinion>, Error> {
    bodies
        .iter()
        .map(|b| ReviewOpinion::decode(b.as_slice()).map_err(|e| Error::Internal(e.into())))
        .collect()
}

/// A page of opinions on `parent` (round 0: every round), oldest first, after the keyset `after` (a seq).
pub async fn list(
    pool: &sqlx::PgPool,
    parent: &str,
    round: i32,
    size: i64,
    after: Option<i64>,
) -> Result<(Vec<ReviewOpinion>, String), Error> {
    let mut rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT seq, body FROM opinions
         WHERE parent = $1 AND ($2 = 0 OR review_round = $2) AND ($3::bigint IS NULL OR seq > $3)
         ORDER BY seq LIMIT $4",
    )
    .bind(parent)
    .bind(round)
    .bind(after)
    .bind(size + 1)
    .fetch_all(pool)
    .await?;
    let next = pdop_kit::handling::page_after(&mut rows, size, |r| r.0);
    Ok((decode(rows.into_iter().map(|r| r.1).collect())?, next))
}
