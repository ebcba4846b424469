//! PreviewMaxAllowedRevenue: the MAR computation for what-if inputs, nothing stored (the hot path: reads the
//! jurisdiction's profile and, when named, a bond yield; writes nothing).

use pdop_kit::Violations;
use pdop_proto::pricing::v1::calculation_input::{CostBasis, YieldBasis};
use pdop_proto::pricing::v1::{
    CalculationInput, PreviewMaxAllowedRevenueRequest, PreviewMaxAllowedRevenueResponse, TaxMethod,
    VatTreatment,
};
use pdop_rules::profiles::TaxModel;
use pdop_rules::{Cny, Period, Profile};
use rust_decimal::Decimal;
use std::str::FromStr;
use tonic::Status;

use crate::context::{Ctx, Handling};
use crate::formula::{self, InputError, MarInputs, Tax};
use crate::{bond_yields, decimals};

/// The profile's ceiling of the markup and of the pricing period (N1 §三(一), §四; D9).
pub struct Limits {
    pub markup_max: Decimal,
    pub markup_source: String,
    pub period_years_max: u32,
}

pub fn limits(profile: &Profile) -> Limits {
    let pricing = &profile.pricing;
    let (markup_max, markup_source) =
        pricing
            .markup_max
            .as_ref()
            .map_or((Decimal::ZERO, String::new()), |s| {
                (
                    Decimal::from_str(s.value.as_str()).unwrap_or_default(),
                    s.source.clone(),
                )
            });
    let period_years_max = match pricing.evaluation_cycle_max.as_ref().map(|s| s.value) {
        Some(Period::Years(n)) => n,
        Some(Period::Months(m)) => (m / 12).max(1),
        // No cycle stated: one year at a time.
        _ => 1,
    };
    Limits {
        markup_max,
        markup_source,
        period_years_max,
    }
}

/// The tax model of the input, with violations for missing parameters.
pub fn tax_of(input: &CalculationInput, v: &mut Violations) -> Tax {
    match TaxMethod::try_from(input.tax_method).unwrap_or_default() {
        TaxMethod::Unspecified => {
            v.add(
                "input.tax_method",
                "must be NONE, INCOME_TAX_GROSS_UP or ITEMIZED",
            );
            Tax::None
        }
        TaxMethod::None => Tax::None,
        TaxMethod::IncomeTaxGrossUp => Tax::IncomeTaxGrossUp {
            rate: decimals::rate(input.income_tax_rate.as_ref(), "input.income_tax_rate", v)
                .unwrap_or_default(),
        },
        TaxMethod::Itemized => Tax::Itemized(
            input
                .tax_items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let field = format!("input.tax_items[{i}].amount");
                    // A missing or malformed amount is a violation; the other items are still read.
                    let amount = decimals::money(item.amount.as_ref(), &field, v).unwrap_or_default();
                    (item.label.clone(), amount.as_decimal())
                })
                .collect(),
        ),
    }
}

/// A jurisdiction that fixes its tax model refuses a calculation using another one (INVALID_ARGUMENT on
/// `input.tax_method`).
pub fn check_tax_model(ctx: &Ctx, profile: &Profile, input: &CalculationInput) -> Result<(), Status> {
    let Some(fixed) = &profile.pricing.tax_model else {
        return Ok(());
    };
    let expected = match fixed.value {
        TaxModel::None => TaxMethod::None,
        TaxModel::IncomeTaxGrossUp => TaxMethod::IncomeTaxGrossUp,
        TaxModel::Itemized => TaxMethod::Itemized,
    };
    if input.tax_method == expected as i32 {
        return Ok(());
    }
    let mut v = Violations::new();
    v.add(
        "input.tax_method",
        format!(
            "{} computes taxes as {} ({})",
            profile.name,
            expected.as_str_name(),
            fixed.source
        ),
    );
    Err(ctx.errors().invalid(&v))
}

pub fn vat_of(input: &CalculationInput, v: &mut Violations) -> Option<Decimal> {
    match VatTreatment::try_from(input.vat_treatment).unwrap_or_default() {
        VatTreatment::Included => decimals::rate(input.vat_rate.as_ref(), "input.vat_rate", v),
        _ => None,
    }
}

