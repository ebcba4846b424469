//! The working-day calendar (工作日) and deadline arithmetic.
//!
//! Counting conventions (DOMAIN §10; the Civil Code reading is an inference, see there):
//!
//! - A working day is a Monday to Friday that is not a statutory holiday, or a make-up working
//!   weekend day (调休上班) listed in the calendar.
//! - "Within N working days" ends on the Nth working day after the trigger day; the trigger day
//!   itself is not counted.
//! - Calendar-day, month and year periods start the next day (《民法典》 Art.201). A month or year
//!   period ends on the corresponding day of the last month, or on that month's last day when it has
//!   no such day (Jan 31 + 1M = Feb 28/29). If the last day is not a working day, the period ends on
//!   the next working day (Art.203).
//! - Dates outside the loaded years are judged on weekdays alone, and every deadline that depends
//!   on such a date is flagged [`Deadline::provisional`]. Deadlines are never refused: the
//!   architecture chose to compute, mark, and recompute once the calendar is extended.
//!
//! Window openings ("60 days before expiry", "3 months before expiry") are not deadlines and are
//! not moved to a working day; see [`Calendar::opens_before`], [`days_before`] and [`months_before`].

mod load;
mod period;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

pub use self::load::CalendarError;
use self::load::is_weekend;
pub use self::period::{ParsePeriodError, Period};

/// The State Council holiday calendar shipped with the crate (2025 and 2026, DOMAIN §10).
const BUILTIN_CALENDAR: &str = include_str!("../../data/holidays_cn.json");

/// The day on which a period ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Deadline {
    /// The last day of the period (Asia/Shanghai calendar date).
    pub due: NaiveDate,
    /// Whether the computation used a day outside the loaded calendar years. Such a deadline may
    /// move once the State Council publishes that year's holidays, so callers recompute it when
    /// the calendar is extended.
    pub provisional: bool,
}

impl fmt::Display for Deadline {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.provisional {
            write!(formatter, "{} (provisional)", self.due)
        } else {
            write!(formatter, "{}", self.due)
        }
    }
}

/// Holidays and make-up workdays for a set of years, with the deadline arithmetic built on them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    years: BTreeSet<i32>,
    holidays: BTreeSet<NaiveDate>,
    workdays: BTreeSet<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Forward,
    Backward,
}

// === impl Calendar ===

impl Calendar {
    /// Returns the calendar embedded in the crate (`data/holidays_cn.json`).
    pub fn builtin() -> Self {
        // The embedded file is fixed at compile time and `builtin_calendar_loads` checks it, so a
        // failure here is a build defect rather than a runtime condition.
        Self::from_json_str(BUILTIN_CALENDAR).expect("the embedded holiday calendar is valid")
    }

    /// Parses and validates calendar JSON of the shape
    /// `{"YYYY": {"holidays": ["YYYY-MM-DD", ...], "workdays": [...]}}`.
    pub fn from_json_str(json: &str) -> Result<Self, CalendarError> {
        let data = load::parse(json)?;
        Ok(Self {
            years: data.years,
            holidays: data.holidays,
            workdays: data.workdays,
        })
    }

