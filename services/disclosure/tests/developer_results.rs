//! The review service's developer results in the log: a rejection is public only when it follows a public-notice
//! objection.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pdop_disclosure::verify::verify;
use pdop_proto::disclosure::v1::EntryKind;
use pdop_proto::review::events::v1::{DeveloperAdmissionRejected, DeveloperAdmissionSummary};
use prost::Message;

const REJECTED: &str = "pdop.review.developer_admission.rejected";

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

// REVIEW-EVALUATION §3.11; entry.proto DEVELOPER_RESULT "admitted or rejected after objection": a rejection on an
// upheld public-notice objection is a DEVELOPER_RESULT entry "开发主体未准入", disclosed by the operator.
#[tokio::test]
async fn a_developer_rejection_after_an_objection_is_published() {
    let h = start().await;
    let admission = "developerAdmissions/adm-2";
    h.publish(
        REJECTED,
        "e-objection",
        "e-objection",
        admission,
        rejected(admission, "objections/o-1"),
    )
    .await;
    h.until(
        "the rejection after an objection is an entry",
        "SELECT count(*) = 1 FROM entries WHERE source_event_id = 'e-objection'",
    )
    .await;

    let entries = h.entries().await;
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(entry.kind, EntryKind::DeveloperResult as i32);
    assert!(entry.title.starts_with("开发主体未准入"), "{}", entry.title);
    assert_eq!(entry.subject, admission);
    assert_eq!(
        entry.discloser.as_ref().map(|d| d.name.as_str()),
        Some("organizations/operator")
    );
    let text = &entry.body.as_ref().unwrap().text;
    assert!(text.contains("云南数智开发有限公司"), "{text}");
    assert!(text.contains("资质证明与实际不符"), "{text}");

    h.signed(1).await;
    verify(&h.http, None, &[0]).await.unwrap();
}

// REVIEW-EVALUATION §2.7 RejectDeveloperAdmission, §3.11; S-YN Art.13(三) publishes only selected developers: a
// qualification-review rejection (no objection) makes no entry, and its event is acknowledged, not retried or
// dead-lettered. The later published rejection shows the consumer got past it.
#[tokio::test]
async fn a_qualification_review_rejection_is_not_published() {
    let h = start().await;
    h.publish(
        REJECTED,
        "e-qualification",
        "e-qualification",
        "developerAdmissions/adm-1",
        rejected("developerAdmissions/adm-1", ""),
    )
    .await;
    h.publish(
        REJECTED,
        "e-objection",
        "e-objection",
        "developerAdmissions/adm-2",
        rejected("developerAdmissions/adm-2", "objections/o-1"),
    )
    .await;
    h.until(
        "the later rejection, after an objection, is an entry",
        "SELECT count(*) = 1 FROM entries WHERE source_event_id = 'e-objection'",
    )
    .await;

    let entries = h.entries().await;
    let sources: Vec<&str> = entries
        .iter()
        .map(|e| e.source.as_ref().unwrap().event_id.as_str())
        .collect();
    assert_eq!(
        sources,
        ["e-objection"],
        "the qualification-review rejection is not in the log"
    );
    h.until(
        "the qualification-review rejection was applied",
        "SELECT count(*) = 1 FROM inbox WHERE message_id = 'e-qualification'",
    )
    .await;
    h.consumed_without_retry_or_dead_letter().await;

    h.signed(1).await;
    verify(&h.http, None, &[0]).await.unwrap();
}
