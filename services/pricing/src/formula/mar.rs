//! Maximum allowed revenue (最高准许收入, N1 §三(一)): MAR = C + P + T (+ V) − D / n, with P = C × (Y + m).

use pdop_proto::common::Rate;
use pdop_proto::pricing::v1::{CalculationResult, RoundingMode};
use pdop_rules::Cny;
use pdop_rules::money::Rate as MoneyRate;
use rust_decimal::Decimal;

use super::steps::{Steps, cite, figure, money, rate};
use super::{InputError, checked};

/// Version of this formula implementation; stored with every calculation so a later change of formula
/// never alters the figures of an old one.
pub const FORMULA_VERSION: &str = "n1-2025-65/v1";

/// How the tax item T is computed (N1: "税金按照国家现行相关规定执行"; no formula given).
#[derive(Debug, Clone, PartialEq)]
pub enum Tax {
    /// T = 0.
    None,
    /// Corporate income tax grossed up on P: T = P × t / (1 − t), with 0 ≤ t < 1.
    IncomeTaxGrossUp { rate: Decimal },
    /// T = the sum of entered amounts (label, amount).
    Itemized(Vec<(String, Decimal)>),
}

/// The inputs of one MAR computation.
#[derive(Debug, Clone, PartialEq)]
pub struct MarInputs {
    /// C: operating cost for chargeable products, net of subsidies (经营成本).
    pub operating_cost: Decimal,
    /// Where C comes from (`costSurveys/{…}` or "input").
    pub cost_origin: String,
    /// Y: average 10-year government bond yield of the year before the cost survey.
    pub bond_yield: Decimal,
    /// The year of Y; 0 for a what-if yield.
    pub bond_yield_year: i32,
    /// Where Y comes from (`bondYields/{…}` or "input").
    pub yield_origin: String,
    /// m: the markup fixed by the pricing authority.
    pub markup: Decimal,
    /// The profile's ceiling of m, with its source (national 0.06, "加不超过6个百分点").
    pub markup_max: Decimal,
    pub markup_max_source: String,
    pub tax: Tax,
    /// VAT rate when VAT is inside the MAR; `None` when excluded.
    pub vat_rate: Option<Decimal>,
    /// n: pricing period in years, 1 to the profile's evaluation-cycle maximum.
    pub period_years: u32,
    /// The longest period the profile allows (D9: 3 years nationally).
    pub period_years_max: u32,
    /// D: over-collection of the previous period deducted from this one.
    pub prior_deduction: Decimal,
    pub profile_id: String,
}

/// The figures of a computation and their derivation.
#[derive(Debug, Clone, PartialEq)]
pub struct MarOutcome {
    pub allowed_profit_rate: Decimal,
    pub allowed_profit: Decimal,
    pub taxes: Decimal,
    pub vat: Decimal,
    pub gross_annual_revenue: Decimal,
    pub annual_deduction: Decimal,
    pub max_allowed_revenue: Decimal,
    pub period_allowed_revenue: Decimal,
    /// The full result, as stored and returned.
    pub result: CalculationResult,
}

