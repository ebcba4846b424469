//! A durable consumer's lag and dead-letter gauges, refreshed from the NATS server on a task of their own: a
//! handler that hangs holds up its consumer, and that is when its lag must still be reported.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::PullConsumer};
use futures_util::StreamExt;
use tokio::sync::watch;

use super::{ConsumerSpec, Namespace};
use crate::metrics::{ConsumerGroupLabels, Metrics};

/// How often the gauges are read from the server: well under a scrape interval, a couple of requests per consumer.
const REFRESH: Duration = Duration::from_secs(2);

/// What the gauges of one consumer are read from.
pub(super) struct Watched {
    pub consumer: PullConsumer,
    pub js: jetstream::Context,
    pub namespace: Namespace,
    pub spec: ConsumerSpec,
    pub metrics: Metrics,
    /// Turns true (or is dropped) when the consumer stops; the task stops with it.
    pub stopped: watch::Receiver<bool>,
}

/// Refreshes the gauges every [`REFRESH`] until the consumer stops.
pub(super) fn spawn(mut w: Watched) {
    let reads = match w.spec.filter_subject.as_str() {
        "" => format!("{}.{}.>", super::namespace::CONTRACT_ROOT, w.spec.producer),
        filter => filter.to_owned(),
    };
    let labels = ConsumerGroupLabels::new(&w.spec.durable, &reads);
    let dead_letter_subject = w.namespace.dead_letter_subject(&w.spec.durable);
    tokio::spawn(async move {
        let mut dead_letter_stream = None;
        let mut tick = tokio::time::interval(REFRESH);
        loop {
            tokio::select! {
                changed = w.stopped.changed() => if changed.is_err() || *w.stopped.borrow() { return },
                _ = tick.tick() => {}
            }
            // Not yet delivered, plus delivered and not yet acknowledged (in a handler, or waiting for a retry).
            if let Ok(info) = w.consumer.info().await {
                let lag = info.num_pending.saturating_add(info.num_ack_pending as u64);
                w.metrics
                    .consumer_lag
                    .get_or_create(&labels)
                    .set(i64::try_from(lag).unwrap_or(i64::MAX));
            }
            match dead_letters(&w.js, &w.namespace, &mut dead_letter_stream, &dead_letter_subject).await {
                Ok(n) => {
                    w.metrics.dead_letters.get_or_create(&labels).set(n);
                }
                Err(err) => tracing::debug!(error = %format!("{err:#}"), "counting dead letters failed"),
            }
        }
    });
}

/// The messages on `subject` in the namespace's dead-letter stream (looked up once, into `stream`).
async fn dead_letters(
    js: &jetstream::Context,
    namespace: &Namespace,
    stream: &mut Option<jetstream::stream::Stream>,
    subject: &str,
) -> anyhow::Result<i64> {
    let stream = match stream {
        Some(stream) => stream,
        None => stream.insert(js.get_stream(namespace.dead_letter_stream()).await?),
    };
    let mut subjects = stream.info_with_subjects(subject).await?;
    let mut total = 0i64;
    while let Some(entry) = subjects.next().await {
        let (_, count) = entry?;
        total += i64::try_from(count).unwrap_or(i64::MAX);
    }
    Ok(total)
}
