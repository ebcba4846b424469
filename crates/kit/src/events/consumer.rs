//! Durable pull consumers. Each message is applied in a transaction together with an inbox row
//! keyed by its event id, so a redelivery is a no-op; the ack is sent only after the commit. Messages
//! that have already arrived together are applied in one transaction, to share its commit.
//! Transient failures are retried with exponential backoff, and after `max_deliver` attempts (or
//! at once for an undecodable message) the message moves to `<namespace>.dlq.<consumer>`. Specs and handlers speak
//! contract subjects (`pdop.…`); the consumer maps them to and from the namespace's subjects on the wire.

use std::future::Future;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, AckKind, consumer::pull};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::{FutureExt, StreamExt};
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::watch;
use tracing::Instrument;

use super::wake::OutboxWaker;
use super::{Namespace, headers};
use crate::config::ConsumerSettings;
use crate::metrics::{Metrics, Outcome, ProcessLabels};
use crate::propagation;
use crate::task::TaskHandle;

/// One received event, as the handler sees it.
#[derive(Debug, Clone)]
pub struct IncomingEvent {
    /// `ce-id` (also `Nats-Msg-Id`): the idempotency key.
    pub id: String,
    /// The contract subject (`pdop.<producer>.…`), whatever the namespace it travelled in.
    pub subject: String,
    pub ce_type: String,
    pub ce_subject: String,
    /// `ce-time`: when the fact happened at the producer (its outbox row), which can be long before it arrives;
    /// `None` when the header is missing or not RFC 3339.
    pub time: Option<DateTime<Utc>>,
    pub payload: Bytes,
    pub traceparent: Option<String>,
    /// Delivery attempt, from 1.
    pub attempt: i64,
}

impl IncomingEvent {
    /// The payload as the event `E` its subject promises (`design/SPINE.md` §4). A `ce-type` other than `E::TYPE`
    /// or a payload that does not decode is permanent: retrying cannot change it.
    pub fn decode<E: pdop_proto::Event>(&self) -> Result<E, HandleError> {
        if self.ce_type != E::TYPE {
            return Err(HandleError::Permanent(anyhow::anyhow!(
                "event {} has type {}, expected {}",
                self.id,
                self.ce_type,
                E::TYPE
            )));
        }
        Ok(E::decode(self.payload.clone())?)
    }
}

/// Why a handler could not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// Worth retrying (database busy, a dependency not ready yet).
    #[error("transient: {0:#}")]
    Transient(anyhow::Error),
    /// Retrying cannot help (undecodable payload, unknown type): dead-letter it.
    #[error("permanent: {0:#}")]
    Permanent(anyhow::Error),
}

impl From<sqlx::Error> for HandleError {
    fn from(err: sqlx::Error) -> Self {
        Self::Transient(err.into())
    }
}

impl From<prost::DecodeError> for HandleError {
    fn from(err: prost::DecodeError) -> Self {
        Self::Permanent(err.into())
    }
}

/// Applies events inside the transaction it is given; must not commit it. Several events may share one
/// transaction: an error from any of them rolls it back, and each is then applied in a transaction of its own.
pub trait Handler: Send + Sync + 'static {
    fn handle(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        event: &IncomingEvent,
    ) -> impl Future<Output = Result<(), HandleError>> + Send;
}

/// Which stream a consumer reads and under which durable name, in contract terms: the namespace is added when the
/// consumer is created.
#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    /// Durable name `<consumer>-<purpose>`, e.g. `disclosure-registry` (`<namespace>-disclosure-registry` on the
    /// server). The inbox and the metrics use it as it is.
    pub durable: String,
    /// The producing service whose stream is read, e.g. `registry`.
    pub producer: String,
    /// Contract subject filter inside that stream (`pdop.review.product_review.>`); empty reads everything.
    pub filter_subject: String,
}

struct Runner<H> {
    spec: ConsumerSpec,
    namespace: Namespace,
    pool: PgPool,
    js: jetstream::Context,
    settings: ConsumerSettings,
    metrics: Metrics,
    handler: H,
    waker: OutboxWaker,
}

/// Stops a consumer and waits for it.
pub type ConsumerHandle = TaskHandle;

/// What a consumer runs on: its database, the stream it reads, how it retries, and where it reports.
pub struct ConsumerRuntime {
    pub pool: PgPool,
    pub js: jetstream::Context,
    /// Names the stream, the durable, the subjects and the dead-letter subject on the server.
    pub namespace: Namespace,
    pub settings: ConsumerSettings,
    pub metrics: Metrics,
    /// Woken after each commit: the handlers may have enqueued events of their own.
    pub waker: OutboxWaker,
    /// The producer stream's de-duplication window (the stream is created if the producer has not yet).
    pub duplicate_window: Duration,
}

