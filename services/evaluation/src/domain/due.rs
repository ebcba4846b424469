//! Fixed due dates: a date an issuer sets, or an annual `MM-DD`. They are used as written, never moved to a
//! working day (REVIEW-EVALUATION §0), and are provisional past the loaded calendar (R-EV-10).

use chrono::NaiveDate;
use pdop_kit::convert::date;
use pdop_proto::common::{Deadline, DeadlineUnit, SourceCitation};
use pdop_rules::Calendar;

/// A FIXED_DATE deadline due on `due`, counted from `start`, citing `rule_id` and `source`.
pub fn fixed(
    calendar: &Calendar,
    profile_id: &str,
    rule_id: &str,
    source: &str,
    start: NaiveDate,
    due: NaiveDate,
) -> Deadline {
    Deadline {
        start_date: Some(date(start)),
        duration: 0,
        unit: DeadlineUnit::FixedDate as i32,
        due_date: Some(date(due)),
        provisional: !calendar.covers(due),
        source: Some(SourceCitation {
            rule_id: rule_id.to_owned(),
            source_id: source.to_owned(),
            ..Default::default()
        }),
        profile_id: profile_id.to_owned(),
    }
}
