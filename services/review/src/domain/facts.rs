//! Checks against what the registry announced (the read model): the agreement, the demanded resources, the
//! negative list (§2.1 R-RV-12, R-RV-14, R-RV-16, R-RV-19). Storage loads the facts; these functions decide.

use chrono::NaiveDate;
use pdop_kit::convert::naive_date;
use pdop_proto::common::{DataGrade, DateRange};
use pdop_proto::registry::events::v1::{AgreementSummary, ResourceSnapshot};
use pdop_proto::registry::v1::AgreementState;

use super::error::{Error, ErrorReason};

/// A demanded resource as the registry announced it, with its active negative-list entries.
#[derive(Debug, Clone, Default)]
pub struct Demanded {
    pub snapshot: ResourceSnapshot,
    /// Field keys on the negative list; `Some(empty)` lists the whole resource, `None` nothing.
    pub negative: Option<Vec<String>>,
}

pub fn agreement_state(a: &AgreementSummary) -> AgreementState {
    AgreementState::try_from(a.state).unwrap_or_default()
}

/// Nothing new happens under an agreement that is not ACTIVE; a SUSPENDED one says so (R-RV-14, S-HN Art.22,
/// S-ZZ Art.28).
pub fn agreement_open(a: &AgreementSummary) -> Result<(), Error> {
    match agreement_state(a) {
        AgreementState::Active => Ok(()),
        AgreementState::Suspended => Err(Error::refused(
            ErrorReason::AgreementSuspended,
            format!(
                "{} is suspended (暂停授权运营, S-HN Art.22); nothing new may happen under it",
                a.name
            ),
        )),
        other => Err(Error::refused(
            ErrorReason::AgreementNotActive,
            format!("{} is {other:?}; applications need an ACTIVE agreement", a.name),
        )),
    }
}

/// A demanded resource lies in the agreement's scope, is not negative-listed (S-YN Art.15) and is not CORE data
/// (inferred reading of N2 Art.5).
pub fn resource_usable(
    agreement: &AgreementSummary,
    r: &Demanded,
    field_keys: &[String],
) -> Result<(), Error> {
    let name = &r.snapshot.name;
    if !agreement.resources.iter().any(|a| &a.resource == name) {
        return Err(Error::refused(
            ErrorReason::OutOfScope,
            format!("{name} is not in the authorized scope of {}", agreement.name),
        ));
    }
    // A listing of some fields blocks only demands that reach them (all fields, or one of them).
    let blocked = r.negative.as_ref().filter(|listed| {
        listed.is_empty() || field_keys.is_empty() || field_keys.iter().any(|k| listed.contains(k))
    });
    if let Some(fields) = blocked {
        let what = if fields.is_empty() {
            "the whole resource".to_owned()
        } else {
            format!("fields {}", fields.join(", "))
        };
        return Err(Error::refused(
            ErrorReason::NegativeListed,
            format!("{name} is on the negative list ({what}, S-YN Art.15)"),
        ));
    }
    if r.snapshot.grade == DataGrade::Core as i32 {
        return Err(Error::refused(
            ErrorReason::CoreData,
            format!("{name} is CORE data, which is never authorized for operation (N2 Art.5)"),
        ));
    }
    Ok(())
}

/// What the requested fields of a resource hold (R-RV-19), from the registry's per-field flags: an empty key
/// list means every field. A key the resource does not have is a violation on `field`. A resource announced
/// without field flags is judged as a whole.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Holds {
    pub personal_info: bool,
    pub sensitive_personal_info: bool,
    pub trade_secret: bool,
}

pub fn holds(r: &ResourceSnapshot, field_keys: &[String], field: &str) -> Result<Holds, Error> {
    if r.fields.is_empty() {
        return Ok(Holds {
            personal_info: r.has_personal_info,
            sensitive_personal_info: r.has_sensitive_personal_info,
            trade_secret: false,
        });
    }
    let mut v = pdop_kit::Violations::new();
    for (i, key) in field_keys.iter().enumerate() {
        if !r.fields.iter().any(|f| &f.field_key == key) {
            v.add(
                format!("{field}[{i}]"),
                format!("{} has no field `{key}`", r.name),
            );
        }
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    let chosen = r
        .fields
        .iter()
        .filter(|f| field_keys.is_empty() || field_keys.contains(&f.field_key));
    Ok(chosen.fold(Holds::default(), |h, f| Holds {
        personal_info: h.personal_info || f.personal_info,
        sensitive_personal_info: h.sensitive_personal_info || f.sensitive_personal_info,
        trade_secret: h.trade_secret || f.trade_secret,
    }))
}

fn bounds(range: Option<&DateRange>) -> (Option<NaiveDate>, Option<NaiveDate>) {
    range.map_or((None, None), |r| {
        (
            r.start_date.as_ref().and_then(naive_date),
            r.end_date.as_ref().and_then(naive_date),
        )
    })
}

/// A planned or use period lies inside the agreement's term (inferred).
pub fn period_inside_term(
    period: Option<&DateRange>,
    agreement: &AgreementSummary,
    field: &str,
) -> Result<(), Error> {
    let (start, end) = bounds(period);
    let (term_start, term_end) = bounds(agreement.term.as_ref());
    let before = matches!((start, term_start), (Some(s), Some(t)) if s < t);
    let after = matches!((end, term_end), (Some(e), Some(t)) if e > t);
    if before || after {
        return Err(Error::refused(
            ErrorReason::PeriodOutsideTerm,
            format!("{field} must lie inside the term of {}", agreement.name),
        ));
    }
    Ok(())
}
