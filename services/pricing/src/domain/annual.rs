//! Annual checks (年度校核, N1 §四): each year of the period the actual revenue is measured against the MAR.
//! |d| ≤ the profile's threshold (10%): the operator adjusts its specific prices; above it: the authorizing
//! entity adjusts the caps. The business report is due by 31 March of the next year (D10). The one transition
//! table of a check lives here.

use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use pdop_kit::Violations;
use pdop_kit::auth::Caller;
use pdop_kit::convert::{actor, date, naive_date, timestamp};
use pdop_kit::uow::{Call, Change};
use pdop_proto::common::{AuditInfo, Deadline, DeadlineUnit, DocumentRef, Money, Rate, SourceCitation};
use pdop_proto::pricing::events::v1 as ev;
use pdop_proto::pricing::v1::{AnnualCheck, AnnualCheckState, DeviationMode, PricingCase, PricingCaseState};
use pdop_rules::{Cny, Profile};
use rust_decimal::Decimal;

use super::case;
use super::error::{Error, ErrorReason, require_state};
use super::mask::Mask;
use crate::formula::check_deviation;

pub const COLLECTION: &str = "annualChecks";

/// The fields `UpdateAnnualCheck` may change (DRAFT only); the preview is computed again from them.
pub const MUTABLE: &[&str] = &[
    "actual_revenue",
    "product_revenues",
    "actual_cost",
    "actual_profit",
    "documents",
    "check_period",
];

pub fn state_of(a: &AnnualCheck) -> AnnualCheckState {
    AnnualCheckState::try_from(a.state).unwrap_or_default()
}

/// The authorizing entity or the operator of the case records the year (the operator supplies the figures).
pub fn may_record(caller: &Caller, case: &PricingCase) -> Result<(), Error> {
    if caller.organization == case.authorizing_entity || caller.organization == case.operator {
        return Ok(());
    }
    Err(Error::denied(
        ErrorReason::NotAParty,
        "the authorizing entity or the operator records the year",
    ))
}

/// Checks the figures of a check, adding a violation on `annual_check.<field>` for each fault; the actual
/// revenue when it reads.
pub fn check_figures(a: &AnnualCheck, v: &mut Violations) -> Option<Cny> {
    let actual = crate::decimals::money(a.actual_revenue.as_ref(), "annual_check.actual_revenue", v);
    let mut product_total = Cny::ZERO;
    for (i, p) in a.product_revenues.iter().enumerate() {
        let field = format!("annual_check.product_revenues[{i}].revenue");
        let Some(revenue) = crate::decimals::money(p.revenue.as_ref(), &field, v) else {
            continue;
        };
        match product_total.checked_add(revenue) {
            Ok(total) => product_total = total,
            Err(err) => v.add(field, format!("brings the products' total to a sum that {err}")),
        }
    }
    if !a.product_revenues.is_empty() && actual.is_some_and(|total| total.cents() != product_total.cents()) {
        v.add(
            "annual_check.product_revenues",
            format!("the products' revenues sum to {product_total}, not the actual revenue"),
        );
    }
    actual
}

fn period_years(case: &PricingCase) -> (i32, i32) {
    let year = |d: Option<&pdop_proto::common::Date>| d.map(|d| d.year).unwrap_or_default();
    let p = case.pricing_period.unwrap_or_default();
    (year(p.start_date.as_ref()), year(p.end_date.as_ref()))
}

/// Whether `caller` may open the check of `a.year` in `case`: a party, a case IN_EFFECT, a year of its period.
pub fn may_create(caller: &Caller, a: &AnnualCheck, case: &PricingCase) -> Result<(), Error> {
    may_record(caller, case)?;
    require_state(
        &case.name,
        case::state_of(case),
        &[PricingCaseState::InEffect],
        "an annual check",
    )?;
    let (first, last) = period_years(case);
    if !(first..=last).contains(&a.year) {
        return Err(Error::invalid(
            "annual_check.year",
            format!("must be a year of the pricing period ({first} to {last})"),
        ));
    }
    Ok(())
}

/// The deviation of `actual` from the case's MAR, measured with the profile's threshold (N1 §四).
fn preview(a: &mut AnnualCheck, case: &PricingCase, profile: &Profile, actual: Cny) -> Result<(), Error> {
    let threshold = profile
        .pricing
        .deviation_threshold
        .as_ref()
        .and_then(|s| Decimal::from_str(s.value.as_str()).ok())
        .unwrap_or(Decimal::new(10, 2));
    let mar = crate::decimals::stored_amount(
        case.max_allowed_revenue.as_ref(),
        &case.name,
        "max_allowed_revenue",
    )?
    .ok_or_else(|| {
        Error::refused(
            ErrorReason::NoMar,
            format!("{} has no approved maximum allowed revenue", case.name),
        )
    })?;
    let deviation = check_deviation(actual.as_decimal(), mar.as_decimal(), threshold)
        .map_err(|e| Error::refused(ErrorReason::NoMar, e.message))?;
    a.max_allowed_revenue = money(mar.cents().as_decimal());
    a.deviation = Some(Rate {
        value: deviation.reported.to_string(),
    });
    a.deviation_threshold = Some(Rate {
        value: threshold.to_string(),
    });
    a.deviation_mode = DeviationMode::TwoSided as i32;
    a.adjustment_level = deviation.level as i32;
    a.adjustment_direction = deviation.direction as i32;
    Ok(())
}

fn money(d: Decimal) -> Option<Money> {
    Some(Money {
        amount: d.to_string(),
        currency: "CNY".to_owned(),
    })
}

