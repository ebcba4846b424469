//! Signed tree heads: after appends (a short delay gathers a batch) and at least every signing interval, the
//! log signs its current root, so every entry is covered by a signed head within about one interval.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pdop_kit::Platform;
use pdop_kit::events::{OutgoingEvent, enqueue_at};
use pdop_merkle::{empty_root, root_plan};
use pdop_proto::disclosure::events::v1::TreeHeadSigned;
use pdop_proto::disclosure::v1::SignedTreeHead;
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::{Notify, watch};

use crate::log::fetch_nodes;
use crate::signer::LogSigner;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Row {
    pub tree_size: i64,
    pub root_hash: Vec<u8>,
    pub timestamp_ms: i64,
    pub signature: Vec<u8>,
    pub key_id: String,
}

pub const COLUMNS: &str = "tree_size, root_hash, timestamp_ms, signature, key_id";

impl Row {
    pub fn to_proto(&self) -> SignedTreeHead {
        let time = DateTime::<Utc>::from_timestamp_millis(self.timestamp_ms).unwrap_or_default();
        SignedTreeHead {
            tree_size: self.tree_size,
            root_hash: self.root_hash.clone(),
            timestamp: Some(pdop_kit::convert::timestamp(time)),
            signature: self.signature.clone(),
            key_id: self.key_id.clone(),
        }
    }
}

/// The newest head, if any was signed.
pub async fn latest(pool: &PgPool) -> Result<Option<Row>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM tree_heads ORDER BY id DESC LIMIT 1"
    ))
    .fetch_optional(pool)
    .await
}

/// The newest head signed at exactly `size`.
pub async fn at_size(pool: &PgPool, size: i64) -> Result<Option<Row>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM tree_heads WHERE tree_size = $1 ORDER BY id DESC LIMIT 1"
    ))
    .bind(size)
    .fetch_optional(pool)
    .await
}

/// Root hash of the first `size` entries, from stored nodes.
pub async fn root(tx: &mut Transaction<'static, Postgres>, size: u64) -> anyhow::Result<[u8; 32]> {
    if size == 0 {
        return Ok(empty_root());
    }
    let plan = root_plan(size);
    let nodes = fetch_nodes(&mut **tx, plan.nodes()).await?;
    Ok(plan.assemble(&nodes)?)
}

/// The advisory lock key of tree-head signing (any constant unique within the disclosure database).
const SIGNING_LOCK: i64 = 0x7064_6f70_5f73_7468; // "pdop_sth"

/// Signs the current root unless the newest head already covers it and is younger than `max_age`.
pub async fn sign_if_due(
    pool: &PgPool,
    signer: &LogSigner,
    max_age: Duration,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<SignedTreeHead>> {
    let mut tx = pool.begin().await?;
    // One signer at a time across replicas (THREATS M2, L9): `FOR SHARE` below lets two signers read the same
    // last head and both insert. A replica that finds the lock taken skips this round; the holder signs it.
    let signing: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .bind(SIGNING_LOCK)
        .fetch_one(&mut *tx)
        .await?;
    if !signing {
        return Ok(None);
    }
    // Shares the append lock's row: a head never sees half an append.
    let size: i64 = sqlx::query_scalar("SELECT size FROM log_state FOR SHARE")
        .fetch_one(&mut *tx)
        .await?;
    let last: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM tree_heads ORDER BY id DESC LIMIT 1"
    ))
    .fetch_optional(&mut *tx)
    .await?;
    let now_ms = now.timestamp_millis();
    let fresh = last.as_ref().is_some_and(|h| {
        h.tree_size == size
            && now_ms - h.timestamp_ms < i64::try_from(max_age.as_millis()).unwrap_or(i64::MAX)
    });
    if fresh {
        return Ok(None);
    }
    let root = root(&mut tx, u64::try_from(size)?).await?;
    // Strictly increasing timestamps, so a later head is never older than an earlier one.
    let timestamp_ms = last.as_ref().map_or(now_ms, |h| now_ms.max(h.timestamp_ms + 1));
    let signature = signer.sign(u64::try_from(timestamp_ms)?, u64::try_from(size)?, &root);
    let row: Row = sqlx::query_as(&format!(
        "INSERT INTO tree_heads (tree_size, root_hash, timestamp_ms, signature, key_id) VALUES ($1, $2, $3, $4, $5)
         RETURNING {COLUMNS}"
    ))
    .bind(size)
    .bind(root.as_slice())
    .bind(timestamp_ms)
    .bind(signature.as_slice())
    .bind(signer.key_id())
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO log_keys (key_id, public_key, first_used) VALUES ($1, $2, now()) ON CONFLICT DO NOTHING",
    )
    .bind(signer.key_id())
    .bind(signer.public_key().as_slice())
    .execute(&mut *tx)
    .await?;
    let head = row.to_proto();
    let event = TreeHeadSigned {
        tree_size: head.tree_size,
        root_hash: head.root_hash.clone(),
        timestamp: head.timestamp,
        signature: head.signature.clone(),
        key_id: head.key_id.clone(),
        previous_tree_size: last.as_ref().map_or(0, |h| h.tree_size),
    };
    enqueue_at(
        &mut tx,
        OutgoingEvent::new(
            "pdop.disclosure.tree_head.signed",
            format!("treeHeads/{size}"),
            &event,
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Some(head))
}

