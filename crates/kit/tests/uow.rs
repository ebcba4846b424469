//! The unit of work (`Platform::mutate`) against real PostgreSQL and NATS JetStream.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::sync::Arc;

use common::*;
use pdop_kit::Platform;
use pdop_kit::auth::Caller;
use pdop_kit::clock::ManualClock;
use pdop_kit::config::{ServiceDefaults, load_with_overrides};
use pdop_kit::uow::{Call, Change, Quiet, Refusal};
use pdop_testkit::{TestDb, TestEnv, wait_until};

/// The service name these tests write under, in the test's own namespace.
const SERVICE: &str = "kituow";

/// A test event (and request and response: any protobuf message will do).
#[derive(Clone, PartialEq, prost::Message)]
struct Noted {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(string, tag = "2")]
    text: String,
    /// Set by the body, so a replayed response is told from a recomputed one.
    #[prost(string, tag = "3")]
    made_by: String,
}

impl pdop_proto::Event for Noted {
    const SUBJECT: &'static str = "pdop.kituow.thing.noted";
    const TYPE: &'static str = "pdop.kituow.thing.noted.v1";
}

#[derive(Debug, thiserror::Error)]
enum TestError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("the body refused")]
    Boom,
}

async fn platform(env: &TestEnv) -> (TestDb, Platform) {
    let db = migrated_db(env).await;
    sqlx::query("CREATE TABLE things (id text PRIMARY KEY)")
        .execute(&db.pool)
        .await
        .unwrap();
    let defaults = ServiceDefaults {
        name: SERVICE,
        grpc_port: 0,
        admin_port: 0,
    };
    let (settings, _): (_, serde_json::Value) =
        load_with_overrides(defaults, "kituow: {}", &[("database.url", db.url.clone())]).unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let platform = Platform::detached(SERVICE, settings, db.pool.clone(), Arc::new(ManualClock::on(day)));
    (db, platform)
}

/// Records a thing `id` with a note, under `request_id`; the body fails after its insert when `fail` is set.
async fn note(
    platform: &Platform,
    id: &str,
    text: &str,
    request_id: &str,
    fail: bool,
) -> Result<Noted, TestError> {
    let request = Noted {
        id: id.to_owned(),
        text: text.to_owned(),
        made_by: String::new(),
    };
    let call = Call::new(Caller::system("tester"), "kituow.Note", platform.clock.now())
        .with_request(request_id, &request);
    platform
        .mutate(&(), call, |u| {
            Box::pin(async move {
                sqlx::query("INSERT INTO things (id) VALUES ($1)")
                    .bind(&request.id)
                    .execute(&mut **u.tx)
                    .await?;
                if fail {
                    return Err(TestError::Boom);
                }
                let response = Noted {
                    made_by: uuid::Uuid::now_v7().to_string(),
                    ..request.clone()
                };
                let change: Change<Noted> =
                    Change::new(format!("things/{}", request.id), serde_json::json!({}));
                Ok(change.announce(request).into_write(response))
            })
        })
        .await
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&db.pool).await.unwrap()
}

#[tokio::test]
async fn a_replayed_request_returns_the_stored_response_and_records_nothing_twice() {
    let env = TestEnv::new().await.unwrap();
    let (db, platform) = platform(&env).await;
    let first = note(&platform, "a", "hello", "r-1", false).await.unwrap();
    let again = note(&platform, "a", "hello", "r-1", false).await.unwrap();
    assert_eq!(again, first, "the stored response, not a new one");
    assert_eq!(count(&db, "SELECT count(*) FROM audit_log").await, 1);
    assert_eq!(count(&db, "SELECT count(*) FROM outbox").await, 1);
    let action: String = sqlx::query_scalar("SELECT action FROM audit_log")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(action, "kituow.Note");
}

#[tokio::test]
async fn a_request_id_reused_for_another_request_is_refused() {
    // THREATS M1, L9: the same id with another body never returns the first response.
    let env = TestEnv::new().await.unwrap();
    let (db, platform) = platform(&env).await;
    note(&platform, "a", "hello", "r-1", false).await.unwrap();
    let err = note(&platform, "b", "someone else", "r-1", false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, TestError::Refused(Refusal::RequestIdReused { .. })),
        "{err:?}"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM things").await, 1);
}

#[tokio::test]
async fn a_failing_body_leaves_no_state_audit_or_outbox_row() {
    let env = TestEnv::new().await.unwrap();
    let (db, platform) = platform(&env).await;
    let wakes = platform.outbox_waker.wakes();
    let err = note(&platform, "a", "hello", "", true).await.unwrap_err();
    assert!(matches!(err, TestError::Boom), "{err:?}");
    assert_eq!(count(&db, "SELECT count(*) FROM things").await, 0);
    assert_eq!(count(&db, "SELECT count(*) FROM audit_log").await, 0);
    assert_eq!(count(&db, "SELECT count(*) FROM outbox").await, 0);
    assert_eq!(
        platform.outbox_waker.wakes(),
        wakes,
        "nothing committed, nothing to wake for"
    );
}

