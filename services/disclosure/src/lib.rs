//! The disclosure service: the public, append-only, verifiable disclosure log (信息公开).
//!
//! Consumers turn the other services' public facts into entries of an RFC 9162 Merkle log with signed tree heads
//! (`incoming`, `log`, `tree_heads`); the public reads are served over gRPC and on the public HTTP port (`entries`,
//! `proofs`, `http`, `feeds`, `catalog`, `pages`, with `markup` for text written out); notices take objections
//! (`notices`, `outcomes`); corrections and reports are appended, never edited (`corrections`, `reports`); `verify`
//! is the checker behind `pdop-verify`.

mod catalog;
mod checkpoint;
mod context;
mod corrections;
mod entries;
mod feed_index;
mod feeds;
mod http;
mod incoming;
mod jurisdictions;
pub mod leaf;
mod log;
mod markup;
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

use std::sync::Arc;
use std::time::Duration;

use pdop_kit::auth::{Access, Policy, Role};
use pdop_kit::config::{ServiceDefaults, humantime_secs};
use pdop_kit::{Platform, Service};
use pdop_proto::disclosure::v1 as pb;
use pdop_proto::disclosure::v1::disclosure_service_server::{DisclosureService, DisclosureServiceServer};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sqlx::migrate::Migrator;
use tokio::sync::Notify;
use tonic::service::Routes;

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
    /// Human-readable description of the log (also the catalog's).
    pub description: String,
    /// URL of the licence under which the DCAT-AP catalog of listed products (`/catalog.jsonld`) may be reused.
    pub catalog_license: String,
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
    /// At most this many objections per objector identity within `objection_window` (THREATS H6): a person
    /// objects to a handful of notices, a script to hundreds.
    pub objections_per_identity: u32,
    /// The window over which `objections_per_identity` counts.
    #[serde(with = "humantime_secs")]
    pub objection_window: Duration,
}

impl Service for Disclosure {
    type Config = DisclosureConfig;
    type State = Ctx;
    const DEFAULTS: ServiceDefaults = ServiceDefaults {
        name: "disclosure",
        grpc_port: 50055,
        admin_port: 9095,
    };
    const GRPC_SERVICE: &'static str = "pdop.disclosure.v1.DisclosureService";
    const IMPLEMENTED: &'static [&'static str] = Rpcs::IMPLEMENTED;
    const CONFIG_DEFAULTS: &'static str = "disclosure:
  origin: disclosure.pdop.local
  description: 公共数据资源授权运营信息披露日志
  catalog_license: https://creativecommons.org/licenses/by/4.0/
  http_addr: 0.0.0.0:8080
  http_base_url: http://127.0.0.1:8080
  signing_key: null
  signing_interval: 60s
  batch_delay: 200ms
  objections_per_identity: 10
  objection_window: 24h
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

    fn build(platform: Arc<Platform>, config: Self::Config) -> anyhow::Result<Self::State> {
        // The origin names the checkpoint's signing key, so it must be a valid note key name.
        if !checkpoint::valid_key_name(&config.origin) {
            anyhow::bail!(
                "disclosure.origin {:?} must be non-empty, without spaces or '+' (it names the checkpoint key)",
                config.origin
            );
        }
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
        Ok(Ctx {
            platform,
            log,
            config: Arc::new(config),
        })
    }

    fn routes(state: Arc<Self::State>) -> Routes {
        // THREATS H1.2: the public port decodes at most 256 KiB per message, whatever the configuration allows.
        let limit = state
            .platform
            .settings
            .grpc
            .max_decoding_message_size
            .min(PUBLIC_DECODING_LIMIT);
        Routes::new(DisclosureServiceServer::new(Rpcs::new(state)).max_decoding_message_size(limit))
    }

    async fn on_ready(ctx: Arc<Ctx>) -> anyhow::Result<()> {
        let log = ctx.log.clone();
        let platform = ctx.platform.clone();
        http::serve(ctx.clone(), ctx.config.http_addr).await?;
        tracing::info!(key_id = %log.signer.key_id(), origin = %ctx.config.origin, "disclosure log ready");
        for spec in incoming::specs() {
            platform
                .spawn_consumer(
                    spec,
                    incoming::Incoming {
                        log: log.clone(),
                        clock: platform.clock.clone(),
                    },
                )
                .await?;
        }
        let signer_platform = platform.clone();
        platform.spawn_task("tree-head-signer", move |stop| {
            tree_heads::run(signer_platform, log, stop)
        });
        Ok(())
    }
}

