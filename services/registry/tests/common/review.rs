//! Fixtures for tests that need the review service's verdicts: a registry on its own NATS, review events
//! published the way the review service's relay does, and products taken to LISTED.

use std::time::Duration;

use pdop_kit::auth::Role;
use pdop_proto::common::{OrganizationRef, UseClass};
use pdop_proto::registry::v1::*;
use pdop_proto::review::events::v1::{
    DeveloperAdmissionSummary, DeveloperAdmitted, ProductComplianceApproved, ProductComplianceRejected,
    ProductReviewSummary,
};
use pdop_testkit::PrivateNats;
use prost::Message;
use tonic::Status;

use super::agreements::*;
use super::*;

/// A registry on its own NATS (review verdicts are published to it) with a running agreement in `jurisdiction`.
pub async fn world_on_own_nats(jurisdiction: &str, profile: &str) -> (Harness, PrivateNats, Agreement) {
    let nats = PrivateNats::start().await.unwrap();
    let mut h = Harness::start_on(Some(nats.url()), &[]).await;
    populate(&mut h).await;
    if jurisdiction != "yunnan" {
        h.province(jurisdiction, profile).await;
    }
    let agreement = running(&mut h, draft(jurisdiction, months_from_today(24))).await;
    (h, nats, agreement)
}

pub fn product(agreement: &str, resources: &[&str]) -> Product {
    Product {
        display_name: "人口画像接口".into(),
        description: "按区域统计的人口画像".into(),
        kind: ProductKind::Api as i32,
        agreement: agreement.into(),
        source_resources: resources.iter().map(|r| (*r).to_owned()).collect(),
        use_class: UseClass::IndustryDevelopment as i32,
        ..Default::default()
    }
}

pub async fn create_product(h: &mut Harness, org: &str, p: Product) -> Result<Product, Status> {
    let request = CreateProductRequest {
        product: Some(p),
        request_id: String::new(),
    };
    Ok(h.client
        .create_product(operator(org, request))
        .await?
        .into_inner()
        .product
        .unwrap())
}

pub async fn submit_product(h: &mut Harness, name: &str) -> Result<Product, Status> {
    let request = SubmitProductRequest {
        name: name.into(),
        etag: String::new(),
    };
    Ok(h.client
        .submit_product(operator(OPERATOR, request))
        .await?
        .into_inner()
        .product
        .unwrap())
}

pub async fn get_product(h: &mut Harness, org: &str, roles: &[Role], name: &str) -> Result<Product, Status> {
    let request = acting(org, roles, GetProductRequest { name: name.into() });
    Ok(h.client.get_product(request).await?.into_inner().product.unwrap())
}

pub fn summary(product: &str) -> Option<ProductReviewSummary> {
    Some(ProductReviewSummary {
        name: "productReviews/r1".into(),
        product: product.into(),
        operator: Some(OrganizationRef {
            name: OPERATOR.into(),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// Publishes the review service's approval of `product` (review `productReviews/r1`) as event `id`.
pub async fn publish_approval(h: &Harness, product: &str, id: &str) {
    let approval = ProductComplianceApproved {
        review: summary(product),
        ..Default::default()
    };
    let subject = "pdop.review.product_review.approved";
    publish_review_event(h, subject, id, approval.encode_to_vec()).await;
}

/// Publishes the review service's rejection of `product` (review `productReviews/r1`) as event `id`.
pub async fn publish_rejection(h: &Harness, product: &str, id: &str, reasons: &str) {
    let rejection = ProductComplianceRejected {
        review: summary(product),
        reasons: reasons.into(),
        ..Default::default()
    };
    let subject = "pdop.review.product_review.rejected";
    publish_review_event(h, subject, id, rejection.encode_to_vec()).await;
}

/// Publishes a review-service event the way its outbox relay does (CloudEvents headers, protobuf body).
pub async fn publish_review_event(h: &Harness, subject: &str, id: &str, payload: Vec<u8>) {
    publish_event(h, subject, id, payload).await;
}

/// Publishes an event of another service (`pdop.<producer>.…`) to the registry's NATS and namespace the way its
/// outbox relay does: CloudEvents headers, the event id as `Nats-Msg-Id`, protobuf body.
pub async fn publish_event(h: &Harness, subject: &str, id: &str, payload: Vec<u8>) {
    pdop_testkit::publish_as_relay(&h.nats_url, &h.env.namespace, subject, id, id, id, payload)
        .await
        .unwrap();
}

pub async fn wait_for_product_state(h: &mut Harness, name: &str, state: ProductState) -> Product {
    let client = h.client.clone();
    pdop_testkit::wait_until(&format!("{name} is {state:?}"), Duration::from_secs(20), || {
        let mut client = client.clone();
        async move {
            let request = authority(GetProductRequest { name: name.into() });
            client
                .get_product(request)
                .await
                .unwrap()
                .into_inner()
                .product
                .unwrap()
                .state
                == state as i32
        }
    })
    .await
    .unwrap();
    get_product(h, "organizations/authority", &[Role::DataAuthority], name)
        .await
        .unwrap()
}

/// A product of the operator under `agreement`, submitted for review (UNDER_REVIEW).
pub async fn product_under_review(h: &mut Harness, agreement: &str) -> Product {
    let draft = create_product(h, OPERATOR, product(agreement, &["resources/population"]))
        .await
        .unwrap();
    submit_product(h, &draft.name).await.unwrap()
}

/// A product of the operator under `agreement`, approved by review and LISTED (profiles without mandatory
/// product registration).
pub async fn listed_product(h: &mut Harness, agreement: &str) -> Product {
    let draft = product_under_review(h, agreement).await;
    let id = format!("approve-{}", draft.name.trim_start_matches("products/"));
    publish_approval(h, &draft.name, &id).await;
    wait_for_product_state(h, &draft.name, ProductState::Listed).await
}

/// Publishes the review service's admission of `developer` for the operator under `agreement`, and waits
/// until the registry has recorded it.
pub async fn admit(h: &mut Harness, admission: &str, developer: &str, agreement: &str) {
    let admitted = DeveloperAdmitted {
        admission: Some(DeveloperAdmissionSummary {
            name: admission.into(),
            developer: Some(OrganizationRef {
                name: developer.into(),
                ..Default::default()
            }),
            operator: Some(OrganizationRef {
                name: OPERATOR.into(),
                ..Default::default()
            }),
            agreement: agreement.into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let id = format!("admit-{}", admission.trim_start_matches("developerAdmissions/"));
    publish_review_event(
        h,
        "pdop.review.developer_admission.admitted",
        &id,
        admitted.encode_to_vec(),
    )
    .await;
    let pool = h.db.pool.clone();
    let admission_id = admission.trim_start_matches("developerAdmissions/").to_owned();
    pdop_testkit::wait_until("the admission is recorded", Duration::from_secs(20), || {
        let pool = pool.clone();
        let admission_id = admission_id.clone();
        async move {
            sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM developer_admissions WHERE id = $1)")
                .bind(admission_id)
                .fetch_one(&pool)
                .await
                .unwrap_or(false)
        }
    })
    .await
    .unwrap();
}
