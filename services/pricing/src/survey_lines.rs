//! The lines of a cost survey (成本调查): checking each claim, disallowance, free-product share and subsidy, and
//! computing each line's allowed amount and the survey's totals (the operating cost C of N1 §三(一)).

use chrono::Months;
use pdop_kit::Violations;
use pdop_kit::convert::optional_date;
use pdop_proto::common::Money;
use pdop_proto::pricing::v1::{
    CostCategory, CostCategoryTotal, CostExclusionReason, CostSurvey, CostSurveyKind, CostSurveyTotals,
};
use pdop_rules::Cny;
use rust_decimal::Decimal;
use tonic::Status;

use crate::context::{Ctx, Handling};
use crate::decimals;
use crate::formula::{CostLine, cost_totals};

fn cny(d: Decimal) -> Option<Money> {
    Some(Money {
        amount: d.to_string(),
        currency: "CNY".to_owned(),
    })
}

/// Checks the survey's own fields and lines; returns the parsed lines.
pub fn validate(s: &CostSurvey, v: &mut Violations) -> Vec<CostLine> {
    if CostSurveyKind::try_from(s.kind).unwrap_or_default() == CostSurveyKind::Unspecified {
        v.add("cost_survey.kind", "must be INVESTIGATION or AUDIT");
    }
    if !(2000..=9999).contains(&s.survey_year) {
        v.add(
            "cost_survey.survey_year",
            "must be the year the survey is conducted",
        );
    }
    let period = s.surveyed_period.unwrap_or_default();
    let start = optional_date(period.start_date.as_ref()).ok().flatten();
    let end = optional_date(period.end_date.as_ref()).ok().flatten();
    let full_year = match (start, end) {
        (Some(start), Some(end)) => {
            start
                .checked_add_months(Months::new(12))
                .and_then(|d| d.pred_opt())
                <= Some(end)
        }
        _ => false,
    };
    if !full_year {
        v.add(
            "cost_survey.surveyed_period",
            "must cover at least one full operating year (完整年度运营情况, N1 §二)",
        );
    }
    if !s.surveyor.is_empty() && pdop_kit::names::parse(&s.surveyor, "organizations").is_none() {
        v.add("cost_survey.surveyor", pdop_kit::names::expected("organizations"));
    }
    let mut lines = Vec::with_capacity(s.line_items.len());
    for (i, item) in s.line_items.iter().enumerate() {
        let field = |name: &str| format!("cost_survey.line_items[{i}].{name}");
        let valid_id = !item.line_id.is_empty()
            && item.line_id.len() <= 32
            && item
                .line_id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid_id {
            v.add(
                field("line_id"),
                "must be 1 to 32 lower-case letters, digits or hyphens",
            );
        } else if s.line_items[..i]
            .iter()
            .any(|other| other.line_id == item.line_id)
        {
            v.add(field("line_id"), "is used twice");
        }
        let category = CostCategory::try_from(item.category).unwrap_or_default();
        if category == CostCategory::Unspecified {
            v.add(field("category"), "is not a known cost category");
        }
        // A missing or malformed claim is a violation; the line is still read for its other faults.
        let claimed =
            decimals::money(item.claimed_amount.as_ref(), &field("claimed_amount"), v).unwrap_or_default();
        // N1 §三(一): C is the claim less disallowances, free-use shares and subsidies; a line giving none
        // deducts nothing.
        let disallowed =
            decimals::optional_money(item.disallowed_amount.as_ref(), &field("disallowed_amount"), v)
                .unwrap_or(Cny::ZERO);
        let free_use = decimals::optional_money(item.free_use_amount.as_ref(), &field("free_use_amount"), v)
            .unwrap_or(Cny::ZERO);
        let subsidy = decimals::optional_money(item.subsidy_amount.as_ref(), &field("subsidy_amount"), v)
            .unwrap_or(Cny::ZERO);
        if disallowed > Cny::ZERO
            && CostExclusionReason::try_from(item.disallowance_reason).unwrap_or_default()
                == CostExclusionReason::Unspecified
        {
            v.add(field("disallowance_reason"), "a disallowance needs its reason");
        }
        if free_use > Cny::ZERO && item.allocation_basis.trim().is_empty() {
            v.add(
                field("allocation_basis"),
                "an allocation to free products needs its key",
            );
        }
        if subsidy > Cny::ZERO && item.subsidy_document.as_ref().is_none_or(|d| d.uri.is_empty()) {
            v.add(field("subsidy_document"), "a subsidy needs its grant document");
        }
        lines.push(CostLine {
            category,
            claimed: claimed.as_decimal(),
            disallowed: disallowed.as_decimal(),
            free_use: free_use.as_decimal(),
            subsidy: subsidy.as_decimal(),
        });
    }
    lines
}

/// Fills the computed amounts: each line's allowed amount and the totals.
pub fn compute(ctx: &Ctx, s: &mut CostSurvey, lines: &[CostLine]) -> Result<(), Status> {
    let totals = cost_totals(lines).map_err(|e| {
        let mut v = Violations::new();
        v.add(e.field, e.message);
        ctx.errors().invalid(&v)
    })?;
    for (item, allowed) in s.line_items.iter_mut().zip(&totals.allowed) {
        item.allowed_amount = cny(*allowed);
    }
    s.totals = Some(CostSurveyTotals {
        claimed: cny(totals.claimed),
        disallowed: cny(totals.disallowed),
        free_use: cny(totals.free_use),
        subsidy: cny(totals.subsidy),
        operating_cost: cny(totals.operating_cost),
        by_category: totals
            .by_category
            .iter()
            .map(|(category, claimed, allowed)| CostCategoryTotal {
                category: *category as i32,
                claimed: cny(*claimed),
                allowed: cny(*allowed),
            })
            .collect(),
    });
    Ok(())
}
