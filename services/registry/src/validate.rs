//! Input checks shared by several resources: terms, dates that may not lie ahead, filings.

use chrono::NaiveDate;
use pdop_kit::Violations;
use pdop_proto::common::{Date, DateRange};

use crate::convert::optional_date;
use crate::names;

/// A set term needs both dates, valid, the end not before the start.
pub fn term(term: Option<&DateRange>, field: &str, v: &mut Violations) {
    let Some(term) = term else { return };
    let start = optional_date(term.start_date.as_ref());
    let end = optional_date(term.end_date.as_ref());
    match (start, end) {
        (Ok(Some(start)), Ok(Some(end))) if end < start => {
            v.add(format!("{field}.end_date"), "must not be before the start date");
        }
        (Ok(Some(_)), Ok(Some(_))) => {}
        (start, end) => {
            if !matches!(start, Ok(Some(_))) {
                v.add(format!("{field}.start_date"), "must be a valid date");
            }
            if !matches!(end, Ok(Some(_))) {
                v.add(format!("{field}.end_date"), "must be a valid date");
            }
        }
    }
}

pub use pdop_kit::convert::past_or_today;

/// A filing (备案) names the authority filed with and the date (default `today`, not after it).
pub fn filing(
    filed_with: &str,
    filing_date: Option<&Date>,
    today: NaiveDate,
    v: &mut Violations,
) -> NaiveDate {
    if names::parse(filed_with, "organizations").is_none() {
        v.add("filed_with", names::expected("organizations"));
    }
    past_or_today(filing_date, "filing_date", today, v)
}

/// A list of `<collection>/{id}` names: each well formed and listed once; when `required` is given, the list
/// may not be empty and that text says why.
pub fn name_list(list: &[String], collection: &str, field: &str, required: Option<&str>, v: &mut Violations) {
    if let (Some(why), true) = (required, list.is_empty()) {
        v.add(field, why);
    }
    for (i, name) in list.iter().enumerate() {
        if names::parse(name, collection).is_none() {
            v.add(format!("{field}[{i}]"), names::expected(collection));
        } else if list[..i].contains(name) {
            v.add(format!("{field}[{i}]"), "is listed twice");
        }
    }
}

/// A search text as a literal inside `ILIKE '%' || $n || '%'`: `%`, `_` and `\\` match only themselves.
pub fn like_literal(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}
