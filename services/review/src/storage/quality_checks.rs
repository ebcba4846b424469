//! The `quality_checks` table: a data-quality check as its message, with its parties, resource, state and the
//! due date of its response as columns.

use chrono::{DateTime, NaiveDate, Utc};
use pdop_kit::convert::due_date;
use pdop_proto::review::v1::{DataQualityCheck, DataQualityCheckState};

use super::documents::{self, COLUMNS, column};
use super::{Tx, id_of};
use crate::domain::quality::COLLECTION;
use crate::domain::{Error, ErrorReason};

documents::document!(
    DataQualityCheck,
    "quality_checks",
    COLLECTION,
    ErrorReason::DataQualityCheckNotFound
);

pub async fn lock(tx: &mut Tx, name: &str, etag: &str) -> Result<DataQualityCheck, Error> {
    documents::lock(tx, name, etag, "name").await
}

pub async fn read(pool: &sqlx::PgPool, name: &str) -> Result<DataQualityCheck, Error> {
    documents::read(pool, name).await
}

pub async fn insert(
    tx: &mut Tx,
    c: &DataQualityCheck,
    now: DateTime<Utc>,
) -> Result<DataQualityCheck, Error> {
    let id = id_of(&c.name, COLLECTION, "name")?;
    let row = sqlx::query_as::<_, documents::Row>(&format!(
        "INSERT INTO quality_checks (id, jurisdiction_id, requester_id, responsible_id, resource_id, state, due, body,
                                     create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(column(&c.jurisdiction, "jurisdictions"))
    .bind(column(&c.requester, "organizations"))
    .bind(column(&c.responsible_provider, "organizations"))
    .bind(column(&c.resource, "resources"))
    .bind(i16::try_from(c.state).unwrap_or(0))
    .bind(due_date(c.response_deadline.as_ref()))
    .bind(documents::stored(c))
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.into_document())
}

pub async fn save(tx: &mut Tx, c: &DataQualityCheck, now: DateTime<Utc>) -> Result<DataQualityCheck, Error> {
    documents::save(tx, c, &c.name, c.state, now).await
}

pub struct Filter<'a> {
    pub jurisdiction: Option<&'a str>,
    pub requester: Option<&'a str>,
    pub responsible: Option<&'a str>,
    pub resource: Option<&'a str>,
    pub state: i32,
    /// Only RAISED checks whose response is past due on this day.
    pub overdue_on: Option<NaiveDate>,
    pub visible_to: &'a str,
    pub supervised: Vec<String>,
    pub size: i64,
    pub after: Option<(DateTime<Utc>, String)>,
}

pub async fn list(pool: &sqlx::PgPool, f: Filter<'_>) -> Result<(Vec<DataQualityCheck>, String), Error> {
    let (after_time, after_id) = f.after.unzip();
    let rows = sqlx::query_as::<_, documents::Row>(&format!(
        "SELECT {COLUMNS} FROM quality_checks
         WHERE ($1::timestamptz IS NULL OR (create_time, id) > ($1, $2))
           AND ($3::text IS NULL OR jurisdiction_id = $3)
           AND ($4::text IS NULL OR requester_id = $4)
           AND ($5::text IS NULL OR responsible_id = $5)
           AND ($6::text IS NULL OR resource_id = $6)
           AND ($7::smallint = 0 OR state = $7)
           AND ($8::date IS NULL OR (state = $9 AND due < $8))
           AND (requester_id = $10 OR responsible_id = $10 OR jurisdiction_id = ANY($11::text[]))
         ORDER BY create_time, id LIMIT $12"
    ))
    .bind(after_time)
    .bind(after_id)
    .bind(f.jurisdiction)
    .bind(f.requester)
    .bind(f.responsible)
    .bind(f.resource)
    .bind(i16::try_from(f.state).unwrap_or(0))
    .bind(f.overdue_on)
    .bind(DataQualityCheckState::Raised as i16)
    .bind(f.visible_to)
    .bind(f.supervised)
    .bind(f.size + 1)
    .fetch_all(pool)
    .await?;
    Ok(documents::page(rows, f.size))
}
