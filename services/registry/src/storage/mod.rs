//! Rows and SQL of the moved modules: `fn(&mut Tx, …) -> Result<_, Error>`; database errors become `Error`
//! through the kit's translation. A moved module reads the rows of aggregates that have not moved yet (resources,
//! products, obligations, organization and jurisdiction references) through functions of its own here.

pub mod objections;
pub mod obligations;
pub mod refs;
pub mod registrations;
pub mod subjects;

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
