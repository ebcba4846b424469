//! Evidence: events published as their producers' relays would, at a chosen ce-time, the records collected from
//! them, and manual uploads.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use pdop_proto::common::DocumentRef;
use pdop_proto::evaluation::v1::{CreateEvidenceRecordRequest, EvidenceKind, EvidenceRecord};
use pdop_testkit::{Envelope, publish_envelope};

use crate::common::Harness;

/// Publishes `payload` under `envelope`, as the producer's relay would: a `msg_id` other than the `ce_id`
/// simulates a redelivery JetStream cannot drop.
pub async fn send(h: &Harness, envelope: Envelope<'_>, payload: Vec<u8>) {
    publish_envelope(&h.nats.url(), &h.namespace, &envelope, payload)
        .await
        .unwrap();
}

/// Collected records as (source event, organization id, kind), sorted.
pub async fn collected(h: &Harness) -> Vec<(String, String, EvidenceKind)> {
    let rows: Vec<(String, String, i16)> = sqlx::query_as(
        "SELECT source_event_id, organization_id, kind FROM evidence_records
         WHERE source_event_id IS NOT NULL ORDER BY 1, 2, 3",
    )
    .fetch_all(&h.db.pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(e, o, k)| (e, o, EvidenceKind::try_from(i32::from(k)).unwrap()))
        .collect()
}

/// Waits until `n` collected records are stored.
pub async fn until_collected(h: &Harness, n: usize) {
    h.until(
        &format!("{n} evidence records are collected"),
        &format!("SELECT count(*) = {n} FROM evidence_records WHERE source_event_id IS NOT NULL"),
    )
    .await;
}

pub fn document() -> DocumentRef {
    DocumentRef {
        uri: "doc://evidence/risk-assessment.pdf".into(),
        sha256: "0f".repeat(32),
        title: "数据安全风险评估报告".into(),
        media_type: "application/pdf".into(),
    }
}

/// A MANUAL record about `organization`, with its document.
pub fn upload(organization: &str) -> CreateEvidenceRecordRequest {
    CreateEvidenceRecordRequest {
        evidence_record: Some(EvidenceRecord {
            organization: organization.into(),
            kind: EvidenceKind::Manual as i32,
            summary: "年度数据安全风险评估已完成".into(),
            document: Some(document()),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}
