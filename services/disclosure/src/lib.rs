//! The disclosure service: the public, append-only, verifiable disclosure log (信息公开).
//!
//! Consumers turn the other services' public facts into entries of an RFC 9162 Merkle log with signed tree heads
//! (`incoming`, `log`, `tree_heads`); the public reads are served over gRPC and on the public HTTP port (`entries`,
//! `proofs`, `http`, `feeds`, `pages`); notices take objections (`notices`, `outcomes`); corrections and reports
//! are appended, never edited (`corrections`, `reports`); `verify` is the checker behind `pdop-verify`.

mod context;
mod corrections;
mod entries;
mod feed_index;
mod feeds;
mod http;
mod incoming;
pub mod leaf;
mod log;
mod node_cache;
mod notices;
mod outcomes;
mod pages;
mod proofs;
mod render;
mod reports;
mod routes;
pub mod signer;
mod tree_heads;
pub mod verify;

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use anyhow::Context as _;
use pdop_kit::auth::{Access, Caller, Policy, Role};
use pdop_kit::config::{ServiceDefaults, humantime_secs};
use pdop_kit::{Platform, Service};
use pdop_proto::disclosure::v1 as pb;
use pdop_proto::disclosure::v1::disclosure_service_server::{DisclosureService, DisclosureServiceServer};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sqlx::migrate::Migrator;
use tokio::sync::Notify;
use tonic::service::Routes;
use tonic::{Request, Response, Status};

use crate::context::Ctx;
use crate::signer::LogSigner;
use crate::tree_heads::LogContext;

/// The disclosure service, as assembled by `pdop_kit::server`.
pub struct Disclosure;

/// The `disclosure:` configuration section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisclosureConfig {
    /// Identity of the log, stable for its lifetime (LogInfo.origin).
    pub origin: String,
    /// Human-readable description of the log.
    pub description: String,
    /// Address of the public HTTP port (JSON reads, entry pages, feeds).
    pub http_addr: std::net::SocketAddr,
    /// Base URL of the public HTTP interface as the public reaches it, for links.
    pub http_base_url: String,
    /// The Ed25519 signing key as the base64 of its 32-byte seed (a Secret in Kubernetes). Unset: a random key
    /// per start, and tree heads of an earlier start no longer verify against the published key.
    pub signing_key: Option<SecretString>,
    /// A tree head is signed at least this often, also when nothing was appended.
    #[serde(with = "humantime_secs")]
    pub signing_interval: Duration,
    /// After an append, how long to gather more before signing.
    #[serde(with = "humantime_secs")]
    pub batch_delay: Duration,
    /// The handlers' shared state, made by `routes` and started by `on_ready` (weak: it holds this config).
    #[serde(skip)]
    ctx: OnceLock<Weak<Ctx>>,
}

impl Service for Disclosure {
    type Config = DisclosureConfig;
    const DEFAULTS: ServiceDefaults = ServiceDefaults {
        name: "disclosure",
        grpc_port: 50055,
        admin_port: 9095,
    };
    const GRPC_SERVICE: &'static str = "pdop.disclosure.v1.DisclosureService";
    const CONFIG_DEFAULTS: &'static str = "disclosure:
  origin: disclosure.pdop.local
  description: 公共数据资源授权运营信息披露日志
  http_addr: 0.0.0.0:8080
  http_base_url: http://127.0.0.1:8080
  signing_key: null
  signing_interval: 60s
  batch_delay: 200ms
";

    fn descriptor_set() -> &'static [u8] {
        pdop_proto::FILE_DESCRIPTOR_SET
    }

    fn migrator() -> Migrator {
        sqlx::migrate!()
    }

    fn policy() -> Policy {
        policy()
    }

    fn routes(platform: Arc<Platform>, config: Arc<Self::Config>) -> anyhow::Result<Routes> {
        let signer = match &config.signing_key {
            Some(seed) => LogSigner::from_seed_base64(seed.expose_secret())?,
            None => {
                tracing::warn!(
                    "disclosure.signing_key is not set: signing with a random key that changes at every start"
                );
                LogSigner::random()?
            }
        };
        let log = Arc::new(LogContext {
            signer,
            interval: config.signing_interval,
            batch_delay: config.batch_delay,
            appended: Notify::new(),
            signed: Notify::new(),
            recent_head: Default::default(),
            nodes: Default::default(),
        });
        let ctx = Arc::new(Ctx {
            platform,
            log,
            config: config.clone(),
        });
        config
            .ctx
            .set(Arc::downgrade(&ctx))
            .map_err(|_| anyhow::anyhow!("the disclosure routes were built twice"))?;
        Ok(Routes::new(DisclosureServiceServer::new(Handlers { ctx })))
    }

    async fn on_ready(platform: Arc<Platform>, config: Arc<Self::Config>) -> anyhow::Result<()> {
        let ctx = config
            .ctx
            .get()
            .and_then(Weak::upgrade)
            .context("the disclosure routes were not built")?;
        let log = ctx.log.clone();
        http::serve(ctx, config.http_addr).await?;
        tracing::info!(key_id = %log.signer.key_id(), origin = %config.origin, "disclosure log ready");
        for spec in incoming::specs() {
            platform
                .spawn_consumer(spec, incoming::Incoming { log: log.clone() })
                .await?;
        }
        tokio::spawn(tree_heads::run(platform, log));
        Ok(())
    }
}

