//! Conversions between stored values and protobuf values: timestamps, dates (in China's time zone),
//! cited deadlines, money and rates, and the caller as an event `Actor`.

use crate::auth::{Caller, Role as KitRole};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use pdop_proto::common::{Actor, AuditInfo, Date, Deadline, DeadlineUnit, Money, Role, SourceCitation};
use pdop_rules::money::Rate;
use pdop_rules::{CitedDeadline, Cny, MoneyError, Period};

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

/// A cited deadline as carried in messages.
pub fn deadline(d: &CitedDeadline) -> Deadline {
    let (duration, unit) = match d.period {
        Period::WorkingDays(n) => (n, DeadlineUnit::WorkingDays),
        Period::CalendarDays(n) => (n, DeadlineUnit::CalendarDays),
        Period::Months(n) => (n, DeadlineUnit::Months),
        Period::Years(n) => (n, DeadlineUnit::Years),
    };
    Deadline {
        start_date: Some(date(d.start)),
        duration: i32::try_from(duration).unwrap_or(i32::MAX),
        unit: unit as i32,
        due_date: Some(date(d.due)),
        provisional: d.provisional,
        source: Some(SourceCitation {
            rule_id: d.rule_id.clone(),
            source_id: d.source_id.clone(),
            ..Default::default()
        }),
        profile_id: d.profile_id.clone(),
    }
}

/// The due date of a deadline, if it has a valid one.
pub fn due_date(deadline: Option<&Deadline>) -> Option<NaiveDate> {
    deadline.and_then(|d| d.due_date.as_ref()).and_then(naive_date)
}

/// An amount of money; `None` when the message is absent, an error (never zero) when it is malformed,
/// out of bounds or not in CNY.
pub fn cny(m: Option<&Money>) -> Result<Option<Cny>, MoneyError> {
    m.map(|m| Cny::parse(&m.amount, &m.currency)).transpose()
}

/// An amount as carried in messages, always labelled CNY.
pub fn money(c: Cny) -> Money {
    Money {
        amount: c.to_string(),
        currency: "CNY".to_owned(),
    }
}

/// A rate; `None` when the message is absent, an error when it is malformed or out of bounds.
pub fn rate(r: Option<&pdop_proto::common::Rate>) -> Result<Option<Rate>, MoneyError> {
    r.map(|r| Rate::parse(&r.value)).transpose()
}

/// Today's date in China (Asia/Shanghai, UTC+8, no daylight saving) by the wall clock, for tools and tests.
/// A service reads the platform clock instead (`clock.today()`, `call.today()`), which tests and dev mode move.
pub fn today() -> NaiveDate {
    (Utc::now() + chrono::Duration::hours(8)).date_naive()
}

pub use crate::handling::etag;

/// Who did something and when (`now`, from the platform clock), with the current trace.
pub fn audit_info(caller: &Caller, now: DateTime<Utc>) -> AuditInfo {
    AuditInfo {
        actor: Some(actor(caller)),
        time: Some(timestamp(now)),
        trace_id: crate::propagation::current_trace_id().unwrap_or_default(),
        request_id: String::new(),
    }
}

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
        KitRole::IndustryRegulator => Role::IndustryRegulator,
    }
}

/// An optional date that defaults to `today` (the caller's clock) and may not lie after it (a fact being recorded).
pub fn past_or_today(
    d: Option<&Date>,
    field: &str,
    today: NaiveDate,
    v: &mut crate::Violations,
) -> NaiveDate {
    match optional_date(d) {
        Ok(Some(day)) if day > today => {
            v.add(field, "must not be in the future");
            day
        }
        Ok(Some(day)) => day,
        Ok(None) => today,
        Err(e) => {
            v.add(field, e);
            today
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_token_role_is_carried_as_the_proto_role_of_the_same_name() {
        // REVIEW-EVALUATION §1.1: industry_regulator is carried in events like every other role.
        for kit_role in KitRole::ALL {
            let expected = format!("ROLE_{}", kit_role.as_str().to_ascii_uppercase());
            assert_eq!(role(kit_role).as_str_name(), expected);
        }
    }

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

    #[test]
    fn a_cited_deadline_keeps_its_period_dates_and_citation() {
        let start = NaiveDate::from_ymd_opt(2026, 2, 10).unwrap();
        let due = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let d = deadline(&CitedDeadline {
            start,
            period: Period::WorkingDays(10),
            due,
            provisional: true,
            rule_id: "D16".into(),
            source_id: "S-LY §三(三)3".into(),
            profile_id: "laiyuan".into(),
        });
        assert_eq!((d.duration, d.unit), (10, DeadlineUnit::WorkingDays as i32));
        assert_eq!(d.start_date, Some(date(start)));
        assert_eq!(due_date(Some(&d)), Some(due));
        assert!(d.provisional);
        let source = d.source.unwrap();
        assert_eq!(
            (source.rule_id.as_str(), source.source_id.as_str()),
            ("D16", "S-LY §三(三)3")
        );
        assert_eq!(d.profile_id, "laiyuan");
        assert_eq!(due_date(None), None);
    }

    #[test]
    fn money_is_absent_valid_or_an_error_never_zero() {
        // THREATS L1: one conversion, and it fails loudly.
        let m = |amount: &str, currency: &str| Money {
            amount: amount.into(),
            currency: currency.into(),
        };
        assert_eq!(cny(None), Ok(None));
        let parsed = cny(Some(&m("8821333.00", ""))).unwrap().unwrap();
        assert_eq!(money(parsed), m("8821333.00", "CNY"));
        assert_eq!(cny(Some(&m("1e3", "CNY"))), Err(MoneyError::NotDecimal));
        assert_eq!(cny(Some(&m("", "CNY"))), Err(MoneyError::NotDecimal));
        assert_eq!(cny(Some(&m("1", "USD"))), Err(MoneyError::Currency));
        assert_eq!(
            cny(Some(&m("79228162514264337593543950335", ""))),
            Err(MoneyError::OutOfBounds)
        );
        let r = |value: &str| pdop_proto::common::Rate { value: value.into() };
        assert_eq!(rate(None), Ok(None));
        assert_eq!(rate(Some(&r("0.06"))).unwrap().unwrap().to_string(), "0.06");
        assert_eq!(rate(Some(&r("1000"))), Err(MoneyError::RateOutOfBounds));
    }
}
