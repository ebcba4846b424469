//! What every handler needs: the platform (pool, errors, metrics), the rule profiles and calendar. The
//! shared helpers come from `pdop_kit::handling`.

use std::sync::Arc;

use pdop_kit::Platform;
pub use pdop_kit::handling::{Handling, Stored, fetch_row, is_unique_violation, optional_name, paging};
use pdop_rules::{Calendar, Profiles};

use crate::RegistryConfig;
use sqlx::{Postgres, Transaction};
use tonic::Status;

pub struct Ctx {
    pub platform: Arc<Platform>,
    pub profiles: Profiles,
    pub calendar: Calendar,
    pub config: RegistryConfig,
}

impl AsRef<Platform> for Ctx {
    fn as_ref(&self) -> &Platform {
        &self.platform
    }
}

impl Handling for Ctx {
    fn platform(&self) -> &Platform {
        &self.platform
    }
}

impl Ctx {
    /// The rule profile of a jurisdiction (DOMAIN §6).
    pub async fn profile_of(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        jurisdiction_id: &str,
    ) -> Result<std::sync::Arc<pdop_rules::Profile>, Status> {
        let profile_id: String = sqlx::query_scalar("SELECT profile_id FROM jurisdictions WHERE id = $1")
            .bind(jurisdiction_id)
            .fetch_one(&mut **tx)
            .await
            .map_err(|e| self.db(e))?;
        self.profiles.shared(&profile_id).ok_or_else(|| {
            self.internal(anyhow::anyhow!(
                "jurisdiction {jurisdiction_id} is bound to unknown profile {profile_id}"
            ))
        })
    }
}
