//! The evidence RPCs (REVIEW-EVALUATION §3.5): uploads, reads and listings, who may do which.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/evidence.rs"]
mod evidence;

use chrono::Utc;
use evidence::{send, until_collected, upload};
use pdop_kit::auth::Role;
use pdop_proto::common::{JurisdictionRef, OrganizationRole as R};
use pdop_proto::evaluation::v1::{EvidenceKind as K, GetEvidenceRecordRequest, ListEvidenceRecordsRequest};
use pdop_proto::review::events::v1 as vev;
use pdop_testkit::{Envelope, acting, acting_in, assert_invalid, reason};
use prost::Message;
use tonic::Code;

#[tokio::test]
async fn an_organization_and_its_supervisors_upload_evidence_and_read_and_list_it() {
    let h = common::start().await;
    let w = h.world("hubei").await;
    let mut c = h.client.clone();
    // §3.5 CreateEvidenceRecord: the organization about itself, and the evaluator, data authority and
    // implementing agency; MANUAL only, with its document.
    let mut about_itself = upload(&w.op());
    about_itself.request_id = "upload-1".into();
    let own = c
        .create_evidence_record(w.as_operator(about_itself.clone()))
        .await
        .unwrap()
        .into_inner()
        .evidence_record
        .unwrap();
    assert!(own.name.starts_with("evidenceRecords/"));
    assert_eq!(own.kind, K::Manual as i32);
    assert_eq!(
        own.jurisdiction,
        w.jurisdiction(),
        "the organization's jurisdiction"
    );
    assert_eq!(own.document.as_ref().unwrap().sha256, "0f".repeat(32));
    let recorded = own.recorded.as_ref().unwrap();
    assert_eq!(recorded.actor.as_ref().unwrap().organization, w.op());
    let today = pdop_kit::convert::date(pdop_kit::clock::china_date(Utc::now()));
    assert_eq!(own.occur_date, Some(today), "no date given: the fact is today's");
    // AIP-155: the same request id replays the first response.
    let replay = c
        .create_evidence_record(w.as_operator(about_itself))
        .await
        .unwrap()
        .into_inner()
        .evidence_record
        .unwrap();
    assert_eq!(replay.name, own.name);

    let mut dated = upload(&w.op());
    dated.evidence_record.as_mut().unwrap().occur_date = Some(common::date(2025, 6, 30));
    dated.evidence_record.as_mut().unwrap().quantity = "2".into();
    let by_third = c
        .create_evidence_record(w.as_third(dated))
        .await
        .unwrap()
        .into_inner();
    let by_third = by_third.evidence_record.unwrap();
    for req in [w.as_da(upload(&w.op())), w.as_ia(upload(&w.op()))] {
        c.create_evidence_record(req).await.unwrap();
    }

    // §3.5 GetEvidenceRecord: the organization concerned, evaluators, data_authority, implementing_agency, auditor.
    let get = || GetEvidenceRecordRequest {
        name: by_third.name.clone(),
    };
    for req in [
        w.as_operator(get()),
        w.as_third(get()),
        w.as_da(get()),
        w.as_ia(get()),
        acting("organizations/audit", &[Role::Auditor], get()),
    ] {
        let got = c.get_evidence_record(req).await.unwrap().into_inner();
        assert_eq!(got.evidence_record.unwrap(), by_third);
    }

    // ListEvidenceRecords: the request's filters; ordered by occur_time, then name.
    let list = |r: ListEvidenceRecordsRequest| {
        let mut c = c.clone();
        let req = w.as_da(r);
        async move { c.list_evidence_records(req).await.unwrap().into_inner() }
    };
    let all = list(ListEvidenceRecordsRequest {
        organization: w.op(),
        ..Default::default()
    })
    .await;
    assert_eq!(all.evidence_records.len(), 4);
    assert_eq!(
        all.evidence_records[0].name, by_third.name,
        "the 2025 fact comes first"
    );
    let in_2025 = list(ListEvidenceRecordsRequest {
        occur_after: Some(common::date(2025, 1, 1)),
        occur_before: Some(common::date(2025, 12, 31)),
        ..Default::default()
    })
    .await;
    assert_eq!(in_2025.evidence_records, std::slice::from_ref(&by_third));
    let paged = list(ListEvidenceRecordsRequest {
        page_size: 3,
        ..Default::default()
    })
    .await;
    assert_eq!(paged.evidence_records.len(), 3);
    let rest = list(ListEvidenceRecordsRequest {
        page_size: 3,
        page_token: paged.next_page_token,
        ..Default::default()
    })
    .await;
    assert_eq!(rest.evidence_records.len(), 1);
    assert!(rest.next_page_token.is_empty());
    let incidents = list(ListEvidenceRecordsRequest {
        kind: K::SecurityIncident as i32,
        ..Default::default()
    })
    .await;
    assert!(incidents.evidence_records.is_empty());
}

