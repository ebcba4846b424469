//! The disclosure service: the public, append-only, verifiable disclosure log (信息公开) and its feeds.
//!
//! Its RPCs answer `UNIMPLEMENTED` until the service's own issue lands; the service already starts,
//! migrates its database, provisions its NATS stream, reports health and serves reflection.

use std::sync::Arc;

use pdop_kit::auth::{Access, Policy};
use pdop_kit::config::ServiceDefaults;
use pdop_kit::{Platform, Service};
use pdop_proto::disclosure::v1::disclosure_service_server::{DisclosureService, DisclosureServiceServer};
use serde::Deserialize;
use sqlx::migrate::Migrator;
use tonic::service::Routes;

/// The disclosure service, as assembled by `pdop_kit::server`.
pub struct Disclosure;

/// The `disclosure:` configuration section (none yet).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisclosureConfig {}

impl Service for Disclosure {
    type Config = DisclosureConfig;
    const DEFAULTS: ServiceDefaults = ServiceDefaults {
        name: "disclosure",
        grpc_port: 50055,
        admin_port: 9095,
    };
    const GRPC_SERVICE: &'static str = "pdop.disclosure.v1.DisclosureService";
    const CONFIG_DEFAULTS: &'static str = "disclosure: {}";

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
        Ok(Routes::new(DisclosureServiceServer::new(Handlers)))
    }
}

/// RPC handlers; every method not written here answers `UNIMPLEMENTED`.
struct Handlers;

impl DisclosureService for Handlers {}
