//! The `indicator_systems` table: a system as its message, with jurisdiction, owner, subject kind, year and state.

use chrono::{DateTime, Utc};
use pdop_kit::documents::{self, COLUMNS, Row, column};
use pdop_proto::evaluation::v1::{IndicatorSystem, IndicatorSystemState};

use super::{Tx, id_of};
use crate::domain::indicator_system::COLLECTION;
use crate::domain::{Error, ErrorReason};

super::document!(
    IndicatorSystem,
    "indicator_systems",
    COLLECTION,
    ErrorReason::IndicatorSystemNotFound
);

pub async fn lock(tx: &mut Tx, name: &str, etag: &str) -> Result<IndicatorSystem, Error> {
    documents::lock(tx, name, etag, "name").await
}

pub async fn read<'e>(db: impl sqlx::PgExecutor<'e>, name: &str) -> Result<IndicatorSystem, Error> {
    documents::read(db, name).await
}

pub async fn insert(tx: &mut Tx, s: &IndicatorSystem, now: DateTime<Utc>) -> Result<IndicatorSystem, Error> {
    let id = id_of(&s.name, COLLECTION, "name")?;
    let row = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO indicator_systems (id, jurisdiction_id, owner_id, subject_kind, year, state, body,
                                        create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(column(&s.jurisdiction, "jurisdictions"))
    .bind(column(&s.owner, "organizations"))
    .bind(i16::try_from(s.subject_kind).unwrap_or(0))
    .bind(s.year)
    .bind(i16::try_from(s.state).unwrap_or(0))
    .bind(documents::stored(s))
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.into_document())
}

/// Stores a changed system; a draft's subject kind and year may have changed with it.
pub async fn save(tx: &mut Tx, s: &IndicatorSystem, now: DateTime<Utc>) -> Result<IndicatorSystem, Error> {
    let id = id_of(&s.name, COLLECTION, "name")?;
    let row = sqlx::query_as::<_, Row>(&format!(
        "UPDATE indicator_systems SET subject_kind = $2, year = $3, state = $4, body = $5, update_time = $6,
                version = version + 1
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(i16::try_from(s.subject_kind).unwrap_or(0))
    .bind(s.year)
    .bind(i16::try_from(s.state).unwrap_or(0))
    .bind(documents::stored(s))
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.into_document())
}

pub struct Filter<'a> {
    pub jurisdiction: Option<&'a str>,
    pub subject_kind: i32,
    pub year: i32,
    pub state: i32,
    /// Drafts and retired systems are listed to their owner and to supervisors of their jurisdiction only.
    pub owner: &'a str,
    pub supervised: Vec<String>,
    pub size: i64,
    pub after: Option<(DateTime<Utc>, String)>,
}

pub async fn list(pool: &sqlx::PgPool, f: Filter<'_>) -> Result<(Vec<IndicatorSystem>, String), Error> {
    let (after_time, after_id) = f.after.unzip();
    let rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM indicator_systems
         WHERE ($1::timestamptz IS NULL OR (create_time, id) > ($1, $2))
           AND ($3::text IS NULL OR jurisdiction_id = $3)
           AND ($4::smallint = 0 OR subject_kind = $4)
           AND ($5::integer = 0 OR year = $5)
           AND ($6::smallint = 0 OR state = $6)
           AND (state = $7 OR owner_id = $8 OR jurisdiction_id = ANY($9::text[]))
         ORDER BY create_time, id LIMIT $10"
    ))
    .bind(after_time)
    .bind(after_id)
    .bind(f.jurisdiction)
    .bind(i16::try_from(f.subject_kind).unwrap_or(0))
    .bind(f.year)
    .bind(i16::try_from(f.state).unwrap_or(0))
    .bind(IndicatorSystemState::Published as i16)
    .bind(f.owner)
    .bind(f.supervised)
    .bind(f.size + 1)
    .fetch_all(pool)
    .await?;
    Ok(documents::page(rows, f.size))
}
