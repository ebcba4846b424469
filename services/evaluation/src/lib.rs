//! The evaluation service: indicator-based annual evaluation of operators (评价), grades and rectification (整改).
//!
//! Its RPCs answer `UNIMPLEMENTED` until the service's own issue lands; the service already starts,
//! migrates its database, provisions its NATS stream, reports health and serves reflection.

use std::sync::Arc;

use pdop_kit::auth::{Access, Policy};
use pdop_kit::config::ServiceDefaults;
use pdop_kit::{Platform, Service};
use pdop_proto::evaluation::v1::evaluation_service_server::{EvaluationService, EvaluationServiceServer};
use serde::Deserialize;
use sqlx::migrate::Migrator;
use tonic::service::Routes;

/// The evaluation service, as assembled by `pdop_kit::server`.
pub struct Evaluation;

/// The `evaluation:` configuration section (none yet).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationConfig {}

impl Service for Evaluation {
    type Config = EvaluationConfig;
    const DEFAULTS: ServiceDefaults = ServiceDefaults {
        name: "evaluation",
        grpc_port: 50054,
        admin_port: 9094,
    };
    const GRPC_SERVICE: &'static str = "pdop.evaluation.v1.EvaluationService";
    const CONFIG_DEFAULTS: &'static str = "evaluation: {}";

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
        Ok(Routes::new(EvaluationServiceServer::new(Handlers)))
    }
}

/// RPC handlers; every method not written here answers `UNIMPLEMENTED`.
struct Handlers;

impl EvaluationService for Handlers {}