    /// Reads, parses and validates a calendar file, so operators can extend the calendar without
    /// a release.
    /// The calendar of `file` when one is configured, else the built-in one.
    pub fn configured(file: Option<&Path>) -> Result<Self, CalendarError> {
        file.map_or_else(|| Ok(Self::builtin()), Self::from_path)
    }

    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, CalendarError> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path).map_err(|source| CalendarError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json_str(&json).map_err(|error| CalendarError::InFile {
            path: path.to_owned(),
            error: Box::new(error),
        })
    }

    /// Returns the loaded years in ascending order.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    /// Returns the last loaded year, if any.
    pub fn last_year(&self) -> Option<i32> {
        self.years.last().copied()
    }

    /// Returns whether the calendar holds the holidays of `date`'s year.
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.years.contains(&date.year())
    }

    /// Returns whether `date` is a working day: a listed make-up workday, or a Monday to Friday
    /// that is not a listed holiday. Outside the loaded years this is the weekday rule alone.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.workdays.contains(&date) {
            return true;
        }
        !is_weekend(date) && !self.holidays.contains(&date)
    }

    /// Returns `date` if it is a working day, otherwise the next working day after it.
    pub fn working_day_on_or_after(&self, date: NaiveDate) -> Deadline {
        let mut cursor = date;
        let mut provisional = !self.covers(cursor);
        while !self.is_working_day(cursor) {
            let Some(next) = cursor.succ_opt() else {
                return Deadline::saturated(Direction::Forward);
            };
            cursor = next;
            provisional |= !self.covers(cursor);
        }
        Deadline {
            due: cursor,
            provisional,
        }
    }

    /// Returns the `count`th working day after `start` ("N 个工作日内"); `start` itself is not
    /// counted, and a count of zero returns `start` unchanged.
    pub fn add_working_days(&self, start: NaiveDate, count: u32) -> Deadline {
        self.step_working_days(start, count, Direction::Forward)
    }

    /// Returns the end of a period of `count` calendar days starting the day after `start`,
    /// moved to the next working day if it ends on a day off.
    pub fn add_calendar_days(&self, start: NaiveDate, count: u32) -> Deadline {
        match start.checked_add_days(Days::new(u64::from(count))) {
            Some(last_day) => self.working_day_on_or_after(last_day),
            None => Deadline::saturated(Direction::Forward),
        }
    }

    /// Returns the end of a period of `count` months starting the day after `start`: the same day
    /// of the month `count` months later, clamped to that month's last day, then moved to the next
    /// working day if it is a day off.
    pub fn add_months(&self, start: NaiveDate, count: u32) -> Deadline {
        match start.checked_add_months(Months::new(count)) {
            Some(last_day) => self.working_day_on_or_after(last_day),
            None => Deadline::saturated(Direction::Forward),
        }
    }

    /// Returns the end of a period of `count` years, computed as `12 × count` months.
    pub fn add_years(&self, start: NaiveDate, count: u32) -> Deadline {
        match count.checked_mul(12) {
            Some(months) => self.add_months(start, months),
            None => Deadline::saturated(Direction::Forward),
        }
    }

    /// Returns the deadline of `period` triggered on `start`.
    pub fn due_after(&self, start: NaiveDate, period: Period) -> Deadline {
        match period {
            Period::WorkingDays(count) => self.add_working_days(start, count),
            Period::CalendarDays(count) => self.add_calendar_days(start, count),
            Period::Months(count) => self.add_months(start, count),
            Period::Years(count) => self.add_years(start, count),
        }
    }

    /// Returns the day a window of `period` before `date` opens, e.g. the renewal window that
    /// opens 60 calendar days before expiry (N3 Art.15) or 3 months before it (S-LY §二(二)).
    ///
    /// An opening is not a deadline, so it is never moved to a working day. Calendar-day, month
    /// and year windows ignore the calendar and are never provisional; a working-day window opens
    /// on the `count`th working day before `date`.
    pub fn opens_before(&self, date: NaiveDate, period: Period) -> Deadline {
        let exact = |due| Deadline {
            due,
            provisional: false,
        };
        match period {
            Period::WorkingDays(count) => self.step_working_days(date, count, Direction::Backward),
            Period::CalendarDays(count) => exact(days_before(date, count)),
            Period::Months(count) => exact(months_before(date, count)),
            Period::Years(count) => exact(months_before(date, count.saturating_mul(12))),
        }
    }

    fn step_working_days(&self, start: NaiveDate, count: u32, direction: Direction) -> Deadline {
        let mut cursor = start;
        let mut remaining = count;
        let mut provisional = false;
        while remaining > 0 {
            if self.nothing_loaded_beyond(cursor, direction) {
                // Weekday arithmetic keeps very long periods O(1) once no listed day can interfere.
                return match step_weekdays(cursor, remaining, direction) {
                    Some(due) => Deadline {
                        due,
                        provisional: true,
                    },
                    None => Deadline::saturated(direction),
                };
            }
            let Some(next) = step_day(cursor, direction) else {
                return Deadline::saturated(direction);
            };
            cursor = next;
            provisional |= !self.covers(cursor);
            if self.is_working_day(cursor) {
                remaining -= 1;
            }
        }
        Deadline {
            due: cursor,
            provisional,
        }
    }

    /// Returns whether every day strictly beyond `cursor` in `direction` lies outside the loaded years.
    fn nothing_loaded_beyond(&self, cursor: NaiveDate, direction: Direction) -> bool {
        match direction {
            Direction::Forward => self
                .years
                .last()
                .and_then(|&year| NaiveDate::from_ymd_opt(year, 12, 31))
                .is_none_or(|last_day| cursor >= last_day),
            Direction::Backward => self
                .years
                .first()
                .and_then(|&year| NaiveDate::from_ymd_opt(year, 1, 1))
                .is_none_or(|first_day| cursor <= first_day),
        }
    }
}

