//! A disclosure service on a private NATS server with a fixed signing key, and a way to publish the other
//! services' events the way their outbox relays do.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use pdop_disclosure::Disclosure;
use pdop_kit::Running;
use pdop_kit::events::Namespace;
use pdop_proto::common::{Actor, JurisdictionRef, Money, OrganizationRef};
use pdop_proto::disclosure::v1::disclosure_service_client::DisclosureServiceClient;
use pdop_proto::disclosure::v1::{
    Entry, GetLogInfoRequest, GetSignedTreeHeadRequest, LogInfo, SignedTreeHead,
};
use pdop_proto::pricing::events::v1::{CapPricePublished, CapPriceSnapshot};
use pdop_proto::registry::events::v1::{AgreementSigned, AgreementSummary};
use pdop_testkit::{
    PrivateNats, TestDb, TestEnv, free_port, publish_as_relay, spawn_service, spawn_service_with_clock,
    until_holds,
};
use prost::Message;
use tonic::transport::Channel;

/// The seed of the test signing key.
pub const SEED: [u8; 32] = [42; 32];

pub struct Harness {
    pub nats: PrivateNats,
    /// The test's NATS namespace, which the service and `publish` use.
    pub namespace: Namespace,
    pub db: TestDb,
    pub running: Running,
    pub client: DisclosureServiceClient<Channel>,
    /// Base URL of the public HTTP port.
    pub http: String,
}

pub async fn start() -> Harness {
    start_from(None, &[]).await
}

/// As [`start`], with further configuration overrides.
pub async fn start_with(extra: &[(&str, &str)]) -> Harness {
    start_from(None, extra).await
}

/// As [`start`], on `clock` (a manual clock the test moves through `running.platform.clock`).
pub async fn start_on(clock: std::sync::Arc<dyn pdop_kit::clock::Clock>) -> Harness {
    start_from(Some(clock), &[]).await
}

async fn start_from(
    clock: Option<std::sync::Arc<dyn pdop_kit::clock::Clock>>,
    extra: &[(&str, &str)],
) -> Harness {
    let env = TestEnv::new().await.unwrap();
    let nats = PrivateNats::start().await.unwrap();
    // A free port can be taken by another process before the service binds it: try a few.
    for attempt in 1..=5 {
        let db = env.fresh_database().await.unwrap();
        let port = free_port().unwrap();
        let http = format!("http://127.0.0.1:{port}");
        let mut overrides = vec![
            ("disclosure.http_addr", format!("127.0.0.1:{port}")),
            ("disclosure.http_base_url", http.clone()),
            (
                "disclosure.signing_key",
                base64::engine::general_purpose::STANDARD.encode(SEED),
            ),
            ("disclosure.signing_interval", "30s".to_owned()),
            ("disclosure.batch_delay", "20ms".to_owned()),
        ];
        overrides.extend(extra.iter().map(|&(k, v)| (k, v.to_owned())));
        let spawned = match &clock {
            Some(clock) => {
                spawn_service_with_clock::<Disclosure>(
                    &db,
                    &nats.url(),
                    &env.namespace,
                    &overrides,
                    clock.clone(),
                )
                .await
            }
            None => spawn_service::<Disclosure>(&db, &nats.url(), &env.namespace, &overrides).await,
        };
        let running = match spawned {
            Ok(running) => running,
            Err(err) if attempt < 5 && format!("{err:#}").contains("in use") => continue,
            Err(err) => panic!("{err:#}"),
        };
        let client = DisclosureServiceClient::connect(format!("http://{}", running.grpc_addr))
            .await
            .unwrap();
        return Harness {
            nats,
            namespace: env.namespace.clone(),
            db,
            running,
            client,
            http,
        };
    }
    unreachable!("the last attempt returns or panics")
}

impl Harness {
    /// Publishes an event as the producer's relay would; see `publish_as_relay`.
    pub async fn publish(
        &self,
        subject: &str,
        ce_id: &str,
        msg_id: &str,
        ce_subject: &str,
        payload: Vec<u8>,
    ) {
        publish_as_relay(
            &self.nats.url(),
            &self.namespace,
            subject,
            ce_id,
            msg_id,
            ce_subject,
            payload,
        )
        .await
        .unwrap();
    }

