#![allow(clippy::unwrap_used)]

use chrono::{NaiveDate, TimeZone, Utc};
use pdop_kit::auth::{Caller, Role};
use pdop_kit::scope::Ancestry;
use pdop_kit::uow::Call;
use pdop_proto::common::DocumentRef;
use pdop_proto::evaluation::v1::{EvidenceKind, EvidenceRecord};

use super::*;
use crate::domain::ErrorReason;

fn caller(org: &str, role: Role, jurisdiction: &str) -> Caller {
    Caller {
        subject: "u".into(),
        organization: org.into(),
        roles: vec![role],
        jurisdiction: jurisdiction.into(),
    }
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn upload() -> EvidenceRecord {
    EvidenceRecord {
        organization: "organizations/hb-op".into(),
        kind: EvidenceKind::Manual as i32,
        summary: "数据安全风险评估报告".into(),
        document: Some(DocumentRef {
            uri: "doc://reports/1".into(),
            sha256: "AB".repeat(32),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn fields(e: Error) -> Vec<String> {
    match e {
        Error::Invalid(v) => v.fields().map(str::to_owned).collect(),
        other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
    }
}

#[test]
fn an_upload_is_manual_with_a_pinned_document_dated_no_later_than_today() {
    // §3.5 CreateEvidenceRecord: MANUAL only; a document (uri + sha256) is required.
    let m = parse_manual(upload(), day(2026, 3, 2)).unwrap();
    assert_eq!(m.occur_date, day(2026, 3, 2), "no date: the fact is today's");
    assert_eq!(m.document.sha256, "ab".repeat(32), "digests are kept lower-case");

    let mut r = upload();
    r.kind = EvidenceKind::SecurityIncident as i32;
    r.document = None;
    r.summary = " ".into();
    r.source_event_id = "e-1".into();
    r.quantity = "1e3".into();
    r.occur_date = Some(pdop_proto::common::Date {
        year: 2026,
        month: 3,
        day: 3,
    });
    let f = fields(parse_manual(r, day(2026, 3, 2)).unwrap_err());
    for field in [
        "evidence_record.kind",
        "evidence_record.document.uri",
        "evidence_record.document.sha256",
        "evidence_record.summary",
        "evidence_record.source_event_id",
        "evidence_record.quantity",
        "evidence_record.occur_date",
    ] {
        assert!(f.iter().any(|x| x == field), "{field} missing from {f:?}");
    }
}

#[test]
fn the_organization_adds_evidence_about_itself_and_supervisors_about_their_jurisdictions() {
    // §3.5: evaluator, data_authority, implementing_agency; the organization about itself (THREATS H2: by jurisdiction).
    let hubei = Ancestry::new(["hubei", "china"]);
    assert!(
        may_create(
            &caller("organizations/hb-op", Role::Operator, ""),
            "organizations/hb-op",
            &hubei
        )
        .is_ok()
    );
    let other = may_create(
        &caller("organizations/hb-op2", Role::Operator, "jurisdictions/hubei"),
        "organizations/hb-op",
        &hubei,
    )
    .unwrap_err();
    assert_eq!(other.reason(), Some(ErrorReason::NotAParty));
    for role in [Role::Evaluator, Role::DataAuthority, Role::ImplementingAgency] {
        assert!(
            may_create(
                &caller("organizations/x", role, "jurisdictions/hubei"),
                "organizations/hb-op",
                &hubei
            )
            .is_ok()
        );
        let outside = may_create(
            &caller("organizations/x", role, "jurisdictions/yunnan"),
            "organizations/hb-op",
            &hubei,
        );
        assert_eq!(outside.unwrap_err().reason(), Some(ErrorReason::NotAParty));
    }
    let auditor = caller("organizations/audit", Role::Auditor, "jurisdictions/hubei");
    assert!(
        may_create(&auditor, "organizations/hb-op", &hubei).is_err(),
        "an auditor reads, never adds"
    );
    assert!(reads_as_supervisor(&auditor));
}

#[test]
fn only_major_and_critical_incidents_are_veto_candidates() {
    // §3.9: SECURITY_INCIDENT, a veto candidate when MAJOR or CRITICAL.
    let record = |kind: EvidenceKind, s: IncidentSeverity| EvidenceRecord {
        kind: kind as i32,
        quantity: severity_quantity(s),
        ..Default::default()
    };
    for (s, veto) in [
        (IncidentSeverity::General, false),
        (IncidentSeverity::Serious, false),
        (IncidentSeverity::Major, true),
        (IncidentSeverity::Critical, true),
    ] {
        assert_eq!(
            is_veto_candidate(&record(EvidenceKind::SecurityIncident, s)),
            veto,
            "{s:?}"
        );
    }
    assert!(!is_veto_candidate(&record(
        EvidenceKind::Manual,
        IncidentSeverity::Critical
    )));
}

#[test]
fn a_collected_fact_is_dated_in_shanghai() {
    // §3.5: occur_date is the fact's date in Asia/Shanghai: 2026-02-13T17:00Z is 2026-02-14 01:00 there.
    let time = Utc.with_ymd_and_hms(2026, 2, 13, 17, 0, 0).unwrap();
    let source = Source {
        event_type: "pdop.registry.product.listed.v1".into(),
        event_id: "e-1".into(),
        subject: "products/p1".into(),
        time,
    };
    let call = Call::system("evaluation-listings", "evaluation.CollectEvidence", time);
    let fact = Fact::new("organizations/hb-op", EvidenceKind::ProductListed, "产品上架");
    let r = collected(
        "evidenceRecords/1".into(),
        fact,
        "jurisdictions/hubei".into(),
        &source,
        &call,
    );
    let d = r.occur_date.unwrap();
    assert_eq!((d.year, d.month, d.day), (2026, 2, 14));
    assert_eq!(r.source_event_id, "e-1");
    assert_eq!(r.source_subject, "products/p1");
}

#[test]
fn summaries_stay_short() {
    let long = "长".repeat(500);
    assert_eq!(short(&long).chars().count(), 201);
    assert_eq!(short(" 短 "), "短");
}
