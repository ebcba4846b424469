//! The outbox relay: one per service (the holder of a PostgreSQL advisory lock) publishes pending rows
//! to JetStream in `seq` order, awaits each PubAck, and only then marks the rows published. It wakes when a
//! commit says so ([`OutboxWaker`]) and polls every `poll_interval` in case a wake was lost. A row keeps its contract
//! subject; it is published on that subject's [`Namespace::wire_subject`].

use std::time::Duration;

use async_nats::jetstream::{self, context::PublishAckFuture, message::PublishMessage};
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool};
use tokio::sync::watch;
use tracing::Instrument;
use uuid::Uuid;

use super::wake::{Leading, NOTIFY_CHANNEL, OutboxWaker};
use super::{Namespace, headers};
use crate::config::OutboxSettings;
use crate::metrics::{Metrics, SentLabels};
use crate::propagation::{self, TRACEPARENT};
use crate::spans;
use crate::task::TaskHandle;

/// Leadership among replicas: only the session holding this lock relays.
const RELAY_LOCK_KEY: i64 = 0x7064_6f70_7265_6c61; // "pdoprela"
const MAX_ERROR_BACKOFF: Duration = Duration::from_secs(5);

#[derive(sqlx::FromRow)]
struct PendingRow {
    seq: i64,
    id: Uuid,
    subject: String,
    ce_type: String,
    ce_subject: String,
    payload: Vec<u8>,
    traceparent: Option<String>,
    created_at: DateTime<Utc>,
}

/// Publishes outbox rows of one service's database.
pub struct Relay {
    pool: PgPool,
    js: jetstream::Context,
    settings: OutboxSettings,
    metrics: Metrics,
    source: String,
    namespace: Namespace,
    waker: OutboxWaker,
}

/// Stops the relay (after its current round) and waits for it.
pub type RelayHandle = TaskHandle;

impl Relay {
    pub fn new(
        pool: PgPool,
        js: jetstream::Context,
        settings: OutboxSettings,
        metrics: Metrics,
        service: &str,
        namespace: Namespace,
        waker: OutboxWaker,
    ) -> Self {
        Self {
            pool,
            js,
            settings,
            metrics,
            source: format!("/{service}"),
            namespace,
            waker,
        }
    }

    /// Runs the relay in the background until the handle is stopped.
    pub fn spawn(self) -> RelayHandle {
        TaskHandle::spawn(|stopped| self.run(stopped))
    }

    async fn run(self, mut stopped: watch::Receiver<bool>) {
        let mut backoff = Duration::from_millis(200);
        while !*stopped.borrow() {
            match self.lead(&mut stopped).await {
                Ok(()) => return,
                Err(err) => {
                    tracing::warn!(error = %format!("{err:#}"), "outbox relay interrupted, restarting");
                    if sleep_or_stop(&mut stopped, backoff).await {
                        return;
                    }
                    backoff = (backoff * 2).min(MAX_ERROR_BACKOFF);
                }
            }
        }
    }

    /// Waits for leadership, then relays until stopped. Returns Err when the lock connection breaks.
    async fn lead(&self, stopped: &mut watch::Receiver<bool>) -> anyhow::Result<()> {
        let mut lock_conn = crate::db::dedicated_connection(&self.pool).await?;
        loop {
            let acquired: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(RELAY_LOCK_KEY)
                .fetch_one(&mut lock_conn)
                .await?;
            if acquired {
                break;
            }
            if sleep_or_stop(stopped, self.settings.poll_interval).await {
                return Ok(());
            }
        }
        tracing::info!("outbox relay is the leader");
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(NOTIFY_CHANNEL).await?;
        // From here on this process's commits wake the relay directly; the first batch finds what came before.
        let _leading = Leading::new(&self.waker);
        let mut error_backoff = Duration::from_millis(100);
        let mut rounds: u64 = 0;
        loop {
            if *stopped.borrow() {
                return Ok(());
            }
            rounds += 1;
            if rounds % 500 == 1 {
                self.purge_published().await;
            }
            match self.publish_batch().await {
                Ok(n) if n as u32 >= self.settings.batch_size => continue,
                Ok(_) => error_backoff = Duration::from_millis(100),
                Err(err) => {
                    tracing::warn!(error = %format!("{err:#}"), "outbox publish failed; rows stay pending");
                    if sleep_or_stop(stopped, error_backoff).await {
                        return Ok(());
                    }
                    error_backoff = (error_backoff * 2).min(MAX_ERROR_BACKOFF);
                    continue;
                }
            }
            tokio::select! {
                notified = listener.recv() => { notified?; }
                _ = self.waker.woken() => {}
                _ = tokio::time::sleep(self.settings.poll_interval) => {
                    check_alive(&mut lock_conn).await?;
                }
                _ = stopped.changed() => {}
            }
        }
    }

