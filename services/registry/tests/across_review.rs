//! Across services over NATS (issue: review service): an operator's product is submitted in the registry, its
//! compliance review opens in the review service from the registry's event, the lead approves it there, the
//! registry lists the product from the review's verdict, and the disclosure service publishes the listing. The
//! three services run in-process, each with its own database, in the test's NATS namespace.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::agreements::*;
use common::review::*;
use common::*;
use pdop_disclosure::Disclosure;
use pdop_kit::auth::Role;
use pdop_proto::common::OrganizationRole;
use pdop_proto::registry::v1::ProductState;
use pdop_proto::review::v1 as rv;
use pdop_proto::review::v1::review_service_client::ReviewServiceClient;
use pdop_review::Review;
use pdop_testkit::{acting, spawn_service, until_holds};

const BUREAU_GX: &str = "organizations/gx-bureau";

/// A request from the jurisdiction's data authority.
fn as_bureau<T>(message: T) -> tonic::Request<T> {
    acting(BUREAU_GX, &[Role::DataAuthority], message)
}

#[tokio::test]
async fn a_product_goes_from_submission_through_review_to_listing_and_disclosure() {
    // National profile: the data authority of the jurisdiction leads (inferred), three checklist points (inferred),
    // and products are registered only where a profile requires it (N3 Art.5), so approval lists the product.
    let (mut h, nats, agreement) = world_on_own_nats("guangxi", "national").await;
    organization(
        &mut h,
        "gx-bureau",
        &credit_code(9),
        "jurisdictions/guangxi",
        &[OrganizationRole::DataAuthority],
    )
    .await;
    let review_db = h.env.fresh_database().await.unwrap();
    let review = spawn_service::<Review>(&review_db, &nats.url(), &h.env.namespace, &[])
        .await
        .unwrap();
    let disclosure_db = h.env.fresh_database().await.unwrap();
    let disclosure = spawn_service::<Disclosure>(
        &disclosure_db,
        &nats.url(),
        &h.env.namespace,
        // Any free port: another disclosure service may hold the default one.
        &[("disclosure.http_addr", "127.0.0.1:0".to_owned())],
    )
    .await
    .unwrap();
    let mut client = ReviewServiceClient::connect(format!("http://{}", review.grpc_addr))
        .await
        .unwrap();
    until_holds(
        &review_db.pool,
        "the review service knows the agreement and the authority",
        &format!(
            "SELECT EXISTS (SELECT 1 FROM agreements WHERE id = '{}')
                AND EXISTS (SELECT 1 FROM organizations WHERE id = 'gx-bureau')",
            agreement.name.trim_start_matches("agreements/")
        ),
    )
    .await
    .unwrap();

    let draft = create_product(
        &mut h,
        OPERATOR,
        product(&agreement.name, &["resources/population"]),
    )
    .await
    .unwrap();
    submit_product(&mut h, &draft.name).await.unwrap();
    let id = draft.name.trim_start_matches("products/");
    until_holds(
        &review_db.pool,
        "the review opened from product.submitted",
        &format!("SELECT EXISTS (SELECT 1 FROM product_reviews WHERE product_id = '{id}')"),
    )
    .await
    .unwrap();
    let listed = client
        .list_product_reviews(as_bureau(rv::ListProductReviewsRequest {
            product: draft.name.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let r = listed.product_reviews.into_iter().next().unwrap();
    assert_eq!(r.reviewers[0].organization, BUREAU_GX);
    let checks = r
        .checks
        .iter()
        .map(|c| rv::ComplianceCheck {
            kind: c.kind,
            result: rv::ComplianceCheckResult::Passed as i32,
            ..Default::default()
        })
        .collect();
    let record = rv::RecordProductComplianceChecksRequest {
        name: r.name.clone(),
        checks,
        ..Default::default()
    };
    client
        .record_product_compliance_checks(as_bureau(record))
        .await
        .unwrap();
    let approve = rv::ApproveProductReviewRequest {
        name: r.name.clone(),
        reasons: "合规".into(),
        ..Default::default()
    };
    client.approve_product_review(as_bureau(approve)).await.unwrap();

    let product = wait_for_product_state(&mut h, &draft.name, ProductState::Listed).await;
    assert_eq!(
        product.last_review, r.name,
        "the registry records the review that released it"
    );
    until_holds(
        &disclosure_db.pool,
        "the listing is disclosed",
        &format!(
            "SELECT EXISTS (SELECT 1 FROM entries WHERE subject = '{}')",
            draft.name
        ),
    )
    .await
    .unwrap();
    drop((review, disclosure));
}
