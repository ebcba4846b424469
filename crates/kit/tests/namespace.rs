//! `nats.namespace` on a NATS server of the test's own, so that everything the kit created there can be listed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use futures_util::TryStreamExt;
use pdop_kit::events::{ConsumerSpec, HandleError, Handler, IncomingEvent, Namespace, spawn_consumer};
use pdop_testkit::{PrivateNats, TestEnv, wait_until};
use sqlx::{Postgres, Transaction};

/// Records the subject of every event it is given; refuses `things/1` for good, so it is dead-lettered.
#[derive(Clone, Default)]
struct Subjects(Arc<Mutex<Vec<String>>>);

impl Handler for Subjects {
    async fn handle(
        &self,
        _tx: &mut Transaction<'static, Postgres>,
        event: &IncomingEvent,
    ) -> Result<(), HandleError> {
        self.0.lock().unwrap().push(event.subject.clone());
        if event.ce_subject == "things/1" {
            return Err(HandleError::Permanent(anyhow::anyhow!("refused")));
        }
        Ok(())
    }
}

// THREATS M15: every stream, subject, durable and dead-letter name the kit creates derives from nats.namespace;
// the outbox, the handlers and ce-type keep the contract subject.
#[tokio::test]
async fn every_name_the_kit_creates_in_nats_derives_from_the_namespace() {
    let env = TestEnv::new().await.unwrap();
    let db = migrated_db(&env).await;
    let nats = PrivateNats::start().await.unwrap();
    let namespace = Namespace::new("team-a").unwrap();
    let service = unique_service();
    let js = jetstream_for(&nats.url(), &namespace, service).await;
    let subjects = Subjects::default();
    let consumer = spawn_consumer(
        ConsumerSpec {
            durable: "test-names".to_owned(),
            producer: service.to_owned(),
            filter_subject: format!("pdop.{service}.thing.>"),
        },
        consumer_runtime(&db.pool, &js, &namespace),
        subjects.clone(),
    )
    .await
    .unwrap();
    let relay_handle = relay(&db.pool, &js, &namespace, service);
    commit_events(&db.pool, service, 2).await;
    let dead_letter_stream = namespace.dead_letter_stream();
    wait_until("one event is dead-lettered", WAIT, || {
        let (js, dead_letter_stream) = (js.clone(), dead_letter_stream.clone());
        async move {
            let mut dlq = js.get_stream(dead_letter_stream).await.unwrap();
            dlq.info().await.unwrap().state.messages == 1
        }
    })
    .await
    .unwrap();
    consumer.stop().await;
    relay_handle.stop().await;

    let contract = format!("pdop.{service}.thing.created");
    let stored: Vec<String> = sqlx::query_scalar("SELECT subject FROM outbox")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        stored,
        [contract.clone(), contract.clone()],
        "the outbox keeps the contract"
    );
    // Events that arrive together are tried in one transaction first, so the handler may see one more than once.
    let seen = subjects.0.lock().unwrap().clone();
    assert!(
        !seen.is_empty() && seen.iter().all(|s| *s == contract),
        "handlers see the contract: {seen:?}"
    );

    let streams: Vec<String> = js.stream_names().try_collect().await.unwrap();
    assert_eq!(streams.len(), 2, "{streams:?}");
    for name in streams {
        assert!(name.starts_with("TEAM_A_"), "stream {name}");
        let mut stream = js.get_stream(&name).await.unwrap();
        for subject in stream.info().await.unwrap().config.subjects.clone() {
            assert!(subject.starts_with("team-a."), "stream {name} holds {subject}");
        }
        let consumers: Vec<String> = stream.consumer_names().try_collect().await.unwrap();
        for consumer in consumers {
            assert!(consumer.starts_with("team-a-"), "consumer {consumer} of {name}");
        }
        for seq in 1..=stream.info().await.unwrap().state.messages {
            let message = stream.get_raw_message(seq).await.unwrap();
            assert!(message.subject.starts_with("team-a."), "{}", message.subject);
            let ce_type = message.headers.get("ce-type").unwrap().as_str().to_owned();
            assert_eq!(ce_type, format!("{contract}.v1"), "ce-type keeps the contract");
        }
    }
    let produced = js.get_stream(namespace.stream(service)).await.unwrap();
    assert_eq!(
        produced.get_raw_message(1).await.unwrap().subject.as_str(),
        format!("team-a.{service}.thing.created")
    );
    let durables: Vec<String> = produced.consumer_names().try_collect().await.unwrap();
    assert_eq!(durables, ["team-a-test-names"]);
    let dead = js.get_stream(&dead_letter_stream).await.unwrap();
    assert_eq!(
        dead.get_raw_message(1).await.unwrap().subject.as_str(),
        "team-a.dlq.test-names"
    );
}
