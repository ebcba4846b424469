//! Cap prices within the approved MAR, free products at 0, specific prices at or below the cap, and trial
//! prices under the authorizing entity's guidance, over gRPC.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pdop_kit::auth::Role;
use pdop_proto::common::{BillingUnit, DocumentRef, UseClass};
use pdop_proto::pricing::v1::*;
use pdop_testkit::{acting, assert_invalid, reason};
use tonic::Code;

#[tokio::test]
async fn caps_fit_within_the_mar_and_free_products_are_free() {
    let mut h = start().await;
    let case = mar_approved_over(&mut h, range((2027, 1, 1), (2029, 12, 31))).await;
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

#[tokio::test]
async fn a_lower_cap_flags_the_published_prices_above_it() {
    // N1 §二: specific prices stay 不高于上限收费标准; a lowered cap leaves a published price above it, which is
    // flagged for the operator to replace.
    let mut h = start().await;
    let case = in_effect(&mut h).await;
    let caps = h
        .client
        .list_cap_prices(agency(ListCapPricesRequest {
            pricing_case: case.name.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .cap_prices;
    let current = caps[0].clone();
    let price = h
        .client
        .create_specific_price(operator(CreateSpecificPriceRequest {
            specific_price: Some(SpecificPrice {
                pricing_case: case.name.clone(),
                product: "products/api".into(),
                billing_unit: BillingUnit::PerCall as i32,
                unit_label: "元/次".into(),
                amount: cny("1.40"),
                effective_period: range((2025, 1, 1), (2025, 12, 31)),
                publication_channels: vec!["https://market.example/api".into()],
                ..Default::default()
            }),
            request_id: String::new(),
        }))
        .await
        .unwrap()
        .into_inner()
        .specific_price
        .unwrap();
    let publish = PublishSpecificPriceRequest {
        name: price.name.clone(),
        ..Default::default()
    };
    h.client.publish_specific_price(operator(publish)).await.unwrap();

    let lower = create_cap(
        &mut h,
        CapPrice {
            supersedes: current.name.clone(),
            adjustment_reason: "年度校核：收入超出最高准许收入10%以上".into(),
            effective_period: range((2025, 1, 1), (2025, 12, 31)),
            ..cap(&case.name, "api", "1.20", "4000000")
        },
    )
    .await
    .unwrap();
    set_cap(&mut h, &lower.name, &[AUTHORITY, DATA_AUTHORITY])
        .await
        .unwrap();
    let published = h
        .client
        .publish_cap_price(agency(PublishCapPriceRequest {
            name: lower.name.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        published.specific_prices_above_cap,
        std::slice::from_ref(&price.name)
    );
    let flagged = h
        .client
        .list_specific_prices(operator(ListSpecificPricesRequest {
            pricing_case: case.name.clone(),
            exceeds_cap: true,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .specific_prices;
    assert_eq!(flagged.len(), 1);
    assert!(flagged[0].exceeds_cap);
    let announced: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT payload FROM outbox WHERE subject = 'pdop.pricing.cap_price.published' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_all(&h.db.pool)
    .await
    .unwrap();
    let event = <pdop_proto::pricing::events::v1::CapPricePublished as prost::Message>::decode(
        announced[0].as_slice(),
    )
    .unwrap();
    assert_eq!(event.specific_prices_above_cap, [price.name]);
}

async fn rows(h: &Harness, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&h.db.pool).await.unwrap()
}

// AIP-155: setting and publishing a cap under a request id a second time answers as the first time did and
// records nothing more (no audit row, no event).
#[tokio::test]
async fn a_repeated_set_or_publish_is_answered_once() {
    let mut h = start().await;
    let case = mar_approved_over(&mut h, range((2025, 1, 1), (2027, 12, 31))).await;
    product(&h, "api", UseClass::IndustryDevelopment, 0).await;
    h.until("the product is known", "SELECT count(*) = 1 FROM products")
        .await;
    let api = create_cap(&mut h, cap(&case.name, "api", "1.50", "4000000"))
        .await
        .unwrap();
    let set = SetCapPriceRequest {
        name: api.name.clone(),
        written_report: doc("书面报告"),
        reported_to: vec![AUTHORITY.into(), DATA_AUTHORITY.into()],
        request_id: "set-1".into(),
        ..Default::default()
    };
    let first = h
        .client
        .set_cap_price(agency(set.clone()))
        .await
        .unwrap()
        .into_inner();
    let again = h.client.set_cap_price(agency(set)).await.unwrap().into_inner();
    assert_eq!(first, again);
    let publish = PublishCapPriceRequest {
        name: api.name.clone(),
        request_id: "publish-1".into(),
        ..Default::default()
    };
    let first = h
        .client
        .publish_cap_price(agency(publish.clone()))
        .await
        .unwrap()
        .into_inner();
    let again = h
        .client
        .publish_cap_price(agency(publish))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first, again);
    assert_eq!(
        rows(&h, "SELECT count(*) FROM audit_log WHERE action IN ('pricing.SetCapPrice', 'pricing.PublishCapPrice')").await,
        2
    );
    assert_eq!(
        rows(
            &h,
            "SELECT count(*) FROM outbox WHERE subject = 'pdop.pricing.cap_price.published'"
        )
        .await,
        1
    );
}