/// The largest request the public gRPC port decodes.
const PUBLIC_DECODING_LIMIT: usize = 256 * 1024;

/// Reads and objections are public (no token); the rest needs one of the roles named.
fn policy() -> Policy {
    use Access::*;
    use Role::*;
    Policy::table(
        Disclosure::GRPC_SERVICE,
        [
            ("GetLogInfo", Public),
            ("GetSignedTreeHead", Public),
            ("GetInclusionProof", Public),
            ("GetConsistencyProof", Public),
            ("GetEntry", Public),
            ("ListEntries", Public),
            ("SubscribeEntries", Public),
            ("GetNotice", Public),
            ("ListNotices", Public),
            ("ListFeeds", Public),
            ("GetFeed", Public),
            ("CreateObjection", Public),
            ("GetObjection", Public),
            ("ListObjections", Roles(vec![DataAuthority, Auditor, Operator])),
            (
                "PublishDisclosureReport",
                Roles(vec![ImplementingAgency, Operator]),
            ),
            (
                "CreateCorrection",
                Roles(vec![DataAuthority, ImplementingAgency, Operator]),
            ),
        ],
    )
}

/// The RPCs anyone may call without a token.
#[cfg(test)]
const PUBLIC: &[&str] = &[
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
];

pdop_kit::rpcs! {
    DisclosureService for Disclosure;
    get_log_info(pb::GetLogInfoRequest) -> pb::GetLogInfoResponse = proofs::log_info, plain;
    get_signed_tree_head(pb::GetSignedTreeHeadRequest) -> pb::GetSignedTreeHeadResponse = proofs::tree_head, plain;
    get_inclusion_proof(pb::GetInclusionProofRequest) -> pb::GetInclusionProofResponse = proofs::inclusion, plain;
    get_consistency_proof(pb::GetConsistencyProofRequest) -> pb::GetConsistencyProofResponse = proofs::consistency, plain;
    get_entry(pb::GetEntryRequest) -> pb::GetEntryResponse = entries::get, plain;
    list_entries(pb::ListEntriesRequest) -> pb::ListEntriesResponse = entries::list, plain;
    get_notice(pb::GetNoticeRequest) -> pb::GetNoticeResponse = notices::get_notice, plain;
    list_notices(pb::ListNoticesRequest) -> pb::ListNoticesResponse = notices::list_notices, plain;
    create_objection(pb::CreateObjectionRequest) -> pb::CreateObjectionResponse = notices::create_objection, caller;
    get_objection(pb::GetObjectionRequest) -> pb::GetObjectionResponse = notices::get_objection, caller;
    list_objections(pb::ListObjectionsRequest) -> pb::ListObjectionsResponse = notices::list_objections, caller;
    create_correction(pb::CreateCorrectionRequest) -> pb::CreateCorrectionResponse = corrections::create, caller;
    list_feeds(pb::ListFeedsRequest) -> pb::ListFeedsResponse = feed_index::list, plain;
    get_feed(pb::GetFeedRequest) -> pb::GetFeedResponse = feed_index::get, plain;
    publish_disclosure_report(pb::PublishDisclosureReportRequest) -> pb::PublishDisclosureReportResponse = reports::publish, caller;
    [streaming subscribe_entries] {
        async fn subscribe_entries(
            &self,
            request: tonic::Request<pb::SubscribeEntriesRequest>,
        ) -> Result<tonic::Response<entries::EntryStream>, tonic::Status> {
            pdop_kit::rpc::check_edge(&*self.0, &request)?;
            entries::subscribe(self.0.clone(), request.into_inner())
                .await
                .map(tonic::Response::new)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_rpc_has_exactly_one_policy_line() {
        pdop_kit::testing::assert_policy_covers::<super::Disclosure>(super::PUBLIC);
    }
}
