//! The registry's side of the review service (REVIEW-EVALUATION §2.12): the fields its events give review
//! (RG-5), a withdrawn review (RG-1), an upheld appeal (RG-2), a developer's exit (RG-3), the admission time (RG-4)
//! and the operator that may not re-develop its own products (RG-6).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{DateTime, Utc};
use common::agreements::*;
use common::developers::*;
use common::review::*;
use common::*;
use pdop_proto::common::OrganizationRef;
use pdop_proto::registry::events::v1::{
    DeveloperAgreementEnded, DeveloperAgreementSigned, ProductSubmitted, ProductUpdated, ResourceCreated,
};
use pdop_proto::registry::v1::*;
use pdop_proto::review::events::v1::{
    AppealDecided, DeveloperAdmissionSummary, DeveloperAdmitted, DeveloperExited, ProductReviewWithdrawn,
};
use pdop_proto::review::v1::AppealSubjectKind;
use pdop_testkit::{Envelope, publish_envelope};
use prost::Message;
use tonic::Code;

/// An admission's admit or exit time, as stored.
type Stamp = Option<DateTime<Utc>>;

/// Waits until the registry has taken the event `id` (applied, or found nothing to do).
async fn consumed(h: &Harness, id: &str) {
    let sql = format!("SELECT EXISTS (SELECT 1 FROM inbox WHERE message_id = '{id}')");
    pdop_testkit::until_holds(&h.db.pool, &format!("{id} is consumed"), &sql)
        .await
        .unwrap();
}

/// Publishes a review event as its relay would, stamped `time`.
async fn publish_at(h: &Harness, subject: &str, id: &str, time: DateTime<Utc>, payload: Vec<u8>) {
    let envelope = Envelope {
        subject,
        ce_id: id,
        msg_id: id,
        ce_subject: id,
        time,
    };
    publish_envelope(&h.nats_url, &h.env.namespace, &envelope, payload)
        .await
        .unwrap();
}

fn admission(name: &str) -> Option<DeveloperAdmissionSummary> {
    let org = |name: &str| {
        Some(OrganizationRef {
            name: name.into(),
            ..Default::default()
        })
    };
    Some(DeveloperAdmissionSummary {
        name: name.into(),
        developer: org(DEVELOPER),
        operator: org(OPERATOR),
        ..Default::default()
    })
}

// RG-5; R-RV-19 and PIPL Art.28 (DOMAIN §9): the review service computes data-use items' flags from these
// per-field flags; sensitive categories and minors under 14 make a field sensitive.
#[tokio::test]
async fn a_resource_event_carries_each_fields_flags() {
    let mut h = setup().await;
    let fields = vec![
        field("region", "", false),
        ResourceField {
            is_personal: true,
            ..field("name", "", false)
        },
        ResourceField {
            is_personal: true,
            sensitive_categories: vec![SensitiveCategory::MedicalHealth as i32],
            ..field("diagnosis", "", false)
        },
        ResourceField {
            is_personal: true,
            minor_under_14: true,
            ..field("pupil", "", false)
        },
        ResourceField {
            trade_secret: true,
            ..field("tender_price", "", false)
        },
    ];
    create(&mut h, STATS, "health", resource(STATS, "健康档案", fields))
        .await
        .unwrap();
    let events = h.events("pdop.registry.resource.created").await;
    let snapshot = ResourceCreated::decode(events[0].as_slice())
        .unwrap()
        .resource
        .unwrap();
    let flags: Vec<(&str, bool, bool, bool)> = snapshot
        .fields
        .iter()
        .map(|f| {
            (
                f.field_key.as_str(),
                f.personal_info,
                f.sensitive_personal_info,
                f.trade_secret,
            )
        })
        .collect();
    assert_eq!(
        flags,
        [
            ("region", false, false, false),
            ("name", true, false, false),
            ("diagnosis", true, true, false),
            ("pupil", true, true, false),
            ("tender_price", false, false, true),
        ]
    );
    assert!(snapshot.has_personal_info && snapshot.has_sensitive_personal_info);
}

// RG-5; §2.6: the review service opens a product's review with the scenario applications the product serves
// (一场景一审核).
#[tokio::test]
async fn a_submitted_product_carries_its_scenario_applications() {
    let (mut h, _nats, agreement) = world_on_own_nats("guangxi", "national").await;
    let p = Product {
        scenario_applications: vec!["scenarioApplications/s-1".into()],
        ..product(&agreement.name, &["resources/population"])
    };
    let draft = create_product(&mut h, OPERATOR, p).await.unwrap();
    submit_product(&mut h, &draft.name).await.unwrap();
    let events = h.events("pdop.registry.product.submitted").await;
    let snapshot = ProductSubmitted::decode(events[0].as_slice())
        .unwrap()
        .product
        .unwrap();
    assert_eq!(snapshot.scenario_applications, ["scenarioApplications/s-1"]);
}

