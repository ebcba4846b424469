//! Conversions between stored values and protobuf values: timestamps, dates (in China's time zone) and
//! the caller as an event `Actor`.

use crate::auth::{Caller, Role as KitRole};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use pdop_proto::common::{Actor, Date, Role};

pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

pub fn date(d: NaiveDate) -> Date {
    Date {
        year: d.year(),
        month: i32::try_from(d.month()).unwrap_or(0),
        day: i32::try_from(d.day()).unwrap_or(0),
    }
}

/// `None` for an unset date (all zero) and for one that does not exist.
pub fn naive_date(d: &Date) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(d.year, u32::try_from(d.month).ok()?, u32::try_from(d.day).ok()?)
}

/// Checks an optional date field: unset is fine, a set one must exist.
pub fn optional_date(d: Option<&Date>) -> Result<Option<NaiveDate>, &'static str> {
    match d {
        None => Ok(None),
        Some(d) if *d == Date::default() => Ok(None),
        Some(d) => naive_date(d).map(Some).ok_or("is not a valid calendar date"),
    }
}

/// Today's date in China (Asia/Shanghai, UTC+8, no daylight saving): legal deadlines count in it.
pub fn today() -> NaiveDate {
    (Utc::now() + chrono::Duration::hours(8)).date_naive()
}

pub use crate::handling::etag;

/// The caller as carried in events.
pub fn actor(caller: &Caller) -> Actor {
    Actor {
        subject: caller.subject.clone(),
        organization: caller.organization.clone(),
        roles: caller.roles.iter().map(|r| role(*r) as i32).collect(),
        jurisdiction: caller.jurisdiction.clone(),
    }
}

fn role(r: KitRole) -> Role {
    match r {
        KitRole::DataAuthority => Role::DataAuthority,
        KitRole::ImplementingAgency => Role::ImplementingAgency,
        KitRole::DataProvider => Role::DataProvider,
        KitRole::Operator => Role::Operator,
        KitRole::Developer => Role::Developer,
        KitRole::PricingAuthority => Role::PricingAuthority,
        KitRole::Evaluator => Role::Evaluator,
        KitRole::Auditor => Role::Auditor,
    }
}

/// An optional date that defaults to today and may not lie in the future (a fact being recorded).
pub fn past_or_today(d: Option<&Date>, field: &str, v: &mut crate::Violations) -> NaiveDate {
    match optional_date(d) {
        Ok(Some(day)) if day > today() => {
            v.add(field, "must not be in the future");
            day
        }
        Ok(Some(day)) => day,
        Ok(None) => today(),
        Err(e) => {
            v.add(field, e);
            today()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_invalid_dates_are_refused() {
        let d = NaiveDate::from_ymd_opt(2026, 2, 28).unwrap();
        assert_eq!(naive_date(&date(d)), Some(d));
        assert_eq!(
            optional_date(Some(&Date {
                year: 2026,
                month: 2,
                day: 30
            })),
            Err("is not a valid calendar date")
        );
        assert_eq!(optional_date(Some(&Date::default())), Ok(None));
        assert_eq!(optional_date(None), Ok(None));
    }
}