    /// Waits until `sql` (a boolean query) holds in the service's database.
    pub async fn until(&self, what: &str, sql: &str) {
        until_holds(&self.db.pool, what, sql).await.unwrap();
    }

    /// The log's entries, in order.
    pub async fn entries(&self) -> Vec<Entry> {
        let bodies: Vec<Vec<u8>> = sqlx::query_scalar("SELECT body FROM entries ORDER BY sequence")
            .fetch_all(&self.db.pool)
            .await
            .unwrap();
        bodies
            .iter()
            .map(|body| Entry::decode(body.as_slice()).unwrap())
            .collect()
    }

    /// The text the public HTTP port serves at `path`.
    pub async fn public_text(&self, path: &str) -> String {
        let response = reqwest::get(format!("{}{path}", self.http)).await.unwrap();
        assert!(response.status().is_success(), "{path}: {}", response.status());
        response.text().await.unwrap()
    }

    /// Asserts that the consumers acknowledged every event they got: none was retried or dead-lettered.
    pub async fn consumed_without_retry_or_dead_letter(&self) {
        let metrics = reqwest::get(format!("http://{}/metrics", self.running.admin_addr))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(metrics.contains("outcome=\"applied\""), "{metrics}");
        for outcome in ["retried", "dead_lettered"] {
            assert!(!metrics.contains(&format!("outcome=\"{outcome}\"")), "{metrics}");
        }
    }

    /// The log's parameters and keys (`GetLogInfo`).
    pub async fn log_info(&mut self) -> LogInfo {
        self.client
            .get_log_info(GetLogInfoRequest {})
            .await
            .unwrap()
            .into_inner()
            .log_info
            .unwrap()
    }

    /// The signed tree head of `size` entries, 0 for the latest (`GetSignedTreeHead`).
    pub async fn tree_head(&mut self, size: i64) -> SignedTreeHead {
        self.client
            .get_signed_tree_head(GetSignedTreeHeadRequest { tree_size: size })
            .await
            .unwrap()
            .into_inner()
            .tree_head
            .unwrap()
    }

    /// Waits until a tree head covering `size` entries is signed.
    pub async fn signed(&self, size: i64) {
        self.until(
            &format!("a tree head of size {size}"),
            &format!("SELECT EXISTS (SELECT 1 FROM tree_heads WHERE tree_size = {size})"),
        )
        .await;
    }
}

pub fn yunnan() -> Option<JurisdictionRef> {
    Some(JurisdictionRef {
        name: "jurisdictions/yunnan".into(),
        display_name: "云南省".into(),
        ..Default::default()
    })
}

pub fn org(name: &str, display: &str) -> Option<OrganizationRef> {
    Some(OrganizationRef {
        name: name.into(),
        display_name: display.into(),
        ..Default::default()
    })
}

pub fn signed(n: usize) -> Vec<u8> {
    AgreementSigned {
        agreement: Some(AgreementSummary {
            name: format!("agreements/a{n}"),
            display_name: format!("授权运营协议{n}"),
            jurisdiction: yunnan(),
            implementing_agency: org("organizations/agency", "云南省数据局"),
            operator: org("organizations/operator", "云南数据运营有限公司"),
            ..Default::default()
        }),
        actor: Some(Actor {
            subject: "staff-secret-7".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

pub fn cap() -> Vec<u8> {
    CapPricePublished {
        cap_price: Some(CapPriceSnapshot {
            name: "capPrices/c1".into(),
            product_display_name: "企业信用画像接口".into(),
            cap_amount: Some(Money {
                amount: "1.50".into(),
                currency: "CNY".into(),
            }),
            authorizing_entity: org("organizations/agency", "云南省数据局"),
            jurisdiction: yunnan(),
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

/// Publishes the CapPricePublished event `e-c` of [`cap`].
pub async fn publish_cap(h: &Harness) {
    h.publish(
        "pdop.pricing.cap_price.published",
        "e-c",
        "e-c",
        "capPrices/c1",
        cap(),
    )
    .await;
}

/// Publishes AgreementSigned events `e-a{n}` for agreements `a{n}`, n in `range`.
pub async fn agreements(h: &Harness, range: std::ops::Range<usize>) {
    for n in range {
        let id = format!("e-a{n}");
        h.publish(
            "pdop.registry.agreement.signed",
            &id,
            &id,
            &format!("agreements/a{n}"),
            signed(n),
        )
        .await;
    }
}
