//! What every pricing handler needs: the platform and the jurisdiction rule profiles. The shared helpers
//! come from `pdop_kit::handling`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use pdop_kit::Platform;
pub use pdop_kit::handling::{Handling, paging};
use pdop_rules::{Profile, Profiles};
use sqlx::PgExecutor;
use tonic::Status;

pub struct Ctx {
    pub platform: Arc<Platform>,
    pub profiles: Profiles,
    /// Jurisdiction → profile bindings read lately, for previews.
    pub recent_bindings: RecentBindings,
    /// `pricing.scheduler_interval`.
    pub scheduler_interval: Duration,
}

/// How long a preview may use a binding it read earlier. A preview stores nothing, and the registry rebinds a
/// jurisdiction's profile rarely; everything that is stored reads the binding in its own transaction.
pub const PREVIEW_BINDING_TTL: Duration = Duration::from_secs(5);

/// Jurisdiction ids and the profile ids they were bound to when last read (a jurisdiction not found is not
/// kept, so one announced a moment later is seen at once). Bounded by the number of jurisdictions.
#[derive(Debug, Default)]
pub struct RecentBindings {
    read: RwLock<HashMap<String, (String, Instant)>>,
}

impl RecentBindings {
    fn get(&self, jurisdiction_id: &str, ttl: Duration) -> Option<String> {
        let read = self.read.read().ok()?;
        let (profile_id, at) = read.get(jurisdiction_id)?;
        (at.elapsed() < ttl).then(|| profile_id.clone())
    }

    fn put(&self, jurisdiction_id: &str, profile_id: &str) {
        if let Ok(mut read) = self.read.write() {
            read.insert(
                jurisdiction_id.to_owned(),
                (profile_id.to_owned(), Instant::now()),
            );
        }
    }
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
    /// The rule profile of a jurisdiction as the registry announced it; `NOT_FOUND` when the registry has
    /// not announced the jurisdiction (yet).
    pub async fn profile_of<'e>(
        &self,
        executor: impl PgExecutor<'e>,
        jurisdiction: &str,
        field: &str,
    ) -> Result<Arc<Profile>, Status> {
        let id = self.parse_name(jurisdiction, "jurisdictions", field)?;
        let profile_id = self.binding_of(executor, id, jurisdiction).await?;
        self.resolve(jurisdiction, &profile_id)
    }

    /// As [`Ctx::profile_of`], but a binding read within [`PREVIEW_BINDING_TTL`] is used without a query.
    pub async fn recent_profile_of(&self, jurisdiction: &str, field: &str) -> Result<Arc<Profile>, Status> {
        let id = self.parse_name(jurisdiction, "jurisdictions", field)?;
        let profile_id = match self.recent_bindings.get(id, PREVIEW_BINDING_TTL) {
            Some(profile_id) => profile_id,
            None => {
                let profile_id = self.binding_of(self.pool(), id, jurisdiction).await?;
                self.recent_bindings.put(id, &profile_id);
                profile_id
            }
        };
        self.resolve(jurisdiction, &profile_id)
    }

    async fn binding_of<'e>(
        &self,
        executor: impl PgExecutor<'e>,
        id: &str,
        jurisdiction: &str,
    ) -> Result<String, Status> {
        let profile_id: Option<String> =
            sqlx::query_scalar("SELECT profile_id FROM jurisdictions WHERE id = $1")
                .bind(id)
                .fetch_optional(executor)
                .await
                .map_err(|e| self.db(e))?;
        profile_id.ok_or_else(|| self.errors().not_found("JURISDICTION_NOT_FOUND", jurisdiction))
    }

    fn resolve(&self, jurisdiction: &str, profile_id: &str) -> Result<Arc<Profile>, Status> {
        self.profiles.shared(profile_id).ok_or_else(|| {
            self.internal(anyhow::anyhow!(
                "jurisdiction {jurisdiction} is bound to unknown profile {profile_id}"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recent_binding_is_used_until_its_age_reaches_the_ttl() {
        let bindings = RecentBindings::default();
        assert_eq!(bindings.get("yunnan", PREVIEW_BINDING_TTL), None);
        bindings.put("yunnan", "yunnan");
        assert_eq!(
            bindings.get("yunnan", PREVIEW_BINDING_TTL).as_deref(),
            Some("yunnan")
        );
        assert_eq!(
            bindings.get("yunnan", Duration::ZERO),
            None,
            "an aged binding is read again"
        );
        assert_eq!(bindings.get("henan", PREVIEW_BINDING_TTL), None);
    }
}