#[tokio::test]
async fn an_upload_without_its_document_or_of_another_kind_or_with_bad_text_is_invalid() {
    let h = common::start().await;
    let w = h.world("yunnan").await;
    let mut c = h.client.clone();
    let with = |f: &dyn Fn(&mut pdop_proto::evaluation::v1::EvidenceRecord)| {
        let mut req = upload(&w.op());
        f(req.evidence_record.as_mut().unwrap());
        w.as_da(req)
    };
    // §3.5: MANUAL only; a document (uri + sha256) is required.
    let cases: Vec<(tonic::Request<_>, Vec<&str>)> = vec![
        (
            with(&|r| r.document = None),
            vec!["evidence_record.document.uri", "evidence_record.document.sha256"],
        ),
        (
            with(&|r| r.document.as_mut().unwrap().sha256 = "abc".into()),
            vec!["evidence_record.document.sha256"],
        ),
        (
            with(&|r| r.kind = K::SecurityIncident as i32),
            vec!["evidence_record.kind"],
        ),
        (
            with(&|r| r.source_event_id = "ev-1".into()),
            vec!["evidence_record.source_event_id"],
        ),
        (
            with(&|r| r.organization = "hb-op".into()),
            vec!["evidence_record.organization"],
        ),
        (
            with(&|r| r.quantity = "1e3".into()),
            vec!["evidence_record.quantity"],
        ),
        (
            with(&|r| r.occur_date = Some(common::date(2999, 1, 1))),
            vec!["evidence_record.occur_date"],
        ),
        // README "Limits", THREATS H1.1: no control characters; free text at most 10,000 characters.
        (
            with(&|r| r.summary = "风险\u{0}评估".into()),
            vec!["evidence_record.summary"],
        ),
        (
            with(&|r| r.summary = "长".repeat(10_001)),
            vec!["evidence_record.summary"],
        ),
    ];
    for (req, fields) in cases {
        let status = c.create_evidence_record(req).await.unwrap_err();
        assert_invalid(&status, &fields);
    }
    let bad_filter = ListEvidenceRecordsRequest {
        page_size: -1,
        organization: "x".into(),
        ..Default::default()
    };
    let status = c.list_evidence_records(w.as_da(bad_filter)).await.unwrap_err();
    assert_invalid(&status, &["page_size", "organization"]);
    // Nothing was stored.
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM evidence_records")
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

fn operator<T>(org: &str, m: T) -> tonic::Request<T> {
    acting(org, &[Role::Operator], m)
}

/// A supervisor of another province.
fn yunnan<T>(role: Role, m: T) -> tonic::Request<T> {
    acting_in("organizations/yunnan-da", &[role], "jurisdictions/yunnan", m)
}

#[tokio::test]
async fn roles_and_non_parties_are_refused() {
    let h = common::start().await;
    let w = h.world("hubei").await;
    h.jurisdiction("jurisdictions/yunnan", "jurisdictions/china", "yunnan")
        .await;
    let other = w.org("op2");
    h.organization(&w, &other, R::Operator).await;
    h.until(
        "op2 is known",
        "SELECT EXISTS (SELECT 1 FROM organizations WHERE id = 'hubei-op2')",
    )
    .await;
    let mut c = h.client.clone();
    let mine = c
        .create_evidence_record(w.as_operator(upload(&w.op())))
        .await
        .unwrap()
        .into_inner()
        .evidence_record
        .unwrap();
    let get = || GetEvidenceRecordRequest {
        name: mine.name.clone(),
    };
    let denied = |s: tonic::Status| {
        assert_eq!(s.code(), Code::PermissionDenied, "{s:?}");
        s
    };
    // Policy (§3.5): pricing authorities and industry regulators neither upload, read nor list evidence; auditors
    // only read.
    for role in [Role::PricingAuthority, Role::IndustryRegulator] {
        let org = "organizations/hubei-x";
        denied(
            c.create_evidence_record(acting(org, &[role], upload(&w.op())))
                .await
                .unwrap_err(),
        );
        denied(
            c.get_evidence_record(acting(org, &[role], get()))
                .await
                .unwrap_err(),
        );
        denied(
            c.list_evidence_records(acting(org, &[role], ListEvidenceRecordsRequest::default()))
                .await
                .unwrap_err(),
        );
    }
    denied(
        c.create_evidence_record(acting("organizations/audit", &[Role::Auditor], upload(&w.op())))
            .await
            .unwrap_err(),
    );
    // R-EV-01: an operator uploads only about itself, and reads only its own records.
    let s = denied(
        c.create_evidence_record(operator(&other, upload(&w.op())))
            .await
            .unwrap_err(),
    );
    assert_eq!(reason(&s), "NOT_A_PARTY");
    let s = denied(c.get_evidence_record(operator(&other, get())).await.unwrap_err());
    assert_eq!(reason(&s), "NOT_A_PARTY");
    let theirs = c
        .list_evidence_records(operator(
            &other,
            ListEvidenceRecordsRequest {
                organization: w.op(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(
        theirs.evidence_records.is_empty(),
        "a non-party lists nothing of others"
    );
    // THREATS H2: a supervisor acts only in its jurisdiction and those below it.
    for role in [Role::DataAuthority, Role::Evaluator, Role::ImplementingAgency] {
        denied(
            c.create_evidence_record(yunnan(role, upload(&w.op())))
                .await
                .unwrap_err(),
        );
        denied(c.get_evidence_record(yunnan(role, get())).await.unwrap_err());
    }
    let outside = c
        .list_evidence_records(yunnan(Role::DataAuthority, ListEvidenceRecordsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(outside.evidence_records.is_empty());
    // An unknown record is NOT_FOUND.
    let s = c
        .get_evidence_record(w.as_da(GetEvidenceRecordRequest {
            name: "evidenceRecords/nope".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(
        (s.code(), reason(&s).as_str()),
        (Code::NotFound, "EVIDENCE_RECORD_NOT_FOUND")
    );
}

#[tokio::test]
async fn a_provider_reads_the_records_collected_about_it() {
    let h = common::start().await;
    let w = h.world("hubei").await;
    let responded = vev::DataQualityCheckResponded {
        check: Some(vev::DataQualityCheckSummary {
            name: "dataQualityChecks/c1".into(),
            responsible_provider: Some(common::org_ref(&w.dp(), R::DataProvider)),
            jurisdiction: Some(JurisdictionRef {
                name: w.jurisdiction(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        working_days_taken: 4,
        ..Default::default()
    };
    let sent = Envelope {
        subject: "pdop.review.data_quality_check.responded",
        ce_id: "check-1",
        msg_id: "check-1",
        ce_subject: "dataQualityChecks/c1",
        time: Utc::now(),
    };
    send(&h, sent, responded.encode_to_vec()).await;
    until_collected(&h, 1).await;
    // §3.5: the organization concerned reads (and lists) what was collected about it; the operator does not.
    let mut c = h.client.clone();
    let own = c
        .list_evidence_records(w.as_dp(ListEvidenceRecordsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .evidence_records;
    assert_eq!(own.len(), 1);
    assert_eq!(
        (own[0].kind, own[0].quantity.as_str()),
        (K::DataQualityCheck as i32, "4")
    );
    let get = GetEvidenceRecordRequest {
        name: own[0].name.clone(),
    };
    c.get_evidence_record(w.as_dp(get.clone())).await.unwrap();
    let s = c.get_evidence_record(w.as_operator(get)).await.unwrap_err();
    assert_eq!(s.code(), Code::PermissionDenied);
}
