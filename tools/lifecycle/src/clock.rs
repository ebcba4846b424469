//! The services' development clocks, moved together through their admin ports (`POST /dev/clock/advance`,
//! served only with `auth.dev_mode` on), so every service sees the same day after a public notice ends.

use chrono::{DateTime, NaiveDate, Utc};
use pdop_kit::clock::china_date;

use crate::Platform;

impl Platform {
    /// Moves all five clocks forward by `by` (`10d`, `36h`); returns the registry's new instant.
    pub async fn advance(&self, by: &str) -> anyhow::Result<DateTime<Utc>> {
        let mut first = None;
        for admin in &self.endpoints.admin {
            let url = format!("{admin}/dev/clock/advance?by={by}");
            let response = self.http.post(&url).send().await?;
            anyhow::ensure!(
                response.status().is_success(),
                "{url}: {} (is the service in development mode?)",
                response.status()
            );
            let text = response.text().await?;
            let now = DateTime::parse_from_rfc3339(text.trim())?.to_utc();
            first.get_or_insert(now);
        }
        first.ok_or_else(|| anyhow::anyhow!("no admin endpoint to move"))
    }

    /// Today in China on the services' clocks.
    pub async fn today(&self) -> anyhow::Result<NaiveDate> {
        Ok(china_date(self.advance("0s").await?))
    }

    /// Moves every clock to `day` (in China); nothing when it is already that day or later.
    pub async fn advance_to(&mut self, day: NaiveDate) -> anyhow::Result<()> {
        let days = (day - self.today().await?).num_days();
        if days > 0 {
            self.advance(&format!("{days}d")).await?;
            self.note(format!(
                "moved the five services' clocks {days} days forward, to {day}"
            ));
        }
        Ok(())
    }
}
