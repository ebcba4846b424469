//! The append-only audit log. Every mutating call writes one row in its own transaction, without a lock, so
//! writers never wait for each other. A sealer ([`seal`], run by every service in the background and by
//! [`verify_chain`] first) then chains the committed rows: each sealed row's SHA-256 covers its content and the
//! previous sealed row's hash, so editing or deleting a sealed row breaks the chain, and [`verify_chain`] finds
//! where. A row is sealed within about a [`SEAL_INTERVAL`] of its commit; until then it is only append-only.

use chrono::{DateTime, SubsecRound, Utc};
use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::{PgExecutor, PgPool, Postgres, Transaction};

use crate::propagation;

/// Serializes sealers (one per replica): the chain needs each sealed row to see its predecessor.
const AUDIT_LOCK_KEY: i64 = 0x7064_6f70_6175_6474; // "pdopaudt"

/// How often a service's background sealer chains newly committed rows.
pub const SEAL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

/// Rows chained per sealing transaction.
const SEAL_BATCH: i64 = 1000;

const GENESIS: [u8; 32] = [0; 32];

/// What one mutating call did.
#[derive(Debug, Clone)]
pub struct AuditRecord<'a> {
    /// Token subject of the caller, or `system` for schedulers and consumers.
    pub actor: &'a str,
    /// Organization of the caller, empty for `system`.
    pub actor_org: &'a str,
    /// `<service>.<Rpc>` or `<service>.<job>`.
    pub action: &'a str,
    /// Resource name the action touched.
    pub resource: &'a str,
    /// What changed, as JSON; stored canonically (sorted keys).
    pub detail: serde_json::Value,
}

/// One row as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub seq: i64,
    pub actor: String,
    pub actor_org: String,
    pub action: String,
    pub resource: String,
    pub detail: String,
    pub trace_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

/// Appends a row inside the caller's transaction (no lock: it is chained after commit). Returns its sequence.
pub async fn append(tx: &mut Transaction<'_, Postgres>, record: AuditRecord<'_>) -> Result<i64, sqlx::Error> {
    // serde_json's map keeps keys sorted, so this text is canonical.
    let detail = record.detail.to_string();
    // PostgreSQL keeps microseconds; hash exactly what will be read back.
    let occurred_at = Utc::now().trunc_subsecs(6);
    sqlx::query_scalar(
        "INSERT INTO audit_log (actor, actor_org, action, resource, detail, trace_id, occurred_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
    )
    .bind(record.actor)
    .bind(record.actor_org)
    .bind(record.action)
    .bind(record.resource)
    .bind(&detail)
    .bind(propagation::current_trace_id())
    .bind(occurred_at)
    .fetch_one(&mut **tx)
    .await
}

/// Chains every committed, unsealed row after the last sealed one, in `seq` order within each pass (a row whose
/// transaction committed late takes the next place). Returns how many rows it sealed. Safe to run from every
/// replica at once: sealers take turns.
pub async fn seal(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let mut sealed = 0;
    loop {
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(AUDIT_LOCK_KEY)
            .execute(&mut *tx)
            .await?;
        let last: Option<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT chain_pos, hash FROM audit_log WHERE chain_pos IS NOT NULL ORDER BY chain_pos DESC LIMIT 1",
        )
        .fetch_optional(&mut *tx)
        .await?;
        let (mut position, mut prev_hash) = last.unwrap_or((0, GENESIS.to_vec()));
        let mut rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT seq, actor, actor_org, action, resource, detail, trace_id, occurred_at,
                    ''::bytea AS prev_hash, ''::bytea AS hash
             FROM audit_log WHERE chain_pos IS NULL ORDER BY seq LIMIT $1",
        )
        .bind(SEAL_BATCH)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(sealed);
        }
        let (mut seqs, mut positions, mut prevs, mut hashes) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for row in &mut rows {
            position += 1;
            row.prev_hash = prev_hash;
            let hash = row_hash(row);
            seqs.push(row.seq);
            positions.push(position);
            prevs.push(std::mem::take(&mut row.prev_hash));
            prev_hash = hash.clone();
            hashes.push(hash);
        }
        let updated = sqlx::query(
            "UPDATE audit_log a SET chain_pos = s.pos, prev_hash = s.prev, hash = s.hash
             FROM UNNEST($1::bigint[], $2::bigint[], $3::bytea[], $4::bytea[]) AS s(seq, pos, prev, hash)
             WHERE a.seq = s.seq AND a.chain_pos IS NULL",
        )
        .bind(&seqs)
        .bind(&positions)
        .bind(&prevs)
        .bind(&hashes)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // The lock makes this impossible; were it to happen, the chain would have a hole: seal nothing.
        if updated != rows.len() as u64 {
            tx.rollback().await?;
            return Err(sqlx::Error::Protocol(format!(
                "sealing {} audit rows changed {updated}",
                rows.len()
            )));
        }
        tx.commit().await?;
        sealed += rows.len() as u64;
        if (rows.len() as i64) < SEAL_BATCH {
            return Ok(sealed);
        }
    }
}

