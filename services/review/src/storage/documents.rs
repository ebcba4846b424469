//! Reviewable resources kept as their message, through the kit's document storage (`pdop_kit::documents`).

pub use pdop_kit::documents::{COLUMNS, Document, Row, column, page, read, save, stored};

/// The document `name` (the request's `field`), locked for a change, with the caller's etag checked.
pub use pdop_kit::documents::lock;

/// `pdop_kit::document!` with the review service's error reasons.
macro_rules! document {
    ($message:ty, $table:literal, $collection:path, $not_found:expr) => {
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
