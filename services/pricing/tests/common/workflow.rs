//! The steps every pricing workflow test goes through: a case in cost investigation, an approved survey, a
//! bond yield, the MAR approved, products and caps.

use pdop_kit::auth::Role;
use pdop_kit::convert::date;
use pdop_proto::common::{BillingUnit, DateRange, DocumentRef, Money, Rate, UseClass};
use pdop_proto::pricing::v1::calculation_input::{CostBasis, YieldBasis};
use pdop_proto::pricing::v1::*;
use pdop_proto::registry::events::v1::{ProductListed, ProductSnapshot, ProductWithdrawn};
use pdop_proto::registry::v1::ProductState;
use pdop_testkit::acting;
use prost::Message;

use super::*;

pub fn range(from: (i32, u32, u32), to: (i32, u32, u32)) -> Option<DateRange> {
    let d = |(y, m, day): (i32, u32, u32)| Some(date(chrono::NaiveDate::from_ymd_opt(y, m, day).unwrap()));
    Some(DateRange {
        start_date: d(from),
        end_date: d(to),
    })
}

pub fn doc(title: &str) -> Option<DocumentRef> {
    Some(DocumentRef {
        uri: format!("https://docs.example/{title}.pdf"),
        ..Default::default()
    })
}

pub fn cny(amount: &str) -> Option<Money> {
    Some(Money {
        amount: amount.into(),
        currency: String::new(),
    })
}

pub fn operator<T>(message: T) -> tonic::Request<T> {
    acting(OPERATOR, &[Role::Operator], message)
}

/// A case of the harness's agreement taken to COST_INVESTIGATION.
pub async fn investigating(h: &mut Harness) -> PricingCase {
    investigating_over(h, range((2027, 1, 1), (2029, 12, 31))).await
}

pub async fn investigating_over(h: &mut Harness, period: Option<DateRange>) -> PricingCase {
    investigating_after(h, period, "").await
}

