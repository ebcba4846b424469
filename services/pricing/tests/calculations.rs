//! From a pricing case in cost investigation to a stored, explained MAR calculation over gRPC: the
//! operator's cost survey, the pricing authority's review (disallowances), approval, the bond yield of the
//! survey's prior year, the calculation with its derivation and its approval.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pdop_kit::auth::Role;
use pdop_proto::common::{DocumentRef, Money, Rate};
use pdop_proto::pricing::v1::calculation_input::CostBasis;
use pdop_proto::pricing::v1::*;
use pdop_testkit::{acting, assert_invalid, reason};
use prost::Message;
use tonic::Code;

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

#[tokio::test]
async fn a_malformed_stored_deduction_is_internal_never_zero() {
    // SPINE §7: a stored amount that does not parse is INTERNAL (its resource and field are logged); it is
    // never read as zero, which would silently drop the carried deduction of N1 §四.
    let mut h = start().await;
    let case = investigating(&mut h).await;
    let survey = approved_survey(&mut h, &case).await;
    let y2025 = record_yield(&mut h, 2025).await;
    let id = case.name.trim_start_matches("pricingCases/");
    let body: Vec<u8> = sqlx::query_scalar("SELECT body FROM pricing_cases WHERE id = $1")
        .bind(id)
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
    let mut corrupt = PricingCase::decode(body.as_slice()).unwrap();
    corrupt.carried_deduction = Some(Money {
        amount: "1,736,000".into(),
        currency: "CNY".into(),
    });
    sqlx::query("UPDATE pricing_cases SET body = $2 WHERE id = $1")
        .bind(id)
        .bind(corrupt.encode_to_vec())
        .execute(&h.db.pool)
        .await
        .unwrap();
    let request = CreateCalculationRequest {
        input: Some(calculation_input(&case.name, &survey.name, &y2025)),
        request_id: String::new(),
    };
    let err = h.client.create_calculation(authority(request)).await.unwrap_err();
    assert_eq!(err.code(), Code::Internal, "{err:?}");
}
