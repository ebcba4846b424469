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
