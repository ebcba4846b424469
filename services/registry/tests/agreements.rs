//! Operator agreements (运营协议) over gRPC: term caps and checklists per profile, resource scope, operator
//! eligibility, filing deadlines, suspension, termination grounds, destruction records, renewal, who sees
//! what, and the scheduler that activates and expires agreements.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use chrono::{Months, NaiveDate};
use common::agreements::*;
use common::*;
use pdop_kit::auth::Role;
use pdop_proto::registry::events::v1::{AgreementFiled, AgreementSigned, AgreementTerminated};
use pdop_proto::registry::v1::*;
use prost::Message;
use tonic::Code;

#[tokio::test]
async fn the_term_cap_follows_the_profile() {
    let mut h = world().await;
    h.province("henan", "henan").await;
    // D12 (N2 Art.14, S-YN Art.11): at most 5 years, so 4 years pass in Yunnan ...
    let yunnan = create_agreement(&mut h, draft("yunnan", months_from_today(48)))
        .await
        .unwrap();
    assert_eq!(yunnan.state, AgreementState::Draft as i32);
    // ... and D12' (S-HN Art.14): at most 3 years, so the same 4 years are refused in Henan.
    let err = create_agreement(&mut h, draft("henan", months_from_today(48)))
        .await
        .unwrap_err();
    assert_invalid(&err, &["agreement.term"]);
    assert!(err.message().contains("S-HN Art.14"), "{}", err.message());
    assert!(
        create_agreement(&mut h, draft("henan", months_from_today(36)))
            .await
            .is_ok()
    );
    // Exactly five years is the cap; one day more is refused.
    let start = today();
    let last = start.checked_add_months(Months::new(60)).unwrap();
    let err = create_agreement(&mut h, draft("yunnan", term(start, last)))
        .await
        .unwrap_err();
    assert_invalid(&err, &["agreement.term"]);
    assert!(
        create_agreement(&mut h, draft("yunnan", term(start, last.pred_opt().unwrap())))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn only_registered_resources_and_eligible_operators_enter_an_agreement() {
    let mut h = world().await;
    // N3 / registry issue §4: unregistered resources cannot be placed in an agreement.
    catalogued_resource(&mut h, STATS, "households").await;
    let unregistered = Agreement {
        resources: vec!["resources/households".into()],
        ..draft("yunnan", months_from_today(12))
    };
    let err = create_agreement(&mut h, unregistered).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "RESOURCE_NOT_AUTHORIZABLE");
    assert!(err.message().contains("agreement.resources[0]") && err.message().contains("not registered"));

    // The operator must hold the operator role.
    let err = create_agreement(
        &mut h,
        Agreement {
            operator: BUREAU.into(),
            ..draft("yunnan", months_from_today(12))
        },
    )
    .await
    .unwrap_err();
    assert_eq!(reason(&err), "ROLE_MISSING");

    // DOMAIN §4.3 (S-LY 运营机构条件(5), S-HB 运营机构基本条件 1): no security incident in the last 3 years.
    let incident_day = today().checked_sub_months(Months::new(12)).unwrap();
    let record = RecordSecurityIncidentRequest {
        organization: OPERATOR.into(),
        incident: Some(SecurityIncident {
            occur_date: to_date(incident_day),
            severity: IncidentSeverity::General as i32,
            description: "数据泄露".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    h.client
        .record_security_incident(authority(record))
        .await
        .unwrap();
    for (id, profile) in [("laiyuan", "laiyuan"), ("hubei", "hubei")] {
        h.province(id, profile).await;
        let err = create_agreement(&mut h, draft(id, months_from_today(12)))
            .await
            .unwrap_err();
        assert_eq!(reason(&err), "OPERATOR_INELIGIBLE", "{profile}");
        assert!(
            err.message().contains(&incident_day.to_string()),
            "{}",
            err.message()
        );
    }
    // N2 and Yunnan state no such rule.
    assert!(
        create_agreement(&mut h, draft("yunnan", months_from_today(12)))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn an_agreement_is_signed_with_its_checklist_filed_suspended_resumed_and_terminated() {
    let mut h = world().await;
    let created = create_agreement(&mut h, draft("yunnan", months_from_today(36)))
        .await
        .unwrap();
    // S-YN Art.11: fourteen items, confidentiality among them.
    assert_eq!(created.content_items.len(), 14);
    assert!(
        created
            .content_items
            .iter()
            .any(|i| i.kind == AgreementContentKind::Confidentiality as i32)
    );
    let err = sign(&mut h, &created.name, None).await.unwrap_err();
    assert_eq!(reason(&err), "CHECKLIST_INCOMPLETE");
    assert!(err.message().contains("保密责任与义务"), "{}", err.message());
    assert!(h.events("pdop.registry.agreement.signed").await.is_empty());

    complete(&mut h, &created).await;
    // D14 (S-YN Art.11): file within 20 WD of signing; from 2026-09-28 that is 2026-10-30 (National Day).
    let signed = sign(&mut h, &created.name, day(2026, 9, 28)).await.unwrap();
    assert_eq!(signed.state, AgreementState::Signed as i32);
    let deadline = signed.filing_deadline.clone().unwrap();
    assert_eq!(
        ymd(&deadline.due_date),
        NaiveDate::from_ymd_opt(2026, 10, 30).unwrap()
    );
    assert_eq!(deadline.source.unwrap().rule_id, "D14");
    let events = h.events("pdop.registry.agreement.signed").await;
    assert_eq!(events.len(), 1);
    let event = AgreementSigned::decode(events[0].as_slice()).unwrap();
    let summary = event.agreement.unwrap();
    assert_eq!(summary.operator.unwrap().name, OPERATOR);
    assert_eq!(summary.resources[0].resource, "resources/population");
    assert_eq!(summary.resources[0].provider.as_ref().unwrap().name, STATS);

    // The implementing agency does not file its own agreement.
    let own = FileAgreementRequest {
        name: created.name.clone(),
        filed_with: BUREAU.into(),
        ..Default::default()
    };
    let err = h
        .client
        .file_agreement(acting(AGENCY, &[Role::DataAuthority], own))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "OWN_APPLICATION");
    // Filed today, after the deadline, it is marked late; its term has begun, so it runs at once.
    let filed = file(&mut h, &created.name).await.unwrap();
    assert_eq!(filed.state, AgreementState::Active as i32);
    let events = h.events("pdop.registry.agreement.filed").await;
    assert_eq!(events.len(), 1);
    assert!(
        AgreementFiled::decode(events[0].as_slice()).unwrap().late,
        "filed after 2026-10-30"
    );

    let suspend = SuspendAgreementRequest {
        name: created.name.clone(),
        reason: "发现重大安全风险".into(),
        ..Default::default()
    };
    let err = h
        .client
        .suspend_agreement(operator(OPERATOR, suspend.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let suspended = h
        .client
        .suspend_agreement(agency(suspend))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        suspended.agreement.unwrap().state,
        AgreementState::Suspended as i32
    );
    let resume = ResumeAgreementRequest {
        name: created.name.clone(),
        reason: "整改完成".into(),
        etag: String::new(),
    };
    let resumed = h
        .client
        .resume_agreement(authority(resume.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resumed.agreement.unwrap().state, AgreementState::Active as i32);
    let err = h.client.resume_agreement(authority(resume)).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);

    // Yunnan leaves termination grounds to the agreement: any named ground is accepted.
    let terminate = TerminateAgreementRequest {
        name: created.name.clone(),
        ground: TerminationGround::EarlyEndByAgreement as i32,
        description: "双方协商一致提前终止".into(),
        ..Default::default()
    };
    let terminated = h
        .client
        .terminate_agreement(agency(terminate))
        .await
        .unwrap()
        .into_inner()
        .agreement
        .unwrap();
    assert_eq!(terminated.state, AgreementState::Terminated as i32);
    assert!(
        terminated.access_revoke_time.is_some(),
        "termination revokes access"
    );
    assert!(
        terminated.termination_filing_deadline.is_none(),
        "Yunnan sets no termination filing"
    );
    let events = h.events("pdop.registry.agreement.terminated").await;
    assert_eq!(events.len(), 1);
    assert!(
        AgreementTerminated::decode(events[0].as_slice())
            .unwrap()
            .access_revoke_time
            .is_some()
    );
    for subject in ["suspended", "resumed"] {
        assert_eq!(
            h.events(&format!("pdop.registry.agreement.{subject}"))
                .await
                .len(),
            1
        );
    }

    // Full history: create, checklist update, sign, file, suspend, resume, terminate, newest first.
    let history = h
        .client
        .list_agreement_revisions(authority(ListAgreementRevisionsRequest {
            parent: created.name.clone(),
            page_size: 3,
            page_token: String::new(),
        }))
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<&str> = history.revisions.iter().map(|r| r.revision_id.as_str()).collect();
    assert_eq!(ids, ["7", "6", "5"]);
    assert_eq!(
        history.revisions[0].snapshot.as_ref().unwrap().state,
        AgreementState::Terminated as i32
    );
    let rest = h
        .client
        .list_agreement_revisions(authority(ListAgreementRevisionsRequest {
            parent: created.name.clone(),
            page_size: 10,
            page_token: history.next_page_token,
        }))
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<&str> = rest.revisions.iter().map(|r| r.revision_id.as_str()).collect();
    assert_eq!(ids, ["4", "3", "2", "1"]);
    assert_eq!(rest.revisions[2].changed_fields, vec!["content_items".to_owned()]);
}

#[tokio::test]
async fn laiyuan_enumerates_grounds_files_terminations_in_10_working_days_and_keeps_logs_6_months() {
    let mut h = world().await;
    h.province("laiyuan", "laiyuan").await;
    let created = create_agreement(&mut h, draft("laiyuan", months_from_today(24)))
        .await
        .unwrap();
    complete(&mut h, &created).await;
    // D16 (S-LY §三(三)3): file within 10 WD of signing. From Fri 2026-09-18 the count takes the make-up
    // Sunday 09-20, skips the days off 09-25..09-27 and National Day, and ends on Fri 2026-10-09.
    let signed = sign(&mut h, &created.name, day(2026, 9, 18)).await.unwrap();
    let deadline = signed.filing_deadline.unwrap();
    assert_eq!(
        ymd(&deadline.due_date),
        NaiveDate::from_ymd_opt(2026, 10, 9).unwrap()
    );
    assert_eq!(deadline.source.unwrap().rule_id, "D16");
    file(&mut h, &created.name).await.unwrap();

    // S-LY §三(三)4 lists five grounds; "early end by agreement" (Hubei's) is not one of them.
    let terminate = |ground: TerminationGround| TerminateAgreementRequest {
        name: created.name.clone(),
        ground: ground as i32,
        description: "运营机构发生数据泄露事故".into(),
        termination_date: day(2026, 9, 28),
        ..Default::default()
    };
    let err = h
        .client
        .terminate_agreement(agency(terminate(TerminationGround::EarlyEndByAgreement)))
        .await
        .unwrap_err();
    assert_invalid(&err, &["ground"]);
    assert!(err.message().contains("SecurityIncident"), "{}", err.message());
    let terminated = h
        .client
        .terminate_agreement(agency(terminate(TerminationGround::SecurityIncident)))
        .await
        .unwrap()
        .into_inner()
        .agreement
        .unwrap();
    // D17 (S-LY §三(三)5): the termination is filed within 10 WD: from 2026-09-28, 2026-10-16.
    let deadline = terminated.termination_filing_deadline.unwrap();
    assert_eq!(
        ymd(&deadline.due_date),
        NaiveDate::from_ymd_opt(2026, 10, 16).unwrap()
    );
    assert_eq!(deadline.source.unwrap().rule_id, "D17");

    // D27 (S-LY §三(三)5): destruction records and network logs are kept at least 6 months.
    let destruction = |until: NaiveDate| RecordDataDestructionRequest {
        name: created.name.clone(),
        record: Some(DataDestructionRecord {
            destroyed_date: day(2026, 10, 8),
            scope: "原始数据及全部副本".into(),
            copies_included: true,
            method: "多次覆写".into(),
            logs_retained_until: to_date(until),
            ..Default::default()
        }),
        etag: String::new(),
    };
    let err = h
        .client
        .record_data_destruction(agency(destruction(NaiveDate::from_ymd_opt(2027, 4, 7).unwrap())))
        .await
        .unwrap_err();
    assert_invalid(&err, &["record.logs_retained_until"]);
    assert!(err.message().contains("2027-04-08"), "{}", err.message());
    let recorded = h
        .client
        .record_data_destruction(agency(destruction(NaiveDate::from_ymd_opt(2027, 4, 8).unwrap())))
        .await
        .unwrap()
        .into_inner()
        .agreement
        .unwrap();
    assert!(recorded.destruction_record.unwrap().recorded.is_some());

    let filing = FileAgreementTerminationRequest {
        name: created.name.clone(),
        filed_with: BUREAU.into(),
        ..Default::default()
    };
    h.client
        .file_agreement_termination(authority(filing.clone()))
        .await
        .unwrap();
    let err = h
        .client
        .file_agreement_termination(authority(filing))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "ALREADY_FILED");
    assert_eq!(
        h.events("pdop.registry.agreement.termination_filed").await.len(),
        1
    );
    assert_eq!(
        h.events("pdop.registry.agreement.destruction_recorded")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn laiyuan_renewal_applications_open_three_months_before_expiry() {
    let mut h = world().await;
    h.province("laiyuan", "laiyuan").await;
    // D18 (S-LY §二(二)): apply within the 3 months before the term ends.
    let far = running(&mut h, draft("laiyuan", months_from_today(12))).await;
    let end = today()
        .checked_add_months(Months::new(12))
        .unwrap()
        .pred_opt()
        .unwrap();
    let apply = |name: &str, start: NaiveDate| ApplyAgreementRenewalRequest {
        name: name.into(),
        application: Some(RenewalApplication {
            requested_term: term(start, start.checked_add_months(Months::new(24)).unwrap()),
            note: "运营成效良好".into(),
            ..Default::default()
        }),
        etag: String::new(),
    };
    let next = end.succ_opt().unwrap();
    let err = h
        .client
        .apply_agreement_renewal(operator(OPERATOR, apply(&far.name, next)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "RENEWAL_WINDOW_CLOSED");

    let near = running(&mut h, draft("laiyuan", months_from_today(2))).await;
    let end = today()
        .checked_add_months(Months::new(2))
        .unwrap()
        .pred_opt()
        .unwrap();
    let next = end.succ_opt().unwrap();
    // Only the operator applies; its rival is refused.
    let err = h
        .client
        .apply_agreement_renewal(operator(RIVAL, apply(&near.name, next)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    h.client
        .apply_agreement_renewal(operator(OPERATOR, apply(&near.name, next)))
        .await
        .unwrap();
    let renew = RenewAgreementRequest {
        name: near.name.clone(),
        term: term(next, next.checked_add_months(Months::new(24)).unwrap()),
        request_id: "renew-1".into(),
    };
    let renewed = h
        .client
        .renew_agreement(agency(renew.clone()))
        .await
        .unwrap()
        .into_inner();
    let successor = renewed.successor.unwrap();
    assert_eq!(successor.state, AgreementState::Draft as i32);
    assert_eq!(successor.predecessor, near.name);
    assert_eq!(renewed.agreement.unwrap().successor, successor.name);
    // A retry returns the same successor and announces nothing new.
    let again = h
        .client
        .renew_agreement(agency(renew))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.successor.unwrap().name, successor.name);
    assert_eq!(h.events("pdop.registry.agreement.renewed").await.len(), 1);
}

#[tokio::test]
async fn operators_see_only_their_own_agreements() {
    let mut h = world().await;
    let mine = create_agreement(&mut h, draft("yunnan", months_from_today(12)))
        .await
        .unwrap();
    create_agreement(
        &mut h,
        Agreement {
            operator: RIVAL.into(),
            ..draft("yunnan", months_from_today(12))
        },
    )
    .await
    .unwrap();
    let list = |org: &str, roles: &[Role]| {
        acting(
            org,
            roles,
            ListAgreementsRequest {
                resource: "resources/population".into(),
                ..Default::default()
            },
        )
    };
    let seen = h
        .client
        .list_agreements(list(OPERATOR, &[Role::Operator]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(seen.agreements.len(), 1);
    assert_eq!(seen.agreements[0].name, mine.name);
    let all = h
        .client
        .list_agreements(list("organizations/pricing", &[Role::PricingAuthority]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.agreements.len(), 2);

    let err = h
        .client
        .get_agreement(operator(
            RIVAL,
            GetAgreementRequest {
                name: mine.name.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = h
        .client
        .create_agreement(operator(
            OPERATOR,
            CreateAgreementRequest {
                agreement: Some(draft("yunnan", months_from_today(12))),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = create_agreement(
        &mut h,
        Agreement {
            display_name: String::new(),
            selection_method: 0,
            resources: vec!["population".into()],
            ..draft("yunnan", None)
        },
    )
    .await
    .unwrap_err();
    assert_invalid(
        &err,
        &[
            "agreement.display_name",
            "agreement.selection_method",
            "agreement.resources[0]",
            "agreement.term",
        ],
    );
}

async fn wait_for_state(h: &mut Harness, name: &str, state: AgreementState) -> Agreement {
    let client = h.client.clone();
    pdop_testkit::wait_until(&format!("{name} is {state:?}"), Duration::from_secs(20), || {
        let mut client = client.clone();
        async move {
            let request = authority(GetAgreementRequest { name: name.into() });
            client
                .get_agreement(request)
                .await
                .unwrap()
                .into_inner()
                .agreement
                .unwrap()
                .state
                == state as i32
        }
    })
    .await
    .unwrap();
    get(h, name).await
}

#[tokio::test]
async fn the_scheduler_activates_agreements_when_their_term_begins_and_expires_them_when_it_ends() {
    let mut h = world_with(&[("registry.scheduler_interval", "100ms".to_owned())]).await;
    let start = today().checked_add_months(Months::new(1)).unwrap();
    let end = start.checked_add_months(Months::new(12)).unwrap();
    let filed = running(&mut h, draft("yunnan", term(start, end))).await;
    assert_eq!(
        filed.state,
        AgreementState::Filed as i32,
        "filed before its term begins"
    );

    // The day before its term nothing happens; on its first day the scheduler activates it.
    h.advance_to(start.pred_opt().unwrap());
    assert_eq!(get(&mut h, &filed.name).await.state, AgreementState::Filed as i32);
    h.advance_to(start);
    wait_for_state(&mut h, &filed.name, AgreementState::Active).await;
    assert_eq!(h.events("pdop.registry.agreement.activated").await.len(), 1);

    h.advance_to(end);
    assert_eq!(
        get(&mut h, &filed.name).await.state,
        AgreementState::Active as i32
    );
    h.advance_to(end.succ_opt().unwrap());
    let expired = wait_for_state(&mut h, &filed.name, AgreementState::Expired).await;
    assert!(expired.access_revoke_time.is_some(), "expiry revokes access");
    assert_eq!(h.events("pdop.registry.agreement.expired").await.len(), 1);
    assert_eq!(h.audit_rows("registry.AgreementScheduler").await, 2);
}
