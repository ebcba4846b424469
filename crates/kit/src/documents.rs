//! Resources kept as their message (a "document" row: id, body, times, version), with the columns their listings
//! need beside it. What every kind shares is here: reading, locking with the etag checked, storing the body without
//! the output fields the row itself carries, and paging.

use chrono::{DateTime, Utc};
use prost_types::Timestamp;

use crate::convert::{etag, timestamp};
use crate::service_error::{Error, Reason};

/// One kind of document: its message, table and collection, and where its output fields live. `R` is the
/// service's `ErrorInfo.reason` type (which also lets a service implement this for a message of `pdop-proto`).
pub trait Document<R: Reason>: prost::Message + Default + Clone {
    const TABLE: &'static str;
    const COLLECTION: &'static str;
    const NOT_FOUND: R;
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
    pub fn into_document<R: Reason, D: Document<R>>(self) -> D {
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

/// The id in `<collection>/{id}`, or a violation on `field`.
pub fn id_of<'a, R: Reason>(name: &'a str, collection: &str, field: &str) -> Result<&'a str, Error<R>> {
    crate::names::parse(name, collection)
        .ok_or_else(|| Error::invalid(field, crate::names::expected(collection)))
}

/// AIP-154: an `expected` etag (when given) must match the stored `version`.
pub fn check_etag<R: Reason>(expected: &str, version: i64, name: &str) -> Result<(), Error<R>> {
    if expected.is_empty() || expected == etag(version) {
        return Ok(());
    }
    Err(Error::EtagMismatch {
        name: name.to_owned(),
    })
}

/// A new document id (UUIDv7: ordered by creation).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

async fn fetch<'e, R: Reason, D: Document<R>>(
    db: impl sqlx::PgExecutor<'e>,
    id: &str,
    name: &str,
    lock: bool,
) -> Result<Row, Error<R>> {
    crate::handling::fetch_row(db, D::TABLE, COLUMNS, id, lock)
        .await?
        .ok_or_else(|| Error::not_found(D::NOT_FOUND, name))
}

/// The document `name` (the request's `field`), locked for a change, with the caller's etag checked.
pub async fn lock<R: Reason, D: Document<R>>(
    tx: &mut crate::uow::Tx,
    name: &str,
    etag: &str,
    field: &str,
) -> Result<D, Error<R>> {
    let id = id_of(name, D::COLLECTION, field)?;
    let row = fetch::<R, D>(&mut **tx, id, name, true).await?;
    check_etag(etag, row.version, name)?;
    Ok(row.into_document::<R, D>())
}

/// The document `name`, read with no lock (from the pool or in a transaction).
pub async fn read<'e, R: Reason, D: Document<R>>(
    db: impl sqlx::PgExecutor<'e>,
    name: &str,
) -> Result<D, Error<R>> {
    let id = id_of(name, D::COLLECTION, "name")?;
    Ok(fetch::<R, D>(db, id, name, false).await?.into_document::<R, D>())
}

/// The body as stored: the output fields the row carries are left out.
pub fn stored<R: Reason, D: Document<R>>(d: &D) -> Vec<u8> {
    let mut body = d.clone();
    body.stamp(String::new(), None, None, String::new());
    body.encode_to_vec()
}

/// The id of a `<collection>/{id}` column value, empty when malformed (listing columns only).
pub fn column(name: &str, collection: &str) -> String {
    crate::names::parse(name, collection)
        .unwrap_or_default()
        .to_owned()
}

/// A page of rows to documents, with the token after the last one kept.
pub fn page<R: Reason, D: Document<R>>(mut rows: Vec<Row>, size: i64) -> (Vec<D>, String) {
    let next = crate::handling::page_after(&mut rows, size, |r| (r.create_time, r.id.clone()));
    (rows.into_iter().map(Row::into_document::<R, D>).collect(), next)
}

/// Implements [`Document`] for a message whose output fields are `name`, `create_time`, `update_time` and `etag`.
#[macro_export]
macro_rules! document {
    ($message:ty, $table:literal, $collection:expr, $reason:ty, $not_found:expr) => {
        impl $crate::documents::Document<$reason> for $message {
            const TABLE: &'static str = $table;
            const COLLECTION: &'static str = $collection;
            const NOT_FOUND: $reason = $not_found;
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

/// Stores a changed document whose table keeps no listing column that can change besides `state`.
pub async fn save<R: Reason, D: Document<R>>(
    tx: &mut crate::uow::Tx,
    d: &D,
    name: &str,
    state: i32,
    now: DateTime<Utc>,
) -> Result<D, Error<R>> {
    let id = id_of(name, D::COLLECTION, "name")?;
    let row = sqlx::query_as::<_, Row>(&format!(
        "UPDATE {} SET state = $2, body = $3, update_time = $4, version = version + 1 WHERE id = $1 RETURNING {COLUMNS}",
        D::TABLE
    ))
    .bind(id)
    .bind(i16::try_from(state).unwrap_or(0))
    .bind(stored::<R, D>(d))
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.into_document::<R, D>())
}
