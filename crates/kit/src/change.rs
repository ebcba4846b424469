//! The write path every mutating RPC shares: inside the transaction that changes state, append the
//! audit row and enqueue the outgoing event, so all three commit or none does.

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};

use crate::audit::{self, AuditRecord};
use crate::auth::Caller;
use crate::events::{self, OutgoingEvent};

/// What a mutating call did, for the audit log and the event stream.
pub struct Change<'a> {
    /// `<service>.<Rpc>`, e.g. `registry.CreateOrganization`.
    pub action: &'a str,
    /// The resource name the call changed.
    pub resource: &'a str,
    /// The change as JSON (stored canonically in the audit row).
    pub detail: serde_json::Value,
    /// The event announcing it; `None` for changes nobody subscribes to.
    pub event: Option<OutgoingEvent>,
}

/// Records `change` by `caller` in `tx` (audit row, then outbox row), the event dated `at` on the service's clock.
pub async fn record(
    tx: &mut Transaction<'_, Postgres>,
    caller: &Caller,
    change: Change<'_>,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    audit::append(
        tx,
        AuditRecord {
            actor: &caller.subject,
            actor_org: &caller.organization,
            action: change.action,
            resource: change.resource,
            detail: change.detail,
        },
    )
    .await?;
    if let Some(event) = change.event {
        events::enqueue_at(tx, event, at).await?;
    }
    Ok(())
}