/// Seals in the background every [`SEAL_INTERVAL`] until stopped.
pub struct SealerHandle(crate::task::TaskHandle);

impl SealerHandle {
    pub fn spawn(pool: PgPool) -> Self {
        Self(crate::task::TaskHandle::spawn(|mut stopped| async move {
            loop {
                if let Err(err) = seal(&pool).await {
                    tracing::warn!(%err, "sealing the audit log failed; the rows stay unsealed until the next pass");
                }
                tokio::select! {
                    _ = tokio::time::sleep(SEAL_INTERVAL) => {}
                    _ = stopped.changed() => return,
                }
            }
        }))
    }

    /// Stops after the current pass, then seals once more so nothing committed before the stop is left.
    pub async fn stop(self, pool: &PgPool) {
        self.0.stop().await;
        if let Err(err) = seal(pool).await {
            tracing::warn!(%err, "sealing the audit log at shutdown failed");
        }
    }
}

/// Returns the SHA-256 of a row's content chained to its `prev_hash` (the stored `hash` is ignored).
pub fn row_hash(row: &AuditRow) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(&row.prev_hash);
    h.update(row.seq.to_be_bytes());
    for field in [
        &row.actor,
        &row.actor_org,
        &row.action,
        &row.resource,
        &row.detail,
    ] {
        put_field(&mut h, field.as_bytes());
    }
    put_field(&mut h, row.trace_id.as_deref().unwrap_or("").as_bytes());
    h.update(row.occurred_at.timestamp_micros().to_be_bytes());
    h.finalize().to_vec()
}

fn put_field(h: &mut Sha256, bytes: &[u8]) {
    // Length prefixes keep ("ab","c") and ("a","bc") apart.
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

/// Where and why a chain stopped verifying.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// Places in the chain (`chain_pos`): a sealed row was removed.
    #[error("the audit row at place {expected} of the chain is missing (found place {found} next)")]
    Gap { expected: i64, found: i64 },
    #[error("audit row {seq} does not link to the previous row's hash")]
    BrokenLink { seq: i64 },
    #[error("audit row {seq} was altered: its content no longer matches its hash")]
    Altered { seq: i64 },
    #[error("reading the audit log failed: {0}")]
    Read(String),
}

/// Seals what is pending, then walks the whole chain from its first place; returns the number of rows verified.
pub async fn verify_chain(pool: &PgPool) -> Result<u64, ChainError> {
    seal(pool).await.map_err(|e| ChainError::Read(e.to_string()))?;
    verify_rows(pool).await
}

/// A sealed row with its place in the chain.
#[derive(sqlx::FromRow)]
struct ChainedRow {
    chain_pos: i64,
    #[sqlx(flatten)]
    row: AuditRow,
}

async fn verify_rows<'e>(executor: impl PgExecutor<'e>) -> Result<u64, ChainError> {
    let mut rows = sqlx::query_as::<_, ChainedRow>(
        "SELECT chain_pos, seq, actor, actor_org, action, resource, detail, trace_id, occurred_at, prev_hash, hash
         FROM audit_log WHERE chain_pos IS NOT NULL ORDER BY chain_pos",
    )
    .fetch(executor);
    let mut expected_prev = GENESIS.to_vec();
    let mut expected_pos = 1;
    let mut count = 0;
    while let Some(ChainedRow { chain_pos, row }) = rows
        .try_next()
        .await
        .map_err(|e| ChainError::Read(e.to_string()))?
    {
        if chain_pos != expected_pos {
            return Err(ChainError::Gap {
                expected: expected_pos,
                found: chain_pos,
            });
        }
        if row.prev_hash != expected_prev {
            return Err(ChainError::BrokenLink { seq: row.seq });
        }
        if row_hash(&row) != row.hash {
            return Err(ChainError::Altered { seq: row.seq });
        }
        expected_prev = row.hash;
        expected_pos += 1;
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(detail: &str) -> AuditRow {
        AuditRow {
            seq: 1,
            actor: "u1".into(),
            actor_org: "organizations/o1".into(),
            action: "registry.CreateResource".into(),
            resource: "resources/r1".into(),
            detail: detail.into(),
            trace_id: None,
            occurred_at: DateTime::from_timestamp_micros(1_700_000_000_000_001).unwrap(),
            prev_hash: GENESIS.to_vec(),
            hash: vec![],
        }
    }

    #[test]
    fn hash_changes_with_any_field() {
        let base = row_hash(&row("{}"));
        assert_eq!(base.len(), 32);
        assert_ne!(base, row_hash(&row("{\"a\":1}")));
        let mut later = row("{}");
        later.occurred_at += chrono::Duration::microseconds(1);
        assert_ne!(base, row_hash(&later));
        let mut other_prev = row("{}");
        other_prev.prev_hash = vec![1; 32];
        assert_ne!(base, row_hash(&other_prev));
    }

    #[test]
    fn field_boundaries_are_unambiguous() {
        let mut a = row("{}");
        a.actor = "ab".into();
        a.actor_org = "c".into();
        let mut b = row("{}");
        b.actor = "a".into();
        b.actor_org = "bc".into();
        assert_ne!(row_hash(&a), row_hash(&b));
    }
}
