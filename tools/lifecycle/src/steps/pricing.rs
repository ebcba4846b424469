//! Pricing steps (DOMAIN §3.2's worked example): a case over the agreement, the cost survey, the calculation,
//! the maximum allowed revenue, a cap and a specific price for the listed product, and the annual check.
//!
//! The pricing service learns agreements, organizations and products from the registry's events, so a first
//! call may find it not yet knowing them: such calls are repeated until the event has arrived.

use chrono::NaiveDate;
use pdop_kit::auth::Role;
use pdop_proto::common::{BillingUnit, Date, DateRange, Decimal, Money, Rate};
use pdop_proto::pricing::v1::calculation_input::{CostBasis, YieldBasis};
use pdop_proto::pricing::v1::*;
use tonic::Code;

use super::{date, doc};
use crate::{Platform, Province};

fn range(from: (i32, u32, u32), to: (i32, u32, u32)) -> Option<DateRange> {
    let d = |(y, m, day): (i32, u32, u32)| NaiveDate::from_ymd_opt(y, m, day).map(date);
    Some(DateRange {
        start_date: d(from),
        end_date: d(to),
    })
}

fn cny(amount: &str) -> Option<Money> {
    Some(Money {
        amount: amount.into(),
        currency: String::new(),
    })
}

/// A first pricing case over 2025–2027 under the agreement: applied for by the agency, its basis found.
pub async fn pricing_case(p: &mut Platform, j: &mut Province) -> anyhow::Result<()> {
    let (agency, drc) = (j.agency(), j.drc());
    let case = PricingCase {
        display_name: format!("{}人口画像接口定价 {}", j.display_name, p.run),
        agreement: j.agreement.clone(),
        pricing_authority: drc.clone(),
        data_authority: j.data(),
        catalogue: PricingCatalogue::Local as i32,
        pricing_period: range((2025, 1, 1), (2027, 12, 31)),
        ..Default::default()
    };
    let client = p.pricing.clone();
    let create = CreatePricingCaseRequest {
        pricing_case: Some(case),
        request_id: String::new(),
    };
    let created = p
        .once_known_as(
            "the pricing service knows the agreement",
            &agency,
            &[Role::ImplementingAgency],
            create,
            |request| {
                let mut client = client.clone();
                async move { client.create_pricing_case(request).await }
            },
        )
        .await?
        .into_inner()
        .pricing_case
        .unwrap_or_default();
    let apply = SubmitPricingApplicationRequest {
        name: created.name.clone(),
        full_year_period: range((2025, 1, 1), (2025, 12, 31)),
        document: doc("申请"),
        ..Default::default()
    };
    p.pricing
        .submit_pricing_application(p.acting(&agency, &[Role::ImplementingAgency], apply)?)
        .await?;
    let assess = AssessPricingBasisRequest {
        name: created.name.clone(),
        basis_found: true,
        reason: "具备定价基础".into(),
        ..Default::default()
    };
    p.pricing
        .assess_pricing_basis(p.acting(&drc, &[Role::PricingAuthority], assess)?)
        .await?;
    j.pricing_case = created.name;
    p.note(format!(
        "{}: opened {} and found its pricing basis",
        j.id, j.pricing_case
    ));
    Ok(())
}

