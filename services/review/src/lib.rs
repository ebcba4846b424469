//! The review service: 一场景一审核 scenario review, data-use applications, product compliance review and developer admission.
//!
//! Its RPCs answer `UNIMPLEMENTED` until the service's own issue lands; the service already starts,
//! migrates its database, provisions its NATS stream, reports health and serves reflection.

use std::sync::Arc;

use pdop_kit::auth::{Access, Policy};
use pdop_kit::config::ServiceDefaults;
use pdop_kit::{Platform, Service};
use pdop_proto::review::v1::review_service_server::{ReviewService, ReviewServiceServer};
use serde::Deserialize;
use sqlx::migrate::Migrator;
use tonic::service::Routes;

/// The review service, as assembled by `pdop_kit::server`.
pub struct Review;

/// The `review:` configuration section (none yet).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewConfig {}

impl Service for Review {
    type Config = ReviewConfig;
    const DEFAULTS: ServiceDefaults = ServiceDefaults {
        name: "review",
        grpc_port: 50052,
        admin_port: 9092,
    };
    const GRPC_SERVICE: &'static str = "pdop.review.v1.ReviewService";
    const CONFIG_DEFAULTS: &'static str = "review: {}";

    fn descriptor_set() -> &'static [u8] {
        pdop_proto::FILE_DESCRIPTOR_SET
    }

    fn migrator() -> Migrator {
        sqlx::migrate!()
    }

    fn policy() -> Policy {
        Policy::new().allow_service(Self::GRPC_SERVICE, Access::Authenticated)
    }

    fn routes(_platform: Arc<Platform>, _config: Arc<Self::Config>) -> anyhow::Result<Routes> {
        Ok(Routes::new(ReviewServiceServer::new(Handlers)))
    }
}

/// RPC handlers; every method not written here answers `UNIMPLEMENTED`.
struct Handlers;

impl ReviewService for Handlers {}
