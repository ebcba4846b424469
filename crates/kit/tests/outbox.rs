//! The transactional outbox against real PostgreSQL and NATS JetStream.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::*;
use pdop_testkit::{PrivateNats, TestEnv, wait_until};

#[tokio::test]
async fn event_committed_while_relay_is_stopped_is_published_once_after_restart() {
    let env = TestEnv::new().await.unwrap();
    let db = migrated_db(&env).await;
    let service = unique_service();
    let js = jetstream_for(&env.nats_url, &env.namespace, service).await;

    // The relay is not running when the transaction commits.
    let ids = commit_events(&db.pool, service, 3).await;
    assert_eq!(pending(&db.pool).await, 3);
    assert_eq!(
        stream_messages(&js, &env.namespace, service).await,
        0,
        "nothing may be published before the relay runs"
    );

    let relay_handle = relay(&db.pool, &js, &env.namespace, service);
    wait_until("all outbox rows are marked published", WAIT, || async {
        pending(&db.pool).await == 0
    })
    .await
    .unwrap();
    relay_handle.stop().await;
    assert_eq!(stream_messages(&js, &env.namespace, service).await, 3);

    // A relay that crashed after the JetStream ack but before marking the rows publishes them again;
    // the stream drops the repeats by Nats-Msg-Id, so each event is still stored exactly once.
    sqlx::query("UPDATE outbox SET published_at = NULL")
        .execute(&db.pool)
        .await
        .unwrap();
    let relay_handle = relay(&db.pool, &js, &env.namespace, service);
    wait_until("the re-sent rows are marked published", WAIT, || async {
        pending(&db.pool).await == 0
    })
    .await
    .unwrap();
    relay_handle.stop().await;
    assert_eq!(
        stream_messages(&js, &env.namespace, service).await,
        3,
        "a re-publish must not duplicate events"
    );

    // The stored messages carry the outbox ids as ce-id, in commit order.
    let stream = js.get_stream(env.namespace.stream(service)).await.unwrap();
    for (seq, id) in (1u64..).zip(&ids) {
        let msg = stream.get_raw_message(seq).await.unwrap();
        assert_eq!(
            msg.headers.get("ce-id").map(|v| v.as_str().to_owned()),
            Some(id.to_string())
        );
        assert_eq!(
            msg.headers.get("Nats-Msg-Id").map(|v| v.as_str().to_owned()),
            Some(id.to_string())
        );
    }
}

#[tokio::test]
async fn rolled_back_transaction_publishes_nothing() {
    let env = TestEnv::new().await.unwrap();
    let db = migrated_db(&env).await;
    let service = unique_service();
    let js = jetstream_for(&env.nats_url, &env.namespace, service).await;
    let relay_handle = relay(&db.pool, &js, &env.namespace, service);

    let mut tx = db.pool.begin().await.unwrap();
    let payload = "never".to_owned();
    let event =
        pdop_kit::events::OutgoingEvent::new(&format!("pdop.{service}.thing.created"), "things/x", &payload);
    pdop_kit::events::enqueue_at(&mut tx, event, chrono::Utc::now())
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    // A committed event after it proves the relay ran past the rolled-back one.
    commit_events(&db.pool, service, 1).await;
    wait_until("the committed event is published", WAIT, || async {
        pending(&db.pool).await == 0
    })
    .await
    .unwrap();
    relay_handle.stop().await;

    assert_eq!(stream_messages(&js, &env.namespace, service).await, 1);
}

#[tokio::test]
async fn nats_down_at_commit_loses_nothing() {
    let env = TestEnv::new().await.unwrap();
    let db = migrated_db(&env).await;
    let mut nats = PrivateNats::start().await.unwrap();
    let service = unique_service();
    let js = jetstream_for(&nats.url(), &env.namespace, service).await;
    let relay_handle = relay(&db.pool, &js, &env.namespace, service);

    nats.stop().await.unwrap();
    let ids = commit_events(&db.pool, service, 2).await;
    assert_eq!(
        pending(&db.pool).await,
        2,
        "the rows wait in the outbox while NATS is down"
    );

    nats.resume().await.unwrap();
    wait_until(
        "the waiting rows are published once NATS is back",
        WAIT,
        || async { pending(&db.pool).await == 0 },
    )
    .await
    .unwrap();
    relay_handle.stop().await;

    let fresh = jetstream_for(&nats.url(), &env.namespace, service).await;
    assert_eq!(stream_messages(&fresh, &env.namespace, service).await, 2);
    let stream = fresh.get_stream(env.namespace.stream(service)).await.unwrap();
    let last = stream.get_raw_message(2).await.unwrap();
    assert_eq!(
        last.headers.get("ce-id").map(|v| v.as_str().to_owned()),
        Some(ids[1].to_string())
    );
}

/// Settings under which only a wake, never the poll, can move the relay within the test's wait.
fn waiting_an_hour() -> pdop_kit::config::OutboxSettings {
    pdop_kit::config::OutboxSettings {
        poll_interval: std::time::Duration::from_secs(3600),
        ..outbox_settings()
    }
}

#[tokio::test]
async fn a_commit_wakes_the_leading_relay_without_waiting_for_its_poll() {
    let env = TestEnv::new().await.unwrap();
    let db = migrated_db(&env).await;
    let service = unique_service();
    let js = jetstream_for(&env.nats_url, &env.namespace, service).await;
    let waker = pdop_kit::events::OutboxWaker::default();
    // Committed before the relay starts, so its first batch publishes it: with an hour's poll, a first batch
    // that ran before the commit would leave it waiting for a wake this test does not send.
    commit_events(&db.pool, service, 1).await;
    let relay_handle = relay_with(
        &db.pool,
        &js,
        &env.namespace,
        service,
        waiting_an_hour(),
        waker.clone(),
    );
    wait_until("the first event is published", WAIT, || async {
        pending(&db.pool).await == 0
    })
    .await
    .unwrap();

    commit_events(&db.pool, service, 1).await;
    waker.wake();
    wait_until("the woken relay publishes the second event", WAIT, || async {
        pending(&db.pool).await == 0
    })
    .await
    .unwrap();
    relay_handle.stop().await;
    assert_eq!(stream_messages(&js, &env.namespace, service).await, 2);
}

#[tokio::test]
async fn a_commit_in_another_process_wakes_the_leading_relay_through_postgres() {
    let env = TestEnv::new().await.unwrap();
    let db = migrated_db(&env).await;
    let service = unique_service();
    let js = jetstream_for(&env.nats_url, &env.namespace, service).await;
    // Committed before the relay starts, so its first batch publishes it: with an hour's poll, a first batch
    // that ran before the commit would leave it waiting for a wake this test does not send.
    commit_events(&db.pool, service, 1).await;
    let relay_handle = relay_with(
        &db.pool,
        &js,
        &env.namespace,
        service,
        waiting_an_hour(),
        pdop_kit::events::OutboxWaker::default(),
    );
    wait_until("the first event is published", WAIT, || async {
        pending(&db.pool).await == 0
    })
    .await
    .unwrap();

    // A replica whose relay does not lead: its wake becomes a NOTIFY for the leader's LISTEN.
    let other = pdop_kit::events::OutboxWaker::default();
    let forwarder = other.spawn_forwarder(db.pool.clone());
    commit_events(&db.pool, service, 1).await;
    other.wake();
    wait_until("the leader publishes the other replica's event", WAIT, || async {
        pending(&db.pool).await == 0
    })
    .await
    .unwrap();
    forwarder.stop().await;
    relay_handle.stop().await;
    assert_eq!(stream_messages(&js, &env.namespace, service).await, 2);
}
