//! The `appeals` table: an appeal as its message, with its parties, subject and state as columns. An appeal's
//! creation time is its `file_time`.

use chrono::{DateTime, Utc};
use pdop_proto::review::v1::Appeal;

use super::documents::{self, COLUMNS, Document, column};
use super::{Tx, id_of};
use crate::domain::appeal::COLLECTION;
use crate::domain::{Error, ErrorReason};

impl Document<ErrorReason> for Appeal {
    const TABLE: &'static str = "appeals";
    const COLLECTION: &'static str = COLLECTION;
    const NOT_FOUND: ErrorReason = ErrorReason::AppealNotFound;
    fn stamp(
        &mut self,
        name: String,
        create_time: Option<prost_types::Timestamp>,
        update_time: Option<prost_types::Timestamp>,
        etag: String,
    ) {
        self.name = name;
        if create_time.is_some() {
            self.file_time = create_time;
        }
        self.update_time = update_time;
        self.etag = etag;
    }
}

pub async fn lock(tx: &mut Tx, name: &str, etag: &str) -> Result<Appeal, Error> {
    documents::lock(tx, name, etag, "name").await
}

pub async fn read(pool: &sqlx::PgPool, name: &str) -> Result<Appeal, Error> {
    documents::read(pool, name).await
}

/// Stores a new appeal; APPEAL_OPEN when its subject already has a FILED one.
pub async fn insert(tx: &mut Tx, a: &Appeal, now: DateTime<Utc>) -> Result<Appeal, Error> {
    let id = id_of(&a.name, COLLECTION, "name")?;
    let row = sqlx::query_as::<_, documents::Row>(&format!(
        "INSERT INTO appeals (id, jurisdiction_id, appellant_id, handling_id, subject, subject_kind, state, body,
                              create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
         ON CONFLICT (subject) WHERE state = 1 DO NOTHING
         RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(column(&a.jurisdiction, "jurisdictions"))
    .bind(column(&a.appellant, "organizations"))
    .bind(column(&a.handling_organization, "organizations"))
    .bind(&a.subject)
    .bind(i16::try_from(a.subject_kind).unwrap_or(0))
    .bind(i16::try_from(a.state).unwrap_or(0))
    .bind(documents::stored(a))
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(documents::Row::into_document).ok_or_else(|| {
        Error::refused(
            ErrorReason::AppealOpen,
            format!("{} already has an open appeal; one at a time", a.subject),
        )
    })
}

pub async fn save(tx: &mut Tx, a: &Appeal, now: DateTime<Utc>) -> Result<Appeal, Error> {
    documents::save(tx, a, &a.name, a.state, now).await
}

pub struct Filter<'a> {
    pub jurisdiction: Option<&'a str>,
    pub appellant: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub subject_kind: i32,
    pub state: i32,
    pub visible_to: &'a str,
    pub supervised: Vec<String>,
    pub size: i64,
    pub after: Option<(DateTime<Utc>, String)>,
}

pub async fn list(pool: &sqlx::PgPool, f: Filter<'_>) -> Result<(Vec<Appeal>, String), Error> {
    let (after_time, after_id) = f.after.unzip();
    let rows = sqlx::query_as::<_, documents::Row>(&format!(
        "SELECT {COLUMNS} FROM appeals
         WHERE ($1::timestamptz IS NULL OR (create_time, id) > ($1, $2))
           AND ($3::text IS NULL OR jurisdiction_id = $3)
           AND ($4::text IS NULL OR appellant_id = $4)
           AND ($5::text IS NULL OR subject = $5)
           AND ($6::smallint = 0 OR subject_kind = $6)
           AND ($7::smallint = 0 OR state = $7)
           AND (appellant_id = $8 OR handling_id = $8 OR jurisdiction_id = ANY($9::text[]))
         ORDER BY create_time, id LIMIT $10"
    ))
    .bind(after_time)
    .bind(after_id)
    .bind(f.jurisdiction)
    .bind(f.appellant)
    .bind(f.subject)
    .bind(i16::try_from(f.subject_kind).unwrap_or(0))
    .bind(i16::try_from(f.state).unwrap_or(0))
    .bind(f.visible_to)
    .bind(f.supervised)
    .bind(f.size + 1)
    .fetch_all(pool)
    .await?;
    Ok(documents::page(rows, f.size))
}