// RG-1: a product whose review the operator withdrew returns to DRAFT (WithdrawProduct refuses UNDER_REVIEW, so it
// would otherwise stay under review forever); a redelivery, or a withdrawal reaching a product not under review,
// changes nothing.
#[tokio::test]
async fn a_withdrawn_review_returns_its_product_to_draft_once() {
    let (mut h, _nats, agreement) = world_on_own_nats("guangxi", "national").await;
    let draft = product_under_review(&mut h, &agreement.name).await;
    let withdrawn = ProductReviewWithdrawn {
        review: summary(&draft.name),
        reason: "补充材料后重新提交".into(),
        ..Default::default()
    }
    .encode_to_vec();
    let subject = "pdop.review.product_review.withdrawn";
    publish_review_event(&h, subject, "w-1", withdrawn.clone()).await;
    let back = wait_for_product_state(&mut h, &draft.name, ProductState::Draft).await;
    assert_eq!(back.last_review, "productReviews/r1");
    // The same event again past JetStream's de-duplication, then the same fact under a new id.
    let (url, namespace) = (&h.nats_url, &h.env.namespace);
    pdop_testkit::publish_as_relay(
        url,
        namespace,
        subject,
        "w-1",
        "w-1-again",
        "w-1",
        withdrawn.clone(),
    )
    .await
    .unwrap();
    publish_review_event(&h, subject, "w-2", withdrawn).await;
    consumed(&h, "w-2").await;
    let updates = h.events("pdop.registry.product.updated").await;
    assert_eq!(updates.len(), 1, "one change, one event");
    let update = ProductUpdated::decode(updates[0].as_slice()).unwrap();
    assert_eq!(update.changed_fields, ["state", "last_review"]);
    assert_eq!(update.product.unwrap().state, ProductState::Draft as i32);
}

// RG-2; S-LY §二(五): an upheld appeal reopens a rejected product review; the product goes back under review and the
// reopened review's verdict then applies. A dismissed appeal changes nothing.
#[tokio::test]
async fn an_upheld_appeal_reopens_the_rejected_product_and_its_verdict_applies() {
    let (mut h, _nats, agreement) = world_on_own_nats("guangxi", "national").await;
    let draft = product_under_review(&mut h, &agreement.name).await;
    publish_rejection(&h, &draft.name, "rj", "未提供个人信息去标识化说明").await;
    wait_for_product_state(&mut h, &draft.name, ProductState::Draft).await;

    let decided = |reopened: bool| AppealDecided {
        name: "appeals/ap-1".into(),
        subject: "productReviews/r1".into(),
        subject_kind: AppealSubjectKind::ProductReview as i32,
        subject_reopened: reopened,
        ..Default::default()
    };
    let subject = "pdop.review.appeal.decided";
    publish_review_event(&h, subject, "dismissed", decided(false).encode_to_vec()).await;
    consumed(&h, "dismissed").await;
    let still = get_product(&mut h, OPERATOR, &[pdop_kit::auth::Role::Operator], &draft.name)
        .await
        .unwrap();
    assert_eq!(still.state, ProductState::Draft as i32);

    publish_review_event(&h, subject, "upheld", decided(true).encode_to_vec()).await;
    let reopened = wait_for_product_state(&mut h, &draft.name, ProductState::UnderReview).await;
    assert!(reopened.rejection_reasons.is_empty());
    publish_approval(&h, &draft.name, "ok").await;
    let listed = wait_for_product_state(&mut h, &draft.name, ProductState::Listed).await;
    assert_eq!(listed.last_review, "productReviews/r1");
}

