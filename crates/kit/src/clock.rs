//! Time as the services see it. Every "now" and "today" with domain meaning is read from the platform's
//! clock, so tests can move time instead of waiting for it, and a development run can cross a ten-working-day
//! public notice in seconds. Production uses the system clock, which cannot be moved.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use tokio::sync::watch;

use crate::config::ClockSettings;

/// The source of the current instant.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Moves the clock forward by `by`; `false` for a clock that cannot be moved (the system clock).
    fn advance(&self, by: Duration) -> bool {
        let _ = by;
        false
    }
}

/// The machine's clock (production).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The system clock shifted by an offset that only grows (development: `clock.offset`, `clock.start`, and
/// `POST /dev/clock/advance` on the admin port).
#[derive(Debug, Default)]
pub struct ShiftedClock {
    offset: Mutex<Duration>,
}

impl ShiftedClock {
    pub fn new(offset: Duration) -> Self {
        Self {
            offset: Mutex::new(offset),
        }
    }

    /// A clock that reads `start` now and runs forward from there.
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        Self::new(start - Utc::now())
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.offset.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn advance(&self, by: Duration) -> bool {
        *self.offset.lock().unwrap_or_else(PoisonError::into_inner) += by;
        true
    }
}

/// A clock that stands still until a test moves it.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    pub fn at(now: DateTime<Utc>) -> Self {
        Self { now: Mutex::new(now) }
    }

    /// A clock standing at 09:00 China time on `day`.
    pub fn on(day: NaiveDate) -> Self {
        let nine = day.and_hms_opt(1, 0, 0).unwrap_or_default().and_utc();
        Self::at(nine)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn advance(&self, by: Duration) -> bool {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) += by;
        true
    }
}

/// The clock a platform runs on, with a signal for the tasks that must look again when it moves.
#[derive(Clone)]
pub struct PlatformClock {
    clock: Arc<dyn Clock>,
    moved: Arc<watch::Sender<u64>>,
}

impl std::fmt::Debug for PlatformClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformClock").field("now", &self.now()).finish()
    }
}

impl PlatformClock {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            moved: Arc::new(watch::channel(0).0),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Today's date in China (Asia/Shanghai, UTC+8, no daylight saving): legal deadlines count in it.
    pub fn today(&self) -> NaiveDate {
        china_date(self.now())
    }

    /// Moves the clock forward and wakes every task waiting in [`PlatformClock::moved`]. `false` when the clock
    /// cannot be moved (production) or `by` is negative.
    pub fn advance(&self, by: Duration) -> bool {
        if by < Duration::zero() || !self.clock.advance(by) {
            return false;
        }
        self.moved.send_modify(|n| *n += 1);
        true
    }

    /// A receiver that changes each time the clock is moved (periodic tasks select on it beside their interval).
    pub fn moved(&self) -> watch::Receiver<u64> {
        self.moved.subscribe()
    }
}

/// The clock the settings ask for: the system clock, or in development mode one that can be shifted
/// (`clock.offset`, `clock.start`, and later the admin port). A shifted clock without `auth.dev_mode` stops
/// start-up, naming the key.
pub fn configured(settings: &ClockSettings, dev_mode: bool) -> anyhow::Result<Arc<dyn Clock>> {
    let offset = settings.offset.as_deref().filter(|v| !v.trim().is_empty());
    let start = settings.start.as_deref().filter(|v| !v.trim().is_empty());
    let key = match (offset, start) {
        // A development run may still be moved later through the admin port.
        (None, None) if dev_mode => return Ok(Arc::new(ShiftedClock::default())),
        (None, None) => return Ok(Arc::new(SystemClock)),
        (Some(_), Some(_)) => anyhow::bail!("set clock.offset or clock.start, not both"),
        (Some(_), None) => "clock.offset",
        (None, Some(_)) => "clock.start",
    };
    if !dev_mode {
        anyhow::bail!("{key} is accepted only with auth.dev_mode on (a shifted clock is for development)");
    }
    let clock =
        match (offset, start) {
            (Some(text), _) => ShiftedClock::new(parse_offset(text).ok_or_else(|| {
                anyhow::anyhow!("clock.offset `{text}` is not a duration such as 15d or 36h")
            })?),
            (_, Some(text)) => ShiftedClock::starting_at(
                DateTime::parse_from_rfc3339(text.trim())
                    .map_err(|e| anyhow::anyhow!("clock.start `{text}` is not an RFC 3339 instant: {e}"))?
                    .to_utc(),
            ),
            (None, None) => ShiftedClock::default(),
        };
    tracing::warn!(now = %clock.now(), "development clock: time is shifted");
    Ok(Arc::new(clock))
}

