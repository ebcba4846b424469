//! What pdop's tests need from the outside world, and nothing fake:
//!
//! - [`TestEnv`]: PostgreSQL and NATS from `DATABASE_URL` / `NATS_URL`, or, where a Docker engine is
//!   available, from testcontainers; otherwise the machine's defaults on 127.0.0.1.
//! - [`TestEnv::fresh_database`]: a new, empty database per test.
//! - [`PrivateNats`]: a `nats-server` of the test's own on a free port, for stopping and restarting.
//! - [`spawn_service`]: a whole service on free ports against the test's database.
//! - [`wait_until`]: polling a condition instead of sleeping.
//! - [`TestEnv::namespace`]: each test's own NATS namespace; [`drop_leftover_test_streams`] for what earlier runs
//!   left.
//! - [`acting`], [`assert_invalid`], [`reason`]: calling a service as somebody and reading its refusals;
//!   [`assert_roles_enforced`]: every RPC refuses the roles its policy does not list.
//! - [`OtlpReceiver`]: an OTLP/HTTP(S) trace receiver on 127.0.0.1 that keeps the spans services export.

mod containers;
mod env;
mod events;
mod exposition;
mod grpc;
mod nats_server;
mod otlp;
mod roles;
mod service;
mod streams;
mod wait;

pub use env::{TestDb, TestEnv, database_url_with_name};
pub use events::{Envelope, publish_as_relay, publish_envelope, until_holds};
pub use exposition::{clashing_labels, label_names};
pub use grpc::{acting, acting_in, assert_invalid, reason};
pub use nats_server::{PrivateNats, nats_server_binary};
pub use otlp::{OtlpReceiver, ReceivedSpan, SpanKind, test_ca_file};
pub use roles::assert_roles_enforced;
pub use service::{
    DEV_SECRET, bearer_signed_with, dev_token, dev_token_in, spawn_service, spawn_service_with_clock,
};
pub use streams::{drop_leftover_test_streams, drop_namespace_streams, is_test_stream};
pub use wait::{free_port, wait_until};
