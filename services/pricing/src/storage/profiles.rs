//! The rule profile of a jurisdiction, as the registry bound it (read model kept by `incoming`).

use std::sync::Arc;

use pdop_rules::{Profile, Profiles};

use super::{Tx, id_of};
use crate::domain::{Error, ErrorReason};

/// The profile `jurisdiction` is bound to; NOT_FOUND when the registry has not announced the jurisdiction
/// (yet), a violation on `field` when the name is malformed.
pub async fn of(
    tx: &mut Tx,
    profiles: &Profiles,
    jurisdiction: &str,
    field: &str,
) -> Result<Arc<Profile>, Error> {
    let id = id_of(jurisdiction, "jurisdictions", field)?;
    let profile_id: Option<String> = sqlx::query_scalar("SELECT profile_id FROM jurisdictions WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    let profile_id =
        profile_id.ok_or_else(|| Error::not_found(ErrorReason::JurisdictionNotFound, jurisdiction))?;
    profiles.shared(&profile_id).ok_or_else(|| {
        Error::Internal(anyhow::anyhow!(
            "jurisdiction {jurisdiction} is bound to unknown profile {profile_id}"
        ))
    })
}
