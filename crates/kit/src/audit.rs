//! The append-only audit log. Every mutating call writes one row in its own transaction; each row's
//! SHA-256 covers its content and the previous row's hash, so editing or deleting any row breaks the
//! chain, and [`verify_chain`] finds where.

use chrono::{DateTime, SubsecRound, Utc};
use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::{PgExecutor, PgPool, Postgres, Transaction};

use crate::propagation;

/// Serializes appends: the chain needs each row to see its predecessor.
const AUDIT_LOCK_KEY: i64 = 0x7064_6f70_6175_6474; // "pdopaudt"

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

/// Appends a row inside the caller's transaction, chained to the latest row. Returns its sequence.
pub async fn append(tx: &mut Transaction<'_, Postgres>, record: AuditRecord<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(AUDIT_LOCK_KEY)
        .execute(&mut **tx)
        .await?;
    let last: Option<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut **tx)
            .await?;
    let (prev_seq, prev_hash) = last.unwrap_or((0, GENESIS.to_vec()));
    let seq = prev_seq + 1;
    // serde_json's map keeps keys sorted, so this text is canonical.
    let detail = record.detail.to_string();
    let trace_id = propagation::current_trace_id();
    // PostgreSQL keeps microseconds; hash exactly what will be read back.
    let occurred_at = Utc::now().trunc_subsecs(6);
    let row = AuditRow {
        seq,
        actor: record.actor.to_owned(),
        actor_org: record.actor_org.to_owned(),
        action: record.action.to_owned(),
        resource: record.resource.to_owned(),
        detail,
        trace_id,
        occurred_at,
        prev_hash,
        hash: Vec::new(),
    };
    let hash = row_hash(&row);
    sqlx::query(
        "INSERT INTO audit_log (seq, actor, actor_org, action, resource, detail, trace_id, occurred_at, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(row.seq)
    .bind(&row.actor)
    .bind(&row.actor_org)
    .bind(&row.action)
    .bind(&row.resource)
    .bind(&row.detail)
    .bind(&row.trace_id)
    .bind(row.occurred_at)
    .bind(&row.prev_hash)
    .bind(&hash)
    .execute(&mut **tx)
    .await?;
    Ok(seq)
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
    #[error("audit row {expected} is missing (found {found} next)")]
    Gap { expected: i64, found: i64 },
    #[error("audit row {seq} does not link to the previous row's hash")]
    BrokenLink { seq: i64 },
    #[error("audit row {seq} was altered: its content no longer matches its hash")]
    Altered { seq: i64 },
    #[error("reading the audit log failed: {0}")]
    Read(String),
}

/// Walks the whole chain from the first row; returns the number of rows verified.
pub async fn verify_chain(pool: &PgPool) -> Result<u64, ChainError> {
    verify_rows(pool).await
}

async fn verify_rows<'e>(executor: impl PgExecutor<'e>) -> Result<u64, ChainError> {
    let mut rows = sqlx::query_as::<_, AuditRow>(
        "SELECT seq, actor, actor_org, action, resource, detail, trace_id, occurred_at, prev_hash, hash
         FROM audit_log ORDER BY seq",
    )
    .fetch(executor);
    let mut expected_prev = GENESIS.to_vec();
    let mut expected_seq = 1;
    let mut count = 0;
    while let Some(row) = rows
        .try_next()
        .await
        .map_err(|e| ChainError::Read(e.to_string()))?
    {
        if row.seq != expected_seq {
            return Err(ChainError::Gap {
                expected: expected_seq,
                found: row.seq,
            });
        }
        if row.prev_hash != expected_prev {
            return Err(ChainError::BrokenLink { seq: row.seq });
        }
        if row_hash(&row) != row.hash {
            return Err(ChainError::Altered { seq: row.seq });
        }
        expected_prev = row.hash;
        expected_seq += 1;
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
