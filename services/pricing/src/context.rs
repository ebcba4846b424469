//! What every pricing handler needs: the platform and the jurisdiction rule profiles. The shared helpers
//! come from `pdop_kit::handling`.

use std::sync::Arc;

use pdop_kit::Platform;
pub use pdop_kit::handling::{Handling, caller, paging};
use pdop_rules::{Profile, Profiles};
use sqlx::PgExecutor;
use tonic::Status;

pub struct Ctx {
    pub platform: Arc<Platform>,
    pub profiles: Profiles,
}

impl Handling for Ctx {
    fn platform(&self) -> &Platform {
        &self.platform
    }
}

impl Ctx {
    /// The rule profile of a jurisdiction as the registry announced it; `NOT_FOUND` when the registry has
    /// not announced the jurisdiction (yet).
    pub async fn profile_of<'e>(
        &self,
        executor: impl PgExecutor<'e>,
        jurisdiction: &str,
        field: &str,
    ) -> Result<Arc<Profile>, Status> {
        let id = self.parse_name(jurisdiction, "jurisdictions", field)?;
        let profile_id: Option<String> =
            sqlx::query_scalar("SELECT profile_id FROM jurisdictions WHERE id = $1")
                .bind(id)
                .fetch_optional(executor)
                .await
                .map_err(|e| self.db(e))?;
        let profile_id =
            profile_id.ok_or_else(|| self.errors().not_found("JURISDICTION_NOT_FOUND", jurisdiction))?;
        self.profiles.shared(&profile_id).ok_or_else(|| {
            self.internal(anyhow::anyhow!(
                "jurisdiction {jurisdiction} is bound to unknown profile {profile_id}"
            ))
        })
    }
}
