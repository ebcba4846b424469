//! AIP-155 request ids: the first response to a `(method, request_id, caller)` is stored in the same
//! transaction as the change it made, and returned unchanged to every retry.

use sqlx::{Postgres, Transaction};

/// Returns the stored response of an earlier request with the same id, if any.
pub async fn lookup<M: prost::Message + Default>(
    tx: &mut Transaction<'_, Postgres>,
    method: &str,
    request_id: &str,
    caller: &str,
) -> Result<Option<M>, sqlx::Error> {
    let stored: Option<Vec<u8>> = sqlx::query_scalar(
        "SELECT response FROM idempotency WHERE method = $1 AND request_id = $2 AND caller = $3",
    )
    .bind(method)
    .bind(request_id)
    .bind(caller)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(stored.and_then(|bytes| M::decode(bytes.as_slice()).ok()))
}

/// Stores the response of a request inside the transaction that made its change.
pub async fn remember<M: prost::Message>(
    tx: &mut Transaction<'_, Postgres>,
    method: &str,
    request_id: &str,
    caller: &str,
    response: &M,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO idempotency (method, request_id, caller, response) VALUES ($1, $2, $3, $4)")
        .bind(method)
        .bind(request_id)
        .bind(caller)
        .bind(response.encode_to_vec())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A stored response and the fingerprint of the request that produced it.
#[derive(Debug, sqlx::FromRow)]
pub struct StoredResponse {
    pub response: Vec<u8>,
    pub request_hash: Option<Vec<u8>>,
}

impl StoredResponse {
    /// True when `fingerprint` is the stored request's (rows from before fingerprints were kept match any).
    pub fn matches(&self, fingerprint: &[u8]) -> bool {
        self.request_hash
            .as_deref()
            .is_none_or(|stored| stored == fingerprint)
    }
}

/// The stored response under `(method, request_id, caller)`, with its request's fingerprint.
pub async fn lookup_stored<'e>(
    db: impl sqlx::PgExecutor<'e>,
    method: &str,
    request_id: &str,
    caller: &str,
) -> Result<Option<StoredResponse>, sqlx::Error> {
    sqlx::query_as(
        "SELECT response, request_hash FROM idempotency WHERE method = $1 AND request_id = $2 AND caller = $3",
    )
    .bind(method)
    .bind(request_id)
    .bind(caller)
    .fetch_optional(db)
    .await
}

/// Stores the response unless a concurrent duplicate stored one first (the insert then waits for that
/// transaction to commit and returns `false`).
pub async fn remember_once<M: prost::Message>(
    tx: &mut Transaction<'_, Postgres>,
    method: &str,
    request_id: &str,
    caller: &str,
    fingerprint: &[u8],
    response: &M,
) -> Result<bool, sqlx::Error> {
    let stored = sqlx::query(
        "INSERT INTO idempotency (method, request_id, caller, response, request_hash) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT DO NOTHING",
    )
    .bind(method)
    .bind(request_id)
    .bind(caller)
    .bind(response.encode_to_vec())
    .bind(fingerprint)
    .execute(&mut **tx)
    .await?;
    Ok(stored.rows_affected() == 1)
}
