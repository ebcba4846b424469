//! `UpdatePricingCase` (AIP-134 masks, AIP-154 etags) and the jurisdiction scope of pricing's supervisors
//! (THREATS H2), over gRPC.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pdop_kit::auth::Role;
use pdop_proto::pricing::v1::*;
use pdop_testkit::{acting_in, assert_invalid, reason};
use prost_types::FieldMask;
use tonic::Code;

const HENAN: &str = "jurisdictions/henan";

fn update(c: &PricingCase, paths: &[&str], etag: &str) -> UpdatePricingCaseRequest {
    UpdatePricingCaseRequest {
        pricing_case: Some(c.clone()),
        update_mask: Some(FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }),
        etag: etag.into(),
    }
}

async fn trial_case(h: &mut Harness) -> PricingCase {
    let request = CreatePricingCaseRequest {
        pricing_case: Some(PricingCase {
            display_name: "定价".into(),
            agreement: AGREEMENT.into(),
            pricing_authority: AUTHORITY.into(),
            data_authority: DATA_AUTHORITY.into(),
            catalogue: PricingCatalogue::Local as i32,
            pricing_period: range((2027, 1, 1), (2029, 12, 31)),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    h.client
        .create_pricing_case(agency(request))
        .await
        .unwrap()
        .into_inner()
        .pricing_case
        .unwrap()
}

/// The case's own authorizing entity, holding a token of another province.
fn henan_agency<T>(message: T) -> tonic::Request<T> {
    acting_in(AGENCY, &[Role::ImplementingAgency], HENAN, message)
}

/// The case's own pricing authority, holding a token of another province.
fn henan_authority<T>(message: T) -> tonic::Request<T> {
    acting_in(AUTHORITY, &[Role::PricingAuthority], HENAN, message)
}

async fn outbox(h: &Harness) -> Vec<String> {
    sqlx::query_scalar("SELECT subject FROM outbox ORDER BY seq")
        .fetch_all(&h.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_authorizing_entity_changes_a_trial_case_under_its_etag() {
    let mut h = start().await;
    let case = trial_case(&mut h).await;
    let mut changed = case.clone();
    changed.display_name = "  2027—2029年定价  ".into();
    changed.note = "周期调整".into();
    changed.pricing_period = range((2027, 1, 1), (2029, 12, 31));
    changed.catalogue = PricingCatalogue::Central as i32;
    let paths = ["display_name", "note", "pricing_period", "catalogue"];
    let updated = h
        .client
        .update_pricing_case(agency(update(&changed, &paths, &case.etag)))
        .await
        .unwrap()
        .into_inner()
        .pricing_case
        .unwrap();
    assert_eq!(updated.display_name, "2027—2029年定价");
    assert_eq!(updated.note, "周期调整");
    assert_eq!(updated.pricing_period, changed.pricing_period);
    assert_eq!(updated.catalogue, PricingCatalogue::Central as i32);
    assert_ne!(updated.etag, case.etag);
    assert_eq!(
        outbox(&h).await.last().map(String::as_str),
        Some("pdop.pricing.pricing_case.updated")
    );

    // AIP-154: the etag read before the change is stale now.
    let err = h
        .client
        .update_pricing_case(agency(update(&changed, &["note"], &case.etag)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted, "{err:?}");
}

#[tokio::test]
async fn a_bad_update_names_its_field() {
    let mut h = start().await;
    let case = trial_case(&mut h).await;
    let mut bad = case.clone();
    let err = h
        .client
        .update_pricing_case(agency(update(&bad, &["operator"], "")))
        .await
        .unwrap_err();
    assert_invalid(&err, &["update_mask"]);

    // D9 (N1 §四): the period is whole years, at most the profile's cycle (3 years in Yunnan).
    bad.pricing_period = range((2027, 1, 1), (2030, 12, 31));
    let err = h
        .client
        .update_pricing_case(agency(update(&bad, &["pricing_period"], "")))
        .await
        .unwrap_err();
    assert_invalid(&err, &["pricing_case.pricing_period"]);

    bad.pricing_authority = "drc".into();
    bad.display_name = " ".into();
    let err = h
        .client
        .update_pricing_case(agency(update(&bad, &["display_name", "pricing_authority"], "")))
        .await
        .unwrap_err();
    assert_invalid(
        &err,
        &["pricing_case.display_name", "pricing_case.pricing_authority"],
    );

    bad.pricing_authority = "organizations/unknown-drc".into();
    let err = h
        .client
        .update_pricing_case(agency(update(&bad, &["pricing_authority"], "")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    assert_eq!(reason(&err), "ORGANIZATION_NOT_FOUND");

    // N1 §二: once applied, the application's period cannot be cleared.
    let apply = SubmitPricingApplicationRequest {
        name: case.name.clone(),
        full_year_period: range((2025, 1, 1), (2025, 12, 31)),
        document: doc("申请"),
        ..Default::default()
    };
    h.client.submit_pricing_application(agency(apply)).await.unwrap();
    let mut cleared = case.clone();
    cleared.pricing_period = None;
    cleared.etag.clear();
    let err = h
        .client
        .update_pricing_case(agency(update(&cleared, &["pricing_period"], "")))
        .await
        .unwrap_err();
    assert_invalid(&err, &["pricing_case.pricing_period"]);
}

#[tokio::test]
async fn who_prices_what_is_frozen_once_the_basis_is_assessed() {
    let mut h = start().await;
    let case = investigating(&mut h).await;
    let mut changed = case.clone();
    changed.data_authority = DATA_AUTHORITY.into();
    let err = h
        .client
        .update_pricing_case(authority(update(&changed, &["data_authority"], "")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert_eq!(reason(&err), "WRONG_STATE");

    changed.note = "成本调查中".into();
    let updated = h
        .client
        .update_pricing_case(authority(update(&changed, &["note"], "")))
        .await
        .unwrap()
        .into_inner()
        .pricing_case
        .unwrap();
    assert_eq!(updated.note, "成本调查中");
    assert_eq!(updated.state, PricingCaseState::CostInvestigation as i32);
}

#[tokio::test]
async fn an_operator_or_another_agency_cannot_change_a_case() {
    let mut h = start().await;
    let case = trial_case(&mut h).await;
    let err = h
        .client
        .update_pricing_case(operator(update(&case, &["note"], "")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let other = pdop_testkit::acting(
        "organizations/other-agency",
        &[Role::ImplementingAgency],
        update(&case, &["note"], ""),
    );
    let err = h.client.update_pricing_case(other).await.unwrap_err();
    assert_eq!(reason(&err), "NOT_THE_AUTHORIZING_ENTITY");
}

// THREATS H2: the case's own parties, holding tokens of another province, are refused every supervisory act on
// a Yunnan case, and nothing is written; the same parties acting in Yunnan itself are served.
#[tokio::test]
async fn a_foreign_jurisdiction_token_is_denied_every_supervisory_rpc() {
    let mut h = start().await;
    h.jurisdiction("j-2", HENAN, "jurisdictions/china", "henan").await;
    h.until(
        "Henan is known",
        "SELECT EXISTS (SELECT 1 FROM jurisdictions WHERE id = 'henan')",
    )
    .await;
    let case = trial_case(&mut h).await;
    let before = outbox(&h).await;

    let mut denied = Vec::new();
    let open = CreatePricingCaseRequest {
        pricing_case: Some(PricingCase {
            display_name: "越权".into(),
            agreement: AGREEMENT.into(),
            authorizing_entity: AGENCY.into(),
            pricing_authority: AUTHORITY.into(),
            data_authority: DATA_AUTHORITY.into(),
            catalogue: PricingCatalogue::Local as i32,
            ..Default::default()
        }),
        request_id: String::new(),
    };
    denied.push((
        "CreatePricingCase",
        h.client.create_pricing_case(henan_authority(open)).await.err(),
    ));
    denied.push((
        "UpdatePricingCase",
        h.client
            .update_pricing_case(henan_agency(update(&case, &["note"], "")))
            .await
            .err(),
    ));
    let apply = SubmitPricingApplicationRequest {
        name: case.name.clone(),
        full_year_period: range((2025, 1, 1), (2025, 12, 31)),
        document: doc("申请"),
        ..Default::default()
    };
    denied.push((
        "SubmitPricingApplication",
        h.client
            .submit_pricing_application(henan_agency(apply.clone()))
            .await
            .err(),
    ));
    h.client.submit_pricing_application(agency(apply)).await.unwrap();
    let assess = AssessPricingBasisRequest {
        name: case.name.clone(),
        basis_found: true,
        reason: "具备定价基础".into(),
        ..Default::default()
    };
    denied.push((
        "AssessPricingBasis",
        h.client
            .assess_pricing_basis(henan_authority(assess.clone()))
            .await
            .err(),
    ));
    for (rpc, err) in denied {
        let err = err.unwrap_or_else(|| panic!("{rpc} from Henan was served"));
        assert_eq!(err.code(), Code::PermissionDenied, "{rpc}: {err:?}");
        assert_eq!(reason(&err), "OUTSIDE_JURISDICTION", "{rpc}");
    }
    let applied = outbox(&h).await;
    assert_eq!(
        applied.len(),
        before.len() + 1,
        "only the Yunnan application was written"
    );

    // Acting in Yunnan itself (the case's own jurisdiction) is in scope.
    let yunnan = acting_in(
        AUTHORITY,
        &[Role::PricingAuthority],
        "jurisdictions/yunnan",
        assess,
    );
    let assessed = h.client.assess_pricing_basis(yunnan).await.unwrap().into_inner();
    assert_eq!(
        assessed.pricing_case.unwrap().state,
        PricingCaseState::CostInvestigation as i32
    );
}
