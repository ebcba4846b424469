//! Developer agreements as the tests make them: an admitted developer's draft under a running operator agreement,
//! every required content covered, then signed by the operator.

use pdop_proto::common::{DateRange, OrganizationRole};
use pdop_proto::registry::v1::*;
use pdop_testkit::PrivateNats;
use tonic::Status;

use super::agreements::{OPERATOR, draft, months_from_today, operator, populate, running};
use super::review::{admit, listed_product};
use super::{Harness, credit_code, organization};

pub const DEVELOPER: &str = "organizations/dev-co";
pub const ADMISSION: &str = "developerAdmissions/adm-1";

/// A national-profile jurisdiction (no product registration needed) with a running agreement, one listed
/// product and an admitted developer.
pub async fn developer_world() -> (Harness, PrivateNats, Agreement, Product) {
    developer_world_with(&[]).await
}

pub async fn developer_world_with(
    overrides: &[(&str, String)],
) -> (Harness, PrivateNats, Agreement, Product) {
    let nats = PrivateNats::start().await.unwrap();
    let mut h = Harness::start_on(Some(nats.url()), overrides).await;
    populate(&mut h).await;
    h.province("guangxi", "national").await;
    organization(
        &mut h,
        "dev-co",
        &credit_code(10),
        "jurisdictions/guangxi",
        &[OrganizationRole::Developer],
    )
    .await;
    let agreement = running(&mut h, draft("guangxi", months_from_today(36))).await;
    let listed = listed_product(&mut h, &agreement.name).await;
    admit(&mut h, ADMISSION, DEVELOPER, &agreement.name).await;
    (h, nats, agreement, listed)
}

pub fn developer_draft(agreement: &str, product: &str, term: Option<DateRange>) -> DeveloperAgreement {
    DeveloperAgreement {
        display_name: "开发利用协议".into(),
        developer: DEVELOPER.into(),
        agreement: agreement.into(),
        developer_admission: ADMISSION.into(),
        products: vec![product.into()],
        scenario_scope: "普惠金融风控".into(),
        term,
        ..Default::default()
    }
}

pub async fn create_developer_agreement(
    h: &mut Harness,
    d: DeveloperAgreement,
) -> Result<DeveloperAgreement, Status> {
    let request = CreateDeveloperAgreementRequest {
        developer_agreement: Some(d),
        request_id: String::new(),
    };
    Ok(h.client
        .create_developer_agreement(operator(OPERATOR, request))
        .await?
        .into_inner()
        .developer_agreement
        .unwrap())
}

/// Covers every item, then signs.
pub async fn signed(h: &mut Harness, d: &DeveloperAgreement) -> DeveloperAgreement {
    let items = d
        .content_items
        .iter()
        .map(|i| DeveloperAgreementContentItem {
            present: true,
            ..i.clone()
        })
        .collect();
    let update = UpdateDeveloperAgreementRequest {
        developer_agreement: Some(DeveloperAgreement {
            name: d.name.clone(),
            content_items: items,
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["content_items".into()],
        }),
        etag: String::new(),
    };
    h.client
        .update_developer_agreement(operator(OPERATOR, update))
        .await
        .unwrap();
    let sign = SignDeveloperAgreementRequest {
        name: d.name.clone(),
        ..Default::default()
    };
    h.client
        .sign_developer_agreement(operator(OPERATOR, sign))
        .await
        .unwrap()
        .into_inner()
        .developer_agreement
        .unwrap()
}
