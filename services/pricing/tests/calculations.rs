//! From a pricing case in cost investigation to a stored, explained MAR calculation over gRPC: the
//! operator's cost survey, the pricing authority's review (disallowances), approval, the bond yield of the
//! survey's prior year, the calculation with its derivation, its approval, and cap prices within the MAR.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pdop_kit::auth::Role;
use pdop_kit::convert::date;
use pdop_proto::common::{BillingUnit, DateRange, DocumentRef, Money, Rate, UseClass};
use pdop_proto::pricing::v1::calculation_input::{CostBasis, YieldBasis};
use pdop_proto::pricing::v1::*;
use pdop_proto::registry::events::v1::{ProductListed, ProductSnapshot};
use pdop_proto::registry::v1::ProductState;
use pdop_testkit::{acting, assert_invalid, reason};
use prost::Message;
use tonic::Code;

fn range(from: (i32, u32, u32), to: (i32, u32, u32)) -> Option<DateRange> {
    let d = |(y, m, day): (i32, u32, u32)| Some(date(chrono::NaiveDate::from_ymd_opt(y, m, day).unwrap()));
    Some(DateRange {
        start_date: d(from),
        end_date: d(to),
    })
}

fn doc(title: &str) -> Option<DocumentRef> {
    Some(DocumentRef {
        uri: format!("https://docs.example/{title}.pdf"),
        ..Default::default()
    })
}

fn cny(amount: &str) -> Option<Money> {
    Some(Money {
        amount: amount.into(),
        currency: String::new(),
    })
}

fn operator<T>(message: T) -> tonic::Request<T> {
    acting(OPERATOR, &[Role::Operator], message)
}

/// A case of the harness's agreement taken to COST_INVESTIGATION.
async fn investigating(h: &mut Harness) -> PricingCase {
    investigating_over(h, range((2027, 1, 1), (2029, 12, 31))).await
}

