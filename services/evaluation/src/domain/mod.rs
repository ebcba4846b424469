//! What the evaluation service decides, with no I/O: each kind's transitions return a `Change` (audit + event),
//! refusals are `Error`s naming the rule and its source.

pub mod error;
pub mod evidence;

pub use error::{Error, ErrorReason, require_state};
