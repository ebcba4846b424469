//! Pure decisions of the moved modules: no database, no NATS, no gRPC. Each aggregate has its transitions
//! here, as functions on the stored message that return the `Change` they made.

pub mod annual;
pub mod caps;
pub mod case;
pub mod ending;
pub mod error;
pub use pdop_kit::mask;
pub mod prices;

pub use error::{Error, ErrorReason};
