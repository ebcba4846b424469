//! Evidence collected from the other services' events (REVIEW-EVALUATION §3.5, §3.9), published as their relays
//! would.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/evidence.rs"]
mod evidence;

use chrono::{TimeZone, Utc};
use common::{World, date, org_ref};
use evidence::{collected, send, until_collected};
use pdop_proto::common::{Deadline, JurisdictionRef, OrganizationRole as R, Rate};
use pdop_proto::disclosure::events::v1 as dev;
use pdop_proto::evaluation::v1::{EvidenceKind as K, ListEvidenceRecordsRequest};
use pdop_proto::pricing::events::v1 as pev;
use pdop_proto::registry::events::v1 as rev;
use pdop_proto::registry::v1::{AgreementState, IncidentSeverity, ObligationKind};
use pdop_proto::review::events::v1 as vev;
use pdop_testkit::Envelope;
use prost::Message;

struct Case {
    subject: &'static str,
    ce_subject: String,
    payload: Vec<u8>,
    /// (organization, kind) of each record the event gives.
    expect: Vec<(String, K)>,
}

fn case(subject: &'static str, ce_subject: &str, payload: impl Message, expect: Vec<(String, K)>) -> Case {
    Case {
        subject,
        ce_subject: ce_subject.into(),
        payload: payload.encode_to_vec(),
        expect,
    }
}

fn at(w: &World) -> Option<JurisdictionRef> {
    Some(JurisdictionRef {
        name: w.jurisdiction(),
        ..Default::default()
    })
}

fn agreement(w: &World, state: AgreementState) -> Option<rev::AgreementSummary> {
    Some(rev::AgreementSummary {
        name: w.agreement(),
        jurisdiction: at(w),
        operator: Some(org_ref(&w.op(), R::Operator)),
        state: state as i32,
        ..Default::default()
    })
}

fn missed() -> Option<Deadline> {
    Some(Deadline {
        due_date: Some(date(2026, 3, 2)),
        ..Default::default()
    })
}

