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

pub use pdop_kit::uow::Tx;

pub use pdop_kit::documents::{id_of, new_id};
