//! Obligation deadlines over gRPC: opened and closed by the flows, marked overdue by the scheduler with one
//! DeadlineMissed event, listed by organization, state and overdue, and visible to whom they concern.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use chrono::NaiveDate;
use common::agreements::*;
use common::*;
use pdop_proto::registry::events::v1::DeadlineMissed;
use pdop_proto::registry::v1::*;
use prost::Message;
use tonic::Code;

fn list(subject: &str) -> ListDeadlinesRequest {
    ListDeadlinesRequest {
        subject: subject.into(),
        ..Default::default()
    }
}

/// The statistics bureau's catalogued population resource and a draft first registration of it.
async fn population_registration(h: &mut Harness) -> Registration {
    providers(h).await;
    catalogued_resource(h, STATS, "population").await;
    let request = CreateRegistrationRequest {
        registration: Some(application("resources/population", all_materials())),
        request_id: String::new(),
    };
    h.client
        .create_registration(provider(STATS, request))
        .await
        .unwrap()
        .into_inner()
        .registration
        .unwrap()
}

async fn deadlines(
    h: &mut Harness,
    request: tonic::Request<ListDeadlinesRequest>,
) -> Vec<ObligationDeadline> {
    h.client
        .list_deadlines(request)
        .await
        .unwrap()
        .into_inner()
        .deadlines
}