/// The date in China of an instant.
pub fn china_date(t: DateTime<Utc>) -> NaiveDate {
    (t + Duration::hours(8)).date_naive()
}

/// Parses a development clock offset such as `15d`, `36h`, `90m` or `45s` (whole units, not negative).
pub fn parse_offset(text: &str) -> Option<Duration> {
    let text = text.trim();
    let unit = text.chars().last()?;
    let amount: i64 = text[..text.len() - unit.len_utf8()].parse().ok()?;
    if amount < 0 {
        return None;
    }
    match unit {
        'd' => Duration::try_days(amount),
        'h' => Duration::try_hours(amount),
        'm' => Duration::try_minutes(amount),
        's' => Duration::try_seconds(amount),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_signals_it() {
        let day = NaiveDate::from_ymd_opt(2026, 2, 13).unwrap_or_default();
        let clock = PlatformClock::new(Arc::new(ManualClock::on(day)));
        let moved = clock.moved();
        assert_eq!(clock.today(), day);
        assert!(clock.advance(Duration::days(3)));
        assert_eq!(
            clock.today(),
            NaiveDate::from_ymd_opt(2026, 2, 16).unwrap_or_default()
        );
        assert!(moved.has_changed().unwrap_or(false));
        assert!(!clock.advance(Duration::days(-1)));
    }

    #[test]
    fn the_system_clock_cannot_be_moved() {
        let clock = PlatformClock::new(Arc::new(SystemClock));
        assert!(!clock.advance(Duration::days(1)));
    }

    #[test]
    fn the_china_date_turns_at_16_00_utc() {
        let before = DateTime::parse_from_rfc3339("2026-12-31T15:59:59Z").map(|t| t.to_utc());
        let after = DateTime::parse_from_rfc3339("2026-12-31T16:00:00Z").map(|t| t.to_utc());
        assert_eq!(before.map(china_date).ok(), NaiveDate::from_ymd_opt(2026, 12, 31));
        assert_eq!(after.map(china_date).ok(), NaiveDate::from_ymd_opt(2027, 1, 1));
    }

    #[test]
    fn a_shifted_clock_is_refused_outside_development_mode() {
        let shifted = ClockSettings {
            offset: Some("15d".into()),
            start: None,
        };
        let err = configured(&shifted, false)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("clock.offset"), "{err}");
        let clock = configured(&shifted, true).map(PlatformClock::new);
        let ahead = clock.map(|c| c.now() - Utc::now()).unwrap_or_default();
        assert!(ahead >= Duration::days(15) - Duration::minutes(1), "{ahead}");
        let start = ClockSettings {
            offset: None,
            start: Some("2027-01-04T01:00:00Z".into()),
        };
        let err = configured(&start, false)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("clock.start"), "{err}");
        let day = configured(&start, true).map(|c| china_date(c.now())).ok();
        assert_eq!(day, NaiveDate::from_ymd_opt(2027, 1, 4));
    }

    #[test]
    fn offsets_are_whole_units() {
        assert_eq!(parse_offset("15d"), Some(Duration::days(15)));
        assert_eq!(parse_offset("36h"), Some(Duration::hours(36)));
        assert_eq!(parse_offset("-1d"), None);
        assert_eq!(parse_offset("1w"), None);
        assert_eq!(parse_offset(""), None);
    }
}
