//! Rows and SQL of the moved modules: `fn(&mut Tx, …) -> Result<_, Error>`; database errors become `Error`
//! through the kit's translation, and the constraint violations a caller can cause are translated where their
//! statement runs.

pub mod annual;
pub mod caps;
pub mod cases;
pub mod prices;
pub mod products;
pub mod profiles;

use pdop_kit::handling::etag;

use crate::domain::{Error, ErrorReason};

pub use pdop_kit::uow::Tx;

/// The id in `<collection>/{id}`, or a violation on `field`.
pub fn id_of<'a>(name: &'a str, collection: &str, field: &str) -> Result<&'a str, Error> {
    pdop_kit::names::parse(name, collection)
        .ok_or_else(|| Error::invalid(field, pdop_kit::names::expected(collection)))
}

/// A new resource id (UUIDv7: ordered by creation).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// AIP-154: an `expected` etag (when given) must match the stored `version`.
pub fn check_etag(expected: &str, version: i64, name: &str) -> Result<(), Error> {
    if expected.is_empty() || expected == etag(version) {
        return Ok(());
    }
    Err(Error::EtagMismatch {
        name: name.to_owned(),
    })
}

/// The row `id` of the table of `R`, locked for a change when `lock`; `NOT_FOUND` (`reason`) naming `name`.
pub async fn fetch<R: pdop_kit::handling::Stored>(
    db: impl sqlx::PgExecutor<'_>,
    id: &str,
    name: &str,
    reason: ErrorReason,
    lock: bool,
) -> Result<R, Error> {
    pdop_kit::handling::fetch_row(db, R::TABLE, R::COLUMNS, id, lock)
        .await?
        .ok_or_else(|| Error::not_found(reason, name))
}
