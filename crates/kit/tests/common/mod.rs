//! Shared set-up for the runtime tests: a fresh migrated database and a JetStream context.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
#![allow(dead_code)]

use std::time::Duration;

use async_nats::jetstream;
use pdop_kit::config::{ConsumerSettings, OutboxSettings};
use pdop_kit::events::{self, OutgoingEvent};
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

/// A service name of this test's own, so its stream `PDOP_<NAME>` is not shared with other tests.
pub fn unique_service() -> &'static str {
    // The tail of a UUIDv7 is random; its head is a timestamp shared by tests started together.
    let id = uuid::Uuid::now_v7().simple().to_string();
    Box::leak(format!("t{}", &id[id.len() - 12..]).into_boxed_str())
}

pub async fn jetstream_for(nats_url: &str, service: &str) -> jetstream::Context {
    let client = async_nats::connect(nats_url).await.expect("nats connect");
    let js = jetstream::new(client);
    events::ensure_stream(&js, service, Duration::from_secs(120))
        .await
        .expect("stream");
    events::ensure_dead_letter_stream(&js)
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

pub fn relay(pool: &PgPool, js: &jetstream::Context, service: &'static str) -> events::RelayHandle {
    relay_with(
        pool,
        js,
        service,
        outbox_settings(),
        events::OutboxWaker::default(),
    )
}

/// A relay with its own settings, woken through `waker`.
pub fn relay_with(
    pool: &PgPool,
    js: &jetstream::Context,
    service: &'static str,
    settings: OutboxSettings,
    waker: events::OutboxWaker,
) -> events::RelayHandle {
    events::Relay::new(
        pool.clone(),
        js.clone(),
        settings,
        Metrics::new(service),
        service,
        waker,
    )
    .spawn()
}

/// What a test consumer runs on.
pub fn consumer_runtime(pool: &PgPool, js: &jetstream::Context, service: &str) -> events::ConsumerRuntime {
    events::ConsumerRuntime {
        pool: pool.clone(),
        js: js.clone(),
        settings: consumer_settings(),
        metrics: Metrics::new(service),
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
        ids.push(events::enqueue(&mut tx, event).await.expect("enqueue"));
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

pub async fn stream_messages(js: &jetstream::Context, service: &str) -> u64 {
    let mut stream = js.get_stream(events::stream_name(service)).await.expect("stream");
    stream.info().await.expect("stream info").state.messages
}

/// Removes the test's stream from a shared NATS server (best effort).
pub async fn drop_stream(js: &jetstream::Context, service: &str) {
    let _ = js.delete_stream(events::stream_name(service)).await;
}
