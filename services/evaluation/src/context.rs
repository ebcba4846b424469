//! What every evaluation handler needs: the platform, the jurisdiction rule profiles and the holiday calendar.

use std::sync::Arc;

use pdop_kit::Platform;
use pdop_rules::{Calendar, Profiles};

pub struct Ctx {
    pub platform: Arc<Platform>,
    pub profiles: Profiles,
    pub calendar: Calendar,
    /// `evaluation.scheduler_interval`.
    pub scheduler_interval: std::time::Duration,
}

impl AsRef<Platform> for Ctx {
    fn as_ref(&self) -> &Platform {
        &self.platform
    }
}
