//! The jurisdiction tree, learnt from the registry's events, which `pdop_kit::scope` walks to decide who supervises
//! whom (THREATS H2).

use pdop_kit::events::{HandleError, IncomingEvent};
use pdop_proto::Event;
use pdop_proto::registry::events::v1::{JurisdictionCreated, JurisdictionUpdated};
use sqlx::{Postgres, Transaction};

/// Records the jurisdiction and its parent when `event` announces one; other events are left alone.
pub async fn learn(
    tx: &mut Transaction<'static, Postgres>,
    event: &IncomingEvent,
) -> Result<(), HandleError> {
    let (jurisdiction, parent) = if event.subject == JurisdictionCreated::SUBJECT {
        let e = event.decode::<JurisdictionCreated>()?;
        (e.jurisdiction, e.parent)
    } else if event.subject == JurisdictionUpdated::SUBJECT {
        let e = event.decode::<JurisdictionUpdated>()?;
        (e.jurisdiction, e.parent)
    } else {
        return Ok(());
    };
    let Some(id) = jurisdiction
        .as_ref()
        .and_then(|j| pdop_kit::names::parse(&j.name, "jurisdictions"))
    else {
        return Err(HandleError::Permanent(anyhow::anyhow!(
            "event {} names no jurisdiction",
            event.id
        )));
    };
    let parent_id = pdop_kit::names::parse(&parent, "jurisdictions").unwrap_or_default();
    sqlx::query(
        "INSERT INTO jurisdictions (id, parent_id) VALUES ($1, $2)
         ON CONFLICT (id) DO UPDATE SET parent_id = EXCLUDED.parent_id",
    )
    .bind(id)
    .bind(parent_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
