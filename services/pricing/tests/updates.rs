//! The Update RPCs of drafts (AIP-134 field masks, AIP-154 etags) and the end (ENDED) of published caps and
//! prices, over gRPC.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pdop_kit::auth::Role;
use pdop_proto::common::{BillingUnit, UseClass};
use pdop_proto::pricing::v1::*;
use pdop_testkit::{acting, assert_invalid, reason};
use prost_types::FieldMask;
use tonic::Code;

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

async fn update_cap(
    h: &mut Harness,
    c: CapPrice,
    paths: &[&str],
    etag: &str,
) -> Result<CapPrice, tonic::Status> {
    let request = UpdateCapPriceRequest {
        cap_price: Some(c),
        update_mask: mask(paths),
        etag: etag.into(),
    };
    Ok(h.client
        .update_cap_price(agency(request))
        .await?
        .into_inner()
        .cap_price
        .unwrap())
}

fn factors() -> Option<CapPriceFactors> {
    Some(CapPriceFactors {
        scenario: "政务数据调用".into(),
        ..Default::default()
    })
}

#[tokio::test]
async fn a_draft_cap_changes_only_in_its_masked_fields() {
    let mut h = start().await;
    let case = mar_approved_over(&mut h, range((2027, 1, 1), (2029, 12, 31))).await;
    product(&h, "api", UseClass::IndustryDevelopment, 0).await;
    h.until("the product is known", "SELECT count(*) = 1 FROM products")
        .await;
    let draft = create_cap(
        &mut h,
        CapPrice {
            factors: factors(),
            ..cap(&case.name, "api", "1.50", "4000000")
        },
    )
    .await
    .unwrap();

    // The masked cap changes (and its expected revenue with it); the unmasked unit label does not.
    let changed = update_cap(
        &mut h,
        CapPrice {
            name: draft.name.clone(),
            cap_amount: cny("1.20"),
            unit_label: "元/千次".into(),
            ..Default::default()
        },
        &["cap_amount"],
        &draft.etag,
    )
    .await
    .unwrap();
    assert_eq!(changed.cap_amount.clone().unwrap().amount, "1.20");
    assert_eq!(changed.unit_label, "元/次");
    assert_eq!(changed.expected_revenue.clone().unwrap().amount, "4800000.00");
    assert_eq!(changed.factors, factors());

    // AIP-154: the etag read before that change is stale.
    let err = update_cap(
        &mut h,
        CapPrice {
            name: draft.name.clone(),
            cap_amount: cny("1.10"),
            ..Default::default()
        },
        &["cap_amount"],
        &draft.etag,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    assert_eq!(reason(&err), "ETAG_MISMATCH");

    // AIP-134: `*` replaces every mutable field, so the factors left out are cleared.
    let replaced = update_cap(
        &mut h,
        CapPrice {
            name: draft.name.clone(),
            ..cap(&case.name, "api", "1.00", "1000")
        },
        &["*"],
        &changed.etag,
    )
    .await
    .unwrap();
    assert_eq!(replaced.cap_amount.clone().unwrap().amount, "1.00");
    assert_eq!(replaced.expected_revenue.clone().unwrap().amount, "1000.00");
    assert_eq!(replaced.factors, None);
    assert_eq!(replaced.product, "products/api");

    // An immutable or unknown path is refused naming update_mask; so is a change that breaks a rule.
    for paths in [&["product"][..], &["no_such_field"], &["state"]] {
        let err = update_cap(
            &mut h,
            CapPrice {
                name: draft.name.clone(),
                ..Default::default()
            },
            paths,
            "",
        )
        .await
        .unwrap_err();
        assert_invalid(&err, &["update_mask"]);
    }
    let err = update_cap(
        &mut h,
        CapPrice {
            name: draft.name.clone(),
            effective_period: range((2031, 1, 1), (2031, 12, 31)),
            ..Default::default()
        },
        &["effective_period"],
        "",
    )
    .await
    .unwrap_err();
    assert_invalid(&err, &["cap_price.effective_period"]);

    // Only the case's authorizing entity changes its caps.
    let other = acting(
        "organizations/other-agency",
        &[Role::ImplementingAgency],
        UpdateCapPriceRequest {
            cap_price: Some(CapPrice {
                name: draft.name.clone(),
                unit_label: "元/万次".into(),
                ..Default::default()
            }),
            update_mask: mask(&["unit_label"]),
            etag: String::new(),
        },
    );
    let err = h.client.update_cap_price(other).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // Only a draft is edited.
    set_cap(&mut h, &draft.name, &[AUTHORITY, DATA_AUTHORITY])
        .await
        .unwrap();
    h.client
        .publish_cap_price(agency(PublishCapPriceRequest {
            name: draft.name.clone(),
            ..Default::default()
        }))
        .await
        .unwrap();
    let err = update_cap(
        &mut h,
        CapPrice {
            name: draft.name.clone(),
            unit_label: "元/万次".into(),
            ..Default::default()
        },
        &["unit_label"],
        "",
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "WRONG_STATE");
}

fn price(case: &str, amount: &str) -> SpecificPrice {
    SpecificPrice {
        pricing_case: case.into(),
        product: "products/api".into(),
        billing_unit: BillingUnit::PerCall as i32,
        unit_label: "元/次".into(),
        amount: cny(amount),
        effective_period: range((2027, 1, 1), (2027, 12, 31)),
        publication_channels: vec!["https://market.example/api".into()],
        ..Default::default()
    }
}

async fn create_price(h: &mut Harness, p: SpecificPrice) -> SpecificPrice {
    let request = CreateSpecificPriceRequest {
        specific_price: Some(p),
        request_id: String::new(),
    };
    h.client
        .create_specific_price(operator(request))
        .await
        .unwrap()
        .into_inner()
        .specific_price
        .unwrap()
}

async fn update_price(
    h: &mut Harness,
    p: SpecificPrice,
    paths: &[&str],
    etag: &str,
) -> Result<SpecificPrice, tonic::Status> {
    let request = UpdateSpecificPriceRequest {
        specific_price: Some(p),
        update_mask: mask(paths),
        etag: etag.into(),
    };
    Ok(h.client
        .update_specific_price(operator(request))
        .await?
        .into_inner()
        .specific_price
        .unwrap())
}

async fn publish_price(h: &mut Harness, name: &str) -> SpecificPrice {
    let request = PublishSpecificPriceRequest {
        name: name.into(),
        ..Default::default()
    };
    h.client
        .publish_specific_price(operator(request))
        .await
        .unwrap()
        .into_inner()
        .specific_price
        .unwrap()
}

/// A case over 2027–2029 with the `api` cap of 1.50 published for 2027.
async fn capped(h: &mut Harness) -> (PricingCase, CapPrice) {
    let case = mar_approved_over(h, range((2027, 1, 1), (2029, 12, 31))).await;
    product(h, "api", UseClass::IndustryDevelopment, 0).await;
    h.until("the product is known", "SELECT count(*) = 1 FROM products")
        .await;
    let api = create_cap(h, cap(&case.name, "api", "1.50", "4000000"))
        .await
        .unwrap();
    set_cap(h, &api.name, &[AUTHORITY, DATA_AUTHORITY]).await.unwrap();
    let published = h
        .client
        .publish_cap_price(agency(PublishCapPriceRequest {
            name: api.name,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .cap_price
        .unwrap();
    (case, published)
}

#[tokio::test]
async fn a_draft_price_changes_only_in_its_masked_fields_and_stays_under_the_cap() {
    let mut h = start().await;
    let (case, _) = capped(&mut h).await;
    let draft = create_price(
        &mut h,
        SpecificPrice {
            free_use_terms: "市级公益使用免费".into(),
            ..price(&case.name, "1.20")
        },
    )
    .await;

    let changed = update_price(
        &mut h,
        SpecificPrice {
            name: draft.name.clone(),
            amount: cny("1.40"),
            unit_label: "元/千次".into(),
            ..Default::default()
        },
        &["amount"],
        &draft.etag,
    )
    .await
    .unwrap();
    assert_eq!(changed.amount.clone().unwrap().amount, "1.40");
    assert_eq!(changed.unit_label, "元/次");
    assert_eq!(changed.free_use_terms, "市级公益使用免费");

    // N1 §二: an edited price stays at or below the published cap.
    let err = update_price(
        &mut h,
        SpecificPrice {
            name: draft.name.clone(),
            amount: cny("1.60"),
            ..Default::default()
        },
        &["amount"],
        &changed.etag,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "PRICE_ABOVE_CAP");

    let err = update_price(
        &mut h,
        SpecificPrice {
            name: draft.name.clone(),
            amount: cny("1.30"),
            ..Default::default()
        },
        &["amount"],
        &draft.etag,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);

    let replaced = update_price(
        &mut h,
        SpecificPrice {
            name: draft.name.clone(),
            ..price(&case.name, "1.00")
        },
        &["*"],
        &changed.etag,
    )
    .await
    .unwrap();
    assert_eq!(replaced.amount.clone().unwrap().amount, "1.00");
    assert_eq!(replaced.free_use_terms, "");

    let err = update_price(
        &mut h,
        SpecificPrice {
            name: draft.name.clone(),
            ..Default::default()
        },
        &["pricing_case"],
        "",
    )
    .await
    .unwrap_err();
    assert_invalid(&err, &["update_mask"]);

    let other = acting(
        "organizations/other-operator",
        &[Role::Operator],
        UpdateSpecificPriceRequest {
            specific_price: Some(SpecificPrice {
                name: draft.name.clone(),
                amount: cny("0.50"),
                ..Default::default()
            }),
            update_mask: mask(&["amount"]),
            etag: String::new(),
        },
    );
    let err = h.client.update_specific_price(other).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    publish_price(&mut h, &draft.name).await;
    let err = update_price(
        &mut h,
        SpecificPrice {
            name: draft.name.clone(),
            amount: cny("0.90"),
            ..Default::default()
        },
        &["amount"],
        "",
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "WRONG_STATE");
}

#[tokio::test]
async fn withdrawing_a_product_ends_its_published_cap_and_price() {
    let mut h = start().await;
    let (case, cap) = capped(&mut h).await;
    let price = create_price(&mut h, price(&case.name, "1.20")).await;
    let price = publish_price(&mut h, &price.name).await;
    withdraw(&h, "api").await;
    h.until(
        "the product is withdrawn",
        &format!(
            "SELECT state = {} FROM products WHERE id = 'api'",
            pdop_proto::registry::v1::ProductState::Withdrawn as i32
        ),
    )
    .await;
    h.until(
        "the cap and the price are ended",
        &format!(
            "SELECT (SELECT state FROM cap_prices WHERE id = '{}') = {}
                AND (SELECT state FROM specific_prices WHERE id = '{}') = {}",
            cap.name.trim_start_matches("capPrices/"),
            CapPriceState::Ended as i32,
            price.name.trim_start_matches("specificPrices/"),
            SpecificPriceState::Ended as i32,
        ),
    )
    .await;
    h.until(
        "both ends are announced",
        "SELECT count(*) = 2 FROM outbox
          WHERE subject IN ('pdop.pricing.cap_price.ended', 'pdop.pricing.specific_price.ended')",
    )
    .await;
    let got = h
        .client
        .get_cap_price(agency(GetCapPriceRequest { name: cap.name }))
        .await
        .unwrap()
        .into_inner()
        .cap_price
        .unwrap();
    assert_eq!(got.state, CapPriceState::Ended as i32);
}

#[tokio::test]
async fn the_scheduler_ends_caps_and_prices_once_their_period_is_over() {
    let day = chrono::NaiveDate::from_ymd_opt(2027, 6, 1).unwrap();
    let mut h = start_on(std::sync::Arc::new(pdop_kit::clock::ManualClock::on(day))).await;
    let (case, cap) = capped(&mut h).await;
    let price = create_price(&mut h, price(&case.name, "1.20")).await;
    let price = publish_price(&mut h, &price.name).await;
    let ended = format!(
        "SELECT (SELECT state FROM cap_prices WHERE id = '{}') = {}
            AND (SELECT state FROM specific_prices WHERE id = '{}') = {}",
        cap.name.trim_start_matches("capPrices/"),
        CapPriceState::Ended as i32,
        price.name.trim_start_matches("specificPrices/"),
        SpecificPriceState::Ended as i32,
    );
    // 2027-12-31 is the last day of their effective period; from 2028-01-01 they are over.
    assert!(h.advance(chrono::Duration::days(214)));
    h.until("the cap and the price are ended", &ended).await;
    let actors: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT actor FROM audit_log WHERE action = 'pricing.EndPrices'")
            .fetch_all(&h.db.pool)
            .await
            .unwrap();
    assert_eq!(actors, ["service:pricing-scheduler"]);
}

// SPINE §4, registry product.proto (WITHDRAWN is terminal): a listing event that arrives after the withdrawal
// leaves the read model's product withdrawn, so it cannot be priced again.
#[tokio::test]
async fn a_late_listing_does_not_bring_back_a_withdrawn_product() {
    let h = start().await;
    product(&h, "api", UseClass::IndustryDevelopment, 0).await;
    withdraw(&h, "api").await;
    h.until(
        "the withdrawal is applied",
        "SELECT EXISTS (SELECT 1 FROM products WHERE id = 'api' AND state = 5)",
    )
    .await;
    product(&h, "api", UseClass::IndustryDevelopment, 9).await;
    h.until(
        "the late listing is consumed",
        "SELECT EXISTS (SELECT 1 FROM inbox WHERE message_id = 'p-9')",
    )
    .await;
    let state: i16 = sqlx::query_scalar("SELECT state FROM products WHERE id = 'api'")
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
    assert_eq!(state, 5, "WITHDRAWN stays");
}