/// A new DRAFT check of `case` (checked with [`may_create`] first) with its deviation preview and report
/// deadline.
pub fn create(
    a: &mut AnnualCheck,
    case: &PricingCase,
    profile: &Profile,
    actual: Cny,
) -> Result<Change, Error> {
    preview(a, case, profile, actual)?;
    a.pricing_case = case.name.clone();
    a.state = AnnualCheckState::Draft as i32;
    // D10 (N1 §五): the business report of the year is due by 31 March of the next year.
    a.report_deadline = profile.pricing.annual_report_due.as_ref().and_then(|due| {
        let day = due.value.in_year(a.year + 1)?;
        Some(Deadline {
            start_date: NaiveDate::from_ymd_opt(a.year, 12, 31).map(date),
            duration: 0,
            unit: DeadlineUnit::FixedDate as i32,
            due_date: Some(date(day)),
            provisional: false,
            source: Some(SourceCitation {
                rule_id: "D10".to_owned(),
                source_id: due.source.clone(),
                ..Default::default()
            }),
            profile_id: profile.id.clone(),
        })
    });
    Ok(Change::new(&a.name, serde_json::json!({ "year": a.year })))
}

/// Whether the update request sets `path` (for an update without a mask).
pub fn populated(a: &AnnualCheck, path: &str) -> bool {
    match path {
        "actual_revenue" => a.actual_revenue.is_some(),
        "product_revenues" => !a.product_revenues.is_empty(),
        "actual_cost" => a.actual_cost.is_some(),
        "actual_profit" => a.actual_profit.is_some(),
        "documents" => !a.documents.is_empty(),
        "check_period" => a.check_period.is_some(),
        _ => false,
    }
}

/// Changes the masked figures of a DRAFT check (`UpdateAnnualCheck`) and computes its preview again.
pub fn update(
    a: &mut AnnualCheck,
    case: &PricingCase,
    caller: &Caller,
    from: AnnualCheck,
    mask: &Mask,
    profile: &Profile,
) -> Result<Change, Error> {
    may_record(caller, case)?;
    require_state(&a.name, state_of(a), &[AnnualCheckState::Draft], "an update")?;
    for path in mask.paths() {
        match path {
            "actual_revenue" => a.actual_revenue = from.actual_revenue.clone(),
            "product_revenues" => a.product_revenues = from.product_revenues.clone(),
            "actual_cost" => a.actual_cost = from.actual_cost.clone(),
            "actual_profit" => a.actual_profit = from.actual_profit.clone(),
            "documents" => a.documents = from.documents.clone(),
            "check_period" => a.check_period = from.check_period,
            other => {
                return Err(Error::Internal(anyhow::anyhow!(
                    "update_mask path {other} is listed as mutable but has no field"
                )));
            }
        }
    }
    let mut v = Violations::new();
    let actual = check_figures(a, &mut v);
    let (Some(actual), true) = (actual, v.is_empty()) else {
        return Err(Error::Invalid(v));
    };
    preview(a, case, profile, actual)?;
    let paths: Vec<&str> = mask.paths().collect();
    Ok(Change::new(&a.name, serde_json::json!({ "update_mask": paths })))
}

/// Completes a DRAFT check once its year has ended: the business report was sent on `report_date`
/// (经营情况报告, N1 §五), late after the D10 deadline.
pub fn complete(
    a: &mut AnnualCheck,
    case: &PricingCase,
    summary: ev::PricingCaseSummary,
    call: &Call,
    report: Option<DocumentRef>,
    report_date: NaiveDate,
    fee_adjustments: &str,
) -> Result<Change<ev::AnnualCheckCompleted>, Error> {
    if call.caller.organization != case.authorizing_entity {
        return Err(Error::denied(
            ErrorReason::NotTheAuthorizingEntity,
            "the authorizing entity completes the check and sends the report",
        ));
    }
    require_state(&a.name, state_of(a), &[AnnualCheckState::Draft], "completion")?;
    if call.today().year() <= a.year {
        return Err(Error::refused(
            ErrorReason::YearNotEnded,
            format!("{} has not ended; its figures are not final", a.year),
        ));
    }
    let due = a
        .report_deadline
        .as_ref()
        .and_then(|d| d.due_date.as_ref())
        .and_then(naive_date);
    a.report_late = due.is_some_and(|due| report_date > due);
    a.business_report = report;
    a.report_date = Some(date(report_date));
    a.fee_adjustments = fee_adjustments.trim().to_owned();
    a.state = AnnualCheckState::Completed as i32;
    a.completed = Some(AuditInfo {
        actor: Some(actor(&call.caller)),
        time: Some(timestamp(call.now)),
        ..Default::default()
    });
    let event = ev::AnnualCheckCompleted {
        name: a.name.clone(),
        pricing_case: Some(summary),
        year: a.year,
        actual_revenue: a.actual_revenue.clone(),
        max_allowed_revenue: a.max_allowed_revenue.clone(),
        deviation: a.deviation.clone(),
        deviation_threshold: a.deviation_threshold.clone(),
        deviation_mode: a.deviation_mode,
        adjustment_level: a.adjustment_level,
        adjustment_direction: a.adjustment_direction,
        report_date: a.report_date,
        report_late: a.report_late,
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(
        &a.name,
        serde_json::json!({ "level": a.adjustment_level, "late": a.report_late }),
    )
    .announce(event))
}

/// The report was late, or is overdue on `today` and not sent.
pub fn overdue_or_late(a: &AnnualCheck, today: NaiveDate) -> bool {
    let due = a
        .report_deadline
        .as_ref()
        .and_then(|d| d.due_date.as_ref())
        .and_then(naive_date);
    a.report_late || (a.state != AnnualCheckState::Completed as i32 && due.is_some_and(|due| today > due))
}

#[cfg(test)]
#[path = "annual_tests.rs"]
mod tests;