// RG-3; S-YN Art.25(5): a developer's exit ends the developer agreements resting on its admission (platform access
// closed at once) and no new one may be made on it. RG-5: both developer-agreement events name the admission.
#[tokio::test]
async fn a_developer_exit_ends_its_agreements_and_refuses_new_ones() {
    let (mut h, _nats, agreement, listed) = developer_world().await;
    let draft = developer_draft(&agreement.name, &listed.name, months_from_today(12));
    let created = create_developer_agreement(&mut h, draft.clone()).await.unwrap();
    signed(&mut h, &created).await;
    let signed_events = h.events("pdop.registry.developer_agreement.signed").await;
    let event = DeveloperAgreementSigned::decode(signed_events[0].as_slice()).unwrap();
    assert_eq!(event.developer_admission, ADMISSION);

    let exited = DeveloperExited {
        admission: admission(ADMISSION),
        description: "开发主体申请退出".into(),
        ..Default::default()
    }
    .encode_to_vec();
    let at: DateTime<Utc> = "2026-03-02T08:30:00Z".parse().unwrap();
    let subject = "pdop.review.developer_admission.exited";
    publish_at(&h, subject, "exit-1", at, exited.clone()).await;
    let pool = h.db.pool.clone();
    let terminated = DeveloperAgreementState::Terminated as i32;
    let id = created.name.trim_start_matches("developerAgreements/");
    let holds = format!(
        "SELECT EXISTS (SELECT 1 FROM developer_agreements WHERE id = '{id}' AND state = {terminated})"
    );
    pdop_testkit::until_holds(&pool, "the agreement is terminated", &holds)
        .await
        .unwrap();
    let exit_time: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT exit_time FROM developer_admissions WHERE id = 'adm-1'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(exit_time, Some(at), "the exit is dated by the event's ce-time");
    let ended = h.events("pdop.registry.developer_agreement.ended").await;
    assert_eq!(ended.len(), 1);
    let ended = DeveloperAgreementEnded::decode(ended[0].as_slice()).unwrap();
    assert_eq!(ended.reason, "开发主体退出 developerAdmissions/adm-1");
    assert_eq!(ended.developer_admission, ADMISSION);
    assert_eq!(ended.state, terminated);
    assert!(ended.access_close_time.is_some());

    // A second fact about the same exit changes nothing.
    publish_at(&h, subject, "exit-2", at, exited).await;
    consumed(&h, "exit-2").await;
    assert_eq!(h.events("pdop.registry.developer_agreement.ended").await.len(), 1);

    let err = create_developer_agreement(&mut h, draft).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "NOT_ADMITTED");
}

// RG-4: an admission is dated by the review service's event, not by when the registry received it; and an exit that
// overtakes its admission (they travel on different consumers) still bars a developer agreement.
#[tokio::test]
async fn an_admission_is_dated_by_its_event_and_an_earlier_exit_still_counts() {
    let (mut h, _nats, agreement, listed) = developer_world().await;
    let admitted_at: DateTime<Utc> = "2026-01-05T02:00:00Z".parse().unwrap();
    let admitted = |name: &str| {
        DeveloperAdmitted {
            admission: admission(name),
            ..Default::default()
        }
        .encode_to_vec()
    };
    let subject = "pdop.review.developer_admission.admitted";
    publish_at(
        &h,
        subject,
        "admit-2",
        admitted_at,
        admitted("developerAdmissions/adm-2"),
    )
    .await;
    let exited = DeveloperExited {
        admission: admission("developerAdmissions/adm-3"),
        ..Default::default()
    };
    let exited_at: DateTime<Utc> = "2026-02-01T00:00:00Z".parse().unwrap();
    let exit_subject = "pdop.review.developer_admission.exited";
    publish_at(&h, exit_subject, "exit-3", exited_at, exited.encode_to_vec()).await;
    consumed(&h, "exit-3").await;
    publish_at(
        &h,
        subject,
        "admit-3",
        admitted_at,
        admitted("developerAdmissions/adm-3"),
    )
    .await;
    consumed(&h, "admit-2").await;
    consumed(&h, "admit-3").await;

    let times: Vec<(String, Stamp, Stamp)> = sqlx::query_as(
        "SELECT id, admit_time, exit_time FROM developer_admissions WHERE id IN ('adm-2', 'adm-3') ORDER BY id",
    )
    .fetch_all(&h.db.pool)
    .await
    .unwrap();
    assert_eq!(
        times,
        [
            ("adm-2".to_owned(), Some(admitted_at), None),
            ("adm-3".to_owned(), Some(admitted_at), Some(exited_at)),
        ]
    );
    let on = |admission: &str| DeveloperAgreement {
        developer_admission: admission.into(),
        ..developer_draft(&agreement.name, &listed.name, months_from_today(12))
    };
    create_developer_agreement(&mut h, on("developerAdmissions/adm-2"))
        .await
        .unwrap();
    let err = create_developer_agreement(&mut h, on("developerAdmissions/adm-3"))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "NOT_ADMITTED");
}

// RG-6; N2 Art.6 ("运营机构不得直接或间接参与…再开发"), REVIEW-EVALUATION §1.2: the operator may not be the developer
// of its own products.
#[tokio::test]
async fn the_operator_cannot_be_the_developer_of_its_own_products() {
    let (mut h, _nats, agreement, listed) = developer_world().await;
    let own = DeveloperAgreement {
        developer: OPERATOR.into(),
        ..developer_draft(&agreement.name, &listed.name, months_from_today(12))
    };
    let err = create_developer_agreement(&mut h, own).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "OWN_PRODUCTS");
}
