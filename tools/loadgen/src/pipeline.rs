//! The event pipeline: registry writes (security incidents) at a paced rate while the disclosure service appends
//! them to its log. Latency runs from the writing transaction's start (the outbox row's `created_at`, so the
//! write's own commit is included) to the entry's `publish_time`; loss is committed events minus entries.

use std::time::{Duration, Instant};

use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::load::{CallFn, Load, Stop, drive};
use crate::stats::{Summary, percentile_ms};

const SUBJECT: &str = "pdop.registry.organization.incident_recorded";

/// One paced step of the pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub target_rate: f64,
    /// The writes as the client saw them.
    pub writes: Summary,
    /// Events committed in the registry's outbox during the step.
    pub committed: u64,
    /// Of those, entries in the disclosure log once it drained.
    pub disclosed: u64,
    pub lost: u64,
    /// Commit-to-entry latency.
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Time from the last write's answer until the last entry was in the log.
    pub drain_ms: f64,
    /// Achieved ≥ 95 % of the target rate with no failed write and nothing lost.
    pub sustained: bool,
}

pub struct Pipeline {
    pub registry: PgPool,
    pub disclosure: PgPool,
    pub concurrency: usize,
    pub step_duration: Duration,
    /// How long the log may take to catch up after a step before missing entries count as lost.
    pub drain_timeout: Duration,
}

impl Pipeline {
    /// Writes one event and waits until it is in the log: the consumer has then worked through what the earlier
    /// scenarios left in the registry's stream, which would otherwise count as the first step's latency.
    pub async fn settle(&self, call: CallFn) -> anyhow::Result<()> {
        call(0)
            .await
            .map_err(|code| anyhow::anyhow!("the settling write failed: {code:?}"))?;
        let id: Uuid =
            sqlx::query_scalar("SELECT id FROM outbox WHERE subject = $1 ORDER BY seq DESC LIMIT 1")
                .bind(SUBJECT)
                .fetch_one(&self.registry)
                .await?;
        let deadline = Instant::now() + self.drain_timeout * 10;
        loop {
            let found: i64 = sqlx::query_scalar("SELECT count(*) FROM entries WHERE source_event_id = $1")
                .bind(id.to_string())
                .fetch_one(&self.disclosure)
                .await?;
            if found > 0 {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the disclosure log never caught up with the registry"
            );
            // Polling until the consumer has reached the settling event.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn step(&self, rate: f64, call: CallFn) -> anyhow::Result<Step> {
        let before: i64 = sqlx::query_scalar("SELECT COALESCE(max(seq), 0) FROM outbox")
            .fetch_one(&self.registry)
            .await?;
        let load = Load {
            concurrency: self.concurrency,
            stop: Stop::After(self.step_duration),
            warmup: Duration::ZERO,
            rate: Some(rate),
        };
        let writes = drive(load, call).await;
        let finished = Instant::now();
        let committed: Vec<(Uuid, chrono::DateTime<chrono::Utc>)> =
            sqlx::query_as("SELECT id, created_at FROM outbox WHERE seq > $1 AND subject = $2")
                .bind(before)
                .bind(SUBJECT)
                .fetch_all(&self.registry)
                .await?;
        let ids: Vec<String> = committed.iter().map(|(id, _)| id.to_string()).collect();
        let count_sql = "SELECT count(*) FROM entries WHERE source_event_id = ANY($1)";
        let deadline = finished + self.drain_timeout;
        let mut disclosed: i64;
        loop {
            disclosed = sqlx::query_scalar(count_sql)
                .bind(&ids)
                .fetch_one(&self.disclosure)
                .await?;
            if disclosed as usize >= ids.len() || Instant::now() >= deadline {
                break;
            }
            // Polling the log until it holds every committed event (or the drain timeout passes).
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let drain = finished.elapsed();
        let published: Vec<(String, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
            "SELECT source_event_id, publish_time FROM entries WHERE source_event_id = ANY($1)",
        )
        .bind(&ids)
        .fetch_all(&self.disclosure)
        .await?;
        let created: std::collections::HashMap<String, chrono::DateTime<chrono::Utc>> =
            committed.iter().map(|(id, at)| (id.to_string(), *at)).collect();
        let mut latencies_us: Vec<u64> = published
            .iter()
            .filter_map(|(id, at)| {
                created
                    .get(id)
                    .map(|c| (*at - *c).num_microseconds().unwrap_or(0))
            })
            .map(|us| u64::try_from(us).unwrap_or(0))
            .collect();
        latencies_us.sort_unstable();
        let committed = committed.len() as u64;
        let disclosed = u64::try_from(disclosed).unwrap_or(0);
        let lost = committed.saturating_sub(disclosed);
        let sustained = writes.throughput >= 0.95 * rate && writes.failed() == 0 && lost == 0;
        Ok(Step {
            target_rate: rate,
            writes,
            committed,
            disclosed,
            lost,
            p50_ms: percentile_ms(&latencies_us, 0.50),
            p99_ms: percentile_ms(&latencies_us, 0.99),
            max_ms: percentile_ms(&latencies_us, 1.0),
            drain_ms: drain.as_secs_f64() * 1000.0,
            sustained,
        })
    }
}
