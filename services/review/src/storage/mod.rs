//! Rows and SQL: `fn(&mut Tx, …) -> Result<_, Error>`; database errors become `Error` through the kit's
//! translation. Reviewable resources are stored as their message with the columns listings and visibility need.

pub mod admission_objections;
pub mod admissions;
pub mod appeals;
pub mod data_uses;
pub mod deadlines;
pub mod documents;
pub mod facts;
pub mod opinions;
pub mod product_reviews;
pub mod quality_checks;
pub mod reviewables;
pub mod scenarios;

use pdop_kit::handling::etag;

use crate::domain::Error;

pub use pdop_kit::uow::Tx;

/// The id in `<collection>/{id}`, or a violation on `field`.
pub fn id_of<'a>(name: &'a str, collection: &str, field: &str) -> Result<&'a str, Error> {
    pdop_kit::names::parse(name, collection)
        .ok_or_else(|| Error::invalid(field, pdop_kit::names::expected(collection)))
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

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
