//! The review service's pure rules (`design/SPINE.md` §5): transitions and checks over loaded rows, with no I/O.
//! Nothing here uses tonic, sqlx or async-nats (`scripts/check-layers.sh` fails the build if it does).

pub mod admission;
pub mod admission_checks;
pub mod admission_exit;
pub mod admission_notice;
pub mod appeal;
pub mod data_use;
pub mod data_use_checks;
pub mod data_use_grant;
pub mod data_use_review;
pub mod decision;
pub mod error;
pub mod facts;
pub mod panel;
pub mod product_review;
pub mod quality;
pub mod redeveloped;
pub mod reviewable;
pub mod rules;
pub mod scenario;
pub mod seats;

pub use error::{Error, ErrorReason};

#[cfg(test)]
mod admission_tests;
#[cfg(test)]
mod data_use_tests;
#[cfg(test)]
mod panel_tests;
