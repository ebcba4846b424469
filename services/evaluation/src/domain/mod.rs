//! What the evaluation service decides, with no I/O: each kind's transitions return a `Change` (audit + event),
//! refusals are `Error`s naming the rule and its source.

pub mod campaign;
pub mod decimals;
pub mod due;
pub mod error;
pub mod evaluation;
pub mod evidence;
pub mod grading;
pub mod indicator_system;
pub mod rectification;
mod rectification_checks;
#[cfg(test)]
mod rectification_tests;
pub mod report_dues;
pub mod reports;
pub mod scoring;
#[cfg(test)]
mod scoring_tests;

pub use error::{Error, ErrorReason};
