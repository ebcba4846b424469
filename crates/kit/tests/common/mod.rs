//! Shared set-up for the runtime tests: a fresh migrated database and a JetStream context.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
#![allow(dead_code)]

use std::time::Duration;

use async_nats::jetstream;
use pdop_kit::config::{ConsumerSettings, OutboxSettings};
use pdop_kit::events::{self, Namespace, OutgoingEvent};
use pdop_kit::metrics::Metrics;
use pdop_testkit::{TestDb, TestEnv};
use sqlx::PgPool;
use sqlx::migrate::Migrator;

pub const WAIT: Duration = Duration::from_secs(20);

/// A database with pdop-kit's tables and nothing else.
pub async fn migrated_db(env: &TestEnv) -> TestDb {
    pdop_kit::telemetry::init_for_tests();
    let db = env.fresh_database().await.expect("fresh database");
    pdop_kit::db::migrate(&db.pool, Migrator::DEFAULT)
        .await
        .expect("kit migrations");
    db
}

/// A service name of this test's own, so its stream `<NAMESPACE>_<NAME>` is not shared with other tests.
pub fn unique_service() -> &'static str {
    // The tail of a UUIDv7 is random; its head is a timestamp shared by tests started together.
    let id = uuid::Uuid::now_v7().simple().to_string();
    Box::leak(format!("t{}", &id[id.len() - 12..]).into_boxed_str())
}

/// A JetStream context with the test's stream of `service` and dead-letter stream in `namespace`.
pub async fn jetstream_for(nats_url: &str, namespace: &Namespace, service: &str) -> jetstream::Context {
    let client = async_nats::connect(nats_url).await.expect("nats connect");
    let js = jetstream::new(client);
    events::ensure_stream(&js, namespace, service, Duration::from_secs(120))
        .await
        .expect("stream");
    events::ensure_dead_letter_stream(&js, namespace)
        .await
        .expect("dead-letter stream");
    js
}

pub fn outbox_settings() -> OutboxSettings {
    OutboxSettings {
        batch_size: 50,
        poll_interval: Duration::from_millis(200),
        retention: Duration::from_secs(3600),
        max_payload: 768 * 1024,
    }
}

pub fn consumer_settings() -> ConsumerSettings {
    ConsumerSettings {
        max_deliver: 3,
        initial_backoff: Duration::from_millis(50),
        batch_size: 10,
    }
}

pub fn relay(
    pool: &PgPool,
    js: &jetstream::Context,
    namespace: &Namespace,
    service: &'static str,
) -> events::RelayHandle {
    relay_with(
        pool,
        js,
        namespace,
        service,
        outbox_settings(),
        events::OutboxWaker::default(),
    )
}

/// A relay that reports to `metrics`.
pub fn relay_observed(
    pool: &PgPool,
    js: &jetstream::Context,
    namespace: &Namespace,
    service: &'static str,
    metrics: Metrics,
) -> events::RelayHandle {
    let settings = outbox_settings();
    events::Relay::new(
        pool.clone(),
        js.clone(),
        settings,
        metrics,
        service,
        namespace.clone(),
        Default::default(),
    )
    .spawn()
}

/// A relay with its own settings, woken through `waker`.
pub fn relay_with(
    pool: &PgPool,
    js: &jetstream::Context,
    namespace: &Namespace,
    service: &'static str,
    settings: OutboxSettings,
    waker: events::OutboxWaker,
) -> events::RelayHandle {
    events::Relay::new(
        pool.clone(),
        js.clone(),
        settings,
        Metrics::new(),
        service,
        namespace.clone(),
        waker,
    )
    .spawn()
}

/// What a test consumer runs on.
pub fn consumer_runtime(
    pool: &PgPool,
    js: &jetstream::Context,
    namespace: &Namespace,
) -> events::ConsumerRuntime {
    events::ConsumerRuntime {
        pool: pool.clone(),
        js: js.clone(),
        namespace: namespace.clone(),
        settings: consumer_settings(),
        metrics: Metrics::new(),
        waker: events::OutboxWaker::default(),
        duplicate_window: Duration::from_secs(120),
    }
}

/// Commits `n` events in one transaction; returns their ids.
pub async fn commit_events(pool: &PgPool, service: &str, n: usize) -> Vec<uuid::Uuid> {
    let mut tx = pool.begin().await.expect("begin");
    let mut ids = Vec::new();
    for i in 0..n {
        let payload = format!("event {i}");
        let event = OutgoingEvent::new(
            &format!("pdop.{service}.thing.created"),
            format!("things/{i}"),
            &payload,
        );
        ids.push(
            events::enqueue_at(&mut tx, event, chrono::Utc::now())
                .await
                .expect("enqueue"),
        );
    }
    tx.commit().await.expect("commit");
    ids
}

pub async fn pending(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        .fetch_one(pool)
        .await
        .expect("count pending")
}

pub async fn stream_messages(js: &jetstream::Context, namespace: &Namespace, service: &str) -> u64 {
    let mut stream = js.get_stream(namespace.stream(service)).await.expect("stream");
    stream.info().await.expect("stream info").state.messages
}

/// The CloudEvents headers of test event `id`.
pub fn envelope(id: &str, traceparent: Option<&str>) -> async_nats::HeaderMap {
    let mut h = async_nats::HeaderMap::new();
    h.insert("ce-id", id);
    h.insert("ce-type", "pdop.test.thing.created.v1");
    h.insert("ce-subject", "things/1");
    if let Some(tp) = traceparent {
        h.insert("traceparent", tp);
    }
    h
}

/// Publishes event `id` to the test's stream and waits for JetStream's ack.
pub async fn publish(js: &jetstream::Context, namespace: &Namespace, service: &str, id: &str) {
    js.publish_with_headers(
        namespace.wire_subject(&format!("pdop.{service}.thing.created")),
        envelope(id, None),
        "x".into(),
    )
    .await
    .unwrap()
    .await
    .unwrap();
}