// === impl Deadline ===

impl Deadline {
    /// Returns the deadline used when arithmetic leaves chrono's date range (about ±262,000
    /// years); such inputs come only from absurd periods, and refusing is not an option.
    fn saturated(direction: Direction) -> Self {
        let due = match direction {
            Direction::Forward => NaiveDate::MAX,
            Direction::Backward => NaiveDate::MIN,
        };
        Self {
            due,
            provisional: true,
        }
    }
}

/// Returns the day `count` calendar days before `date`, the opening of a window such as the
/// registration renewal window ("期满前60日内", N3 Art.15). Saturates at [`NaiveDate::MIN`].
pub fn days_before(date: NaiveDate, count: u32) -> NaiveDate {
    date.checked_sub_days(Days::new(u64::from(count)))
        .unwrap_or(NaiveDate::MIN)
}

/// Returns the day `count` months before `date`, clamped to the end of a shorter month (May 31
/// minus 3 months is Feb 28/29), the opening of a window such as Laiyuan's renewal application
/// ("期限届满前3个月内", S-LY §二(二)). Saturates at [`NaiveDate::MIN`].
pub fn months_before(date: NaiveDate, count: u32) -> NaiveDate {
    date.checked_sub_months(Months::new(count))
        .unwrap_or(NaiveDate::MIN)
}

fn step_day(date: NaiveDate, direction: Direction) -> Option<NaiveDate> {
    match direction {
        Direction::Forward => date.succ_opt(),
        Direction::Backward => date.pred_opt(),
    }
}

/// Returns the `count`th Monday-to-Friday day strictly beyond `start` in `direction`.
fn step_weekdays(start: NaiveDate, count: u32, direction: Direction) -> Option<NaiveDate> {
    let mut cursor = start;
    // A weekend start has the same weekdays beyond it as the adjacent weekday behind it, and
    // anchoring on a weekday makes every five weekdays exactly one week.
    let behind = match direction {
        Direction::Forward => Direction::Backward,
        Direction::Backward => Direction::Forward,
    };
    while is_weekend(cursor) {
        cursor = step_day(cursor, behind)?;
    }
    let whole_weeks = Days::new(u64::from(count / 5) * 7);
    cursor = match direction {
        Direction::Forward => cursor.checked_add_days(whole_weeks)?,
        Direction::Backward => cursor.checked_sub_days(whole_weeks)?,
    };
    for _ in 0..count % 5 {
        cursor = step_day(cursor, direction)?;
        while is_weekend(cursor) {
            cursor = step_day(cursor, direction)?;
        }
    }
    Some(cursor)
}
