//! The pricing service: government-guided cost-plus pricing (政府指导价): cost surveys, maximum allowed revenue, cap and specific prices, annual checks and settlement.
//!
//! Its RPCs answer `UNIMPLEMENTED` until the service's own issue lands; the service already starts,
//! migrates its database, provisions its NATS stream, reports health and serves reflection.

pub mod formula;

use std::sync::Arc;

use pdop_kit::auth::{Access, Policy};
use pdop_kit::config::ServiceDefaults;
use pdop_kit::{Platform, Service};
use pdop_proto::pricing::v1::pricing_service_server::{PricingService, PricingServiceServer};
use serde::Deserialize;
use sqlx::migrate::Migrator;
use tonic::service::Routes;

/// The pricing service, as assembled by `pdop_kit::server`.
pub struct Pricing;

/// The `pricing:` configuration section (none yet).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingConfig {}

impl Service for Pricing {
    type Config = PricingConfig;
    const DEFAULTS: ServiceDefaults = ServiceDefaults {
        name: "pricing",
        grpc_port: 50053,
        admin_port: 9093,
    };
    const GRPC_SERVICE: &'static str = "pdop.pricing.v1.PricingService";
    const CONFIG_DEFAULTS: &'static str = "pricing: {}";

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
        Ok(Routes::new(PricingServiceServer::new(Handlers)))
    }
}

/// RPC handlers; every method not written here answers `UNIMPLEMENTED`.
struct Handlers;

impl PricingService for Handlers {}