/// Reads are public (no token); everything else needs a token and answers `UNIMPLEMENTED` until built.
fn policy() -> Policy {
    let svc = Disclosure::GRPC_SERVICE;
    [
        "GetLogInfo",
        "GetSignedTreeHead",
        "GetInclusionProof",
        "GetConsistencyProof",
        "GetEntry",
        "ListEntries",
        "SubscribeEntries",
        "GetNotice",
        "ListNotices",
        "ListFeeds",
        "GetFeed",
        "CreateObjection",
        "GetObjection",
    ]
    .into_iter()
    .fold(
        Policy::new().allow_service(svc, Access::Authenticated),
        |policy, method| policy.allow(svc, method, Access::Public),
    )
    .allow(
        svc,
        "ListObjections",
        Access::Roles(vec![Role::DataAuthority, Role::Auditor, Role::Operator]),
    )
    .allow(
        svc,
        "PublishDisclosureReport",
        Access::Roles(vec![Role::ImplementingAgency, Role::Operator]),
    )
    .allow(
        svc,
        "CreateCorrection",
        Access::Roles(vec![
            Role::DataAuthority,
            Role::ImplementingAgency,
            Role::Operator,
        ]),
    )
}

struct Handlers {
    ctx: Arc<Ctx>,
}

#[tonic::async_trait]
impl DisclosureService for Handlers {
    async fn get_log_info(
        &self,
        _request: Request<pb::GetLogInfoRequest>,
    ) -> Result<Response<pb::GetLogInfoResponse>, Status> {
        proofs::log_info(&self.ctx).await.map(Response::new)
    }

    async fn get_signed_tree_head(
        &self,
        request: Request<pb::GetSignedTreeHeadRequest>,
    ) -> Result<Response<pb::GetSignedTreeHeadResponse>, Status> {
        proofs::tree_head(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_inclusion_proof(
        &self,
        request: Request<pb::GetInclusionProofRequest>,
    ) -> Result<Response<pb::GetInclusionProofResponse>, Status> {
        proofs::inclusion(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_consistency_proof(
        &self,
        request: Request<pb::GetConsistencyProofRequest>,
    ) -> Result<Response<pb::GetConsistencyProofResponse>, Status> {
        proofs::consistency(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_entry(
        &self,
        request: Request<pb::GetEntryRequest>,
    ) -> Result<Response<pb::GetEntryResponse>, Status> {
        entries::get(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_entries(
        &self,
        request: Request<pb::ListEntriesRequest>,
    ) -> Result<Response<pb::ListEntriesResponse>, Status> {
        entries::list(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn subscribe_entries(
        &self,
        request: Request<pb::SubscribeEntriesRequest>,
    ) -> Result<Response<entries::EntryStream>, Status> {
        entries::subscribe(self.ctx.clone(), request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_notice(
        &self,
        request: Request<pb::GetNoticeRequest>,
    ) -> Result<Response<pb::GetNoticeResponse>, Status> {
        notices::get_notice(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_notices(
        &self,
        request: Request<pb::ListNoticesRequest>,
    ) -> Result<Response<pb::ListNoticesResponse>, Status> {
        notices::list_notices(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn create_objection(
        &self,
        request: Request<pb::CreateObjectionRequest>,
    ) -> Result<Response<pb::CreateObjectionResponse>, Status> {
        let caller = Caller::of(&request).ok().cloned();
        notices::create_objection(&self.ctx, caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_objection(
        &self,
        request: Request<pb::GetObjectionRequest>,
    ) -> Result<Response<pb::GetObjectionResponse>, Status> {
        let caller = Caller::of(&request).ok().cloned();
        notices::get_objection(&self.ctx, caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_objections(
        &self,
        request: Request<pb::ListObjectionsRequest>,
    ) -> Result<Response<pb::ListObjectionsResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        notices::list_objections(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn create_correction(
        &self,
        request: Request<pb::CreateCorrectionRequest>,
    ) -> Result<Response<pb::CreateCorrectionResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        corrections::create(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_feeds(
        &self,
        request: Request<pb::ListFeedsRequest>,
    ) -> Result<Response<pb::ListFeedsResponse>, Status> {
        feed_index::list(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_feed(
        &self,
        request: Request<pb::GetFeedRequest>,
    ) -> Result<Response<pb::GetFeedResponse>, Status> {
        feed_index::get(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn publish_disclosure_report(
        &self,
        request: Request<pb::PublishDisclosureReportRequest>,
    ) -> Result<Response<pb::PublishDisclosureReportResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        reports::publish(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }
}