/// The operator's cost survey (10,000,000 claimed, 1,500,000 for free use, 500,000 subsidy), approved.
pub async fn cost_survey(p: &mut Platform, j: &mut Province) -> anyhow::Result<()> {
    let (operator, drc) = (j.operator(), j.drc());
    let lines = vec![
        CostLineItem {
            line_id: "l01".into(),
            category: CostCategory::PlatformOperations as i32,
            description: "平台运维".into(),
            claimed_amount: cny("6000000"),
            free_use_amount: cny("900000"),
            allocation_basis: "免费类调用量占比15%".into(),
            subsidy_amount: cny("500000"),
            subsidy_document: doc("拨款文件"),
            ..Default::default()
        },
        CostLineItem {
            line_id: "l02".into(),
            category: CostCategory::Labour as i32,
            description: "人力".into(),
            claimed_amount: cny("4000000"),
            free_use_amount: cny("600000"),
            allocation_basis: "工时占比15%".into(),
            ..Default::default()
        },
    ];
    let create = CreateCostSurveyRequest {
        cost_survey: Some(CostSurvey {
            pricing_case: j.pricing_case.clone(),
            kind: CostSurveyKind::Investigation as i32,
            survey_year: 2026,
            surveyed_period: range((2025, 1, 1), (2025, 12, 31)),
            line_items: lines,
            allocation_method: "按调用量与工时占比分摊".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let survey = p
        .pricing
        .create_cost_survey(p.acting(&operator, &[Role::Operator], create)?)
        .await?
        .into_inner()
        .cost_survey
        .unwrap_or_default();
    let submit = SubmitCostSurveyRequest {
        name: survey.name.clone(),
        ..Default::default()
    };
    p.pricing
        .submit_cost_survey(p.acting(&operator, &[Role::Operator], submit)?)
        .await?;
    let approve = ApproveCostSurveyRequest {
        name: survey.name.clone(),
        approval_document: doc("成本监审报告"),
        ..Default::default()
    };
    p.pricing
        .approve_cost_survey(p.acting(&drc, &[Role::PricingAuthority], approve)?)
        .await?;
    j.cost_survey = survey.name;
    p.note(format!("{}: {} submitted and approved", j.id, j.cost_survey));
    Ok(())
}

/// The 2025 ten-year bond yield (one per year across the service: found when another case recorded it).
async fn bond_yield_2025(p: &mut Platform, drc: &str) -> anyhow::Result<String> {
    let create = CreateBondYieldRequest {
        bond_yield: Some(BondYield {
            year: 2025,
            average_yield: Some(Rate {
                value: "0.017".into(),
            }),
            series: BondYieldSeries::ChinabondCurve10y as i32,
            averaging_method: "全年交易日算术平均".into(),
            source_publisher: "中央国债登记结算有限责任公司".into(),
            source_document: doc("yield"),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    match p
        .pricing
        .create_bond_yield(p.acting(drc, &[Role::PricingAuthority], create)?)
        .await
    {
        Ok(created) => Ok(created.into_inner().bond_yield.unwrap_or_default().name),
        Err(status) if status.code() == Code::AlreadyExists => {
            let list = ListBondYieldsRequest {
                year: 2025,
                series: BondYieldSeries::ChinabondCurve10y as i32,
                ..Default::default()
            };
            let listed = p
                .pricing
                .list_bond_yields(p.acting(drc, &[Role::PricingAuthority], list)?)
                .await?
                .into_inner();
            listed
                .bond_yields
                .into_iter()
                .next()
                .map(|y| y.name)
                .ok_or_else(|| anyhow::anyhow!("the 2025 bond yield exists but is not listed"))
        }
        Err(status) => Err(status.into()),
    }
}

/// The maximum allowed revenue calculated from the survey and the 2025 bond yield.
pub async fn calculation(p: &mut Platform, j: &mut Province) -> anyhow::Result<()> {
    let drc = j.drc();
    let bond_yield = bond_yield_2025(p, &drc).await?;
    let input = CalculationInput {
        pricing_case: j.pricing_case.clone(),
        cost_basis: Some(CostBasis::CostSurvey(j.cost_survey.clone())),
        yield_basis: Some(YieldBasis::BondYield(bond_yield)),
        markup: Some(Rate { value: "0.06".into() }),
        tax_method: TaxMethod::IncomeTaxGrossUp as i32,
        income_tax_rate: Some(Rate { value: "0.25".into() }),
        ..Default::default()
    };
    let create = CreateCalculationRequest {
        input: Some(input),
        request_id: String::new(),
    };
    let calculation = p
        .pricing
        .create_calculation(p.acting(&drc, &[Role::PricingAuthority], create)?)
        .await?
        .into_inner()
        .calculation
        .unwrap_or_default();
    j.calculation = calculation.name;
    p.note(format!(
        "{}: {} computed the maximum allowed revenue",
        j.id, j.calculation
    ));
    Ok(())
}

/// The pricing authority approves the calculated MAR with the data authority's concurrence.
pub async fn max_allowed_revenue(p: &mut Platform, j: &mut Province) -> anyhow::Result<()> {
    let approve = ApproveMaxAllowedRevenueRequest {
        name: j.pricing_case.clone(),
        calculation: j.calculation.clone(),
        decision_document: doc("核定文件"),
        data_authority_concurrence: doc("会同意见"),
        ..Default::default()
    };
    p.pricing
        .approve_max_allowed_revenue(p.acting(&j.drc(), &[Role::PricingAuthority], approve)?)
        .await?;
    p.note(format!("{}: MAR of {} approved", j.id, j.pricing_case));
    Ok(())
}

/// A cap for the listed product (set, reported and published by the agency) and the operator's specific
/// price under it (published).
pub async fn cap_and_specific_prices(p: &mut Platform, j: &mut Province) -> anyhow::Result<()> {
    let (agency, operator) = (j.agency(), j.operator());
    let cap = CapPrice {
        pricing_case: j.pricing_case.clone(),
        product: j.product.clone(),
        billing_unit: BillingUnit::PerCall as i32,
        unit_label: "元/次".into(),
        cap_amount: cny("1.50"),
        expected_volume: Some(Decimal {
            value: "4000000".into(),
        }),
        effective_period: range((2025, 1, 1), (2025, 12, 31)),
        ..Default::default()
    };
    let client = p.pricing.clone();
    let create = CreateCapPriceRequest {
        cap_price: Some(cap),
        request_id: String::new(),
    };
    let created = p
        .once_known_as(
            "the pricing service knows the listed product",
            &agency,
            &[Role::ImplementingAgency],
            create,
            |request| {
                let mut client = client.clone();
                async move { client.create_cap_price(request).await }
            },
        )
        .await?
        .into_inner()
        .cap_price
        .unwrap_or_default();
    let set = SetCapPriceRequest {
        name: created.name.clone(),
        written_report: doc("书面报告"),
        reported_to: vec![j.drc(), j.data()],
        ..Default::default()
    };
    p.pricing
        .set_cap_price(p.acting(&agency, &[Role::ImplementingAgency], set)?)
        .await?;
    let publish = PublishCapPriceRequest {
        name: created.name.clone(),
        ..Default::default()
    };
    p.pricing
        .publish_cap_price(p.acting(&agency, &[Role::ImplementingAgency], publish)?)
        .await?;
    j.cap_price = created.name;
    let price = CreateSpecificPriceRequest {
        specific_price: Some(SpecificPrice {
            pricing_case: j.pricing_case.clone(),
            product: j.product.clone(),
            billing_unit: BillingUnit::PerCall as i32,
            unit_label: "元/次".into(),
            amount: cny("1.40"),
            effective_period: range((2025, 1, 1), (2025, 12, 31)),
            publication_channels: vec!["https://market.example/api".into()],
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let price = p
        .pricing
        .create_specific_price(p.acting(&operator, &[Role::Operator], price)?)
        .await?
        .into_inner()
        .specific_price
        .unwrap_or_default();
    let publish = PublishSpecificPriceRequest {
        name: price.name.clone(),
        ..Default::default()
    };
    p.pricing
        .publish_specific_price(p.acting(&operator, &[Role::Operator], publish)?)
        .await?;
    j.specific_price = price.name;
    p.note(format!(
        "{}: published cap {} (1.50 元/次) and specific price {} (1.40 元/次)",
        j.id, j.cap_price, j.specific_price
    ));
    Ok(())
}

/// The agency's 2025 annual check: actual revenue 9,900,000, business report of 2026-03-20.
pub async fn annual_check(p: &mut Platform, j: &mut Province) -> anyhow::Result<()> {
    let agency = j.agency();
    let create = CreateAnnualCheckRequest {
        annual_check: Some(AnnualCheck {
            pricing_case: j.pricing_case.clone(),
            year: 2025,
            actual_revenue: cny("9900000"),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let check = p
        .pricing
        .create_annual_check(p.acting(&agency, &[Role::ImplementingAgency], create)?)
        .await?
        .into_inner()
        .annual_check
        .unwrap_or_default();
    let complete = CompleteAnnualCheckRequest {
        name: check.name.clone(),
        business_report: doc("经营情况报告"),
        report_date: Some(Date {
            year: 2026,
            month: 3,
            day: 20,
        }),
        ..Default::default()
    };
    p.pricing
        .complete_annual_check(p.acting(&agency, &[Role::ImplementingAgency], complete)?)
        .await?;
    j.annual_check = check.name;
    p.note(format!(
        "{}: completed the 2025 annual check {}",
        j.id, j.annual_check
    ));
    Ok(())
}
