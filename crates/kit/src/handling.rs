//! What every handler needs besides its own rules: transactions, idempotent replays, the audit row and
//! outgoing event of a change, names, etags, state checks, row locks and paging. A service's handler context
//! implements [`Handling`] by pointing at its [`Platform`].

use sqlx::{PgPool, Postgres, Transaction};
use tonic::{Request, Status};

use crate::auth::Caller;
use crate::change::{self, Change};
use crate::error::ErrorDomain;
use crate::events::OutgoingEvent;
use crate::{Platform, Violations, idempotency, pagination};

/// The row type of one table whose rows are resources named `<COLLECTION>/{id}`.
pub trait Stored: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin {
    const TABLE: &'static str;
    const COLUMNS: &'static str;
    const COLLECTION: &'static str;
    /// The `ErrorInfo.reason` of a missing row, e.g. `AGREEMENT_NOT_FOUND`.
    const NOT_FOUND: &'static str;
    fn version(&self) -> i64;
}

/// Handler helpers over the service's platform; implement `platform` and the rest comes with it.
#[allow(async_fn_in_trait)]
pub trait Handling: Sync {
    fn platform(&self) -> &Platform;

    fn pool(&self) -> &PgPool {
        &self.platform().pool
    }

    fn errors(&self) -> &ErrorDomain {
        &self.platform().errors
    }

    fn db(&self, err: sqlx::Error) -> Status {
        self.errors().database(err)
    }

    async fn begin(&self) -> Result<Transaction<'static, Postgres>, Status> {
        self.pool().begin().await.map_err(|e| self.db(e))
    }

    /// The stored response of an earlier call with the same `request_id` (AIP-155), if any.
    async fn replay<M: prost::Message + Default>(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        method: &str,
        request_id: &str,
        caller: &Caller,
    ) -> Result<Option<M>, Status> {
        if request_id.is_empty() {
            return Ok(None);
        }
        idempotency::lookup(tx, method, request_id, &caller.subject)
            .await
            .map_err(|e| self.db(e))
    }

    /// Stores the response for retries of the same `request_id`, in the transaction of the change.
    async fn remember<M: prost::Message>(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        method: &str,
        request_id: &str,
        caller: &Caller,
        response: &M,
    ) -> Result<(), Status> {
        if request_id.is_empty() {
            return Ok(());
        }
        idempotency::remember(tx, method, request_id, &caller.subject, response)
            .await
            .map_err(|e| self.db(e))
    }

    fn internal(&self, err: anyhow::Error) -> Status {
        self.errors().internal(&err)
    }

    /// Appends an audit row for a change that announces nothing (e.g. a private draft).
    async fn audit(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        caller: &Caller,
        action: &str,
        resource: &str,
        detail: serde_json::Value,
    ) -> Result<(), Status> {
        let change = Change {
            action,
            resource,
            detail,
            event: None,
        };
        change::record(tx, caller, change, self.platform().clock.now())
            .await
            .map_err(|e| self.db(e))
    }

    /// Appends the audit row and enqueues the `(subject, payload)` event for the change to `resource`.
    async fn record<E: prost::Message>(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        caller: &Caller,
        action: &str,
        resource: &str,
        detail: serde_json::Value,
        (subject, event): (&str, &E),
    ) -> Result<(), Status> {
        let event = OutgoingEvent::new(subject, resource, event);
        crate::uow::check_size(&event, self.platform().settings.outbox.max_payload)
            .map_err(|refusal| self.errors().refusal(&refusal))?;
        let change = Change {
            action,
            resource,
            detail,
            event: Some(event),
        };
        change::record(tx, caller, change, self.platform().clock.now())
            .await
            .map_err(|e| self.db(e))
    }

    /// The id in `<collection>/{id}`, or `INVALID_ARGUMENT` naming `field`.
    fn parse_name<'a>(&self, name: &'a str, collection: &str, field: &str) -> Result<&'a str, Status> {
        crate::names::parse(name, collection).ok_or_else(|| {
            let mut v = Violations::new();
            v.add(field, crate::names::expected(collection));
            self.errors().invalid(&v)
        })
    }

    /// AIP-154: an `expected` etag (when given) must match the stored `version`, else `ABORTED`.
    fn check_etag(&self, expected: &str, version: i64, name: &str) -> Result<(), Status> {
        if expected.is_empty() || expected == etag(version) {
            return Ok(());
        }
        Err(self.errors().aborted(
            "ETAG_MISMATCH",
            format!("{name} changed since it was read; read it again"),
        ))
    }

    /// `FAILED_PRECONDITION` naming the state `name` is in and the states `action` needs.
    fn require_state<S: PartialEq + Copy + std::fmt::Debug>(
        &self,
        name: &str,
        state: S,
        allowed: &[S],
        action: &str,
    ) -> Result<(), Status> {
        if allowed.contains(&state) {
            return Ok(());
        }
        let wanted: Vec<String> = allowed.iter().map(|s| format!("{s:?}")).collect();
        Err(self.errors().failed_precondition(
            "WRONG_STATE",
            format!(
                "{name} is {state:?}; {action} needs it to be {}",
                wanted.join(" or ")
            ),
        ))
    }

    /// Nobody decides on their own organization's matter: `PERMISSION_DENIED` when the caller acts for
    /// one of `parties`.
    fn not_own(&self, caller: &Caller, parties: &[&str], name: &str) -> Result<(), Status> {
        if parties.contains(&caller.organization.as_str()) {
            return Err(self.errors().permission_denied(
                "OWN_APPLICATION",
                format!("{name} is your own organization's matter; another official must decide it"),
            ));
        }
        Ok(())
    }

    /// The row named `name` (the request's `name` field), locked for a change, with its etag checked.
    async fn locked<R: Stored>(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        name: &str,
        expected_etag: &str,
    ) -> Result<R, Status> {
        let id = self.parse_name(name, R::COLLECTION, "name")?;
        let row: R = fetch_row(&mut **tx, R::TABLE, R::COLUMNS, id, true)
            .await
            .map_err(|e| self.db(e))?
            .ok_or_else(|| self.errors().not_found(R::NOT_FOUND, name))?;
        self.check_etag(expected_etag, row.version(), name)?;
        Ok(row)
    }

    /// The row named `name` (the request's `field`), read without a lock; `NOT_FOUND` when absent.
    async fn find<R: Stored>(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        name: &str,
        field: &str,
    ) -> Result<R, Status> {
        let id = self.parse_name(name, R::COLLECTION, field)?;
        fetch_row(&mut **tx, R::TABLE, R::COLUMNS, id, false)
            .await
            .map_err(|e| self.db(e))?
            .ok_or_else(|| self.errors().not_found(R::NOT_FOUND, name))
    }

    /// Commits, then wakes the outbox relay for the events the transaction may have enqueued.
    async fn commit(&self, tx: Transaction<'static, Postgres>) -> Result<(), Status> {
        tx.commit().await.map_err(|e| self.db(e))?;
        self.platform().outbox_waker.wake();
        Ok(())
    }
}