/// One event of every collected subject, in `w` with providers `dp` (resource r1) and `dp2` (resource r2).
fn cases(w: &World, dp2: &str) -> Vec<Case> {
    let op = || Some(org_ref(&w.op(), R::Operator));
    let dp = || Some(org_ref(&w.dp(), R::DataProvider));
    let id = |name: &str| name.trim_start_matches("organizations/").to_owned();
    let item = |r: &str, p: &str| vev::GrantedItem {
        resource: r.into(),
        provider: Some(org_ref(p, R::DataProvider)),
        ..Default::default()
    };
    let (o, p, p2) = (id(&w.op()), id(&w.dp()), id(dp2));
    vec![
        case(
            "pdop.registry.organization.incident_recorded",
            &w.op(),
            rev::SecurityIncidentRecorded {
                organization: op(),
                jurisdiction: at(w),
                severity: IncidentSeverity::Major as i32,
                description: "个人信息泄露".into(),
                ..Default::default()
            },
            vec![(o.clone(), K::SecurityIncident)],
        ),
        case(
            "pdop.registry.deadline.missed",
            "deadlines/d1",
            rev::DeadlineMissed {
                name: "deadlines/d1".into(),
                kind: ObligationKind::AgreementFiling as i32,
                subject: w.agreement(),
                responsible_organization: Some(org_ref(&w.ia(), R::ImplementingAgency)),
                jurisdiction: at(w),
                deadline: missed(),
            },
            vec![(id(&w.ia()), K::ObligationDeadlineMissed)],
        ),
        case(
            "pdop.registry.agreement.suspended",
            &w.agreement(),
            rev::AgreementSuspended {
                agreement: agreement(w, AgreementState::Suspended),
                reason: "限期整改".into(),
                ..Default::default()
            },
            vec![(o.clone(), K::AgreementAction)],
        ),
        case(
            "pdop.registry.agreement.terminated",
            &w.agreement(),
            rev::AgreementTerminated {
                agreement: agreement(w, AgreementState::Terminated),
                ..Default::default()
            },
            vec![(o.clone(), K::AgreementAction)],
        ),
        case(
            "pdop.registry.blacklist_entry.added",
            "blacklistEntries/b1",
            rev::BlacklistEntryAdded {
                name: "blacklistEntries/b1".into(),
                organization: Some(org_ref(&w.dev(), R::Developer)),
                jurisdiction: at(w),
                ..Default::default()
            },
            vec![(id(&w.dev()), K::BlacklistEntry)],
        ),
        case(
            "pdop.registry.product.listed",
            "products/p1",
            rev::ProductListed {
                product: Some(rev::ProductSnapshot {
                    name: "products/p1".into(),
                    display_name: "交通指数".into(),
                    operator: op(),
                    jurisdiction: at(w),
                    source_resources: vec!["resources/r1".into(), "resources/r2".into()],
                    ..Default::default()
                }),
                ..Default::default()
            },
            vec![
                (o.clone(), K::ProductListed),
                (p.clone(), K::ProductListed),
                (p2.clone(), K::ProductListed),
            ],
        ),
        case(
            "pdop.registry.registration.coded",
            "registrations/g1",
            rev::RegistrationCoded {
                registration: Some(rev::RegistrationSummary {
                    name: "registrations/g1".into(),
                    registrant: dp(),
                    jurisdiction: at(w),
                    ..Default::default()
                }),
                registration_code: "DJ-2026-0001".into(),
                ..Default::default()
            },
            vec![(p.clone(), K::RegistrationCoded)],
        ),
        case(
            "pdop.review.deadline.missed",
            "dataQualityChecks/c1",
            vev::ReviewDeadlineMissed {
                subject: "dataQualityChecks/c1".into(),
                step: "data_check_response".into(),
                responsible_organization: dp(),
                jurisdiction: at(w),
                deadline: missed(),
            },
            vec![(p.clone(), K::ReviewDeadlineMissed)],
        ),
        case(
            "pdop.review.data_quality_check.responded",
            "dataQualityChecks/c1",
            vev::DataQualityCheckResponded {
                check: Some(vev::DataQualityCheckSummary {
                    name: "dataQualityChecks/c1".into(),
                    responsible_provider: dp(),
                    jurisdiction: at(w),
                    ..Default::default()
                }),
                late: true,
                working_days_taken: 12,
                ..Default::default()
            },
            vec![(p.clone(), K::DataQualityCheck)],
        ),
        case(
            "pdop.review.scenario_application.approved",
            "scenarioApplications/s1",
            vev::ScenarioApproved {
                scenario: Some(vev::ScenarioSummary {
                    operator: op(),
                    jurisdiction: at(w),
                    ..Default::default()
                }),
                ..Default::default()
            },
            vec![(o.clone(), K::ScenarioApproved)],
        ),
        case(
            "pdop.review.data_use_application.approved",
            "dataUseApplications/u1",
            vev::DataUseApproved {
                data_use: Some(vev::DataUseSummary {
                    operator: op(),
                    jurisdiction: at(w),
                    ..Default::default()
                }),
                granted_items: vec![item("resources/r1", &w.dp()), item("resources/r2", dp2)],
                ..Default::default()
            },
            vec![
                (o.clone(), K::DataUseApproved),
                (p.clone(), K::DataUseApproved),
                (p2, K::DataUseApproved),
            ],
        ),
        case(
            "pdop.review.developer_admission.admitted",
            "developerAdmissions/a1",
            vev::DeveloperAdmitted {
                admission: Some(vev::DeveloperAdmissionSummary {
                    developer: Some(org_ref(&w.dev(), R::Developer)),
                    operator: op(),
                    jurisdiction: at(w),
                    ..Default::default()
                }),
                ..Default::default()
            },
            vec![(o.clone(), K::DeveloperAdmitted)],
        ),
        case(
            "pdop.pricing.annual_check.completed",
            "annualChecks/k1",
            pev::AnnualCheckCompleted {
                pricing_case: Some(pev::PricingCaseSummary {
                    operator: op(),
                    jurisdiction: at(w),
                    ..Default::default()
                }),
                year: 2025,
                deviation: Some(Rate {
                    value: "0.125".into(),
                }),
                report_late: true,
                ..Default::default()
            },
            vec![(o, K::PriceDeviation)],
        ),
        case(
            "pdop.disclosure.entry.published",
            "entries/7",
            dev::EntryPublished {
                name: "entries/7".into(),
                discloser: Some(org_ref(&w.ia(), R::ImplementingAgency)),
                jurisdiction: at(w),
                late: true,
                report_year: 2025,
                ..Default::default()
            },
            vec![(id(&w.ia()), K::Disclosure)],
        ),
    ]
}

async fn resource(h: &common::Harness, name: &str, provider: &str) {
    let created = rev::ResourceCreated {
        resource: Some(rev::ResourceSnapshot {
            name: name.into(),
            provider: Some(org_ref(provider, R::DataProvider)),
            ..Default::default()
        }),
        ..Default::default()
    };
    h.publish(
        "pdop.registry.resource.created",
        &format!("res-{name}"),
        created.encode_to_vec(),
    )
    .await;
}