    /// Publishes one batch in order; marks published exactly the rows whose PubAck arrived.
    async fn publish_batch(&self) -> anyhow::Result<usize> {
        let mut tx = self.pool.begin().await?;
        let rows: Vec<PendingRow> = sqlx::query_as(
            "SELECT seq, id, subject, ce_type, ce_subject, payload, traceparent, created_at
             FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
        )
        .bind(i64::from(self.settings.batch_size))
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            self.metrics.outbox_backlog.set(0);
            return Ok(0);
        }
        // Send the whole batch first (pipelined), then collect acks in order.
        // Each row's PRODUCER span lasts from its send to its PubAck.
        let mut pending: Vec<(&PendingRow, PublishAckFuture, tracing::Span)> = Vec::with_capacity(rows.len());
        let mut send_error = None;
        for row in &rows {
            let subject = self.namespace.wire_subject(&row.subject);
            let span = producer_span(&subject, row);
            let sent = self
                .js
                .send_publish(subject.clone(), self.message(row, &span))
                .instrument(span.clone())
                .await;
            match sent {
                Ok(ack) => pending.push((row, ack, span)),
                Err(err) => {
                    spans::record_failure(&span);
                    send_error = Some(anyhow::Error::new(err).context(format!("publishing {subject}")));
                    break;
                }
            }
        }
        let mut acked = Vec::with_capacity(pending.len());
        let mut ack_error = None;
        for (row, ack, span) in pending {
            match ack.into_future().instrument(span.clone()).await {
                Ok(_) => acked.push(row),
                Err(err) => {
                    spans::record_failure(&span);
                    ack_error = Some(anyhow::Error::new(err).context("awaiting JetStream PubAck"));
                    break;
                }
            }
        }
        if !acked.is_empty() {
            let seqs: Vec<i64> = acked.iter().map(|row| row.seq).collect();
            sqlx::query("UPDATE outbox SET published_at = now() WHERE seq = ANY($1)")
                .bind(&seqs)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        for row in &acked {
            // The contract subject: one series per event type in every namespace.
            self.metrics
                .sent_messages
                .get_or_create(&SentLabels::new(&row.subject))
                .inc();
        }
        self.refresh_backlog().await;
        if let Some(err) = send_error.or(ack_error) {
            return Err(err);
        }
        tracing::debug!(published = acked.len(), "outbox batch published");
        Ok(acked.len())
    }

    /// The row's message; its `traceparent` names the PRODUCER span, so consumers continue the row's trace there.
    fn message(&self, row: &PendingRow, span: &tracing::Span) -> PublishMessage {
        let mut h = async_nats::HeaderMap::new();
        h.insert(headers::SPECVERSION, "1.0");
        h.insert(headers::ID, row.id.to_string().as_str());
        h.insert(headers::SOURCE, self.source.as_str());
        h.insert(headers::TYPE, row.ce_type.as_str());
        h.insert(headers::SUBJECT, row.ce_subject.as_str());
        h.insert(
            headers::TIME,
            row.created_at
                .to_rfc3339_opts(SecondsFormat::Micros, true)
                .as_str(),
        );
        h.insert(headers::CONTENT_TYPE, headers::PROTOBUF);
        if let Some(tp) = propagation::traceparent_of(span).or_else(|| row.traceparent.clone()) {
            h.insert(TRACEPARENT, tp.as_str());
        }
        PublishMessage::build()
            .payload(row.payload.clone().into())
            .headers(h)
            .message_id(row.id.to_string())
    }

    async fn refresh_backlog(&self) {
        let backlog: Result<i64, _> =
            sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                .fetch_one(&self.pool)
                .await;
        if let Ok(n) = backlog {
            self.metrics.outbox_backlog.set(n);
        }
    }

    async fn purge_published(&self) {
        let retention_secs = self.settings.retention.as_secs_f64();
        let purged = sqlx::query(
            "DELETE FROM outbox WHERE published_at IS NOT NULL
               AND published_at < now() - make_interval(secs => $1)",
        )
        .bind(retention_secs)
        .execute(&self.pool)
        .await;
        match purged {
            Ok(done) if done.rows_affected() > 0 => {
                tracing::info!(rows = done.rows_affected(), "purged published outbox rows")
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(%err, "outbox purge failed"),
        }
    }
}

/// The PRODUCER span of publishing `row`, in the trace of the call that wrote it (a new trace when it has none).
fn producer_span(wire_subject: &str, row: &PendingRow) -> tracing::Span {
    let span = spans::publish(wire_subject, &row.id.to_string());
    if let Some(tp) = &row.traceparent {
        propagation::set_parent_from_traceparent(&span, tp);
    }
    span
}

async fn check_alive(conn: &mut PgConnection) -> anyhow::Result<()> {
    sqlx::query("SELECT 1").execute(conn).await?;
    Ok(())
}

/// Sleeps for `d`; returns true when asked to stop meanwhile.
async fn sleep_or_stop(stopped: &mut watch::Receiver<bool>, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => *stopped.borrow(),
        _ = stopped.changed() => true,
    }
}
