//! The gRPC handlers: parse the request into typed values (collecting every violation), then hand `mutate` a
//! body that locks, reads the facts, decides (in `domain`) and writes (in `storage`); reads use the pool.

pub mod data_use_review;
pub mod data_uses;
pub mod panel;
pub mod parse;
pub mod quality_checks;
pub mod scenarios;
