//! The review service's developer results in the log: a rejection is public only when it follows a public-notice
//! objection.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pdop_proto::disclosure::v1::{Entry, EntryKind};
use pdop_proto::review::events::v1::{DeveloperAdmissionRejected, DeveloperAdmissionSummary};
use prost::Message;

fn rejected(admission: &str, objection: &str) -> Vec<u8> {
    DeveloperAdmissionRejected {
        admission: Some(DeveloperAdmissionSummary {
            name: admission.into(),
            developer: org("organizations/dev-co", "云南数智开发有限公司"),
            operator: org("organizations/operator", "云南数据运营有限公司"),
            jurisdiction: yunnan(),
            ..Default::default()
        }),
        reasons: "公示期间异议成立：资质证明与实际不符".into(),
        basis: "S-YN Art.13(三)".into(),
        objection: objection.into(),
        ..Default::default()
    }
    .encode_to_vec()
}

// REVIEW-EVALUATION §2.7 RejectDeveloperAdmission, §3.11; S-YN Art.13(三) publishes only selected developers: a
// qualification-review rejection (no objection) gets no public entry, a rejection on an upheld objection does.
#[tokio::test]
async fn a_developer_rejection_is_public_only_after_an_objection() {
    let h = start().await;
    let subject = "pdop.review.developer_admission.rejected";
    h.publish(
        subject,
        "e-qualification",
        "e-qualification",
        "developerAdmissions/adm-1",
        rejected("developerAdmissions/adm-1", ""),
    )
    .await;
    h.publish(
        subject,
        "e-objection",
        "e-objection",
        "developerAdmissions/adm-2",
        rejected("developerAdmissions/adm-2", "objections/o-1"),
    )
    .await;
    h.until(
        "both rejections are consumed",
        "SELECT count(*) = 2 FROM inbox WHERE message_id IN ('e-qualification', 'e-objection')",
    )
    .await;
    h.until(
        "the rejection after an objection is an entry",
        "SELECT count(*) = 1 FROM entries WHERE source_event_id = 'e-objection'",
    )
    .await;
    let filtered: i64 =
        sqlx::query_scalar("SELECT count(*) FROM entries WHERE source_event_id = 'e-qualification'")
            .fetch_one(&h.db.pool)
            .await
            .unwrap();
    assert_eq!(filtered, 0, "a qualification-review rejection is not published");
    let body: Vec<u8> = sqlx::query_scalar("SELECT body FROM entries WHERE source_event_id = 'e-objection'")
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
    let entry = Entry::decode(body.as_slice()).unwrap();
    assert_eq!(entry.kind, EntryKind::DeveloperResult as i32);
    assert!(entry.title.starts_with("开发主体未准入"), "{}", entry.title);
}
