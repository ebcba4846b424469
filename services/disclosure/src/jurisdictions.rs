//! The jurisdiction tree, learnt from the registry's events, and who supervises whom along it (THREATS H2: a
//! supervisor acts inside its token's jurisdiction and the jurisdictions below it, never elsewhere).

use pdop_kit::events::{HandleError, IncomingEvent};
use pdop_proto::Event;
use pdop_proto::registry::events::v1::{JurisdictionCreated, JurisdictionUpdated};
use sqlx::{PgExecutor, Postgres, Transaction};

/// How far up the tree a check looks (national, province, city, county and room to spare; stops a cycle).
const MAX_DEPTH: i32 = 16;

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

/// True when `supervisor` (`jurisdictions/…`, a token's claim) is `jurisdiction` itself or one of its ancestors.
/// An empty name on either side supervises nothing.
pub async fn supervises<'e>(
    db: impl PgExecutor<'e>,
    supervisor: &str,
    jurisdiction: &str,
) -> Result<bool, sqlx::Error> {
    let (Some(supervisor), Some(jurisdiction)) = (
        pdop_kit::names::parse(supervisor, "jurisdictions"),
        pdop_kit::names::parse(jurisdiction, "jurisdictions"),
    ) else {
        return Ok(false);
    };
    if supervisor == jurisdiction {
        return Ok(true);
    }
    sqlx::query_scalar(
        "WITH RECURSIVE up (id, depth) AS (
             SELECT parent_id, 1 FROM jurisdictions WHERE id = $2
             UNION ALL
             SELECT j.parent_id, up.depth + 1 FROM jurisdictions j JOIN up ON j.id = up.id
             WHERE up.depth < $3 AND up.id <> ''
         )
         SELECT EXISTS (SELECT 1 FROM up WHERE id = $1)",
    )
    .bind(supervisor)
    .bind(jurisdiction)
    .bind(MAX_DEPTH)
    .fetch_one(db)
    .await
}
