//! `UpdateAnnualCheck`: a DRAFT check's figures change through a field mask (AIP-134) under its etag (AIP-154),
//! and the deviation preview follows them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pdop_kit::auth::Role;
use pdop_proto::common::DocumentRef;
use pdop_proto::pricing::v1::*;
use pdop_testkit::{acting, assert_invalid, reason};
use prost_types::FieldMask;
use tonic::Code;

fn update(c: AnnualCheck, paths: &[&str], etag: &str) -> UpdateAnnualCheckRequest {
    UpdateAnnualCheckRequest {
        annual_check: Some(c),
        update_mask: Some(FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }),
        etag: etag.into(),
    }
}

#[tokio::test]
async fn a_draft_check_changes_only_in_its_masked_figures_and_its_preview_follows() {
    let mut h = start().await;
    let case = in_effect(&mut h).await;
    let documents = vec![DocumentRef {
        uri: "https://docs.example/ledger.pdf".into(),
        ..Default::default()
    }];
    let draft = h
        .client
        .create_annual_check(operator(CreateAnnualCheckRequest {
            annual_check: Some(AnnualCheck {
                pricing_case: case.name.clone(),
                year: 2025,
                actual_revenue: cny("9900000"),
                documents: documents.clone(),
                ..Default::default()
            }),
            request_id: String::new(),
        }))
        .await
        .unwrap()
        .into_inner()
        .annual_check
        .unwrap();
    assert_eq!(draft.adjustment_level, AdjustmentLevel::CapPrices as i32);

    // N1 §四: 9,000,000 against 8,821,333.33 is +2.03%, within 10%: the operator adjusts its prices. The
    // unmasked cost stays unset.
    let changed = h
        .client
        .update_annual_check(operator(update(
            AnnualCheck {
                name: draft.name.clone(),
                actual_revenue: cny("9000000"),
                actual_cost: cny("100"),
                ..Default::default()
            },
            &["actual_revenue"],
            &draft.etag,
        )))
        .await
        .unwrap()
        .into_inner()
        .annual_check
        .unwrap();
    assert_eq!(changed.actual_revenue.clone().unwrap().amount, "9000000");
    assert_eq!(changed.actual_cost, None);
    assert_eq!(changed.deviation.clone().unwrap().value, "0.020254");
    assert_eq!(changed.adjustment_level, AdjustmentLevel::SpecificPrices as i32);
    assert_eq!(changed.documents, documents);

    let stale = h
        .client
        .update_annual_check(agency(update(
            AnnualCheck {
                name: draft.name.clone(),
                actual_revenue: cny("1"),
                ..Default::default()
            },
            &["actual_revenue"],
            &draft.etag,
        )))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    assert_eq!(reason(&stale), "ETAG_MISMATCH");

    // `*` replaces every mutable field: the documents left out are cleared.
    let replaced = h
        .client
        .update_annual_check(agency(update(
            AnnualCheck {
                name: draft.name.clone(),
                actual_revenue: cny("8821333.33"),
                ..Default::default()
            },
            &["*"],
            &changed.etag,
        )))
        .await
        .unwrap()
        .into_inner()
        .annual_check
        .unwrap();
    assert!(replaced.documents.is_empty());
    assert_eq!(replaced.deviation.clone().unwrap().value, "0");

    for paths in [&["year"][..], &["deviation"], &["nonsense"]] {
        let err = h
            .client
            .update_annual_check(agency(update(
                AnnualCheck {
                    name: draft.name.clone(),
                    ..Default::default()
                },
                paths,
                "",
            )))
            .await
            .unwrap_err();
        assert_invalid(&err, &["update_mask"]);
    }

    let outsider = acting(
        "organizations/other-operator",
        &[Role::Operator],
        update(
            AnnualCheck {
                name: draft.name.clone(),
                actual_revenue: cny("1"),
                ..Default::default()
            },
            &["actual_revenue"],
            "",
        ),
    );
    let err = h.client.update_annual_check(outsider).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    h.client
        .complete_annual_check(agency(CompleteAnnualCheckRequest {
            name: draft.name.clone(),
            business_report: doc("经营情况报告"),
            ..Default::default()
        }))
        .await
        .unwrap();
    let err = h
        .client
        .update_annual_check(agency(update(
            AnnualCheck {
                name: draft.name.clone(),
                actual_revenue: cny("1"),
                ..Default::default()
            },
            &["actual_revenue"],
            "",
        )))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "WRONG_STATE");
}
