//! The runtime every pdop service shares: configuration, telemetry, PostgreSQL, events (outbox,
//! relay, consumers), the audit chain, authentication, error mapping and gRPC server assembly.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod change;
pub mod clock;
pub mod config;
pub mod convert;
pub mod db;
pub mod documents;
pub mod edge;
pub mod error;
pub mod events;
pub mod handling;
pub mod idempotency;
pub mod layers;
pub mod mask;
pub mod metrics;
pub mod names;
pub mod pagination;
pub mod propagation;
pub mod readmodel;
pub mod rpc;
pub mod scope;
pub mod server;
pub mod service_error;
pub mod spans;
pub mod task;
pub mod telemetry;
pub mod testing;
pub mod uow;

pub use error::{ErrorDomain, Violations};
pub use server::{Platform, Running, Service};
