//! What every disclosure handler needs: the platform, the log's signer and wake-ups, and the configuration.

use std::sync::Arc;

use pdop_kit::Platform;
use pdop_kit::handling::Handling;

use crate::DisclosureConfig;
use crate::tree_heads::LogContext;

pub struct Ctx {
    pub platform: Arc<Platform>,
    pub log: Arc<LogContext>,
    pub config: Arc<DisclosureConfig>,
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

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}