/// The authenticated caller; the auth layer guarantees one on every non-public RPC.
pub fn caller<T>(request: &Request<T>) -> Result<Caller, Status> {
    Caller::of(request).cloned()
}

/// True when a database error is a unique-constraint violation (SQLSTATE 23505).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "23505")
}

/// The effective page size and the decoded keyset cursor, adding violations for bad values.
pub fn paging<C: serde::de::DeserializeOwned>(
    page_size: i32,
    page_token: &str,
    v: &mut Violations,
) -> (i64, Option<C>) {
    let size = pagination::page_size(page_size).unwrap_or_else(|e| {
        v.add("page_size", e);
        0
    });
    let after = pagination::decode_token(page_token).unwrap_or_else(|e| {
        v.add("page_token", e);
        None
    });
    (size, after)
}

/// An optional `<collection>/{id}` filter: `None` when empty, a violation on `field` when malformed.
pub fn optional_name<'a>(
    name: &'a str,
    collection: &str,
    field: &str,
    v: &mut Violations,
) -> Option<&'a str> {
    if name.is_empty() {
        return None;
    }
    let parsed = crate::names::parse(name, collection);
    if parsed.is_none() {
        v.add(field, crate::names::expected(collection));
    }
    parsed
}

/// Reads one row of `table` by id (optionally locked for the change), selecting `columns`.
pub async fn fetch_row<'e, R>(
    db: impl sqlx::PgExecutor<'e>,
    table: &str,
    columns: &str,
    id: &str,
    lock: bool,
) -> Result<Option<R>, sqlx::Error>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let lock = if lock { " FOR UPDATE" } else { "" };
    sqlx::query_as::<_, R>(&format!("SELECT {columns} FROM {table} WHERE id = $1{lock}"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// The etag of a row at `version` (AIP-154): a quoted decimal.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// Trims the extra row fetched to detect a next page and returns the token pointing after the last kept row.
pub fn page_after<R, C: serde::Serialize>(rows: &mut Vec<R>, size: i64, key: impl Fn(&R) -> C) -> String {
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    if rows.len() <= size {
        return String::new();
    }
    rows.truncate(size);
    rows.last()
        .map(|r| pagination::encode_token(&key(r)))
        .unwrap_or_default()
}

/// Writes a new state and protobuf body to the row `id` of a table kept as `(state, body, update_time,
/// version)` and returns the row as stored.
pub async fn save_state_body<R: Stored>(
    tx: &mut Transaction<'static, Postgres>,
    id: &str,
    state: i32,
    body: Vec<u8>,
) -> Result<R, sqlx::Error> {
    sqlx::query_as::<_, R>(&format!(
        "UPDATE {} SET state = $2, body = $3, update_time = now(), version = version + 1 WHERE id = $1 RETURNING {}",
        R::TABLE,
        R::COLUMNS
    ))
    .bind(id)
    .bind(i16::try_from(state).unwrap_or(0))
    .bind(body)
    .fetch_one(&mut **tx)
    .await
}
