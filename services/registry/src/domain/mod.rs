//! The registry's pure rules (`design/SPINE.md` §5): transitions and checks over loaded rows, with no I/O. Nothing
//! here uses tonic, sqlx or async-nats (`scripts/check-layers.sh` fails the build if it does).

pub mod consequence;
pub mod error;
pub mod follow_up;
pub mod objection;
pub mod product;
pub mod registration;
pub mod registration_lifecycle;
pub mod scope;

pub use error::{Error, ErrorReason};
