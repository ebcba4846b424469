//! Pricing cases over gRPC: opened for a signed agreement in TRIAL, the written application once a full year
//! exists, and the pricing authority's assessment of the pricing basis.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pdop_kit::auth::Role;
use pdop_kit::convert::date;
use pdop_proto::common::{DateRange, DocumentRef};
use pdop_proto::pricing::v1::*;
use pdop_proto::registry::events::v1::{AgreementSummary, AgreementTerminated};
use pdop_proto::registry::v1::AgreementState;
use pdop_testkit::{acting, assert_invalid, reason};
use prost::Message;
use tonic::Code;

fn period(from: (i32, u32, u32), to: (i32, u32, u32)) -> Option<DateRange> {
    let d = |(y, m, day): (i32, u32, u32)| Some(date(chrono::NaiveDate::from_ymd_opt(y, m, day).unwrap()));
    Some(DateRange {
        start_date: d(from),
        end_date: d(to),
    })
}

fn doc() -> Option<DocumentRef> {
    Some(DocumentRef {
        uri: "https://docs.example/application.pdf".into(),
        ..Default::default()
    })
}

fn case() -> PricingCase {
    PricingCase {
        display_name: "云南运营机构2027—2029年公共数据运营服务费定价".into(),
        agreement: AGREEMENT.into(),
        pricing_authority: AUTHORITY.into(),
        data_authority: DATA_AUTHORITY.into(),
        catalogue: PricingCatalogue::Local as i32,
        pricing_period: period((2027, 1, 1), (2029, 12, 31)),
        ..Default::default()
    }
}

async fn open(h: &mut Harness, c: PricingCase) -> Result<PricingCase, tonic::Status> {
    let request = CreatePricingCaseRequest {
        pricing_case: Some(c),
        request_id: String::new(),
    };
    Ok(h.client
        .create_pricing_case(agency(request))
        .await?
        .into_inner()
        .pricing_case
        .unwrap())
}

#[tokio::test]
async fn a_case_goes_from_trial_through_the_application_to_cost_investigation() {
    let mut h = start().await;
    let opened = open(&mut h, case()).await.unwrap();
    // N1 §二: no fee standard yet → trial fees under the authorizing entity's guidance.
    assert_eq!(opened.state, PricingCaseState::Trial as i32);
    assert_eq!(opened.operator, OPERATOR);
    assert_eq!(opened.authorizing_entity, AGENCY);
    assert_eq!(opened.jurisdiction, "jurisdictions/yunnan");
    let err = open(&mut h, case()).await.unwrap_err();
    assert_eq!(reason(&err), "CASE_OPEN");

    // N1 §二: a full (twelve-month, completed) operating year before the written application.
    let apply = |from, to| SubmitPricingApplicationRequest {
        name: opened.name.clone(),
        full_year_period: period(from, to),
        document: doc(),
        summary: "2025年度完整运营".into(),
        ..Default::default()
    };
    let err = h
        .client
        .submit_pricing_application(agency(apply((2025, 1, 1), (2025, 6, 30))))
        .await
        .unwrap_err();
    assert_invalid(&err, &["full_year_period"]);
    let err = h
        .client
        .submit_pricing_application(authority(apply((2025, 1, 1), (2025, 12, 31))))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let applied = h
        .client
        .submit_pricing_application(agency(apply((2025, 1, 1), (2025, 12, 31))))
        .await
        .unwrap()
        .into_inner()
        .pricing_case
        .unwrap();
    assert_eq!(applied.state, PricingCaseState::Applied as i32);

    let assess = |found: bool| AssessPricingBasisRequest {
        name: opened.name.clone(),
        basis_found: found,
        reason: "成本核算资料齐全".into(),
        ..Default::default()
    };
    // Only the case's own pricing authority assesses.
    let err = h
        .client
        .assess_pricing_basis(acting(
            "organizations/other-drc",
            &[Role::PricingAuthority],
            assess(true),
        ))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "NOT_THE_PRICING_AUTHORITY");
    let assessed = h
        .client
        .assess_pricing_basis(authority(assess(true)))
        .await
        .unwrap()
        .into_inner()
        .pricing_case
        .unwrap();
    assert_eq!(assessed.state, PricingCaseState::CostInvestigation as i32);
    let subjects: Vec<String> = sqlx::query_scalar("SELECT subject FROM outbox ORDER BY seq")
        .fetch_all(&h.db.pool)
        .await
        .unwrap();
    assert_eq!(
        subjects,
        [
            "pdop.pricing.pricing_case.created",
            "pdop.pricing.pricing_case.application_submitted",
            "pdop.pricing.pricing_case.basis_assessed",
        ]
    );

    // The operator reads its case; an unrelated operator does not.
    let get = |name: &str| GetPricingCaseRequest { name: name.into() };
    assert!(
        h.client
            .get_pricing_case(acting(OPERATOR, &[Role::Operator], get(&opened.name)))
            .await
            .is_ok()
    );
    let err = h
        .client
        .get_pricing_case(acting("organizations/x", &[Role::Operator], get(&opened.name)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn a_case_needs_a_signed_agreement_whole_years_and_a_catalogue() {
    let mut h = start().await;
    // D9 (N1 §四): at most a 3-year cycle, in whole years.
    let err = open(
        &mut h,
        PricingCase {
            pricing_period: period((2027, 1, 1), (2030, 12, 31)),
            catalogue: 0,
            ..case()
        },
    )
    .await
    .unwrap_err();
    assert_invalid(&err, &["pricing_case.catalogue"]);
    let err = open(
        &mut h,
        PricingCase {
            pricing_period: period((2027, 1, 1), (2030, 12, 31)),
            ..case()
        },
    )
    .await
    .unwrap_err();
    assert_invalid(&err, &["pricing_case.pricing_period"]);

    // A terminated agreement is no longer priced (the registry's event updates the read model).
    let terminated = AgreementTerminated {
        agreement: Some(AgreementSummary {
            name: AGREEMENT.into(),
            state: AgreementState::Terminated as i32,
            ..Default::default()
        }),
        ..Default::default()
    };
    h.publish(
        "pdop.registry.agreement.terminated",
        "a-2",
        terminated.encode_to_vec(),
    )
    .await;
    h.until(
        "the agreement is terminated",
        "SELECT state = 6 FROM agreements WHERE id = 'a1'",
    )
    .await;
    let err = open(&mut h, case()).await.unwrap_err();
    assert_eq!(reason(&err), "AGREEMENT_NOT_SIGNED");
    let err = open(
        &mut h,
        PricingCase {
            agreement: "agreements/unknown".into(),
            ..case()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}