/// Creates the durable consumer if needed and processes messages in the background.
pub async fn spawn_consumer<H: Handler>(
    spec: ConsumerSpec,
    runtime: ConsumerRuntime,
    handler: H,
) -> anyhow::Result<ConsumerHandle> {
    let ConsumerRuntime {
        pool,
        js,
        namespace,
        settings,
        metrics,
        waker,
        duplicate_window,
    } = runtime;
    // The producer may not have started yet; its stream config is identical, so creating it is safe.
    let stream = super::ensure_stream(&js, &namespace, &spec.producer, duplicate_window).await?;
    super::ensure_dead_letter_stream(&js, &namespace).await?;
    let durable = namespace.durable(&spec.durable);
    let filter_subject = match spec.filter_subject.as_str() {
        "" => String::new(),
        contract => namespace.wire_subject(contract),
    };
    let consumer: jetstream::consumer::PullConsumer = stream
        .get_or_create_consumer(
            &durable,
            pull::Config {
                durable_name: Some(durable.clone()),
                filter_subject,
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait: Duration::from_secs(30),
                // Retries are counted here so poison messages reach the dead-letter subject.
                max_deliver: -1,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("creating durable consumer {durable}: {e}"))?;
    let runner = Runner {
        spec,
        namespace,
        pool,
        js,
        settings,
        metrics,
        handler,
        waker,
    };
    Ok(TaskHandle::spawn(|stopped| runner.run(consumer, stopped)))
}

impl<H: Handler> Runner<H> {
    async fn run(self, consumer: jetstream::consumer::PullConsumer, mut stopped: watch::Receiver<bool>) {
        super::consumer_gauges::spawn(super::consumer_gauges::Watched {
            consumer: consumer.clone(),
            js: self.js.clone(),
            namespace: self.namespace.clone(),
            spec: self.spec.clone(),
            metrics: self.metrics.clone(),
            stopped: stopped.clone(),
        });
        'outer: while !*stopped.borrow() {
            let mut messages = match consumer
                .stream()
                .max_messages_per_batch(self.settings.batch_size)
                .messages()
                .await
            {
                Ok(m) => m,
                Err(err) => {
                    tracing::warn!(%err, consumer = %self.spec.durable, "pull subscription failed, retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            loop {
                tokio::select! {
                    _ = stopped.changed() => break 'outer,
                    next = messages.next() => match next {
                        Some(Ok(msg)) => {
                            let (batch, ended) = take_ready(msg, &mut messages, self.settings.batch_size);
                            self.process_batch(batch).await;
                            if ended {
                                continue 'outer;
                            }
                        }
                        Some(Err(err)) => {
                            tracing::warn!(%err, consumer = %self.spec.durable, "pull error");
                        }
                        None => continue 'outer,
                    }
                }
            }
        }
        tracing::info!(consumer = %self.spec.durable, "consumer stopped");
    }

    /// Applies several messages in one transaction, so they share one commit; when any of them fails, that
    /// transaction is rolled back and each message is processed on its own, with its own retries.
    async fn process_batch(&self, batch: Vec<jetstream::Message>) {
        let started = Instant::now();
        if batch.len() < 2 {
            for msg in batch {
                self.process(msg).await;
            }
            return;
        }
        let mut decoded = Vec::with_capacity(batch.len());
        for msg in batch {
            match decode_envelope(&msg, &self.namespace, attempt_of(&msg)) {
                Ok(event) => decoded.push((msg, event)),
                Err(reason) => self.dead_letter(&msg, &reason, started).await,
            }
        }
        match self.apply_together(&decoded).await {
            Ok(fresh) => {
                for ((msg, event), fresh) in decoded.iter().zip(fresh) {
                    self.acknowledge(msg, &event.subject, fresh, started).await;
                }
            }
            Err(err) => {
                tracing::debug!(%err, consumer = %self.spec.durable, events = decoded.len(), "a batch failed; applying its events one by one");
                for (msg, _) in decoded {
                    self.process(msg).await;
                }
            }
        }
    }

    async fn process(&self, msg: jetstream::Message) {
        let started = Instant::now();
        let attempt = attempt_of(&msg);
        let event = match decode_envelope(&msg, &self.namespace, attempt) {
            Ok(event) => event,
            Err(reason) => {
                self.dead_letter(&msg, &reason, started).await;
                return;
            }
        };
        let span = self.span(&msg, &event);
        async {
            let applied = self.apply(&event).await;
            if applied.is_err() {
                crate::spans::record_failure(&span);
            }
            match applied {
                Ok(fresh) => self.acknowledge(&msg, &event.subject, fresh, started).await,
                Err(HandleError::Permanent(err)) => {
                    self.dead_letter(&msg, &format!("{err:#}"), started).await;
                }
                Err(HandleError::Transient(err)) if attempt >= self.settings.max_deliver => {
                    let reason = format!("gave up after {attempt} attempts: {err:#}");
                    self.dead_letter(&msg, &reason, started).await;
                }
                Err(HandleError::Transient(err)) => {
                    let delay = backoff(self.settings.initial_backoff, attempt);
                    tracing::warn!(error = %format!("{err:#}"), ?delay, "event not applied, will retry");
                    let _ = msg.ack_with(AckKind::Nak(Some(delay))).await;
                    self.finished(&event.subject, Outcome::retried, started);
                }
            }
        }
        .instrument(span.clone())
        .await
    }

    /// The span of one event's handling, a child of the relay's PRODUCER span in the producer's trace.
    fn span(&self, msg: &jetstream::Message, event: &IncomingEvent) -> tracing::Span {
        let span = crate::spans::consume(&self.spec.durable, &msg.subject, event);
        if let Some(h) = &msg.headers {
            propagation::set_parent_from_nats(&span, h);
        }
        span
    }

    /// Acks a message whose event has committed (or was already applied).
    async fn acknowledge(&self, msg: &jetstream::Message, subject: &str, fresh: bool, started: Instant) {
        if let Err(err) = msg.ack().await {
            // The commit happened; a redelivery will hit the inbox and be skipped.
            tracing::warn!(%err, "ack failed after commit");
        }
        let outcome = if fresh {
            Outcome::applied
        } else {
            Outcome::duplicate
        };
        self.finished(subject, outcome, started);
    }

    /// Counts a message of contract subject `subject` as done with, and how long it took since `started`.
    fn finished(&self, subject: &str, outcome: Outcome, started: Instant) {
        self.metrics
            .observe_consumed(&self.spec.durable, subject, outcome);
        self.metrics
            .process_duration
            .get_or_create(&ProcessLabels::new(&self.spec.durable, subject))
            .observe(started.elapsed().as_secs_f64());
    }

    /// Returns whether the event was new (false: already applied earlier, nothing done).
    async fn apply(&self, event: &IncomingEvent) -> Result<bool, HandleError> {
        let mut tx = self.pool.begin().await?;
        let fresh = self.apply_in(&mut tx, event).await?;
        self.commit(tx).await?;
        Ok(fresh)
    }

    /// Applies every event in one transaction; returns which were new.
    async fn apply_together(
        &self,
        events: &[(jetstream::Message, IncomingEvent)],
    ) -> Result<Vec<bool>, HandleError> {
        let mut spans = Vec::with_capacity(events.len());
        let together = async {
            let mut tx = self.pool.begin().await?;
            let mut fresh = Vec::with_capacity(events.len());
            for (msg, event) in events {
                let span = self.span(msg, event);
                spans.push(span.clone());
                fresh.push(self.apply_in(&mut tx, event).instrument(span).await?);
            }
            self.commit(tx).await?;
            Ok(fresh)
        }
        .await;
        if together.is_err() {
            // Rolled back: these spans did nothing, and each event is handled again under a span of its own.
            for span in &spans {
                crate::spans::record_failure(span);
            }
        }
        together
    }

    /// Commits what the handlers did, then wakes the relay for the events they may have enqueued (also when
    /// the commit's outcome is unknown: a wake too many costs one empty batch).
    async fn commit(&self, mut tx: Transaction<'static, Postgres>) -> Result<(), HandleError> {
        // COMMIT of a transaction an earlier statement aborted rolls back without an error; a handler that
        // swallowed that statement's error must not get its events acked as applied.
        sqlx::query("SELECT 1").execute(&mut *tx).await?;
        let committed = tx.commit().await;
        self.waker.wake();
        Ok(committed?)
    }

    /// Records the event in the inbox and, when it is new there, hands it to the handler; returns whether it was.
    async fn apply_in(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        event: &IncomingEvent,
    ) -> Result<bool, HandleError> {
        // Keyed by the spec's durable, not the server's: a durable created anew under a namespaced name replays
        // its stream, and what an earlier durable of the same spec applied is skipped here.
        let fresh = sqlx::query(
            "INSERT INTO inbox (consumer, message_id, subject) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(&self.spec.durable)
        .bind(&event.id)
        .bind(&event.subject)
        .execute(&mut **tx)
        .await?
        .rows_affected()
            == 1;
        if fresh {
            self.handler.handle(tx, event).await?;
        }
        Ok(fresh)
    }

    async fn dead_letter(&self, msg: &jetstream::Message, reason: &str, started: Instant) {
        tracing::error!(consumer = %self.spec.durable, subject = %msg.subject, %reason, "moving message to dead-letter subject");
        let mut h = msg.headers.clone().unwrap_or_default();
        h.insert(
            headers::DEAD_LETTER_REASON,
            reason.replace(['\r', '\n'], " ").as_str(),
        );
        h.insert("pdop-original-subject", msg.subject.as_str());
        let subject = self.namespace.dead_letter_subject(&self.spec.durable);
        let published = match self
            .js
            .publish_with_headers(subject, h, msg.payload.clone())
            .await
        {
            Ok(ack) => ack.await.map(|_| ()).map_err(anyhow::Error::from),
            Err(err) => Err(err.into()),
        };
        match published {
            Ok(()) => {
                let _ = msg.ack_with(AckKind::Term).await;
                let contract = self.namespace.contract_subject(&msg.subject);
                self.finished(
                    contract.as_deref().unwrap_or(crate::metrics::OTHER),
                    Outcome::dead_lettered,
                    started,
                );
            }
            Err(err) => {
                // Keep the message: it is retried rather than lost.
                tracing::warn!(error = %format!("{err:#}"), "dead-letter publish failed");
                let _ = msg
                    .ack_with(AckKind::Nak(Some(self.settings.initial_backoff)))
                    .await;
            }
        }
    }
}

/// The delivery attempt of a message, from 1.
fn attempt_of(msg: &jetstream::Message) -> i64 {
    msg.info().map(|i| i.delivered).unwrap_or(1)
}

/// `first` and the messages already received behind it, up to `max` in all; and whether the stream has ended.
fn take_ready(
    first: jetstream::Message,
    messages: &mut pull::Stream,
    max: usize,
) -> (Vec<jetstream::Message>, bool) {
    let mut batch = vec![first];
    while batch.len() < max {
        match messages.next().now_or_never() {
            Some(Some(Ok(msg))) => batch.push(msg),
            Some(Some(Err(err))) => {
                tracing::warn!(%err, "pull error");
                break;
            }
            Some(None) => return (batch, true),
            None => break,
        }
    }
    (batch, false)
}

fn decode_envelope(
    msg: &jetstream::Message,
    namespace: &Namespace,
    attempt: i64,
) -> Result<IncomingEvent, String> {
    let h = msg.headers.as_ref().ok_or("message has no headers")?;
    let get = |name: &str| h.get(name).map(|v| v.as_str().to_owned());
    let id = get(headers::ID)
        .or_else(|| get("Nats-Msg-Id"))
        .ok_or("message has no ce-id")?;
    Ok(IncomingEvent {
        id,
        // The stream holds only this namespace's subjects; the fallback keeps any other as it came.
        subject: namespace
            .contract_subject(&msg.subject)
            .unwrap_or_else(|| msg.subject.to_string()),
        ce_type: get(headers::TYPE).unwrap_or_default(),
        ce_subject: get(headers::SUBJECT).unwrap_or_default(),
        time: get(headers::TIME)
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc)),
        payload: msg.payload.clone(),
        traceparent: get(propagation::TRACEPARENT),
        attempt,
    })
}

/// Doubles the delay per attempt, capped at five minutes.
fn backoff(initial: Duration, attempt: i64) -> Duration {
    let exponent = u32::try_from(attempt.saturating_sub(1)).unwrap_or(0).min(16);
    (initial * 2u32.pow(exponent)).min(Duration::from_secs(300))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_decodes_only_as_the_type_it_announces() {
        use pdop_proto::Event;
        use pdop_proto::registry::events::v1::{JurisdictionCreated, JurisdictionUpdated};
        use prost::Message;
        let created = JurisdictionCreated {
            parent: "jurisdictions/china".to_owned(),
            ..Default::default()
        };
        let event = IncomingEvent {
            id: "e1".to_owned(),
            subject: JurisdictionCreated::SUBJECT.to_owned(),
            ce_type: JurisdictionCreated::TYPE.to_owned(),
            ce_subject: "jurisdictions/yunnan".to_owned(),
            time: None,
            payload: created.encode_to_vec().into(),
            traceparent: None,
            attempt: 1,
        };
        assert_eq!(event.decode::<JurisdictionCreated>().ok(), Some(created));
        assert!(matches!(
            event.decode::<JurisdictionUpdated>(),
            Err(HandleError::Permanent(_))
        ));
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let one = Duration::from_secs(1);
        assert_eq!(backoff(one, 1), one);
        assert_eq!(backoff(one, 3), Duration::from_secs(4));
        assert_eq!(backoff(one, 40), Duration::from_secs(300));
    }
}
