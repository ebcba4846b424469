//! The disclosure log at scale. Appending a million entries one event at a time would take most of an hour, so
//! the benchmark log is bulk-built once, with the service's own leaf encoding and the same Merkle nodes its
//! append writes, and kept between runs in database `pdop_bench_log`.

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{SubsecRound, Utc};
use pdop_disclosure::leaf::leaf_input;
use pdop_merkle::{MemoryTree, leaf_hash};
use pdop_proto::common::{JurisdictionRef, OrganizationRef};
use pdop_proto::disclosure::v1::disclosure_service_client::DisclosureServiceClient;
use pdop_proto::disclosure::v1::{Entry, EntryBody, EntryKind, EntrySource, GetSignedTreeHeadRequest};
use prost::Message;
use sqlx::PgPool;
use tonic::transport::Channel;

/// Rows per insert statement.
const CHUNK: usize = 10_000;

/// The size of the log's latest signed tree head.
pub async fn signed_size(channel: Channel) -> anyhow::Result<u64> {
    let head = DisclosureServiceClient::new(channel)
        .get_signed_tree_head(GetSignedTreeHeadRequest::default())
        .await?
        .into_inner();
    let size = head.tree_head.map(|h| h.tree_size).unwrap_or_default();
    Ok(u64::try_from(size)?)
}

/// Waits until the service has signed a head covering `size` entries.
pub async fn wait_signed(channel: Channel, size: u64, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if signed_size(channel.clone()).await.unwrap_or(0) >= size {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "no signed tree head of size {size} after {timeout:?}"
        );
        // Polling until the signer has caught up; it signs right after start and after each batch.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The number of entries in the log of `database_url` (0 when it has no log yet).
pub async fn log_size(pool: &PgPool) -> u64 {
    sqlx::query_scalar::<_, i64>("SELECT size FROM log_state")
        .fetch_one(pool)
        .await
        .ok()
        .and_then(|s| u64::try_from(s).ok())
        .unwrap_or(0)
}

/// A synthetic security-incident entry numbered `n`, as the registry consumer would append it.
fn entry(n: u64, now: prost_types::Timestamp) -> Entry {
    let organization = format!("organizations/bench-org-{}", n % 32);
    Entry {
        leaf_version: 1,
        sequence: i64::try_from(n).unwrap_or(i64::MAX),
        kind: EntryKind::SecurityIncident as i32,
        jurisdiction: Some(JurisdictionRef {
            name: crate::calls::JURISDICTION.into(),
            display_name: "云南省".into(),
            ..Default::default()
        }),
        subject: organization.clone(),
        discloser: Some(OrganizationRef {
            name: organization,
            ..Default::default()
        }),
        title: "安全事件".into(),
        body: Some(EntryBody {
            text: format!("基准测试事件 {n}"),
            ..Default::default()
        }),
        source: Some(EntrySource {
            service: "registry".into(),
            event_id: format!("bench-{n}"),
            event_type: "pdop.registry.organization.incident_recorded.v1".into(),
            event_time: Some(now),
            ..Default::default()
        }),
        publish_time: Some(now),
        ..Default::default()
    }
}

/// Fills the empty log of `pool` with `target` entries and their complete-subtree nodes; prints progress.
pub async fn bulk_build(pool: &PgPool, target: u64) -> anyhow::Result<Duration> {
    anyhow::ensure!(
        log_size(pool).await == 0,
        "the benchmark log must be empty before it is built"
    );
    let started = Instant::now();
    let now_time = Utc::now().trunc_subsecs(6);
    let now = pdop_kit::convert::timestamp(now_time);
    let mut tree = MemoryTree::new();
    let mut n = 0;
    while n < target {
        let end = (n + CHUNK as u64).min(target);
        let mut sequences = Vec::with_capacity(CHUNK);
        let (mut subjects, mut events, mut inputs, mut hashes, mut bodies) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for i in n..end {
            let e = entry(i, now);
            let input = leaf_input(&e)?;
            let hash = leaf_hash(&input);
            tree.push(hash);
            sequences.push(e.sequence);
            subjects.push(e.subject.clone());
            events.push(e.source.as_ref().map(|s| s.event_id.clone()).unwrap_or_default());
            hashes.push(hash.to_vec());
            inputs.push(input);
            bodies.push(e.encode_to_vec());
        }
        sqlx::query(
            "INSERT INTO entries (sequence, kind, jurisdiction_id, subject, discloser_id, publish_time,
                                  source_event_id, leaf_input, leaf_hash, body)
             SELECT s, $2, $3, subj, substr(subj, 15), $4, ev, li, lh, b
             FROM UNNEST($1::bigint[], $5::text[], $6::text[], $7::bytea[], $8::bytea[], $9::bytea[])
                  AS t(s, subj, ev, li, lh, b)",
        )
        .bind(&sequences)
        .bind(EntryKind::SecurityIncident as i16)
        .bind("bench-yunnan")
        .bind(now_time)
        .bind(&subjects)
        .bind(&events)
        .bind(&inputs)
        .bind(&hashes)
        .bind(&bodies)
        .execute(pool)
        .await
        .context("inserting benchmark entries")?;
        n = end;
        if n % 100_000 == 0 || n == target {
            eprintln!(
                "bench: built {n} of {target} log entries ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    insert_nodes(pool, &tree).await?;
    sqlx::query("UPDATE log_state SET size = $1")
        .bind(i64::try_from(target)?)
        .execute(pool)
        .await?;
    sqlx::raw_sql("ANALYZE entries; ANALYZE merkle_nodes")
        .execute(pool)
        .await?;
    Ok(started.elapsed())
}

/// Every complete subtree of `tree`, level by level, as the service's append would have stored them.
async fn insert_nodes(pool: &PgPool, tree: &MemoryTree) -> anyhow::Result<()> {
    let size = tree.size();
    let mut level = 0u32;
    while size >> level > 0 {
        let count = size >> level;
        let mut index = 0;
        while index < count {
            let end = (index + CHUNK as u64).min(count);
            let mut indexes = Vec::with_capacity(CHUNK);
            let mut hashes = Vec::with_capacity(CHUNK);
            for i in index..end {
                let hash = tree
                    .get(level, i)
                    .with_context(|| format!("node ({level}, {i}) of a tree of {size}"))?;
                indexes.push(i64::try_from(i)?);
                hashes.push(hash.to_vec());
            }
            sqlx::query(
                "INSERT INTO merkle_nodes (level, idx, hash) SELECT $1, i, h FROM UNNEST($2::bigint[], $3::bytea[]) AS t(i, h)",
            )
            .bind(i16::try_from(level)?)
            .bind(&indexes)
            .bind(&hashes)
            .execute(pool)
            .await
            .context("inserting benchmark tree nodes")?;
            index = end;
        }
        level += 1;
    }
    Ok(())
}