#[tokio::test]
async fn every_collector_records_each_organization_concerned_once_and_a_redelivery_adds_nothing() {
    let h = common::start().await;
    let w = h.world("hubei").await;
    let dp2 = w.org("dp2");
    h.organization(&w, &dp2, R::DataProvider).await;
    resource(&h, "resources/r1", &w.dp()).await;
    resource(&h, "resources/r2", &dp2).await;
    let now = Utc::now();
    let cases = cases(&w, &dp2);
    let mut expected = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let ce_id = format!("ev-{i:02}");
        let sent = Envelope {
            subject: c.subject,
            ce_id: &ce_id,
            msg_id: &ce_id,
            ce_subject: &c.ce_subject,
            time: now,
        };
        send(&h, sent, c.payload.clone()).await;
        expected.extend(c.expect.iter().map(|(o, k)| (ce_id.clone(), o.clone(), *k)));
    }
    expected.sort();
    // §3.5: one record per (source event, organization); DataUseApproved and ProductListed give one for the
    // operator and one per (granting) provider; agreement.activated (sent by the world) is not an action.
    until_collected(&h, expected.len()).await;
    assert_eq!(collected(&h).await, expected);

    // §3.5: a redelivery (same ce-id, another NATS message id) records nothing. Each redelivery is followed on
    // its consumer by a new event, so once the new events are recorded the redeliveries have been handled.
    for (i, c) in cases.iter().enumerate() {
        let ce_id = format!("ev-{i:02}");
        let again = format!("{ce_id}-again");
        let fresh = format!("ev-{i:02}-b");
        for (ce, msg) in [(&ce_id, &again), (&fresh, &fresh)] {
            let sent = Envelope {
                subject: c.subject,
                ce_id: ce,
                msg_id: msg,
                ce_subject: &c.ce_subject,
                time: now,
            };
            send(&h, sent, c.payload.clone()).await;
        }
    }
    until_collected(&h, 2 * expected.len()).await;
    let first: Vec<_> = collected(&h)
        .await
        .into_iter()
        .filter(|(e, _, _)| !e.ends_with("-b"))
        .collect();
    assert_eq!(first, expected, "the redeliveries added nothing");

    // §3.9: the severity is kept (MAJOR: a veto candidate); the record names its source and jurisdiction.
    let listed = h
        .client
        .clone()
        .list_evidence_records(w.as_da(ListEvidenceRecordsRequest {
            organization: w.op(),
            kind: K::SecurityIncident as i32,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .evidence_records;
    assert_eq!(listed.len(), 2);
    let r = &listed[0];
    assert_eq!(r.quantity, (IncidentSeverity::Major as i32).to_string());
    assert_eq!(
        r.source_event_type,
        "pdop.registry.organization.incident_recorded.v1"
    );
    assert_eq!(r.source_subject, w.op());
    assert_eq!(r.jurisdiction, w.jurisdiction());
    assert!(!r.summary.contains("个人信息"), "no description: {}", r.summary);
    assert!(
        r.recorded
            .as_ref()
            .unwrap()
            .actor
            .as_ref()
            .unwrap()
            .subject
            .contains("evaluation-incidents")
    );
}

#[tokio::test]
async fn a_collected_fact_is_dated_in_shanghai_time() {
    let h = common::start().await;
    let w = h.world("henan").await;
    let approved = vev::ScenarioApproved {
        scenario: Some(vev::ScenarioSummary {
            operator: Some(org_ref(&w.op(), R::Operator)),
            jurisdiction: at(&w),
            ..Default::default()
        }),
        ..Default::default()
    };
    // §3.5, ARCHITECTURE "Data": occur_date is the fact's date in Asia/Shanghai (UTC+8): 17:00Z is 01:00 the next
    // day there, 15:59Z still the same day.
    for (ce_id, time) in [
        (
            "late-evening",
            Utc.with_ymd_and_hms(2026, 2, 13, 17, 0, 0).unwrap(),
        ),
        ("afternoon", Utc.with_ymd_and_hms(2026, 2, 13, 15, 59, 0).unwrap()),
    ] {
        let sent = Envelope {
            subject: "pdop.review.scenario_application.approved",
            ce_id,
            msg_id: ce_id,
            ce_subject: "scenarioApplications/s1",
            time,
        };
        send(&h, sent, approved.encode_to_vec()).await;
    }
    until_collected(&h, 2).await;
    let dates: Vec<(String, chrono::NaiveDate)> =
        sqlx::query_as("SELECT source_event_id, occur_date FROM evidence_records ORDER BY 1")
            .fetch_all(&h.db.pool)
            .await
            .unwrap();
    let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 2, d).unwrap();
    assert_eq!(
        dates,
        [
            ("afternoon".to_owned(), day(13)),
            ("late-evening".to_owned(), day(14))
        ]
    );
}
