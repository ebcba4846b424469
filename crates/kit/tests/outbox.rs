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
    let js = jetstream_for(&env.nats_url, service).await;

    // The relay is not running when the transaction commits.
    let ids = commit_events(&db.pool, service, 3).await;
    assert_eq!(pending(&db.pool).await, 3);
    assert_eq!(
        stream_messages(&js, service).await,
        0,
        "nothing may be published before the relay runs"
    );

    let relay_handle = relay(&db.pool, &js, service);
    wait_until("all outbox rows are marked published", WAIT, || async {
        pending(&db.pool).await == 0
    })
    .await
    .unwrap();
    relay_handle.stop().await;
    assert_eq!(stream_messages(&js, service).await, 3);

    // A relay that crashed after the JetStream ack but before marking the rows publishes them again;
    // the stream drops the repeats by Nats-Msg-Id, so each event is still stored exactly once.
    sqlx::query("UPDATE outbox SET published_at = NULL")
        .execute(&db.pool)
        .await
        .unwrap();
    let relay_handle = relay(&db.pool, &js, service);
    wait_until("the re-sent rows are marked published", WAIT, || async {
        pending(&db.pool).await == 0
    })
    .await
    .unwrap();
    relay_handle.stop().await;
    assert_eq!(
        stream_messages(&js, service).await,
        3,
        "a re-publish must not duplicate events"
    );

    // The stored messages carry the outbox ids as ce-id, in commit order.
    let stream = js
        .get_stream(pdop_kit::events::stream_name(service))
        .await
        .unwrap();
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
    drop_stream(&js, service).await;
}

#[tokio::test]
async fn rolled_back_transaction_publishes_nothing() {
    let env = TestEnv::new().await.unwrap();
    let db = migrated_db(&env).await;
    let service = unique_service();
    let js = jetstream_for(&env.nats_url, service).await;
    let relay_handle = relay(&db.pool, &js, service);

    let mut tx = db.pool.begin().await.unwrap();
    let payload = "never".to_owned();
    let event =
        pdop_kit::events::OutgoingEvent::new(&format!("pdop.{service}.thing.created"), "things/x", &payload);
    pdop_kit::events::enqueue(&mut tx, event).await.unwrap();
    tx.rollback().await.unwrap();
    // A committed event after it proves the relay ran past the rolled-back one.
    commit_events(&db.pool, service, 1).await;
    wait_until("the committed event is published", WAIT, || async {
        pending(&db.pool).await == 0
    })
    .await
    .unwrap();
    relay_handle.stop().await;

    assert_eq!(stream_messages(&js, service).await, 1);
    drop_stream(&js, service).await;
}

#[tokio::test]
async fn nats_down_at_commit_loses_nothing() {
    let env = TestEnv::new().await.unwrap();
    let db = migrated_db(&env).await;
    let mut nats = PrivateNats::start().await.unwrap();
    let service = unique_service();
    let js = jetstream_for(&nats.url(), service).await;
    let relay_handle = relay(&db.pool, &js, service);

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

    let fresh = jetstream_for(&nats.url(), service).await;
    assert_eq!(stream_messages(&fresh, service).await, 2);
    let stream = fresh
        .get_stream(pdop_kit::events::stream_name(service))
        .await
        .unwrap();
    let last = stream.get_raw_message(2).await.unwrap();
    assert_eq!(
        last.headers.get("ce-id").map(|v| v.as_str().to_owned()),
        Some(ids[1].to_string())
    );
}
