//! Durable consumers: idempotent application, retries, dead-lettering and trace context.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::sync::Mutex;

use common::*;
use futures_util::StreamExt;
use pdop_kit::events::{ConsumerSpec, HandleError, Handler, IncomingEvent, Namespace, spawn_consumer};
use pdop_testkit::{TestEnv, wait_until};
use sqlx::{PgPool, Postgres, Transaction};
use tracing::Instrument;

/// Counts applications per event id in the handler's transaction; fails the first `fail_first`
/// attempts transiently, and records the trace id it ran under.
struct Recorder {
    fail_first: i64,
    permanent: bool,
    trace_ids: Mutex<Vec<String>>,
}

impl Recorder {
    fn new(fail_first: i64, permanent: bool) -> Self {
        Self {
            fail_first,
            permanent,
            trace_ids: Mutex::new(Vec::new()),
        }
    }
}

/// Shares one recorder between the consumer task and the test's assertions.
#[derive(Clone)]
struct Shared(std::sync::Arc<Recorder>);

impl Handler for Shared {
    async fn handle(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        event: &IncomingEvent,
    ) -> Result<(), HandleError> {
        let this = &self.0;
        if this.permanent {
            return Err(HandleError::Permanent(anyhow::anyhow!("cannot be applied")));
        }
        if event.attempt <= this.fail_first {
            return Err(HandleError::Transient(anyhow::anyhow!("dependency not ready")));
        }
        if let Some(trace_id) = pdop_kit::propagation::current_trace_id() {
            this.trace_ids.lock().unwrap().push(trace_id);
        }
        sqlx::query(
            "INSERT INTO applied (event_id, times) VALUES ($1, 1)
             ON CONFLICT (event_id) DO UPDATE SET times = applied.times + 1",
        )
        .bind(&event.id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

async fn applied_table(pool: &PgPool) {
    sqlx::query("CREATE TABLE applied (event_id text PRIMARY KEY, times int NOT NULL)")
        .execute(pool)
        .await
        .unwrap();
}

async fn times_applied(pool: &PgPool, id: &str) -> i32 {
    sqlx::query_scalar("SELECT times FROM applied WHERE event_id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
        .unwrap()
        .unwrap_or(0)
}

/// Watches the dead-letter subject of consumer `durable`.
async fn dead_letters(
    js: &async_nats::jetstream::Context,
    namespace: &Namespace,
    durable: &str,
) -> async_nats::jetstream::consumer::PullConsumer {
    let dlq = js.get_stream(namespace.dead_letter_stream()).await.unwrap();
    dlq.create_consumer(async_nats::jetstream::consumer::pull::Config {
        filter_subject: namespace.dead_letter_subject(durable),
        ..Default::default()
    })
    .await
    .unwrap()
}

/// The next dead letter the watcher sees, within the test's wait.
async fn next_dead_letter(
    watcher: &async_nats::jetstream::consumer::PullConsumer,
) -> async_nats::jetstream::Message {
    let mut messages = watcher.messages().await.unwrap();
    tokio::time::timeout(WAIT, messages.next())
        .await
        .expect("a dead letter")
        .unwrap()
        .unwrap()
}

fn spec(service: &str, durable: &str) -> ConsumerSpec {
    ConsumerSpec {
        durable: durable.to_owned(),
        producer: service.to_owned(),
        filter_subject: String::new(),
    }
}

#[tokio::test]
async fn redelivered_event_is_applied_once() {
    let env = TestEnv::new().await.unwrap();
    let db = migrated_db(&env).await;
    applied_table(&db.pool).await;
    let service = unique_service();
    let js = jetstream_for(&env.nats_url, &env.namespace, service).await;

    // The same event arrives twice (e.g. a producer re-sent it after the duplicate window), plus a
    // second event that proves the consumer got past both copies.
    for id in ["event-a", "event-a", "event-b"] {
        publish(&js, &env.namespace, service, id).await;
    }
    let recorder = Shared(std::sync::Arc::new(Recorder::new(1, false)));
    let handle = spawn_consumer(
        spec(service, "test-idem"),
        consumer_runtime(&db.pool, &js, &env.namespace),
        recorder.clone(),
    )
    .await
    .unwrap();
    wait_until(
        "event-b is applied (after one transient failure)",
        WAIT,
        || async { times_applied(&db.pool, "event-b").await == 1 },
    )
    .await
    .unwrap();
    handle.stop().await;

    assert_eq!(
        times_applied(&db.pool, "event-a").await,
        1,
        "a redelivered event must be applied once"
    );
    let inbox: i64 = sqlx::query_scalar("SELECT count(*) FROM inbox WHERE consumer = 'test-idem'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(inbox, 2);
}

#[tokio::test]
async fn poison_message_goes_to_the_dead_letter_subject() {
    let env = TestEnv::new().await.unwrap();
    let db = migrated_db(&env).await;
    let service = unique_service();
    let js = jetstream_for(&env.nats_url, &env.namespace, service).await;
    let durable = format!("{service}-dlq");
    let watcher = dead_letters(&js, &env.namespace, &durable).await;

    publish(&js, &env.namespace, service, "bad").await;
    let handle = spawn_consumer(
        spec(service, &durable),
        consumer_runtime(&db.pool, &js, &env.namespace),
        Shared(std::sync::Arc::new(Recorder::new(0, true))),
    )
    .await
    .unwrap();

    let dead = next_dead_letter(&watcher).await;
    handle.stop().await;
    let headers = dead.headers.clone().unwrap();
    assert_eq!(headers.get("ce-id").unwrap().as_str(), "bad");
    assert!(
        headers
            .get("pdop-dead-letter-reason")
            .unwrap()
            .as_str()
            .contains("cannot be applied")
    );
    assert_eq!(
        headers.get("pdop-original-subject").unwrap().as_str(),
        format!("{}.{service}.thing.created", env.namespace)
    );
}

#[tokio::test]
async fn trace_context_crosses_publish_and_consume() {
    let env = TestEnv::new().await.unwrap();
    let db = migrated_db(&env).await;
    applied_table(&db.pool).await;
    let service = unique_service();
    let js = jetstream_for(&env.nats_url, &env.namespace, service).await;

    // A request span whose parent came from the caller's `traceparent` commits an event...
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let span = tracing::info_span!("request");
    pdop_kit::propagation::set_parent_from_traceparent(&span, &format!("00-{trace_id}-00f067aa0ba902b7-01"));
    let ids = async { commit_events(&db.pool, service, 1).await }
        .instrument(span)
        .await;
    let relay_handle = relay(&db.pool, &js, &env.namespace, service);

    // ...and the consumer handles it inside the same trace.
    let recorder = Shared(std::sync::Arc::new(Recorder::new(0, false)));
    let handle = spawn_consumer(
        spec(service, "test-trace"),
        consumer_runtime(&db.pool, &js, &env.namespace),
        recorder.clone(),
    )
    .await
    .unwrap();
    let id = ids[0].to_string();
    wait_until("the event is consumed", WAIT, || async {
        times_applied(&db.pool, &id).await == 1
    })
    .await
    .unwrap();
    handle.stop().await;
    relay_handle.stop().await;

    let stored: Option<String> = sqlx::query_scalar("SELECT traceparent FROM outbox")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(
        stored.unwrap().contains(trace_id),
        "the outbox row keeps the request's trace"
    );
    assert_eq!(
        recorder.0.trace_ids.lock().unwrap().as_slice(),
        [trace_id.to_owned()]
    );
}

/// Applies every event but `poison`, which it refuses for good.
struct AllButPoison;

impl Handler for AllButPoison {
    async fn handle(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        event: &IncomingEvent,
    ) -> Result<(), HandleError> {
        if event.id == "poison" {
            return Err(HandleError::Permanent(anyhow::anyhow!("poison")));
        }
        sqlx::query("INSERT INTO applied (event_id, times) VALUES ($1, 1)")
            .bind(&event.id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

#[tokio::test]
async fn a_backlog_is_applied_in_shared_transactions_and_a_poison_event_holds_none_back() {
    let env = TestEnv::new().await.unwrap();
    let db = migrated_db(&env).await;
    applied_table(&db.pool).await;
    let service = unique_service();
    let js = jetstream_for(&env.nats_url, &env.namespace, service).await;
    // A backlog waits before the consumer starts, with one event no attempt can apply in the middle of it.
    let ids: Vec<String> = (0..40)
        .map(|i| {
            if i == 20 {
                "poison".to_owned()
            } else {
                format!("event-{i}")
            }
        })
        .collect();
    for id in &ids {
        publish(&js, &env.namespace, service, id).await;
    }
    let handle = spawn_consumer(
        spec(service, "test-batch"),
        consumer_runtime(&db.pool, &js, &env.namespace),
        AllButPoison,
    )
    .await
    .unwrap();
    let applied = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM applied")
            .fetch_one(&db.pool)
            .await
            .unwrap()
    };
    wait_until("every event but the poison is applied", WAIT, || async {
        applied().await == 39
    })
    .await
    .unwrap();
    handle.stop().await;

    // Rows written by one transaction share its id (xmin): fewer transactions than events means shared commits.
    let transactions: i64 =
        sqlx::query_scalar("SELECT count(DISTINCT xmin::text) FROM inbox WHERE consumer = 'test-batch'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(transactions < 39, "39 events took {transactions} transactions");
    let poison_in_inbox: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM inbox WHERE consumer = 'test-batch' AND message_id = 'poison'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(poison_in_inbox, 0, "the refused event is not recorded as applied");
    for id in ids.iter().filter(|id| *id != "poison") {
        assert_eq!(times_applied(&db.pool, id).await, 1, "{id}");
    }
}

/// A careless handler: a statement fails, it ignores the error and reports success.
struct SwallowsErrors;

impl Handler for SwallowsErrors {
    async fn handle(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        _event: &IncomingEvent,
    ) -> Result<(), HandleError> {
        let _ = sqlx::query("SELECT * FROM no_such_table")
            .execute(&mut **tx)
            .await;
        Ok(())
    }
}

#[tokio::test]
async fn an_event_whose_transaction_aborted_is_not_acked_as_applied() {
    let env = TestEnv::new().await.unwrap();
    let db = migrated_db(&env).await;
    let service = unique_service();
    let js = jetstream_for(&env.nats_url, &env.namespace, service).await;
    let durable = format!("{service}-aborted");
    let watcher = dead_letters(&js, &env.namespace, &durable).await;
    publish(&js, &env.namespace, service, "aborted").await;
    let handle = spawn_consumer(
        spec(service, &durable),
        consumer_runtime(&db.pool, &js, &env.namespace),
        SwallowsErrors,
    )
    .await
    .unwrap();

    // COMMIT would quietly roll back; the consumer must see the failure, retry, and finally dead-letter it.
    let dead = next_dead_letter(&watcher).await;
    handle.stop().await;
    let reason = dead.headers.clone().unwrap();
    assert!(
        reason
            .get("pdop-dead-letter-reason")
            .unwrap()
            .as_str()
            .contains("gave up after 3 attempts"),
        "{reason:?}"
    );
    let inbox: i64 = sqlx::query_scalar("SELECT count(*) FROM inbox WHERE message_id = 'aborted'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(inbox, 0);
}
