//! Parsing and validation of the holiday calendar file.
//!
//! The file has the shape `{"YYYY": {"holidays": ["YYYY-MM-DD", ...], "workdays": [...]}}`, where
//! `holidays` are the statutory days off of the State Council notice and `workdays` the make-up
//! working weekend days (调休上班). Mistakes in this file silently move legal deadlines, so the
//! loader refuses anything doubtful and names the offending entry.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;

/// The error returned when a holiday calendar cannot be read or fails validation.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// The file could not be read.
    #[error("cannot read holiday calendar {}: {source}", path.display())]
    Io {
        /// Path of the file.
        path: PathBuf,
        /// Underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file's content failed to parse or validate.
    #[error("holiday calendar {}: {error}", path.display())]
    InFile {
        /// Path of the file.
        path: PathBuf,
        /// What is wrong with its content.
        error: Box<CalendarError>,
    },
    /// The text is not JSON of the expected shape.
    #[error(
        "holiday calendar is not JSON of the shape {{\"YYYY\": {{\"holidays\": [...], \"workdays\": [...]}}}}: {0}"
    )]
    Json(#[source] serde_json::Error),
    /// A top-level key is not a four-digit year.
    #[error("year key {key:?} is not a four-digit year")]
    InvalidYear {
        /// The key as written.
        key: String,
    },
    /// An entry is not a `YYYY-MM-DD` date.
    #[error("{year}.{list}: {value:?} is not a date of the form YYYY-MM-DD")]
    InvalidDate {
        /// Year key the entry is listed under.
        year: i32,
        /// `holidays` or `workdays`.
        list: &'static str,
        /// The entry as written.
        value: String,
    },
    /// An entry is listed under another year's key.
    #[error("{year}.{list}: {date} does not belong to year {year}")]
    WrongYear {
        /// Year key the entry is listed under.
        year: i32,
        /// `holidays` or `workdays`.
        list: &'static str,
        /// The entry.
        date: NaiveDate,
    },
    /// An entry appears twice in the same list.
    #[error("{year}.{list}: {date} is listed twice")]
    Duplicate {
        /// Year key the entry is listed under.
        year: i32,
        /// `holidays` or `workdays`.
        list: &'static str,
        /// The entry.
        date: NaiveDate,
    },
    /// A date is listed both as a holiday and as a make-up workday.
    #[error("{year}: {date} is listed both under holidays and under workdays")]
    HolidayAndWorkday {
        /// Year key the entry is listed under.
        year: i32,
        /// The entry.
        date: NaiveDate,
    },
    /// A make-up workday falls on a weekday, which is a working day anyway.
    #[error("{year}.workdays: {date} is a {weekday}; make-up workdays (调休) fall on a Saturday or Sunday")]
    WorkdayNotOnWeekend {
        /// Year key the entry is listed under.
        year: i32,
        /// The entry.
        date: NaiveDate,
        /// Its day of the week.
        weekday: Weekday,
    },
}

/// The validated content of a calendar file.
pub(super) struct CalendarData {
    pub(super) years: BTreeSet<i32>,
    pub(super) holidays: BTreeSet<NaiveDate>,
    pub(super) workdays: BTreeSet<NaiveDate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YearEntry {
    #[serde(default)]
    holidays: Vec<String>,
    #[serde(default)]
    workdays: Vec<String>,
}

/// Parses and validates calendar JSON.
pub(super) fn parse(json: &str) -> Result<CalendarData, CalendarError> {
    let entries: BTreeMap<String, YearEntry> = serde_json::from_str(json).map_err(CalendarError::Json)?;
    let mut data = CalendarData {
        years: BTreeSet::new(),
        holidays: BTreeSet::new(),
        workdays: BTreeSet::new(),
    };
    for (key, entry) in entries {
        let year = parse_year(&key)?;
        let holidays = parse_dates(year, "holidays", &entry.holidays)?;
        let workdays = parse_dates(year, "workdays", &entry.workdays)?;
        if let Some(date) = holidays.intersection(&workdays).next() {
            return Err(CalendarError::HolidayAndWorkday { year, date: *date });
        }
        if let Some(date) = workdays.iter().find(|date| !is_weekend(**date)) {
            return Err(CalendarError::WorkdayNotOnWeekend {
                year,
                date: *date,
                weekday: date.weekday(),
            });
        }
        data.years.insert(year);
        data.holidays.extend(holidays);
        data.workdays.extend(workdays);
    }
    Ok(data)
}

pub(super) fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

fn parse_year(key: &str) -> Result<i32, CalendarError> {
    let invalid = || CalendarError::InvalidYear { key: key.to_owned() };
    if key.len() != 4 || !key.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(invalid());
    }
    key.parse().map_err(|_| invalid())
}

fn parse_dates(
    year: i32,
    list: &'static str,
    values: &[String],
) -> Result<BTreeSet<NaiveDate>, CalendarError> {
    let mut dates = BTreeSet::new();
    for value in values {
        let date = NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .ok()
            // chrono accepts unpadded fields such as "2025-1-1"; the file format promises padded ISO dates.
            .filter(|date| date.format("%Y-%m-%d").to_string() == *value)
            .ok_or_else(|| CalendarError::InvalidDate {
                year,
                list,
                value: value.clone(),
            })?;
        if date.year() != year {
            return Err(CalendarError::WrongYear { year, list, date });
        }
        if !dates.insert(date) {
            return Err(CalendarError::Duplicate { year, list, date });
        }
    }
    Ok(dates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(json: &str) -> String {
        match parse(json) {
            Ok(_) => panic!("expected {json} to be rejected"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn load_rejects_bad_entries_naming_them() {
        let cases = [
            (
                r#"{"25": {"holidays": []}}"#,
                r#"year key "25" is not a four-digit year"#,
            ),
            (
                r#"{"2025": {"holidays": ["2025-02-30"]}}"#,
                r#"2025.holidays: "2025-02-30" is not a date of the form YYYY-MM-DD"#,
            ),
            (
                r#"{"2025": {"holidays": ["2025-1-1"]}}"#,
                r#"2025.holidays: "2025-1-1" is not a date"#,
            ),
            (
                r#"{"2025": {"holidays": ["2026-01-01"]}}"#,
                "2025.holidays: 2026-01-01 does not belong to year 2025",
            ),
            (
                r#"{"2025": {"workdays": ["2025-01-26", "2025-01-26"]}}"#,
                "2025.workdays: 2025-01-26 is listed twice",
            ),
            (
                r#"{"2025": {"holidays": ["2025-01-26"], "workdays": ["2025-01-26"]}}"#,
                "2025: 2025-01-26 is listed both under holidays and under workdays",
            ),
            (
                r#"{"2025": {"workdays": ["2025-01-27"]}}"#,
                "2025.workdays: 2025-01-27 is a Mon; make-up workdays",
            ),
            (r#"{"2025": {"holiday": []}}"#, "unknown field `holiday`"),
            (r#"["2025-01-01"]"#, "is not JSON of the shape"),
        ];
        for (json, expected) in cases {
            let message = error_of(json);
            assert!(
                message.contains(expected),
                "{json}: got {message:?}, want {expected:?}"
            );
        }
    }

    #[test]
    fn load_accepts_a_year_without_lists() {
        let data = parse(r#"{"2030": {}}"#).expect("valid calendar");
        assert_eq!(data.years.into_iter().collect::<Vec<_>>(), [2030]);
        assert!(data.holidays.is_empty() && data.workdays.is_empty());
    }
}
