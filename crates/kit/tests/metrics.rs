//! The relay's and the consumers' metrics move with what happens on the stream: outbox backlog and sent messages,
//! consumer lag, outcomes and dead letters, read back from the rendered exposition.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use common::*;
use pdop_kit::events::{self, ConsumerSpec, HandleError, Handler, IncomingEvent, spawn_consumer};
use pdop_kit::metrics::Metrics;
use pdop_testkit::{TestEnv, wait_until};
use sqlx::{Postgres, Transaction};
use tokio::sync::watch;

/// The value of the sample `name{labels…}` whose line contains every one of `having`; `None` when absent.
fn sample(metrics: &Metrics, name: &str, having: &[&str]) -> Option<f64> {
    metrics
        .render()
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .find(|l| having.iter().all(|h| l.contains(h)))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

async fn until_sample(metrics: &Metrics, name: &str, having: &[&str], value: f64) {
    wait_until(&format!("{name} {having:?} is {value}"), WAIT, || async {
        sample(metrics, name, having) == Some(value)
    })
    .await
    .unwrap_or_else(|err| panic!("{err}: {}", metrics.render()));
}

/// Holds every event until the gate opens; refuses `poison` for good.
struct Gated(watch::Receiver<bool>);

impl Handler for Gated {
    async fn handle(
        &self,
        _tx: &mut Transaction<'static, Postgres>,
        event: &IncomingEvent,
    ) -> Result<(), HandleError> {
        if event.id == "poison" {
            return Err(HandleError::Permanent(anyhow::anyhow!("poison")));
        }
        let _ = self.0.clone().wait_for(|open| *open).await;
        Ok(())
    }
}

#[tokio::test]
async fn consumer_lag_and_dead_letters_rise_and_fall_with_the_stream() {
    let env = TestEnv::new().await.unwrap();
    let db = migrated_db(&env).await;
    let service = unique_service();
    let js = jetstream_for(&env.nats_url, &env.namespace, service).await;
    let durable = format!("{service}-gauges");
    for id in ["held-1", "held-2", "held-3"] {
        publish(&js, &env.namespace, service, id).await;
    }
    let runtime = consumer_runtime(&db.pool, &js, &env.namespace);
    let metrics = runtime.metrics.clone();
    let (gate, gated) = watch::channel(false);
    let spec = ConsumerSpec {
        durable: durable.clone(),
        producer: service.to_owned(),
        filter_subject: String::new(),
    };
    let handle = spawn_consumer(spec, runtime, Gated(gated)).await.unwrap();
    let group = format!("messaging_consumer_group_name=\"{durable}\"");
    let reads = format!("messaging_destination_name=\"pdop.{service}.>\"");
    let subject = format!("messaging_destination_name=\"pdop.{service}.thing.created\"");

    // The handler holds the three events: the consumer is three behind, though its own loop is stuck.
    until_sample(&metrics, "pdop_consumer_lag", &[&group, &reads], 3.0).await;
    gate.send(true).unwrap();
    until_sample(&metrics, "pdop_consumer_lag", &[&group], 0.0).await;
    let applied = [group.as_str(), subject.as_str(), "pdop_outcome=\"applied\""];
    until_sample(
        &metrics,
        "messaging_client_consumed_messages_total",
        &applied,
        3.0,
    )
    .await;
    assert_eq!(
        sample(
            &metrics,
            "messaging_process_duration_seconds_count",
            &[&group, &subject]
        ),
        Some(3.0)
    );
    assert_eq!(sample(&metrics, "pdop_dead_letters", &[&group]), Some(0.0));

    // A poison event is dead-lettered: the gauge counts it while it stays in the dead-letter stream...
    publish(&js, &env.namespace, service, "poison").await;
    until_sample(&metrics, "pdop_dead_letters", &[&group, &reads], 1.0).await;
    let dead = [group.as_str(), "pdop_outcome=\"dead_lettered\""];
    assert_eq!(
        sample(&metrics, "messaging_client_consumed_messages_total", &dead),
        Some(1.0)
    );

    // ...and drops once an operator has dealt with it and purged it.
    let dlq = js.get_stream(env.namespace.dead_letter_stream()).await.unwrap();
    dlq.purge()
        .filter(env.namespace.dead_letter_subject(&durable))
        .await
        .unwrap();
    until_sample(&metrics, "pdop_dead_letters", &[&group], 0.0).await;
    handle.stop().await;
}

#[tokio::test]
async fn outbox_backlog_holds_while_jetstream_refuses_and_sent_messages_count_each_event_type() {
    let env = TestEnv::new().await.unwrap();
    let db = migrated_db(&env).await;
    let service = unique_service();
    // No stream yet for this service: JetStream refuses its subjects.
    let js = async_nats::jetstream::new(async_nats::connect(&env.nats_url).await.unwrap());
    commit_events(&db.pool, service, 3).await;
    let metrics = Metrics::new();
    let relay = relay_observed(&db.pool, &js, &env.namespace, service, metrics.clone());
    until_sample(&metrics, "pdop_outbox_backlog", &[], 3.0).await;
    assert_eq!(
        sample(&metrics, "messaging_client_sent_messages_total", &[]),
        None
    );

    events::ensure_stream(&js, &env.namespace, service, Duration::from_secs(120))
        .await
        .unwrap();
    until_sample(&metrics, "pdop_outbox_backlog", &[], 0.0).await;
    let sent = [
        "messaging_system=\"nats\"",
        "messaging_operation_name=\"send\"",
        &format!("messaging_destination_name=\"pdop.{service}.thing.created\""),
    ];
    assert_eq!(
        sample(&metrics, "messaging_client_sent_messages_total", &sent),
        Some(3.0)
    );
    relay.stop().await;
}