async fn investigating_over(h: &mut Harness, period: Option<DateRange>) -> PricingCase {
    let request = CreatePricingCaseRequest {
        pricing_case: Some(PricingCase {
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
fn lines() -> Vec<CostLineItem> {
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

async fn approved_survey(h: &mut Harness, case: &PricingCase) -> CostSurvey {
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

async fn record_yield(h: &mut Harness, year: i32) -> String {
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

fn calculation_input(case: &str, survey: &str, bond_yield: &str) -> CalculationInput {
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

#[tokio::test]
async fn the_cost_survey_fixes_c_and_the_calculation_reproduces_the_worked_example() {
    let mut h = start().await;
    let case = investigating(&mut h).await;
    let survey = approved_survey(&mut h, &case).await;
    // N1 §三(一): subsidies and the free products' share are netted off: C = 8,000,000.
    let totals = survey.totals.clone().unwrap();
    assert_eq!(totals.operating_cost.unwrap().amount, "8000000.00");
    assert_eq!(survey.state, CostSurveyState::Approved as i32);

    // N1 §三(一): Y is the yield of the year before the survey (2026 → 2025).
    let wrong = record_yield(&mut h, 2024).await;
    let request = CreateCalculationRequest {
        input: Some(calculation_input(&case.name, &survey.name, &wrong)),
        request_id: String::new(),
    };
    let err = h.client.create_calculation(authority(request)).await.unwrap_err();
    assert_eq!(reason(&err), "YIELD_YEAR");
    let y2025 = record_yield(&mut h, 2025).await;
    let request = CreateCalculationRequest {
        input: Some(calculation_input(&case.name, &survey.name, &y2025)),
        request_id: "calc-1".into(),
    };
    let stored = h
        .client
        .create_calculation(authority(request.clone()))
        .await
        .unwrap()
        .into_inner()
        .calculation
        .unwrap();
    let result = stored.result.clone().unwrap();
    assert_eq!(result.max_allowed_revenue.unwrap().amount, "8821333.33");
    assert_eq!(result.period_years, 3);
    assert_eq!(result.bond_yield_year, 2025);
    assert_eq!(stored.state, CalculationState::Candidate as i32);
    // A retry with the same key returns the same calculation.
    let again = h
        .client
        .create_calculation(authority(request))
        .await
        .unwrap()
        .into_inner()
        .calculation
        .unwrap();
    assert_eq!(again.name, stored.name);

    // The stored figures are reproducible: recomputing the stored inputs as a preview gives the same result.
    let mut what_if = stored.input.clone().unwrap();
    what_if.pricing_case.clear();
    what_if.cost_basis = Some(CostBasis::OperatingCost(Money {
        amount: "8000000.00".into(),
        currency: String::new(),
    }));
    let preview = h
        .client
        .preview_max_allowed_revenue(authority(PreviewMaxAllowedRevenueRequest {
            input: Some(what_if),
        }))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    assert_eq!(
        preview.max_allowed_revenue,
        stored.result.clone().unwrap().max_allowed_revenue
    );
    assert_eq!(preview.steps.len(), stored.result.clone().unwrap().steps.len());

    let explained = h
        .client
        .explain_calculation(acting(
            OPERATOR,
            &[Role::Operator],
            ExplainCalculationRequest {
                name: stored.name.clone(),
                language_code: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(
        explained.text.contains("P = 8000000.00 × 0.077 = 616000.00"),
        "{}",
        explained.text
    );
    assert!(
        explained
            .sources
            .iter()
            .any(|s| s.source_id == "N1" && s.article == "§三(一)")
    );
    assert!(
        explained.assumptions.iter().any(|a| a.contains("t = 0.25")),
        "{:?}",
        explained.assumptions
    );
    let err = h
        .client
        .explain_calculation(authority(ExplainCalculationRequest {
            name: stored.name.clone(),
            language_code: "fr".into(),
        }))
        .await
        .unwrap_err();
    assert_invalid(&err, &["language_code"]);

    // N1 §二: the pricing authority approves (核定) the MAR jointly with the data authority.
    let other = h
        .client
        .create_calculation(authority(CreateCalculationRequest {
            input: Some(CalculationInput {
                markup: Some(Rate { value: "0.03".into() }),
                ..calculation_input(&case.name, &survey.name, &y2025)
            }),
            request_id: String::new(),
        }))
        .await
        .unwrap()
        .into_inner()
        .calculation
        .unwrap();
    let approve = |concurrence: Option<DocumentRef>| ApproveMaxAllowedRevenueRequest {
        name: case.name.clone(),
        calculation: stored.name.clone(),
        decision_document: doc("核定文件"),
        data_authority_concurrence: concurrence,
        decision_reference: "云发改价格〔2026〕1号".into(),
        ..Default::default()
    };
    let err = h
        .client
        .approve_max_allowed_revenue(authority(approve(None)))
        .await
        .unwrap_err();
    assert_invalid(&err, &["data_authority_concurrence"]);
    let approved = h
        .client
        .approve_max_allowed_revenue(authority(approve(doc("会同意见"))))
        .await
        .unwrap()
        .into_inner()
        .pricing_case
        .unwrap();
    assert_eq!(approved.state, PricingCaseState::RevenueApproved as i32);
    assert_eq!(approved.max_allowed_revenue.unwrap().amount, "8821333.33");
    assert_eq!(approved.period_allowed_revenue.unwrap().amount, "26463999.99");
    assert_eq!(approved.approved_calculation, stored.name);
    let state_of = |name: &str| {
        let mut client = h.client.clone();
        let name = name.to_owned();
        async move {
            client
                .get_calculation(authority(GetCalculationRequest { name }))
                .await
                .unwrap()
                .into_inner()
                .calculation
                .unwrap()
                .state
        }
    };
    assert_eq!(state_of(&stored.name).await, CalculationState::Approved as i32);
    assert_eq!(state_of(&other.name).await, CalculationState::NotAdopted as i32);
    let err = h
        .client
        .approve_max_allowed_revenue(authority(approve(doc("会同意见"))))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn the_review_disallows_claims_but_never_rewrites_them() {
    let mut h = start().await;
    let case = investigating(&mut h).await;
    let request = CreateCostSurveyRequest {
        cost_survey: Some(CostSurvey {
            pricing_case: case.name.clone(),
            kind: CostSurveyKind::Investigation as i32,
            survey_year: 2026,
            surveyed_period: range((2025, 1, 1), (2025, 12, 31)),
            line_items: lines(),
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
    // No allocation method yet: not submittable.
    let submit = || SubmitCostSurveyRequest {
        name: survey.name.clone(),
        ..Default::default()
    };
    let err = h.client.submit_cost_survey(operator(submit())).await.unwrap_err();
    assert_eq!(reason(&err), "SURVEY_INCOMPLETE");
    let update = |items: Vec<CostLineItem>, method: &str| UpdateCostSurveyRequest {
        cost_survey: Some(CostSurvey {
            name: survey.name.clone(),
            line_items: items,
            allocation_method: method.into(),
            ..Default::default()
        }),
        update_mask: None,
        etag: String::new(),
    };
    h.client
        .update_cost_survey(operator(update(lines(), "按占比分摊")))
        .await
        .unwrap();
    h.client.submit_cost_survey(operator(submit())).await.unwrap();

    // N1 §三(一): only 合理费用支出 counts — the surveyor disallows 1,000,000 of labour, with a reason.
    let mut reviewed = lines();
    reviewed[1].disallowed_amount = cny("1000000");
    let err = h
        .client
        .update_cost_survey(authority(update(reviewed.clone(), "")))
        .await
        .unwrap_err();
    assert_invalid(&err, &["cost_survey.line_items[1].disallowance_reason"]);
    reviewed[1].disallowance_reason = CostExclusionReason::AboveStandard as i32;
    let after = h
        .client
        .update_cost_survey(authority(update(reviewed.clone(), "")))
        .await
        .unwrap()
        .into_inner()
        .cost_survey
        .unwrap();
    assert_eq!(after.totals.unwrap().operating_cost.unwrap().amount, "7000000.00");
    // The claims themselves are the operator's.
    let mut rewritten = reviewed;
    rewritten[0].claimed_amount = cny("1");
    let err = h
        .client
        .update_cost_survey(authority(update(rewritten, "")))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "CLAIMS_FROZEN");
    // The operator cannot edit while it is under review, and cannot approve its own survey.
    let err = h
        .client
        .update_cost_survey(operator(update(lines(), "")))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "NOT_EDITABLE");
    let ret = ReturnCostSurveyRequest {
        name: survey.name.clone(),
        reason: "补充人力成本明细".into(),
        ..Default::default()
    };
    let returned = h
        .client
        .return_cost_survey(authority(ret))
        .await
        .unwrap()
        .into_inner()
        .cost_survey
        .unwrap();
    assert_eq!(returned.state, CostSurveyState::Returned as i32);
    let err = h
        .client
        .create_calculation(authority(CreateCalculationRequest {
            input: Some(CalculationInput {
                cost_basis: Some(CostBasis::OperatingCost(Money {
                    amount: "1".into(),
                    currency: String::new(),
                })),
                ..calculation_input(&case.name, &survey.name, "bondYields/2025-chinabond-10y")
            }),
            request_id: String::new(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_invalid(&err, &["input.cost_survey"]);
}

async fn product(h: &Harness, id: &str, use_class: UseClass, n: usize) {
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

fn cap(case: &str, product: &str, amount: &str, volume: &str) -> CapPrice {
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

async fn create_cap(h: &mut Harness, c: CapPrice) -> Result<CapPrice, tonic::Status> {
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

async fn set_cap(h: &mut Harness, name: &str, to: &[&str]) -> Result<SetCapPriceResponse, tonic::Status> {
    let request = SetCapPriceRequest {
        name: name.into(),
        written_report: doc("书面报告"),
        reported_to: to.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    };
    Ok(h.client.set_cap_price(agency(request)).await?.into_inner())
}

#[tokio::test]
async fn caps_fit_within_the_mar_and_free_products_are_free() {
    let mut h = start().await;
    let case = investigating(&mut h).await;
    let survey = approved_survey(&mut h, &case).await;
    let y2025 = record_yield(&mut h, 2025).await;
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
    for (n, (id, class)) in [
        ("api", UseClass::IndustryDevelopment),
        ("dataset", UseClass::IndustryDevelopment),
        ("extra", UseClass::IndustryDevelopment),
        ("welfare", UseClass::PublicGovernance),
    ]
    .into_iter()
    .enumerate()
    {
        product(&h, id, class, n).await;
    }
    h.until("the products are known", "SELECT count(*) = 4 FROM products")
        .await;
    let both = [AUTHORITY, DATA_AUTHORITY];

    // DOMAIN §3.2: 1.50 × 4,000,000 + 28,000 × 100 = 8,800,000 ≤ MAR 8,821,333.33.
    let api = create_cap(&mut h, cap(&case.name, "api", "1.50", "4000000"))
        .await
        .unwrap();
    assert_eq!(api.expected_revenue.clone().unwrap().amount, "6000000.00");
    let err = set_cap(&mut h, &api.name, &[AUTHORITY]).await.unwrap_err();
    assert_invalid(&err, &["reported_to"]);
    set_cap(&mut h, &api.name, &both).await.unwrap();
    let dataset = create_cap(
        &mut h,
        CapPrice {
            billing_unit: BillingUnit::PerProduct as i32,
            unit_label: "元/年·套".into(),
            ..cap(&case.name, "dataset", "28000", "100")
        },
    )
    .await
    .unwrap();
    let check = set_cap(&mut h, &dataset.name, &both)
        .await
        .unwrap()
        .check
        .unwrap();
    assert_eq!(check.total_expected_revenue.unwrap().amount, "8800000.00");
    assert_eq!(check.headroom.unwrap().amount, "21333.33");
    assert!(check.within);
    // One cent above the MAR is refused (N1 §二: 在最高准许收入范围内).
    let extra = create_cap(&mut h, cap(&case.name, "extra", "21333.34", "1"))
        .await
        .unwrap();
    let err = set_cap(&mut h, &extra.name, &both).await.unwrap_err();
    assert_eq!(reason(&err), "CAP_REVENUE_EXCEEDS_MAR");

    // N1 §一: public-governance products are free.
    let err = create_cap(&mut h, cap(&case.name, "welfare", "0", "1000"))
        .await
        .unwrap_err();
    assert_invalid(&err, &["cap_price.free_provision"]);
    let err = create_cap(
        &mut h,
        CapPrice {
            free_provision: FreeProvisionBasis::PublicGovernance as i32,
            ..cap(&case.name, "welfare", "0.10", "1000")
        },
    )
    .await
    .unwrap_err();
    assert_invalid(&err, &["cap_price.cap_amount"]);
    let free = create_cap(
        &mut h,
        CapPrice {
            free_provision: FreeProvisionBasis::PublicGovernance as i32,
            ..cap(&case.name, "welfare", "0", "1000")
        },
    )
    .await
    .unwrap();
    assert_eq!(free.use_class, UseClass::PublicGovernance as i32);

    // Publishing puts the case in effect; drafts stay private, published caps are public.
    let published = h
        .client
        .publish_cap_price(agency(PublishCapPriceRequest {
            name: api.name.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .cap_price
        .unwrap();
    assert_eq!(published.state, CapPriceState::Published as i32);
    let get = |name: &str| GetCapPriceRequest { name: name.into() };
    let public = acting("organizations/anyone", &[Role::Developer], get(&api.name));
    assert!(h.client.get_cap_price(public).await.is_ok());
    let private = acting("organizations/anyone", &[Role::Developer], get(&extra.name));
    assert_eq!(
        h.client.get_cap_price(private).await.unwrap_err().code(),
        Code::NotFound
    );
    let case_now = h
        .client
        .get_pricing_case(authority(GetPricingCaseRequest {
            name: case.name.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .pricing_case
        .unwrap();
    assert_eq!(case_now.state, PricingCaseState::InEffect as i32);

    // N1 §二: the operator's specific price is at most the published cap, and posted publicly.
    let price = |product: &str, amount: &str| SpecificPrice {
        pricing_case: case.name.clone(),
        product: format!("products/{product}"),
        billing_unit: BillingUnit::PerCall as i32,
        unit_label: "元/次".into(),
        amount: cny(amount),
        effective_period: range((2027, 1, 1), (2027, 12, 31)),
        ..Default::default()
    };
    let create_price = |p: SpecificPrice| CreateSpecificPriceRequest {
        specific_price: Some(p),
        request_id: String::new(),
    };
    let err = h
        .client
        .create_specific_price(operator(create_price(price("api", "1.6000"))))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "PRICE_ABOVE_CAP");
    let err = h
        .client
        .create_specific_price(operator(create_price(price("dataset", "1"))))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "NO_PUBLISHED_CAP");
    let draft = h
        .client
        .create_specific_price(operator(create_price(price("api", "1.50"))))
        .await
        .unwrap()
        .into_inner()
        .specific_price
        .unwrap();
    assert_eq!(draft.kind, SpecificPriceKind::Standard as i32);
    assert_eq!(draft.cap_price, api.name);
    let publish = || PublishSpecificPriceRequest {
        name: draft.name.clone(),
        ..Default::default()
    };
    let err = h
        .client
        .publish_specific_price(operator(publish()))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "NO_CHANNEL");
    let subjects: Vec<String> = sqlx::query_scalar("SELECT subject FROM outbox ORDER BY seq")
        .fetch_all(&h.db.pool)
        .await
        .unwrap();
    assert!(
        !subjects
            .iter()
            .any(|s| s == "pdop.pricing.specific_price.published")
    );
}

#[tokio::test]
async fn trial_prices_rest_on_the_authorizing_entitys_guidance() {
    // N1 §二: 尚无完整年度运营情况的 … 指导运营机构制定试行收费标准.
    let mut h = start().await;
    let case = investigating(&mut h).await;
    product(&h, "api", UseClass::IndustryDevelopment, 0).await;
    h.until("the product is known", "SELECT count(*) = 1 FROM products")
        .await;
    let trial = |guidance: Option<DocumentRef>| CreateSpecificPriceRequest {
        specific_price: Some(SpecificPrice {
            pricing_case: case.name.clone(),
            product: "products/api".into(),
            billing_unit: BillingUnit::PerCall as i32,
            unit_label: "元/次".into(),
            amount: cny("2.00"),
            guidance_document: guidance,
            publication_channels: vec!["https://market.example/api".into()],
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let err = h
        .client
        .create_specific_price(operator(trial(None)))
        .await
        .unwrap_err();
    assert_invalid(&err, &["specific_price.guidance_document"]);
    let draft = h
        .client
        .create_specific_price(operator(trial(doc("指导意见"))))
        .await
        .unwrap()
        .into_inner()
        .specific_price
        .unwrap();
    assert_eq!(draft.kind, SpecificPriceKind::Trial as i32);
    let published = h
        .client
        .publish_specific_price(operator(PublishSpecificPriceRequest {
            name: draft.name.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .specific_price
        .unwrap();
    assert_eq!(published.state, SpecificPriceState::Published as i32);
    // Published prices are public.
    let anyone = acting(
        "organizations/anyone",
        &[Role::Developer],
        GetSpecificPriceRequest { name: draft.name },
    );
    assert!(h.client.get_specific_price(anyone).await.is_ok());
}

/// A case over 2025–2027 in effect: MAR of the worked example approved and one cap published.
async fn in_effect(h: &mut Harness) -> PricingCase {
    in_effect_over(h, range((2025, 1, 1), (2027, 12, 31))).await
}

async fn in_effect_over(h: &mut Harness, period: Option<DateRange>) -> PricingCase {
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

#[tokio::test]
async fn the_annual_check_decides_who_adjusts_and_flags_a_late_report() {
    let mut h = start().await;
    let case = in_effect(&mut h).await;
    let check = |year: i32, actual: &str| CreateAnnualCheckRequest {
        annual_check: Some(AnnualCheck {
            pricing_case: case.name.clone(),
            year,
            actual_revenue: cny(actual),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    // DOMAIN §3.2: 9,900,000 against 8,821,333.33 is +12.23%: above 10%, the caps are adjusted (down).
    let over = h
        .client
        .create_annual_check(agency(check(2025, "9900000")))
        .await
        .unwrap()
        .into_inner()
        .annual_check
        .unwrap();
    assert_eq!(over.deviation.clone().unwrap().value, "0.122279");
    assert_eq!(over.adjustment_level, AdjustmentLevel::CapPrices as i32);
    assert_eq!(over.adjustment_direction, AdjustmentDirection::Decrease as i32);
    // D10 (N1 §五): the report is due 2026-03-31.
    let deadline = over.report_deadline.clone().unwrap();
    assert_eq!(
        deadline.due_date,
        Some(pdop_proto::common::Date {
            year: 2026,
            month: 3,
            day: 31
        })
    );
    assert_eq!(deadline.source.unwrap().rule_id, "D10");
    let err = h
        .client
        .create_annual_check(agency(check(2025, "1")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    // 9,500,000 is +7.69%: within 10%, the operator adjusts its specific prices.
    let within = h
        .client
        .create_annual_check(operator(check(2026, "9500000")))
        .await
        .unwrap()
        .into_inner()
        .annual_check
        .unwrap();
    assert_eq!(within.adjustment_level, AdjustmentLevel::SpecificPrices as i32);
    let err = h
        .client
        .create_annual_check(agency(check(2031, "1")))
        .await
        .unwrap_err();
    assert_invalid(&err, &["annual_check.year"]);
    let mut mismatch = check(2027, "100");
    mismatch.annual_check.as_mut().unwrap().product_revenues = vec![ProductRevenue {
        product: "products/api".into(),
        revenue: cny("99"),
        ..Default::default()
    }];
    let err = h.client.create_annual_check(agency(mismatch)).await.unwrap_err();
    assert_invalid(&err, &["annual_check.product_revenues"]);

    let complete = |name: &str| CompleteAnnualCheckRequest {
        name: name.into(),
        business_report: doc("经营情况报告"),
        report_date: Some(pdop_proto::common::Date {
            year: 2026,
            month: 4,
            day: 15,
        }),
        fee_adjustments: "下调上限收费标准".into(),
        ..Default::default()
    };
    let done = h
        .client
        .complete_annual_check(agency(complete(&over.name)))
        .await
        .unwrap()
        .into_inner()
        .annual_check
        .unwrap();
    assert_eq!(done.state, AnnualCheckState::Completed as i32);
    assert!(done.report_late, "sent after 2026-03-31");
    // 2026 has not ended yet on this machine's calendar.
    let err = h
        .client
        .complete_annual_check(agency(complete(&within.name)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "YEAR_NOT_ENDED");
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE subject = 'pdop.pricing.annual_check.completed'",
    )
    .fetch_one(&h.db.pool)
    .await
    .unwrap();
    assert_eq!(events, 1);
}

#[tokio::test]
async fn a_settled_period_carries_its_over_collection_forward() {
    // N1 §四: 上一周期内实际收入超过最高准许收入的部分 … 予以扣减，超出较多的，可在不同周期平滑处理.
    let mut h = start().await;
    let case = in_effect_over(&mut h, range((2025, 1, 1), (2025, 12, 31))).await;
    let create = || CreatePeriodSettlementRequest {
        pricing_case: case.name.clone(),
        request_id: String::new(),
    };
    let err = h
        .client
        .create_period_settlement(authority(create()))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "ANNUAL_CHECK_MISSING");
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
    h.client
        .complete_annual_check(agency(CompleteAnnualCheckRequest {
            name: check.name,
            business_report: doc("经营情况报告"),
            report_date: Some(pdop_proto::common::Date {
                year: 2026,
                month: 3,
                day: 20,
            }),
            ..Default::default()
        }))
        .await
        .unwrap();
    let draft = h
        .client
        .create_period_settlement(authority(create()))
        .await
        .unwrap()
        .into_inner()
        .period_settlement
        .unwrap();
    assert_eq!(draft.excess.clone().unwrap().amount, "1078666.67");
    let complete = |treatment: SettlementTreatment, parts: &[(i32, &str)]| CompletePeriodSettlementRequest {
        name: draft.name.clone(),
        treatment: treatment as i32,
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
    let err = h
        .client
        .complete_period_settlement(authority(complete(SettlementTreatment::NoExcess, &[])))
        .await
        .unwrap_err();
    assert_invalid(&err, &["treatment"]);
    let err = h
        .client
        .complete_period_settlement(authority(complete(
            SettlementTreatment::Smoothed,
            &[(1, "539333.34"), (2, "539333.32")],
        )))
        .await
        .unwrap_err();
    assert_invalid(&err, &["installments"]);
    let done = h
        .client
        .complete_period_settlement(authority(complete(
            SettlementTreatment::Smoothed,
            &[(1, "539333.34"), (2, "539333.33")],
        )))
        .await
        .unwrap()
        .into_inner()
        .period_settlement
        .unwrap();
    assert_eq!(done.state, PeriodSettlementState::Completed as i32);
    let settled = h
        .client
        .get_pricing_case(authority(GetPricingCaseRequest {
            name: case.name.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .pricing_case
        .unwrap();
    assert_eq!(settled.state, PricingCaseState::Settled as i32);
    assert_eq!(settled.settlement, done.name);
}
