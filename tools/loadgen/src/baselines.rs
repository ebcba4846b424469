//! The limits pdop is measured against, taken in the same run: PostgreSQL's commit rate for a transaction shaped
//! like a registry write (pgbench), and JetStream's publish-with-ack rate. (The gRPC baseline is [`crate::echo`].)

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_nats::HeaderMap;
use tokio::process::Command;

use crate::load::{CallFn, Load, Stop, drive};
use crate::stats::Summary;

/// Tables of the same shape as a registry write: the state row, its audit row, its outbox row.
const PGBENCH_SCHEMA: &str = "
CREATE TABLE state (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), body bytea NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE audit (seq bigserial PRIMARY KEY, actor text NOT NULL, action text NOT NULL, resource text NOT NULL,
                    detail text NOT NULL, occurred_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE outbox (seq bigserial PRIMARY KEY, id uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
                     subject text NOT NULL, payload bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
                     published_at timestamptz);
CREATE INDEX outbox_pending ON outbox (seq) WHERE published_at IS NULL;";

/// One transaction per pgbench run of the script: the three inserts, committed together.
const PGBENCH_SCRIPT: &str = "BEGIN;
INSERT INTO state (body) VALUES (convert_to(repeat('x', 400), 'UTF8'));
INSERT INTO audit (actor, action, resource, detail) VALUES ('pdop-loadgen', 'registry.CreateResource', 'resources/bench', '{\"display_name\":\"bench\"}');
INSERT INTO outbox (subject, payload) VALUES ('pdop.registry.resource.created', convert_to(repeat('y', 400), 'UTF8'));
END;
";

/// Runs pgbench with `clients` connections for `duration` against `database_url` (a database of its own, whose
/// tables this creates), and summarizes its per-transaction log.
pub async fn pgbench(
    database_url: &str,
    clients: usize,
    duration: Duration,
    work_dir: &Path,
) -> anyhow::Result<Summary> {
    let pool = sqlx::PgPool::connect(database_url).await?;
    sqlx::raw_sql("DROP TABLE IF EXISTS state, audit, outbox")
        .execute(&pool)
        .await?;
    sqlx::raw_sql(PGBENCH_SCHEMA).execute(&pool).await?;
    pool.close().await;

    let dir = work_dir.join("pgbench");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let script = dir.join("registry-write.sql");
    std::fs::write(&script, PGBENCH_SCRIPT)?;
    let output = Command::new("pgbench")
        .arg("--no-vacuum")
        .arg(format!("--file={}", script.display()))
        .arg(format!("--client={clients}"))
        .arg(format!("--jobs={}", clients.clamp(1, 2)))
        .arg(format!("--time={}", duration.as_secs().max(1)))
        .arg("--log")
        .arg(format!("--log-prefix={}", dir.join("tx").display()))
        .arg(database_url)
        .output()
        .await
        .context("running pgbench (Debian package postgresql-client)")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(
        output.status.success(),
        "pgbench failed: {}{}",
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    let (latencies, failed) = pgbench_latencies(&dir)?;
    let mut errors = BTreeMap::new();
    if failed > 0 {
        errors.insert("failed".to_owned(), failed);
    }
    let mut summary = Summary::new(clients, duration, latencies, errors);
    // pgbench's own figure excludes connecting; prefer it to the log's count over the nominal duration.
    if let Some(tps) = tps_of(&stdout) {
        summary.throughput = tps;
    }
    Ok(summary)
}

/// `tps = 1234.5 (without initial connection time)` from pgbench's report.
fn tps_of(report: &str) -> Option<f64> {
    report
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l["tps = ".len()..].split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Latencies (µs) of the logged transactions and how many failed, from `tx.<pid>[.<thread>]` log files, whose
/// lines are `client transaction latency_us script epoch_s epoch_us` (a failure's latency is `failed`).
fn pgbench_latencies(dir: &Path) -> anyhow::Result<(Vec<u64>, u64)> {
    let mut latencies = Vec::new();
    let mut failed = 0;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let is_log = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("tx."));
        if !is_log {
            continue;
        }
        for line in std::fs::read_to_string(&path)?.lines() {
            match line.split_whitespace().nth(2) {
                Some("failed") | Some("skipped") => failed += 1,
                Some(us) => latencies.push(us.parse().with_context(|| format!("pgbench log line {line:?}"))?),
                None => {}
            }
        }
    }
    Ok((latencies, failed))
}

/// Publishes `payload_bytes` messages to a JetStream stream configured like the services' (file storage, duplicate
/// window), each with a unique `Nats-Msg-Id`, from `load.concurrency` publishers each awaiting its ack.
pub async fn jetstream(nats_url: &str, load: Load, payload_bytes: usize) -> anyhow::Result<Summary> {
    let client = async_nats::connect(nats_url).await?;
    let js = async_nats::jetstream::new(client);
    // The private server `suite` starts holds nothing else, so the default namespace is the services' own.
    let namespace = pdop_kit::events::Namespace::default();
    pdop_kit::events::ensure_stream(&js, &namespace, "bench", Duration::from_secs(120)).await?;
    let subject = namespace.wire_subject("pdop.bench.event.published");
    let js = Arc::new(js);
    let payload = bytes::Bytes::from(vec![b'e'; payload_bytes]);
    let run = uuid::Uuid::now_v7().simple().to_string();
    let call: CallFn = Arc::new(move |n| {
        let (js, payload, subject) = (js.clone(), payload.clone(), subject.clone());
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", format!("{run}-{n}").as_str());
        Box::pin(async move {
            let ack = js
                .publish_with_headers(subject, headers, payload)
                .await
                .map_err(|_| tonic::Code::Unavailable)?;
            ack.await.map(|_| ()).map_err(|_| tonic::Code::Unavailable)
        })
    });
    Ok(drive(load, call).await)
}

/// A phase of `duration` at full speed, after a short warm-up.
pub fn closed_loop(concurrency: usize, duration: Duration, warmup: Duration) -> Load {
    Load {
        concurrency,
        stop: Stop::After(duration),
        warmup,
        rate: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pgbench_figures() {
        let report = "number of transactions actually processed: 1000\nlatency average = 1.2 ms\n\
                      tps = 812.345678 (without initial connection time)\n";
        assert_eq!(tps_of(report), Some(812.345678));
        assert_eq!(tps_of("nothing"), None);

        let dir = std::env::temp_dir().join(format!("pdop-pgbench-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            dir.join("tx.42"),
            "0 1 1500 0 1700000000 1\n1 1 failed 0 1700000000 2\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join("tx.42.1"), "2 1 900 0 1700000000 3\n").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join("registry-write.sql"), "ignored").unwrap_or_else(|e| panic!("{e}"));
        let (mut latencies, failed) = pgbench_latencies(&dir).unwrap_or_else(|e| panic!("{e}"));
        latencies.sort_unstable();
        assert_eq!(latencies, [900, 1500]);
        assert_eq!(failed, 1);
        std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    }
}