/// Checks the inputs; the first fault found is returned, naming its field.
fn validate(i: &MarInputs) -> Result<(), InputError> {
    if i.operating_cost < Decimal::ZERO {
        return Err(InputError::new("input.operating_cost", "must not be negative"));
    }
    if i.bond_yield < Decimal::ZERO {
        return Err(InputError::new("input.bond_yield_value", "must not be negative"));
    }
    // THREATS L1: rates are bounded, so a bounded amount times a rate never overflows.
    for (field, value) in [
        ("input.bond_yield_value", i.bond_yield),
        ("input.markup", i.markup),
    ] {
        MoneyRate::new(value).map_err(InputError::money(field))?;
    }
    if i.markup < Decimal::ZERO || i.markup > i.markup_max {
        return Err(InputError::new(
            "input.markup",
            format!(
                "must be between 0 and {} ({}: 加不超过6个百分点 is a ceiling)",
                i.markup_max, i.markup_max_source
            ),
        ));
    }
    match &i.tax {
        Tax::IncomeTaxGrossUp { rate } if *rate < Decimal::ZERO || *rate >= Decimal::ONE => {
            return Err(InputError::new(
                "input.income_tax_rate",
                "must be at least 0 and below 1",
            ));
        }
        Tax::Itemized(items) if items.iter().any(|(_, amount)| *amount < Decimal::ZERO) => {
            return Err(InputError::new("input.tax_items", "amounts must not be negative"));
        }
        _ => {}
    }
    if i.vat_rate.is_some_and(|r| r < Decimal::ZERO || r >= Decimal::ONE) {
        return Err(InputError::new(
            "input.vat_rate",
            "must be at least 0 and below 1",
        ));
    }
    if i.period_years == 0 || i.period_years > i.period_years_max {
        return Err(InputError::new(
            "input.period_years",
            format!(
                "must be 1 to {} years (D9, N1 §四: 评估周期原则上不超过3年)",
                i.period_years_max
            ),
        ));
    }
    if i.prior_deduction < Decimal::ZERO {
        return Err(InputError::new(
            "input.prior_period_deduction",
            "must not be negative",
        ));
    }
    Ok(())
}

/// The figures of the formula, each money figure within the bound (THREATS L1).
struct Figures {
    r: Decimal,
    c: Decimal,
    p: Decimal,
    t: Decimal,
    v: Decimal,
    gross: Decimal,
    d: Decimal,
    annual_deduction: Decimal,
    mar: Decimal,
    period: Decimal,
}

/// The arithmetic of MAR on validated inputs, checked: a figure leaving the money bound names the input
/// that drove it.
fn figures(i: &MarInputs) -> Result<Figures, InputError> {
    let amount = |value: Decimal, field: &str| Cny::new(value).map_err(InputError::money(field));
    let n = Decimal::from(i.period_years);
    let c = amount(i.operating_cost, "input.operating_cost")?.cents();
    let r = checked(i.bond_yield.checked_add(i.markup), "input.markup")?;
    let p = c
        .times(r)
        .map_err(InputError::money("input.operating_cost"))?
        .cents();
    let t = match &i.tax {
        Tax::None => Cny::ZERO,
        Tax::IncomeTaxGrossUp { rate } => {
            let field = "input.income_tax_rate";
            let kept = checked(Decimal::ONE.checked_sub(*rate), field)?;
            p.times(*rate)
                .and_then(|taxed| taxed.checked_div(kept))
                .map_err(InputError::money(field))?
                .cents()
        }
        Tax::Itemized(items) => {
            let field = "input.tax_items";
            let amounts = items
                .iter()
                .map(|(_, value)| amount(*value, field))
                .collect::<Result<Vec<_>, _>>()?;
            Cny::sum(amounts).map_err(InputError::money(field))?.cents()
        }
    };
    let before_vat = Cny::sum([c, p, t]).map_err(InputError::money("input.operating_cost"))?;
    let v = match i.vat_rate {
        Some(rate) => before_vat
            .times(rate)
            .map_err(InputError::money("input.vat_rate"))?
            .cents(),
        None => Cny::ZERO,
    };
    let gross = before_vat
        .checked_add(v)
        .map_err(InputError::money("input.vat_rate"))?;
    let deduction = "input.prior_period_deduction";
    let d = amount(i.prior_deduction, deduction)?.cents();
    let annual_deduction = d
        .checked_div(n)
        .map_err(InputError::money("input.period_years"))?
        .cents();
    let mar = gross
        .checked_sub(annual_deduction)
        .map_err(InputError::money(deduction))?;
    let period = gross
        .times(n)
        .map_err(InputError::money("input.period_years"))?
        .checked_sub(d)
        .map_err(InputError::money(deduction))?;
    Ok(Figures {
        r,
        c: c.as_decimal(),
        p: p.as_decimal(),
        t: t.as_decimal(),
        v: v.as_decimal(),
        gross: gross.as_decimal(),
        d: d.as_decimal(),
        annual_deduction: annual_deduction.as_decimal(),
        mar: mar.as_decimal(),
        period: period.as_decimal(),
    })
}