fn invalid(ctx: &Ctx, err: InputError) -> Status {
    let mut v = Violations::new();
    v.add(err.field, err.message);
    ctx.errors().invalid(&v)
}

pub async fn preview(
    ctx: &Ctx,
    req: PreviewMaxAllowedRevenueRequest,
) -> Result<PreviewMaxAllowedRevenueResponse, Status> {
    let input = req.input.unwrap_or_default();
    if !input.pricing_case.is_empty() || matches!(input.cost_basis, Some(CostBasis::CostSurvey(_))) {
        return Err(ctx.errors().status(
            tonic::Code::Unimplemented,
            "NOT_IMPLEMENTED",
            "previews from a pricing case or cost survey arrive with pricing cases; give a what-if operating_cost \
             and a jurisdiction",
        ));
    }
    let mut v = Violations::new();
    if input.jurisdiction.is_empty() {
        v.add(
            "input.jurisdiction",
            "must name the jurisdiction whose rule profile applies",
        );
    }
    let cost = match &input.cost_basis {
        Some(CostBasis::OperatingCost(m)) => decimals::money(Some(m), "input.operating_cost", &mut v),
        _ => {
            v.add("input.operating_cost", "must give the operating cost C");
            None
        }
    };
    let what_if_yield = match &input.yield_basis {
        Some(YieldBasis::BondYieldValue(r)) => decimals::rate(Some(r), "input.bond_yield_value", &mut v),
        Some(YieldBasis::BondYield(_)) => None,
        None => {
            v.add(
                "input.bond_yield_value",
                "must give the yield Y or name a bond yield",
            );
            None
        }
    };
    let markup = decimals::rate(input.markup.as_ref(), "input.markup", &mut v);
    let tax = tax_of(&input, &mut v);
    let vat_rate = vat_of(&input, &mut v);
    // N1 §四: only a previous period's over-collection is deducted; none given, none deducted.
    let deduction = decimals::optional_money(
        input.prior_period_deduction.as_ref(),
        "input.prior_period_deduction",
        &mut v,
    )
    .unwrap_or(Cny::ZERO);
    v.into_result(ctx.errors())?;

    // A what-if yield needs only the jurisdiction's profile, bound lately or read without a transaction; a
    // named yield is read with the profile in one snapshot.
    let (profile, bond_yield, bond_yield_year, yield_origin) = match &input.yield_basis {
        Some(YieldBasis::BondYield(name)) => {
            let mut tx = ctx.begin().await?;
            let profile = ctx
                .profile_of(&mut *tx, &input.jurisdiction, "input.jurisdiction")
                .await?;
            check_tax_model(ctx, &profile, &input)?;
            let (value, year) = bond_yields::current(ctx, &mut tx, name, "input.bond_yield").await?;
            (profile, value, year, name.clone())
        }
        _ => {
            let profile = ctx
                .recent_profile_of(&input.jurisdiction, "input.jurisdiction")
                .await?;
            check_tax_model(ctx, &profile, &input)?;
            (profile, what_if_yield.unwrap_or_default(), 0, "input".to_owned())
        }
    };
    let limits = limits(&profile);
    let inputs = MarInputs {
        operating_cost: cost.unwrap_or_default().as_decimal(),
        cost_origin: "input".to_owned(),
        bond_yield,
        bond_yield_year,
        yield_origin,
        markup: markup.unwrap_or_default(),
        markup_max: limits.markup_max,
        markup_max_source: limits.markup_source,
        tax,
        vat_rate,
        period_years: u32::try_from(input.period_years).unwrap_or(0),
        period_years_max: limits.period_years_max,
        prior_deduction: deduction.as_decimal(),
        profile_id: profile.id.clone(),
    };
    let outcome = formula::compute_mar(&inputs).map_err(|e| invalid(ctx, e))?;
    Ok(PreviewMaxAllowedRevenueResponse {
        result: Some(outcome.result),
    })
}
