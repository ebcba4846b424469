//! The registry service: the source of truth: jurisdictions, organizations, the data-resource catalog and registration (登记), implementation plans, agreements, products and deadlines.
//!
//! Its RPCs answer `UNIMPLEMENTED` until the service's own issue lands; the service already starts,
//! migrates its database, provisions its NATS stream, reports health and serves reflection.

use std::sync::Arc;

use pdop_kit::auth::{Access, Policy};
use pdop_kit::config::ServiceDefaults;
use pdop_kit::{Platform, Service};
use pdop_proto::registry::v1::registry_service_server::{RegistryService, RegistryServiceServer};
use serde::Deserialize;
use sqlx::migrate::Migrator;
use tonic::service::Routes;

/// The registry service, as assembled by `pdop_kit::server`.
pub struct Registry;

/// The `registry:` configuration section (none yet).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {}

impl Service for Registry {
    type Config = RegistryConfig;
    const DEFAULTS: ServiceDefaults = ServiceDefaults {
        name: "registry",
        grpc_port: 50051,
        admin_port: 9091,
    };
    const GRPC_SERVICE: &'static str = "pdop.registry.v1.RegistryService";
    const CONFIG_DEFAULTS: &'static str = "registry: {}";

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
        Ok(Routes::new(RegistryServiceServer::new(Handlers)))
    }
}

/// RPC handlers; every method not written here answers `UNIMPLEMENTED`.
struct Handlers;

impl RegistryService for Handlers {}
