//! Reviewable resources kept as their message (a "document" row: id, body, times, version), with the columns
//! their listings need beside it. What every kind shares is here: reading, locking with the etag checked, and the
//! body as stored (without the output fields the row itself carries).

use chrono::{DateTime, Utc};
use pdop_kit::convert::{etag, timestamp};
use prost_types::Timestamp;

use super::{check_etag, id_of};
use crate::domain::{Error, ErrorReason};

/// One kind of document: its message, table and collection, and where its output fields live.
pub trait Document: prost::Message + Default + Clone {
    const TABLE: &'static str;
    const COLLECTION: &'static str;
    const NOT_FOUND: ErrorReason;
    /// Sets the output fields the row carries (name, create and update time, etag).
    fn stamp(
        &mut self,
        name: String,
        create_time: Option<Timestamp>,
        update_time: Option<Timestamp>,
        etag: String,
    );
}

#[derive(sqlx::FromRow)]
pub struct Row {
    pub id: String,
    body: Vec<u8>,
    pub create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
    version: i64,
}

/// The columns every `RETURNING` and `SELECT` of a document table names.
pub const COLUMNS: &str = "id, body, create_time, update_time, version";

impl Row {
    pub fn into_document<D: Document>(self) -> D {
        let mut d = D::decode(self.body.as_slice()).unwrap_or_default();
        d.stamp(
            format!("{}/{}", D::COLLECTION, self.id),
            Some(timestamp(self.create_time)),
            Some(timestamp(self.update_time)),
            etag(self.version),
        );
        d
    }
}

async fn fetch<'e, D: Document>(
    db: impl sqlx::PgExecutor<'e>,
    id: &str,
    name: &str,
    lock: bool,
) -> Result<Row, Error> {
    pdop_kit::handling::fetch_row(db, D::TABLE, COLUMNS, id, lock)
        .await?
        .ok_or_else(|| Error::not_found(D::NOT_FOUND, name))
}

/// The document `name` (the request's `field`), locked for a change, with the caller's etag checked.
pub async fn lock<D: Document>(tx: &mut super::Tx, name: &str, etag: &str, field: &str) -> Result<D, Error> {
    let id = id_of(name, D::COLLECTION, field)?;
    let row = fetch::<D>(&mut **tx, id, name, true).await?;
    check_etag(etag, row.version, name)?;
    Ok(row.into_document())
}

/// The document `name`, read from the pool with no transaction.
pub async fn read<D: Document>(pool: &sqlx::PgPool, name: &str) -> Result<D, Error> {
    let id = id_of(name, D::COLLECTION, "name")?;
    Ok(fetch::<D>(pool, id, name, false).await?.into_document())
}

/// The body as stored: the output fields the row carries are left out.
pub fn stored<D: Document>(d: &D) -> Vec<u8> {
    let mut body = d.clone();
    body.stamp(String::new(), None, None, String::new());
    body.encode_to_vec()
}

/// The id of a `<collection>/{id}` column value, empty when malformed (listing columns only).
pub fn column(name: &str, collection: &str) -> String {
    pdop_kit::names::parse(name, collection)
        .unwrap_or_default()
        .to_owned()
}

/// A page of rows to documents, with the token after the last one kept.
pub fn page<D: Document>(mut rows: Vec<Row>, size: i64) -> (Vec<D>, String) {
    let next = pdop_kit::handling::page_after(&mut rows, size, |r| (r.create_time, r.id.clone()));
    (rows.into_iter().map(Row::into_document).collect(), next)
}

macro_rules! document {
    ($message:ty, $table:literal, $collection:path, $not_found:expr) => {
        impl $crate::storage::documents::Document for $message {
            const TABLE: &'static str = $table;
            const COLLECTION: &'static str = $collection;
            const NOT_FOUND: $crate::domain::ErrorReason = $not_found;
            fn stamp(
                &mut self,
                name: String,
                create_time: Option<prost_types::Timestamp>,
                update_time: Option<prost_types::Timestamp>,
                etag: String,
            ) {
                self.name = name;
                self.create_time = create_time;
                self.update_time = update_time;
                self.etag = etag;
            }
        }
    };
}
pub(crate) use document;

/// Stores a changed document whose table keeps no listing column that can change besides `state`.
pub async fn save<D: Document>(
    tx: &mut super::Tx,
    d: &D,
    name: &str,
    state: i32,
    now: DateTime<Utc>,
) -> Result<D, Error> {
    let id = id_of(name, D::COLLECTION, "name")?;
    let row = sqlx::query_as::<_, Row>(&format!(
        "UPDATE {} SET state = $2, body = $3, update_time = $4, version = version + 1 WHERE id = $1 RETURNING {COLUMNS}",
        D::TABLE
    ))
    .bind(id)
    .bind(i16::try_from(state).unwrap_or(0))
    .bind(stored(d))
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.into_document())
}