/// A case of the period after `predecessor` (empty: a first pricing) taken to COST_INVESTIGATION.
pub async fn investigating_after(
    h: &mut Harness,
    period: Option<DateRange>,
    predecessor: &str,
) -> PricingCase {
    let request = CreatePricingCaseRequest {
        pricing_case: Some(PricingCase {
            predecessor: predecessor.into(),
            display_name: "定价".into(),
            agreement: AGREEMENT.into(),
            pricing_authority: AUTHORITY.into(),
            data_authority: DATA_AUTHORITY.into(),
            catalogue: PricingCatalogue::Local as i32,
            pricing_period: period,
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let case = h
        .client
        .create_pricing_case(agency(request))
        .await
        .unwrap()
        .into_inner()
        .pricing_case
        .unwrap();
    let apply = SubmitPricingApplicationRequest {
        name: case.name.clone(),
        full_year_period: range((2025, 1, 1), (2025, 12, 31)),
        document: doc("申请"),
        ..Default::default()
    };
    h.client.submit_pricing_application(agency(apply)).await.unwrap();
    let assess = AssessPricingBasisRequest {
        name: case.name.clone(),
        basis_found: true,
        reason: "具备定价基础".into(),
        ..Default::default()
    };
    h.client
        .assess_pricing_basis(authority(assess))
        .await
        .unwrap()
        .into_inner()
        .pricing_case
        .unwrap()
}

/// DOMAIN §3.2's survey: 10,000,000 claimed, 1,500,000 for free products, 500,000 subsidy.
pub fn lines() -> Vec<CostLineItem> {
    vec![
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
    ]
}

pub async fn approved_survey(h: &mut Harness, case: &PricingCase) -> CostSurvey {
    let request = CreateCostSurveyRequest {
        cost_survey: Some(CostSurvey {
            pricing_case: case.name.clone(),
            kind: CostSurveyKind::Investigation as i32,
            survey_year: 2026,
            surveyed_period: range((2025, 1, 1), (2025, 12, 31)),
            line_items: lines(),
            allocation_method: "按调用量与工时占比分摊".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let survey = h
        .client
        .create_cost_survey(operator(request))
        .await
        .unwrap()
        .into_inner()
        .cost_survey
        .unwrap();
    let submit = SubmitCostSurveyRequest {
        name: survey.name.clone(),
        ..Default::default()
    };
    h.client.submit_cost_survey(operator(submit)).await.unwrap();
    let approve = ApproveCostSurveyRequest {
        name: survey.name.clone(),
        approval_document: doc("成本监审报告"),
        ..Default::default()
    };
    h.client
        .approve_cost_survey(authority(approve))
        .await
        .unwrap()
        .into_inner()
        .cost_survey
        .unwrap()
}

pub async fn record_yield(h: &mut Harness, year: i32) -> String {
    let request = CreateBondYieldRequest {
        bond_yield: Some(BondYield {
            year,
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
    h.client
        .create_bond_yield(authority(request))
        .await
        .unwrap()
        .into_inner()
        .bond_yield
        .unwrap()
        .name
}

pub fn calculation_input(case: &str, survey: &str, bond_yield: &str) -> CalculationInput {
    CalculationInput {
        pricing_case: case.into(),
        cost_basis: Some(CostBasis::CostSurvey(survey.into())),
        yield_basis: Some(YieldBasis::BondYield(bond_yield.into())),
        markup: Some(Rate { value: "0.06".into() }),
        tax_method: TaxMethod::IncomeTaxGrossUp as i32,
        income_tax_rate: Some(Rate { value: "0.25".into() }),
        ..Default::default()
    }
}

pub async fn product(h: &Harness, id: &str, use_class: UseClass, n: usize) {
    let listed = ProductListed {
        product: Some(ProductSnapshot {
            name: format!("products/{id}"),
            display_name: id.into(),
            operator: Some(pdop_proto::common::OrganizationRef {
                name: OPERATOR.into(),
                ..Default::default()
            }),
            agreement: AGREEMENT.into(),
            use_class: use_class as i32,
            state: ProductState::Listed as i32,
            ..Default::default()
        }),
        ..Default::default()
    };
    h.publish(
        "pdop.registry.product.listed",
        &format!("p-{n}"),
        listed.encode_to_vec(),
    )
    .await;
}

/// The registry withdraws the product `id` (下架).
pub async fn withdraw(h: &Harness, id: &str) {
    let withdrawn = ProductWithdrawn {
        product: Some(ProductSnapshot {
            name: format!("products/{id}"),
            display_name: id.into(),
            operator: Some(pdop_proto::common::OrganizationRef {
                name: OPERATOR.into(),
                ..Default::default()
            }),
            agreement: AGREEMENT.into(),
            use_class: UseClass::IndustryDevelopment as i32,
            state: ProductState::Withdrawn as i32,
            ..Default::default()
        }),
        reason: "停止提供".into(),
        ..Default::default()
    };
    h.publish(
        "pdop.registry.product.withdrawn",
        &format!("w-{id}"),
        withdrawn.encode_to_vec(),
    )
    .await;
}

pub fn cap(case: &str, product: &str, amount: &str, volume: &str) -> CapPrice {
    CapPrice {
        pricing_case: case.into(),
        product: format!("products/{product}"),
        billing_unit: BillingUnit::PerCall as i32,
        unit_label: "元/次".into(),
        cap_amount: cny(amount),
        expected_volume: Some(pdop_proto::common::Decimal { value: volume.into() }),
        effective_period: range((2027, 1, 1), (2027, 12, 31)),
        ..Default::default()
    }
}

pub async fn create_cap(h: &mut Harness, c: CapPrice) -> Result<CapPrice, tonic::Status> {
    let request = CreateCapPriceRequest {
        cap_price: Some(c),
        request_id: String::new(),
    };
    Ok(h.client
        .create_cap_price(agency(request))
        .await?
        .into_inner()
        .cap_price
        .unwrap())
}

pub async fn set_cap(h: &mut Harness, name: &str, to: &[&str]) -> Result<SetCapPriceResponse, tonic::Status> {
    let request = SetCapPriceRequest {
        name: name.into(),
        written_report: doc("书面报告"),
        reported_to: to.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    };
    Ok(h.client.set_cap_price(agency(request)).await?.into_inner())
}

/// A case over 2025–2027 in effect: MAR of the worked example approved and one cap published.
pub async fn in_effect(h: &mut Harness) -> PricingCase {
    in_effect_over(h, range((2025, 1, 1), (2027, 12, 31))).await
}

/// A case over `period` whose MAR (the worked example) is approved, with no caps yet.
pub async fn mar_approved_over(h: &mut Harness, period: Option<DateRange>) -> PricingCase {
    let case = investigating_over(h, period).await;
    let survey = approved_survey(h, &case).await;
    let y2025 = record_yield(h, 2025).await;
    let calculation = h
        .client
        .create_calculation(authority(CreateCalculationRequest {
            input: Some(calculation_input(&case.name, &survey.name, &y2025)),
            request_id: String::new(),
        }))
        .await
        .unwrap()
        .into_inner()
        .calculation
        .unwrap();
    let approve = ApproveMaxAllowedRevenueRequest {
        name: case.name.clone(),
        calculation: calculation.name,
        decision_document: doc("核定文件"),
        data_authority_concurrence: doc("会同意见"),
        ..Default::default()
    };
    h.client
        .approve_max_allowed_revenue(authority(approve))
        .await
        .unwrap();
    case
}

pub async fn in_effect_over(h: &mut Harness, period: Option<DateRange>) -> PricingCase {
    let case = mar_approved_over(h, period).await;
    product(h, "api", UseClass::IndustryDevelopment, 0).await;
    h.until("the product is known", "SELECT count(*) = 1 FROM products")
        .await;
    let api = create_cap(
        h,
        CapPrice {
            effective_period: range((2025, 1, 1), (2025, 12, 31)),
            ..cap(&case.name, "api", "1.50", "4000000")
        },
    )
    .await
    .unwrap();
    set_cap(h, &api.name, &[AUTHORITY, DATA_AUTHORITY]).await.unwrap();
    let publish = PublishCapPriceRequest {
        name: api.name,
        ..Default::default()
    };
    h.client.publish_cap_price(agency(publish)).await.unwrap();
    case
}

/// Completes the 2025 annual check of a case in effect: actual 9,900,000, reported on 2026-03-20.
pub async fn check_2025(h: &mut Harness, case: &PricingCase) {
    let check = h
        .client
        .create_annual_check(agency(CreateAnnualCheckRequest {
            annual_check: Some(AnnualCheck {
                pricing_case: case.name.clone(),
                year: 2025,
                actual_revenue: cny("9900000"),
                ..Default::default()
            }),
            request_id: String::new(),
        }))
        .await
        .unwrap()
        .into_inner()
        .annual_check
        .unwrap();
    let report_date = Some(pdop_proto::common::Date {
        year: 2026,
        month: 3,
        day: 20,
    });
    let complete = CompleteAnnualCheckRequest {
        name: check.name,
        business_report: doc("经营情况报告"),
        report_date,
        ..Default::default()
    };
    h.client.complete_annual_check(agency(complete)).await.unwrap();
}

/// Completes the 2025 annual check of a one-year case in effect (1,078,666.67 over the MAR) and settles the
/// period with the given installments (offset, amount), smoothed.
pub async fn settle_2025(h: &mut Harness, case: &PricingCase, parts: &[(i32, &str)]) -> PeriodSettlement {
    check_2025(h, case).await;
    let create = CreatePeriodSettlementRequest {
        pricing_case: case.name.clone(),
        request_id: String::new(),
    };
    let draft = h
        .client
        .create_period_settlement(authority(create))
        .await
        .unwrap()
        .into_inner()
        .period_settlement
        .unwrap();
    let complete = CompletePeriodSettlementRequest {
        name: draft.name,
        treatment: SettlementTreatment::Smoothed as i32,
        installments: parts
            .iter()
            .map(|(offset, amount)| DeductionInstallment {
                period_offset: *offset,
                amount: cny(amount),
            })
            .collect(),
        evaluation_report: doc("定期评估报告"),
        ..Default::default()
    };
    h.client
        .complete_period_settlement(authority(complete))
        .await
        .unwrap()
        .into_inner()
        .period_settlement
        .unwrap()
}
