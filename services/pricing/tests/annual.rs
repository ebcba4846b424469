//! The annual check (年度校核) and the period settlement (周期清算) of a case in effect, over gRPC.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pdop_kit::auth::Role;
use pdop_proto::pricing::v1::*;
use pdop_testkit::{acting, assert_invalid, reason};
use tonic::Code;

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
    // The case's checks in year order, page by page; outcome and lateness filter them.
    let list = |filter: ListAnnualChecksRequest| ListAnnualChecksRequest {
        pricing_case: case.name.clone(),
        ..filter
    };
    let first = h
        .client
        .list_annual_checks(operator(list(ListAnnualChecksRequest {
            page_size: 1,
            ..Default::default()
        })))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.annual_checks[0].year, 2025);
    let second = h
        .client
        .list_annual_checks(operator(list(ListAnnualChecksRequest {
            page_size: 1,
            page_token: first.next_page_token,
            ..Default::default()
        })))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.annual_checks[0].year, 2026);
    let names = |checks: Vec<AnnualCheck>| checks.into_iter().map(|c| c.name).collect::<Vec<_>>();
    let by_outcome = h
        .client
        .list_annual_checks(agency(list(ListAnnualChecksRequest {
            adjustment_level: AdjustmentLevel::CapPrices as i32,
            ..Default::default()
        })))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(names(by_outcome.annual_checks), std::slice::from_ref(&over.name));
    let late = h
        .client
        .list_annual_checks(agency(list(ListAnnualChecksRequest {
            report_late: true,
            ..Default::default()
        })))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(names(late.annual_checks), std::slice::from_ref(&over.name));
    // Checks are read by the case's parties only.
    let stranger = h
        .client
        .list_annual_checks(acting(
            "organizations/other-operator",
            &[Role::Operator],
            list(ListAnnualChecksRequest::default()),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(stranger.annual_checks.is_empty());

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
    check_2025(&mut h, &case).await;
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

    let by_operator = |who: &str| {
        acting(
            who,
            &[Role::Operator],
            ListPeriodSettlementsRequest {
                operator: who.into(),
                ..Default::default()
            },
        )
    };
    let own = h
        .client
        .list_period_settlements(by_operator(OPERATOR))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(own.period_settlements.len(), 1);
    assert_eq!(own.period_settlements[0].name, done.name);
    let other = h
        .client
        .list_period_settlements(by_operator("organizations/other-operator"))
        .await
        .unwrap()
        .into_inner();
    assert!(other.period_settlements.is_empty());
    let err = h
        .client
        .list_period_settlements(authority(ListPeriodSettlementsRequest {
            jurisdiction: "yunnan".into(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_invalid(&err, &["jurisdiction"]);
}

#[tokio::test]
async fn the_next_period_waits_for_the_settlement_and_deducts_its_over_collection() {
    // N1 §四: 上一周期内实际收入超过最高准许收入的部分，在核定下一周期最高准许收入时予以扣减.
    let mut h = start().await;
    let case = in_effect_over(&mut h, range((2025, 1, 1), (2025, 12, 31))).await;
    let fresh = CreatePricingCaseRequest {
        pricing_case: Some(PricingCase {
            display_name: "下一周期".into(),
            agreement: AGREEMENT.into(),
            pricing_authority: AUTHORITY.into(),
            data_authority: DATA_AUTHORITY.into(),
            catalogue: PricingCatalogue::Local as i32,
            pricing_period: range((2026, 1, 1), (2026, 12, 31)),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let err = h.client.create_pricing_case(agency(fresh)).await.unwrap_err();
    assert_eq!(reason(&err), "PREDECESSOR_REQUIRED");

    let next = investigating_after(&mut h, range((2026, 1, 1), (2026, 12, 31)), &case.name).await;
    assert_eq!(next.predecessor, case.name);
    assert_eq!(next.carried_deduction.clone().unwrap().amount, "0.00");
    let survey = approved_survey(&mut h, &next).await;
    let calculate = |h: &mut Harness| {
        let request = CreateCalculationRequest {
            input: Some(calculation_input(
                &next.name,
                &survey.name,
                "bondYields/2025-chinabond-10y",
            )),
            request_id: String::new(),
        };
        let mut client = h.client.clone();
        async move {
            client
                .create_calculation(authority(request))
                .await
                .unwrap()
                .into_inner()
                .calculation
                .unwrap()
        }
    };
    let early = calculate(&mut h).await;
    let approve = |calculation: &str| ApproveMaxAllowedRevenueRequest {
        name: next.name.clone(),
        calculation: calculation.into(),
        decision_document: doc("核定文件"),
        data_authority_concurrence: doc("会同意见"),
        ..Default::default()
    };
    let err = h
        .client
        .approve_max_allowed_revenue(authority(approve(&early.name)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "PREDECESSOR_NOT_SETTLED");

    // Smoothed over two periods: the first installment falls due in the next one.
    settle_2025(&mut h, &case, &[(1, "539333.34"), (2, "539333.33")]).await;
    let get = |name: &str| GetPricingCaseRequest { name: name.into() };
    let carried = h
        .client
        .get_pricing_case(authority(get(&next.name)))
        .await
        .unwrap()
        .into_inner()
        .pricing_case
        .unwrap();
    assert_eq!(carried.carried_deduction.unwrap().amount, "539333.34");
    let settled = h
        .client
        .get_pricing_case(authority(get(&case.name)))
        .await
        .unwrap()
        .into_inner()
        .pricing_case
        .unwrap();
    assert_eq!(settled.successor, next.name);

    // The calculation made before the settlement did not deduct; a new one does.
    let err = h
        .client
        .approve_max_allowed_revenue(authority(approve(&early.name)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "CALCULATION_STALE");
    let current = calculate(&mut h).await;
    let approved = h
        .client
        .approve_max_allowed_revenue(authority(approve(&current.name)))
        .await
        .unwrap()
        .into_inner()
        .pricing_case
        .unwrap();
    // DOMAIN §3.2: 8,821,333.33 less the 539,333.34 carried into this one-year period.
    assert_eq!(approved.max_allowed_revenue.unwrap().amount, "8281999.99");
}
