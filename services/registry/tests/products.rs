//! Products (公共数据产品和服务) over gRPC: built from the operator's authorized resources, submitted for
//! compliance review, listed when the review service's approval arrives over NATS (or held for registration
//! where the profile requires it), returned to draft on rejection, withdrawn, and visible by state.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::agreements::*;
use common::review::*;
use common::*;
use pdop_kit::auth::Role;
use pdop_proto::common::UseClass;
use pdop_proto::registry::events::v1::ProductListed;
use pdop_proto::registry::v1::*;
use pdop_proto::review::events::v1::ProductComplianceApproved;
use prost::Message;
use tonic::Code;

#[tokio::test]
async fn a_product_is_listed_when_review_approves_it_and_only_once() {
    // N3 Art.5 / national profile: product registration is encouraged, not required, so approval lists it.
    let (mut h, _nats, agreement) = world_on_own_nats("guangxi", "national").await;
    let draft = create_product(
        &mut h,
        OPERATOR,
        product(&agreement.name, &["resources/population"]),
    )
    .await
    .unwrap();
    assert_eq!(draft.state, ProductState::Draft as i32);
    assert_eq!(draft.jurisdiction, "jurisdictions/guangxi");
    assert_eq!(h.events("pdop.registry.product.created").await.len(), 1);
    // Unlisted products are visible to their owner and overseers, not to the public or a rival.
    let err = get_product(&mut h, RIVAL, &[Role::Operator], &draft.name)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(
        get_product(&mut h, OPERATOR, &[Role::Operator], &draft.name)
            .await
            .is_ok()
    );

    let submitted = submit_product(&mut h, &draft.name).await.unwrap();
    assert_eq!(submitted.state, ProductState::UnderReview as i32);
    assert_eq!(h.events("pdop.registry.product.submitted").await.len(), 1);

    let approval = ProductComplianceApproved {
        review: summary(&draft.name),
        ..Default::default()
    };
    // Delivered twice (a redelivery, or a duplicate publish under a new id): listed once.
    publish_review_event(
        &h,
        "pdop.review.product_review.approved",
        "ev-1",
        approval.encode_to_vec(),
    )
    .await;
    publish_review_event(
        &h,
        "pdop.review.product_review.approved",
        "ev-2",
        approval.encode_to_vec(),
    )
    .await;
    let listed = wait_for_product_state(&mut h, &draft.name, ProductState::Listed).await;
    assert_eq!(listed.last_review, "productReviews/r1");
    assert!(listed.list_time.is_some());
    pdop_testkit::wait_until("both deliveries are applied", Duration::from_secs(20), || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM inbox")
            .fetch_one(&h.db.pool)
            .await
            .unwrap_or(0)
            == 2
    })
    .await
    .unwrap();
    let events = h.events("pdop.registry.product.listed").await;
    assert_eq!(events.len(), 1, "each state change emits exactly one event");
    let event = ProductListed::decode(events[0].as_slice()).unwrap();
    assert_eq!(
        event.product.unwrap().use_class,
        UseClass::IndustryDevelopment as i32
    );
    // Listed products are public.
    assert!(
        get_product(&mut h, RIVAL, &[Role::Operator], &draft.name)
            .await
            .is_ok()
    );

    // Withdrawal (下架) needs a reason.
    let withdraw = |reason: &str| WithdrawProductRequest {
        name: draft.name.clone(),
        reason: reason.into(),
        etag: String::new(),
    };
    let err = h
        .client
        .withdraw_product(operator(OPERATOR, withdraw(" ")))
        .await
        .unwrap_err();
    assert_invalid(&err, &["reason"]);
    let err = h
        .client
        .withdraw_product(operator(RIVAL, withdraw("x")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let withdrawn = h
        .client
        .withdraw_product(authority(withdraw("数据源停止更新")))
        .await
        .unwrap()
        .into_inner()
        .product
        .unwrap();
    assert_eq!(withdrawn.state, ProductState::Withdrawn as i32);
}

#[tokio::test]
async fn yunnan_holds_an_approved_product_for_registration_and_a_rejection_returns_it_to_draft() {
    let (mut h, _nats, agreement) = world_on_own_nats("yunnan", "yunnan").await;
    let first = create_product(
        &mut h,
        OPERATOR,
        product(&agreement.name, &["resources/population"]),
    )
    .await
    .unwrap();
    submit_product(&mut h, &first.name).await.unwrap();
    // S-YN Art.18: products are registered before release, so approval alone does not list it.
    let approval = ProductComplianceApproved {
        review: summary(&first.name),
        registration_required: true,
        ..Default::default()
    };
    publish_review_event(
        &h,
        "pdop.review.product_review.approved",
        "ev-a",
        approval.encode_to_vec(),
    )
    .await;
    let approved = wait_for_product_state(&mut h, &first.name, ProductState::Approved).await;
    assert!(approved.list_time.is_none());
    assert!(h.events("pdop.registry.product.listed").await.is_empty());

    let second = create_product(
        &mut h,
        OPERATOR,
        product(&agreement.name, &["resources/population"]),
    )
    .await
    .unwrap();
    submit_product(&mut h, &second.name).await.unwrap();
    publish_rejection(&h, &second.name, "ev-r", "未提供个人信息去标识化说明").await;
    let back = wait_for_product_state(&mut h, &second.name, ProductState::Draft).await;
    assert_eq!(back.rejection_reasons, "未提供个人信息去标识化说明");
    // Resubmission clears the reasons.
    let again = submit_product(&mut h, &second.name).await.unwrap();
    assert!(again.rejection_reasons.is_empty());
}

#[tokio::test]
async fn products_are_built_only_from_the_operators_authorized_resources() {
    let (mut h, _nats, agreement) = world_on_own_nats("yunnan", "yunnan").await;
    registered_resource(&mut h, STATS, "households").await;
    // Registry issue §8: a product is built from resources in its agreement.
    let err = create_product(
        &mut h,
        OPERATOR,
        product(&agreement.name, &["resources/households"]),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "RESOURCE_NOT_AUTHORIZED");
    // Only the agreement's operator builds under it.
    let err = create_product(&mut h, RIVAL, product(&agreement.name, &["resources/population"]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = create_product(
        &mut h,
        OPERATOR,
        Product {
            kind: 0,
            use_class: 0,
            source_resources: vec![],
            ..product(&agreement.name, &[])
        },
    )
    .await
    .unwrap_err();
    assert_invalid(
        &err,
        &["product.kind", "product.use_class", "product.source_resources"],
    );

    // A suspended authorization stops submissions.
    let draft = create_product(
        &mut h,
        OPERATOR,
        product(&agreement.name, &["resources/population"]),
    )
    .await
    .unwrap();
    let suspend = SuspendAgreementRequest {
        name: agreement.name.clone(),
        reason: "发现重大安全风险".into(),
        ..Default::default()
    };
    h.client.suspend_agreement(agency(suspend)).await.unwrap();
    let err = submit_product(&mut h, &draft.name).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("Suspended"), "{}", err.message());

    // The public list shows listed products only; the owner sees its drafts too.
    let list = |org: &str| {
        operator(
            org,
            ListProductsRequest {
                query: "画像".into(),
                ..Default::default()
            },
        )
    };
    let mine = h.client.list_products(list(OPERATOR)).await.unwrap().into_inner();
    assert_eq!(mine.products.len(), 1);
    let theirs = h.client.list_products(list(RIVAL)).await.unwrap().into_inner();
    assert!(theirs.products.is_empty());
}
