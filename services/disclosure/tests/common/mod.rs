//! A disclosure service on a private NATS server with a fixed signing key, and a way to publish the other
//! services' events the way their outbox relays do.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use pdop_disclosure::Disclosure;
use pdop_kit::Running;
use pdop_proto::disclosure::v1::disclosure_service_client::DisclosureServiceClient;
use pdop_testkit::{PrivateNats, TestDb, TestEnv, publish_as_relay, spawn_service, until_holds};
use tonic::transport::Channel;

/// The seed of the test signing key.
pub const SEED: [u8; 32] = [42; 32];

pub struct Harness {
    pub nats: PrivateNats,
    pub db: TestDb,
    pub running: Running,
    pub client: DisclosureServiceClient<Channel>,
}

pub async fn start() -> Harness {
    let env = TestEnv::new().await.unwrap();
    let nats = PrivateNats::start().await.unwrap();
    let db = env.fresh_database().await.unwrap();
    let seed = base64::engine::general_purpose::STANDARD.encode(SEED);
    let overrides = [
        ("disclosure.signing_key", seed),
        ("disclosure.signing_interval", "30s".to_owned()),
        ("disclosure.batch_delay", "20ms".to_owned()),
    ];
    let running = spawn_service::<Disclosure>(&db, &nats.url(), &overrides)
        .await
        .unwrap();
    let client = DisclosureServiceClient::connect(format!("http://{}", running.grpc_addr))
        .await
        .unwrap();
    Harness {
        nats,
        db,
        running,
        client,
    }
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
        publish_as_relay(&self.nats.url(), subject, ce_id, msg_id, ce_subject, payload)
            .await
            .unwrap();
    }

    /// Waits until `sql` (a boolean query) holds in the service's database.
    pub async fn until(&self, what: &str, sql: &str) {
        until_holds(&self.db.pool, what, sql).await.unwrap();
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
