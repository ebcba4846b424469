//! Rows and SQL: `fn(&mut Tx, …) -> Result<_, Error>`; database errors become `Error` through the kit's
//! translation. Evaluation resources are stored as their message (`pdop_kit::documents`) with the columns their
//! listings and visibility need.

pub mod campaigns;
pub mod evaluations;
pub mod evidence;
pub mod facts;
pub mod indicator_systems;
pub mod operator_reports;
pub mod rectification_orders;

pub use pdop_kit::documents::{id_of, new_id};
pub use pdop_kit::uow::Tx;

/// `pdop_kit::document!` with the evaluation service's error reasons.
macro_rules! document {
    ($message:ty, $table:literal, $collection:expr, $not_found:expr) => {
        pdop_kit::document!(
            $message,
            $table,
            $collection,
            $crate::domain::ErrorReason,
            $not_found
        );
    };
}
pub(crate) use document;