pub fn compute_mar(i: &MarInputs) -> Result<MarOutcome, InputError> {
    validate(i)?;
    let Figures {
        r,
        c,
        p,
        t,
        v,
        gross,
        d,
        annual_deduction,
        mar,
        period,
    } = figures(i)?;
    if mar < Decimal::ZERO {
        return Err(InputError::new(
            "input.prior_period_deduction",
            format!("the deduction's annual share {annual_deduction} exceeds the annual revenue {gross}"),
        ));
    }
    let mut steps = Steps::default();
    steps.push(
        ("operating_cost", "经营成本 C", "C = 成本调查核定的经营成本"),
        format!("C = {c}"),
        vec![figure("operating_cost", "C", money(c), &i.cost_origin)],
        figure("operating_cost", "C", money(c), "step:operating_cost"),
        Some(RoundingMode::HalfUp),
        cite("N1", "§三(一)", "经营成本…扣除政府补助后的合理费用支出"),
    );
    steps.push(
        (
            "bond_yield",
            "10年期国债平均收益率 Y",
            "Y = 成本调查前一年10年期国债平均收益率",
        ),
        if i.bond_yield_year > 0 {
            format!("Y({}) = {}", i.bond_yield_year, i.bond_yield)
        } else {
            format!("Y = {}", i.bond_yield)
        },
        vec![figure("bond_yield", "Y", rate(i.bond_yield), &i.yield_origin)],
        figure("bond_yield", "Y", rate(i.bond_yield), "step:bond_yield"),
        None,
        cite("N1", "§三(一)", "成本调查前一年10年期国债平均收益率"),
    );
    steps.push(
        ("markup", "加成 m", "0 ≤ m ≤ m_max"),
        format!("0 ≤ {} ≤ {}", i.markup, i.markup_max),
        vec![
            figure("markup", "m", rate(i.markup), "input"),
            figure(
                "markup_max",
                "m_max",
                rate(i.markup_max),
                &format!("profile:{}/pricing.markup_max", i.profile_id),
            ),
        ],
        figure("markup", "m", rate(i.markup), "step:markup"),
        None,
        cite("N1", "§三(一)", "加不超过6个百分点"),
    );
    steps.push(
        ("allowed_profit_rate", "准许利润率 r", "r = Y + m"),
        format!("r = {} + {} = {r}", i.bond_yield, i.markup),
        vec![
            figure("bond_yield", "Y", rate(i.bond_yield), "step:bond_yield"),
            figure("markup", "m", rate(i.markup), "step:markup"),
        ],
        figure("allowed_profit_rate", "r", rate(r), "step:allowed_profit_rate"),
        None,
        cite("N1", "§三(一)", "准许利润率按照…加不超过6个百分点确定"),
    );
    steps.push(
        ("allowed_profit", "准许利润 P", "P = C × r"),
        format!("P = {c} × {r} = {p}"),
        vec![
            figure("operating_cost", "C", money(c), "step:operating_cost"),
            figure("allowed_profit_rate", "r", rate(r), "step:allowed_profit_rate"),
        ],
        figure("allowed_profit", "P", money(p), "step:allowed_profit"),
        Some(RoundingMode::HalfUp),
        cite("N1", "§三(一)", "准许利润按照经营成本乘以准许利润率确定"),
    );
    let (tax_formula, tax_substituted) = match &i.tax {
        Tax::None => ("T = 0".to_owned(), "T = 0".to_owned()),
        Tax::IncomeTaxGrossUp { rate } => (
            "T = P × t / (1 − t)".to_owned(),
            format!("T = {p} × {rate} / (1 − {rate}) = {t}"),
        ),
        Tax::Itemized(items) => {
            let parts: Vec<String> = items
                .iter()
                .map(|(label, amount)| format!("{label} {amount}"))
                .collect();
            (
                "T = Σ 税目".to_owned(),
                format!("T = {} = {t}", parts.join(" + ")),
            )
        }
    };
    steps.push_owned(
        ("taxes", "税金 T", tax_formula),
        tax_substituted,
        vec![figure("allowed_profit", "P", money(p), "step:allowed_profit")],
        figure("taxes", "T", money(t), "step:taxes"),
        Some(RoundingMode::HalfUp),
        cite("N1", "§三(一)", "税金按照国家现行相关规定执行"),
        true,
    );
    steps.push_owned(
        ("vat", "增值税 V", "V = (C + P + T) × 增值税率".to_owned()),
        match i.vat_rate {
            Some(vr) => format!("V = ({c} + {p} + {t}) × {vr} = {v}"),
            None => "V = 0（不含税）".to_owned(),
        },
        Vec::new(),
        figure("vat", "V", money(v), "step:vat"),
        Some(RoundingMode::HalfUp),
        cite("DOMAIN", "§3.1", "whether VAT is inside or outside MAR [INF]"),
        true,
    );
    steps.push(
        ("gross_annual_revenue", "年度准许收入（未扣减）", "C + P + T + V"),
        format!("{c} + {p} + {t} + {v} = {gross}"),
        Vec::new(),
        figure(
            "gross_annual_revenue",
            "C+P+T+V",
            money(gross),
            "step:gross_annual_revenue",
        ),
        None,
        cite("N1", "§三(一)", "最高准许收入包括经营成本、准许利润和税金"),
    );
    steps.push(
        ("annual_deduction", "上一周期超收年度扣减额", "D / n"),
        format!("{d} / {} = {annual_deduction}", i.period_years),
        vec![figure("prior_period_deduction", "D", money(d), "input")],
        figure(
            "annual_deduction",
            "D/n",
            money(annual_deduction),
            "step:annual_deduction",
        ),
        Some(RoundingMode::HalfUp),
        cite(
            "N1",
            "§四",
            "上一周期内实际收入超过最高准许收入的部分，在核定下一周期最高准许收入时予以扣减",
        ),
    );
    steps.push(
        (
            "max_allowed_revenue",
            "年度最高准许收入 MAR",
            "MAR = C + P + T + V − D / n",
        ),
        format!("MAR = {gross} − {annual_deduction} = {mar}"),
        Vec::new(),
        figure(
            "max_allowed_revenue",
            "MAR",
            money(mar),
            "step:max_allowed_revenue",
        ),
        None,
        cite("N1", "§三(一)", "最高准许收入包括经营成本、准许利润和税金"),
    );
    steps.push(
        (
            "period_allowed_revenue",
            "周期最高准许收入",
            "(C + P + T + V) × n − D",
        ),
        format!("{gross} × {} − {d} = {period}", i.period_years),
        Vec::new(),
        figure(
            "period_allowed_revenue",
            "MAR×n",
            money(period),
            "step:period_allowed_revenue",
        ),
        None,
        cite("N1", "§四", "评估周期原则上不超过3年"),
    );
    let result = CalculationResult {
        operating_cost: Some(money(c).into_money()),
        bond_yield_value: Some(Rate {
            value: i.bond_yield.to_string(),
        }),
        bond_yield_year: i.bond_yield_year,
        markup: Some(Rate {
            value: i.markup.to_string(),
        }),
        markup_max: Some(Rate {
            value: i.markup_max.to_string(),
        }),
        allowed_profit_rate: Some(Rate { value: r.to_string() }),
        allowed_profit: Some(money(p).into_money()),
        taxes: Some(money(t).into_money()),
        vat: Some(money(v).into_money()),
        gross_annual_revenue: Some(money(gross).into_money()),
        annual_deduction: Some(money(annual_deduction).into_money()),
        max_allowed_revenue: Some(money(mar).into_money()),
        period_allowed_revenue: Some(money(period).into_money()),
        period_years: i32::try_from(i.period_years).unwrap_or(i32::MAX),
        profile_id: i.profile_id.clone(),
        formula_version: FORMULA_VERSION.to_owned(),
        steps: steps.0,
    };
    Ok(MarOutcome {
        allowed_profit_rate: r,
        allowed_profit: p,
        taxes: t,
        vat: v,
        gross_annual_revenue: gross,
        annual_deduction,
        max_allowed_revenue: mar,
        period_allowed_revenue: period,
        result,
    })
}

#[cfg(test)]
#[path = "mar_tests.rs"]
pub(super) mod tests;