/// Runs until the service stops: signs shortly after appends are announced on `appended`, and at least every
/// `interval`. Subscribers waiting on `signed` are woken after each new head.
pub async fn run(platform: Arc<Platform>, log: Arc<LogContext>, mut stop: watch::Receiver<bool>) {
    loop {
        match sign_if_due(&platform.pool, &log.signer, log.interval, platform.clock.now()).await {
            Ok(Some(head)) => {
                tracing::debug!(tree_size = head.tree_size, "tree head signed");
                log.recent_head.clear();
                platform.outbox_waker.wake();
                log.signed.notify_waiters();
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(error = %format!("{err:#}"), "signing a tree head failed; retrying"),
        }
        tokio::select! {
            () = pdop_kit::task::stopped(&mut stop) => break,
            _ = log.appended.notified() => tokio::time::sleep(log.batch_delay).await,
            _ = tokio::time::sleep(log.interval) => {}
        }
    }
}

/// What the signer, the consumers and the readers share.
pub struct LogContext {
    pub signer: LogSigner,
    pub interval: Duration,
    pub batch_delay: Duration,
    /// Woken by appends.
    pub appended: Notify,
    /// Woken after each new tree head.
    pub signed: Notify,
    /// The latest head as proofs read it lately.
    pub recent_head: RecentHead,
    /// The tree's upper levels, as proofs read them.
    pub nodes: crate::node_cache::NodeCache,
}

/// How long a proof may use the latest head read earlier instead of reading it again. A proof for a head a
/// moment old is as valid as one for the newest (it names the head it is for), and a leaf newer than the head
/// kept is looked up afresh; this process's own signing drops the kept head at once.
pub const RECENT_HEAD_TTL: Duration = Duration::from_secs(1);

/// The latest signed head, kept for [`RECENT_HEAD_TTL`].
#[derive(Debug, Default)]
pub struct RecentHead(std::sync::RwLock<Option<(Row, std::time::Instant)>>);

impl RecentHead {
    pub fn get(&self) -> Option<Row> {
        let kept = self.0.read().ok()?;
        let (row, at) = kept.as_ref()?;
        (at.elapsed() < RECENT_HEAD_TTL).then(|| row.clone())
    }

    pub fn put(&self, row: &Row) {
        if let Ok(mut kept) = self.0.write() {
            *kept = Some((row.clone(), std::time::Instant::now()));
        }
    }

    pub fn clear(&self) {
        if let Ok(mut kept) = self.0.write() {
            *kept = None;
        }
    }
}

impl std::fmt::Debug for LogContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogContext")
            .field("key_id", &self.signer.key_id())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod signing_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use pdop_kit::server::Service as _;

    #[tokio::test]
    async fn two_replicas_sign_one_head_per_round() {
        // THREATS L9: two replicas (two keys, one database) asked to sign at the same moment sign one head.
        let env = pdop_testkit::TestEnv::new().await.unwrap();
        for round in 0..5 {
            let db = env.fresh_database().await.unwrap();
            pdop_kit::db::migrate(&db.pool, crate::Disclosure::migrator())
                .await
                .unwrap();
            let (a, b) = (LogSigner::random().unwrap(), LogSigner::random().unwrap());
            let now = Utc::now();
            let hour = Duration::from_secs(3600);
            let (x, y) = tokio::join!(
                sign_if_due(&db.pool, &a, hour, now),
                sign_if_due(&db.pool, &b, hour, now)
            );
            let signed = [x.unwrap(), y.unwrap()].iter().flatten().count();
            let heads: i64 = sqlx::query_scalar("SELECT count(*) FROM tree_heads")
                .fetch_one(&db.pool)
                .await
                .unwrap();
            assert_eq!((signed, heads), (1, 1), "round {round}");
        }
    }
}