#[tokio::test]
async fn the_relay_is_woken_once_per_commit_that_announces() {
    let env = TestEnv::new().await.unwrap();
    let (_db, platform) = platform(&env).await;
    let before = platform.outbox_waker.wakes();
    note(&platform, "a", "hello", "", false).await.unwrap();
    assert_eq!(platform.outbox_waker.wakes(), before + 1);
    // A change that announces nothing commits without waking the relay.
    let call = Call::new(Caller::system("tester"), "kituow.Touch", platform.clock.now());
    platform
        .mutate(&(), call, |u| {
            Box::pin(async move {
                sqlx::query("INSERT INTO things (id) VALUES ('quiet')")
                    .execute(&mut **u.tx)
                    .await?;
                let change: Change<Quiet> = Change::new("things/quiet", serde_json::json!({}));
                Ok::<_, TestError>(change.into_write(Noted::default()))
            })
        })
        .await
        .unwrap();
    assert_eq!(platform.outbox_waker.wakes(), before + 1);
}

#[tokio::test]
async fn concurrent_duplicates_get_one_response() {
    let env = TestEnv::new().await.unwrap();
    let (db, platform) = platform(&env).await;
    let platform = Arc::new(platform);
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let platform = platform.clone();
            tokio::spawn(async move { note(&platform, "a", "hello", "r-same", false).await })
        })
        .collect();
    let mut responses = Vec::new();
    for call in calls {
        responses.push(
            call.await
                .unwrap()
                .expect("every duplicate gets the stored response"),
        );
    }
    assert!(responses.windows(2).all(|w| w[0] == w[1]), "{responses:?}");
    assert_eq!(count(&db, "SELECT count(*) FROM audit_log").await, 1);
}

#[tokio::test]
async fn an_oversized_event_fails_its_call_and_the_next_event_is_published() {
    // THREATS H1: an event over the stream's limit is refused when written, so it never blocks the outbox.
    let env = TestEnv::new().await.unwrap();
    let (db, platform) = platform(&env).await;
    let js = jetstream_for(&env.nats_url, &env.namespace, SERVICE).await;
    let relay_handle = relay(&db.pool, &js, &env.namespace, SERVICE);

    let big = "x".repeat(platform.settings.outbox.max_payload + 1);
    let err = note(&platform, "big", &big, "", false).await.unwrap_err();
    assert!(
        matches!(err, TestError::Refused(Refusal::EventTooLarge { .. })),
        "{err:?}"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM things").await, 0);

    let id = format!("small-{}", uuid::Uuid::now_v7().simple());
    note(&platform, &id, "hello", "", false).await.unwrap();
    wait_until("the next event is published", WAIT, || async {
        count(&db, "SELECT count(*) FROM outbox WHERE published_at IS NULL").await == 0
    })
    .await
    .unwrap();
    let stream = js.get_stream(env.namespace.stream(SERVICE)).await.unwrap();
    let last = stream
        .get_last_raw_message_by_subject(&env.namespace.wire_subject("pdop.kituow.thing.noted"))
        .await
        .unwrap();
    assert_eq!(
        last.headers.get("ce-subject").map(|v| v.as_str().to_owned()),
        Some(format!("things/{id}"))
    );
    relay_handle.stop().await;
}

#[tokio::test]
async fn a_change_audited_as_its_own_action_keeps_it_and_the_others_take_the_method() {
    let env = TestEnv::new().await.unwrap();
    let (db, platform) = platform(&env).await;
    let call = Call::new(Caller::system("tester"), "kituow.Note", platform.clock.now());
    let response: Noted = platform
        .mutate(&(), call, |_u| {
            Box::pin(async move {
                let side: Change<Quiet> =
                    Change::new("things/b", serde_json::json!({})).audited_as("kituow.Side");
                let main: Change<Quiet> = Change::new("things/a", serde_json::json!({}));
                Ok::<_, TestError>(main.into_write(Noted::default()).and(side))
            })
        })
        .await
        .unwrap();
    assert_eq!(response, Noted::default());
    let actions: Vec<(String, String)> =
        sqlx::query_as("SELECT resource, action FROM audit_log ORDER BY resource")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        actions,
        [
            ("things/a".to_owned(), "kituow.Note".to_owned()),
            ("things/b".to_owned(), "kituow.Side".to_owned())
        ]
    );
}