#[tokio::test]
async fn a_late_agreement_filing_falls_overdue_once_and_is_met_late() {
    let signed_on = NaiveDate::from_ymd_opt(2026, 9, 28).unwrap();
    let interval = [("registry.scheduler_interval", "100ms".to_owned())];
    let mut h = world_on(NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(), &interval).await;
    h.advance_to(signed_on);
    let created = create_agreement(&mut h, draft("yunnan", months_from_today(24)))
        .await
        .unwrap();
    complete(&mut h, &created).await;
    // D14 (S-YN Art.11): filed within 20 WD of signing: due 2026-10-30 for a signing on 2026-09-28 (National
    // Day 10-01..10-08 not counted); on its last day it is still open, the day after it is overdue.
    sign(&mut h, &created.name, day(2026, 9, 28)).await.unwrap();
    let overdue_now = ListDeadlinesRequest {
        subject: created.name.clone(),
        state: DeadlineState::Overdue as i32,
        ..Default::default()
    };
    h.advance_to(NaiveDate::from_ymd_opt(2026, 10, 30).unwrap());
    assert!(deadlines(&mut h, authority(overdue_now.clone())).await.is_empty());
    h.advance_to(NaiveDate::from_ymd_opt(2026, 10, 31).unwrap());
    let client = h.client.clone();
    let subject = created.name.clone();
    pdop_testkit::wait_until("the filing deadline is overdue", Duration::from_secs(20), || {
        let mut client = client.clone();
        let request = authority(ListDeadlinesRequest {
            subject: subject.clone(),
            state: DeadlineState::Overdue as i32,
            ..Default::default()
        });
        async move {
            !client
                .list_deadlines(request)
                .await
                .unwrap()
                .into_inner()
                .deadlines
                .is_empty()
        }
    })
    .await
    .unwrap();
    // (The fixture's registration may have fallen overdue too while it was being set up.)
    let missed_for = |events: Vec<Vec<u8>>, subject: &str| -> Vec<DeadlineMissed> {
        events
            .iter()
            .map(|e| DeadlineMissed::decode(e.as_slice()).unwrap())
            .filter(|m| m.subject == subject)
            .collect()
    };
    let missed = missed_for(h.events("pdop.registry.deadline.missed").await, &created.name);
    assert_eq!(missed.len(), 1, "one event when it becomes overdue");
    let missed = missed.into_iter().next().unwrap();
    assert_eq!(missed.kind, ObligationKind::AgreementFiling as i32);
    assert_eq!(missed.responsible_organization.unwrap().name, AGENCY);
    let deadline = missed.deadline.unwrap();
    assert_eq!(
        ymd(&deadline.due_date),
        NaiveDate::from_ymd_opt(2026, 10, 30).unwrap()
    );
    assert_eq!(deadline.source.unwrap().rule_id, "D14");

    // The agency lists its own overdue obligations; an operator may not list the agency's.
    let overdue = ListDeadlinesRequest {
        organization: AGENCY.into(),
        overdue: true,
        ..Default::default()
    };
    let own = deadlines(&mut h, agency(overdue.clone())).await;
    assert_eq!(own.len(), 1);
    assert_eq!(own[0].state, DeadlineState::Overdue as i32);
    let err = h
        .client
        .list_deadlines(operator(OPERATOR, overdue.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = h
        .client
        .get_deadline(operator(
            OPERATOR,
            GetDeadlineRequest {
                name: own[0].name.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // Filing meets it, late; it still counts as overdue history.
    file(&mut h, &created.name).await.unwrap();
    let met = deadlines(&mut h, agency(overdue)).await;
    assert_eq!(met.len(), 1);
    assert_eq!(met[0].state, DeadlineState::Met as i32);
    assert!(met[0].met_late);
    assert!(met[0].close_time.is_some());
    assert_eq!(
        missed_for(h.events("pdop.registry.deadline.missed").await, &created.name).len(),
        1
    );
}

#[tokio::test]
async fn registration_clocks_open_close_and_restart_on_resubmission() {
    // Applying on 2026-11-02 is after the D1 due date below.
    let mut h = Harness::start_on_day(NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(), &[]).await;
    let reg = population_registration(&mut h).await;
    // D1 (N3 Art.9): the registrant owes the application by 2026-10-30.
    let open = deadlines(&mut h, authority(list(&reg.name))).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].kind, ObligationKind::FirstRegistration as i32);
    assert_eq!(open[0].responsible_organization, STATS);
    // The provider sees its own obligation.
    let mine = deadlines(&mut h, provider(STATS, ListDeadlinesRequest::default())).await;
    assert_eq!(mine.len(), 1);

    let submit = |name: &str| SubmitRegistrationRequest {
        name: name.into(),
        etag: String::new(),
    };
    h.client
        .submit_registration(provider(STATS, submit(&reg.name)))
        .await
        .unwrap();
    let all = deadlines(&mut h, authority(list(&reg.name))).await;
    let first = all
        .iter()
        .find(|d| d.kind == ObligationKind::FirstRegistration as i32)
        .unwrap();
    assert_eq!(first.state, DeadlineState::Met as i32);
    assert!(first.met_late, "applied after 2026-10-30");
    // D3 (N3 Art.10) is the registry's own duty: no responsible organization.
    let acceptance: Vec<_> = all
        .iter()
        .filter(|d| d.kind == ObligationKind::RegistrationAcceptance as i32)
        .collect();
    assert_eq!(acceptance.len(), 1);
    assert!(acceptance[0].responsible_organization.is_empty());

    // A supplement notice decides on acceptance; resubmission starts a new 3-WD clock.
    let back = ReturnRegistrationForSupplementRequest {
        name: reg.name.clone(),
        missing_materials: vec![MissingMaterial {
            kind: RegistrationMaterialKind::LawfulSource as i32,
            description: "补充数据来源合法性证明".into(),
        }],
        ..Default::default()
    };
    h.client
        .return_registration_for_supplement(authority(back))
        .await
        .unwrap();
    h.client
        .submit_registration(provider(STATS, submit(&reg.name)))
        .await
        .unwrap();
    let acceptance = deadlines(
        &mut h,
        authority(ListDeadlinesRequest {
            subject: reg.name.clone(),
            kind: ObligationKind::RegistrationAcceptance as i32,
            ..Default::default()
        }),
    )
    .await;
    let states: Vec<i32> = acceptance.iter().map(|d| d.state).collect();
    assert_eq!(states.len(), 2);
    assert_eq!(
        states
            .iter()
            .filter(|s| **s == DeadlineState::Open as i32)
            .count(),
        1,
        "exactly one open acceptance clock"
    );
}

#[tokio::test]
async fn the_scheduler_counts_spring_festival_2026_before_an_acceptance_deadline_falls_overdue() {
    let submitted_on = NaiveDate::from_ymd_opt(2026, 2, 12).unwrap();
    let interval = [("registry.scheduler_interval", "100ms".to_owned())];
    let mut h = Harness::start_on_day(submitted_on, &interval).await;
    let reg = population_registration(&mut h).await;
    let submit = SubmitRegistrationRequest {
        name: reg.name.clone(),
        etag: String::new(),
    };
    h.client
        .submit_registration(provider(STATS, submit))
        .await
        .unwrap();
    // D3 (N3 Art.10) accept within 3 WD, counted on the State Council's 2026 notice (N6): Fri 02-13 is the first,
    // the make-up Saturday 02-14 the second, Spring Festival 02-15..02-23 does not count, Tue 02-24 is the third.
    let acceptance = ListDeadlinesRequest {
        subject: reg.name.clone(),
        kind: ObligationKind::RegistrationAcceptance as i32,
        ..Default::default()
    };
    let open = deadlines(&mut h, authority(acceptance.clone())).await;
    assert_eq!(open.len(), 1);
    assert_eq!(
        ymd(&open[0].deadline.as_ref().unwrap().due_date),
        NaiveDate::from_ymd_opt(2026, 2, 24).unwrap()
    );
    let overdue = ListDeadlinesRequest {
        state: DeadlineState::Overdue as i32,
        ..acceptance
    };
    // Three weekdays later (02-17, inside the holiday) and on the due day itself it is not overdue.
    for day in [17, 24] {
        h.advance_to(NaiveDate::from_ymd_opt(2026, 2, day).unwrap());
        assert!(
            deadlines(&mut h, authority(overdue.clone())).await.is_empty(),
            "overdue on 2026-02-{day}"
        );
    }
    h.advance_to(NaiveDate::from_ymd_opt(2026, 2, 25).unwrap());
    let client = h.client.clone();
    pdop_testkit::wait_until(
        "the acceptance deadline is overdue",
        Duration::from_secs(20),
        || {
            let mut client = client.clone();
            let request = authority(overdue.clone());
            async move {
                client
                    .list_deadlines(request)
                    .await
                    .unwrap()
                    .into_inner()
                    .deadlines
                    .len()
                    == 1
            }
        },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_registration_under_notice_lists_its_notice_obligation_until_the_code_is_issued() {
    let mut h = setup().await;
    catalogued_resource(&mut h, STATS, "population").await;
    let app = application("resources/population", all_materials());
    let name = through_notice(&mut h, STATS, &[pdop_kit::auth::Role::DataProvider], app).await;
    // D5 (N3 Art.12): the registry's 10-WD notice is an obligation like the others, due on its last day.
    let notice = ListDeadlinesRequest {
        subject: name.clone(),
        kind: ObligationKind::RegistrationNotice as i32,
        ..Default::default()
    };
    let open = deadlines(&mut h, authority(notice.clone())).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].state, DeadlineState::Open as i32);
    assert!(
        open[0].responsible_organization.is_empty(),
        "the registry's own duty"
    );
    let reg = get_registration(&mut h, &name).await;
    assert_eq!(open[0].deadline, reg.current_deadline);
    assert_eq!(
        ymd(&open[0].deadline.as_ref().unwrap().due_date),
        ymd(&reg.notice_period.unwrap().end_date)
    );

    // The notice ran its course when the code is issued: met, on time (the code can only follow the notice).
    end_notice(&mut h, &name).await;
    issue(&mut h, &name).await.unwrap();
    let met = deadlines(&mut h, authority(notice)).await;
    assert_eq!(met.len(), 1);
    assert_eq!(met[0].state, DeadlineState::Met as i32);
    assert!(!met[0].met_late);
}
