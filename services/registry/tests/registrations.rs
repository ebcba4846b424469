//! Registration (登记, N3) of a resource over gRPC: materials, acceptance with the one-time supplement
//! notice, formal review, public notice, coding and validity, with deadlines on the holiday calendar.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{Months, NaiveDate};
use common::*;
use pdop_kit::auth::Role;
use pdop_proto::common::{Date, JurisdictionLevel, OrganizationRole};
use pdop_proto::registry::events::v1::RegistrationSubmitted;
use pdop_proto::registry::v1::*;
use pdop_rules::Calendar;
use prost::Message;
use tonic::Code;

async fn apply(h: &mut Harness, owner: &str, r: Registration) -> Registration {
    let request = CreateRegistrationRequest {
        registration: Some(r),
        request_id: String::new(),
    };
    h.client
        .create_registration(provider(owner, request))
        .await
        .unwrap()
        .into_inner()
        .registration
        .unwrap()
}

async fn submit(h: &mut Harness, owner: &str, name: &str) -> Result<Registration, tonic::Status> {
    let request = SubmitRegistrationRequest {
        name: name.into(),
        etag: String::new(),
    };
    Ok(h.client
        .submit_registration(provider(owner, request))
        .await?
        .into_inner()
        .registration
        .unwrap())
}

fn due(r: &Registration) -> NaiveDate {
    let d = r.current_deadline.as_ref().unwrap().due_date.unwrap();
    NaiveDate::from_ymd_opt(d.year, d.month as u32, d.day as u32).unwrap()
}

#[tokio::test]
async fn first_registration_deadline_counts_working_days_across_national_day() {
    // N3 Art.9 (D1): apply within 20 WD of starting operation. From Mon 2026-09-28 the count skips
    // National Day (10-01..10-07) and includes the make-up Saturday 10-10.
    let mut h = setup().await;
    catalogued_resource(&mut h, STATS, "population").await;
    let draft = apply(
        &mut h,
        STATS,
        application("resources/population", all_materials()),
    )
    .await;
    assert_eq!(draft.state, RegistrationState::Draft as i32);
    assert_eq!(due(&draft), NaiveDate::from_ymd_opt(2026, 10, 30).unwrap());
    assert_eq!(
        draft
            .current_deadline
            .as_ref()
            .unwrap()
            .source
            .as_ref()
            .unwrap()
            .rule_id,
        "D1"
    );
    assert!(
        h.events("pdop.registry.registration.submitted").await.is_empty(),
        "drafts are private"
    );

    // N3 Art.9 (D2): operations running before N3 register within 30 WD of 2025-03-01, i.e. by 2025-04-14.
    let legacy = Registration {
        legacy_operation: true,
        operation_start_date: None,
        ..application("resources/population", vec![])
    };
    let legacy = apply(&mut h, STATS, legacy).await;
    assert_eq!(due(&legacy), NaiveDate::from_ymd_opt(2025, 4, 14).unwrap());
}

#[tokio::test]
async fn a_registration_goes_from_application_to_code_and_makes_the_resource_authorizable() {
    let mut h = setup().await;
    let calendar = Calendar::builtin();
    catalogued_resource(&mut h, STATS, "population").await;
    let draft = apply(
        &mut h,
        STATS,
        application("resources/population", all_materials()),
    )
    .await;

    // N3 Art.10 (D3): the registry accepts within 3 WD of receipt.
    let submitted = submit(&mut h, STATS, &draft.name).await.unwrap();
    assert_eq!(submitted.state, RegistrationState::Submitted as i32);
    assert_eq!(due(&submitted), calendar.add_working_days(today(), 3).due);

    // Nobody decides their own organization's application, whatever their role.
    let own = AcceptRegistrationRequest {
        name: draft.name.clone(),
        etag: String::new(),
    };
    let err = h
        .client
        .accept_registration(acting(STATS, &[Role::DataAuthority], own.clone()))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::PermissionDenied, "OWN_APPLICATION")
    );
    let err = h
        .client
        .accept_registration(provider(STATS, own.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // N3 Art.11 (D4): formal review within 20 WD of acceptance.
    let accepted = h
        .client
        .accept_registration(authority(own))
        .await
        .unwrap()
        .into_inner()
        .registration
        .unwrap();
    assert_eq!(due(&accepted), calendar.add_working_days(today(), 20).due);
    let review = CompleteRegistrationReviewRequest {
        name: draft.name.clone(),
        outcome: RegistrationReviewOutcome::Passed as i32,
        ..Default::default()
    };
    let passed = h
        .client
        .complete_registration_review(authority(review))
        .await
        .unwrap()
        .into_inner()
        .registration
        .unwrap();
    assert_eq!(passed.state, RegistrationState::ReviewPassed as i32);

    // N3 Art.12 (D5): a public notice of 10 WD; no code while it runs.
    let notice = StartRegistrationNoticeRequest {
        name: draft.name.clone(),
        ..Default::default()
    };
    let noticed = h
        .client
        .start_registration_notice(authority(notice))
        .await
        .unwrap()
        .into_inner()
        .registration
        .unwrap();
    let period = noticed.notice_period.unwrap();
    let end = period.end_date.unwrap();
    assert_eq!(
        NaiveDate::from_ymd_opt(end.year, end.month as u32, end.day as u32).unwrap(),
        // D5 N3 Art.12: 10 WD counting the first day (the day before is the trigger).
        calendar.add_working_days(today().pred_opt().unwrap(), 10).due
    );
    let issue = IssueRegistrationCodeRequest {
        name: draft.name.clone(),
        etag: String::new(),
    };
    let err = h
        .client
        .issue_registration_code(authority(issue.clone()))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "NOTICE_OPEN")
    );

    // N3 Art.13, Art.15 (D7): once the notice has ended, the code is issued, valid 3 years.
    end_notice(&mut h, &draft.name).await;
    let coded = h
        .client
        .issue_registration_code(authority(issue))
        .await
        .unwrap()
        .into_inner()
        .registration
        .unwrap();
    assert_eq!(coded.state, RegistrationState::Coded as i32);
    let year = chrono::Datelike::year(&today());
    assert_eq!(coded.registration_code, format!("DJ-YUNNAN-{year}-000001"));
    let valid = coded.validity.unwrap().end_date.unwrap();
    let expected = today().checked_add_months(Months::new(36)).unwrap();
    assert_eq!(
        NaiveDate::from_ymd_opt(valid.year, valid.month as u32, valid.day as u32).unwrap(),
        expected
    );

    let got = h
        .client
        .get_resource(authority(GetResourceRequest {
            name: "resources/population".into(),
        }))
        .await
        .unwrap();
    let resource = got.into_inner().resource.unwrap();
    assert_eq!(resource.registration, draft.name);
    assert!(
        resource.authorizable,
        "catalogued, registered, general data, not negative-listed"
    );

    for subject in ["submitted", "accepted", "reviewed", "notice_started", "coded"] {
        assert_eq!(
            h.events(&format!("pdop.registry.registration.{subject}"))
                .await
                .len(),
            1,
            "{subject}"
        );
    }
}

#[tokio::test]
async fn incomplete_materials_get_one_notice_and_the_clock_restarts_on_resubmission() {
    let mut h = setup().await;
    catalogued_resource(&mut h, STATS, "population").await;
    let mut partial = all_materials();
    partial.retain(|m| m.kind != RegistrationMaterialKind::EvidenceDeposit as i32);
    let without_deposit = apply(&mut h, STATS, application("resources/population", partial)).await;
    // N3 Art.7: evidence must be deposited (存证) before applying.
    let err = submit(&mut h, STATS, &without_deposit.name).await.unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "MATERIALS_MISSING")
    );
    assert!(err.message().contains("EvidenceDeposit"), "{}", err.message());

    let draft = apply(
        &mut h,
        STATS,
        application("resources/population", all_materials()),
    )
    .await;
    submit(&mut h, STATS, &draft.name).await.unwrap();
    let empty = ReturnRegistrationForSupplementRequest {
        name: draft.name.clone(),
        ..Default::default()
    };
    assert_invalid(
        &h.client
            .return_registration_for_supplement(authority(empty))
            .await
            .unwrap_err(),
        &["missing_materials"],
    );

    // N3 Art.10: one notice listing everything missing (一次性告知).
    let notice = ReturnRegistrationForSupplementRequest {
        name: draft.name.clone(),
        missing_materials: vec![
            MissingMaterial {
                kind: RegistrationMaterialKind::LawfulSource as i32,
                description: "授权文件缺盖章".into(),
            },
            MissingMaterial {
                kind: RegistrationMaterialKind::SecurityRiskAssessment as i32,
                description: "评估报告过期".into(),
            },
        ],
        note: String::new(),
        etag: String::new(),
    };
    let returned = h
        .client
        .return_registration_for_supplement(authority(notice))
        .await
        .unwrap()
        .into_inner();
    let returned = returned.registration.unwrap();
    assert_eq!(returned.state, RegistrationState::ReturnedForSupplement as i32);
    assert_eq!(returned.missing_materials.len(), 2);
    assert!(
        returned.current_deadline.is_none(),
        "the registry's clock stops while the applicant supplements"
    );

    // The acceptance clock (D3) restarts from the resubmission.
    let resubmitted = submit(&mut h, STATS, &draft.name).await.unwrap();
    assert_eq!(
        resubmitted.current_deadline.unwrap().start_date.unwrap(),
        chrono_date(today())
    );
    let events = h.events("pdop.registry.registration.submitted").await;
    assert_eq!(events.len(), 2);
    assert!(
        RegistrationSubmitted::decode(events[1].as_slice())
            .unwrap()
            .resubmission
    );

    let refuse = RefuseRegistrationRequest {
        name: draft.name.clone(),
        reason: " ".into(),
        etag: String::new(),
    };
    assert_invalid(
        &h.client.refuse_registration(authority(refuse)).await.unwrap_err(),
        &["reason"],
    );
}

fn chrono_date(d: NaiveDate) -> Date {
    Date {
        year: chrono::Datelike::year(&d),
        month: chrono::Datelike::month(&d) as i32,
        day: chrono::Datelike::day(&d) as i32,
    }
}

#[tokio::test]
async fn a_late_formal_review_must_explain_the_delay() {
    // N3 Art.11: if the 20 WD review is not finished in time, the registry explains why.
    let mut h = setup().await;
    catalogued_resource(&mut h, STATS, "population").await;
    let draft = apply(
        &mut h,
        STATS,
        application("resources/population", all_materials()),
    )
    .await;
    submit(&mut h, STATS, &draft.name).await.unwrap();
    let accept = AcceptRegistrationRequest {
        name: draft.name.clone(),
        etag: String::new(),
    };
    h.client.accept_registration(authority(accept)).await.unwrap();
    // The review's last day passes.
    let accepted = get_registration(&mut h, &draft.name).await;
    h.advance_to(due(&accepted).succ_opt().unwrap());

    let silent = CompleteRegistrationReviewRequest {
        name: draft.name.clone(),
        outcome: RegistrationReviewOutcome::Failed as i32,
        reasons: "数据来源证明不足".into(),
        ..Default::default()
    };
    assert_invalid(
        &h.client
            .complete_registration_review(authority(silent.clone()))
            .await
            .unwrap_err(),
        &["late_explanation"],
    );
    let explained = CompleteRegistrationReviewRequest {
        late_explanation: "需补充核验".into(),
        ..silent
    };
    let rejected = h
        .client
        .complete_registration_review(authority(explained))
        .await
        .unwrap()
        .into_inner()
        .registration
        .unwrap();
    assert_eq!(rejected.state, RegistrationState::Rejected as i32);
    assert_eq!(rejected.decision_reason, "数据来源证明不足");
}

#[tokio::test]
async fn henan_accepts_only_catalogued_resources_with_state_asset_duties_done() {
    // S-HN Art.10: no registration is accepted before the catalogue is compiled and state-asset rules are
    // implemented; the national profile (Yunnan here) has no such precondition.
    let mut h = setup().await;
    h.create_jurisdiction(
        "henan",
        "河南省",
        JurisdictionLevel::Province,
        "jurisdictions/china",
        "henan",
    )
    .await
    .unwrap();
    let org = Organization {
        display_name: "河南统计".into(),
        unified_social_credit_code: CODES[2].into(),
        roles: vec![OrganizationRole::DataProvider as i32],
        jurisdiction: "jurisdictions/henan".into(),
        ..Default::default()
    };
    h.create_organization(org, "hn-stats").await.unwrap();
    let hn = "organizations/hn-stats";
    let r = Resource {
        jurisdiction: "jurisdictions/henan".into(),
        ..resource(hn, "人口", vec![field("a", "", false)])
    };
    create(&mut h, hn, "hn-population", r).await.unwrap();
    let draft = apply(
        &mut h,
        hn,
        application("resources/hn-population", all_materials()),
    )
    .await;
    let err = submit(&mut h, hn, &draft.name).await.unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "PROFILE_PRECONDITION")
    );
    assert!(err.message().contains("S-HN Art.10"), "{}", err.message());

    // The same uncatalogued resource in Yunnan (national rules) may be submitted.
    create(
        &mut h,
        STATS,
        "yn-population",
        resource(STATS, "人口", vec![field("a", "", false)]),
    )
    .await
    .unwrap();
    let draft = apply(
        &mut h,
        STATS,
        application("resources/yn-population", all_materials()),
    )
    .await;
    submit(&mut h, STATS, &draft.name).await.unwrap();
}

#[tokio::test]
async fn applicants_see_only_their_own_applications() {
    let mut h = setup().await;
    catalogued_resource(&mut h, STATS, "population").await;
    let draft = apply(
        &mut h,
        STATS,
        application("resources/population", all_materials()),
    )
    .await;
    let get = GetRegistrationRequest {
        name: draft.name.clone(),
    };
    let err = h
        .client
        .get_registration(provider(TRANSPORT, get.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    h.client.get_registration(provider(STATS, get)).await.unwrap();

    let mine = h
        .client
        .list_registrations(provider(TRANSPORT, ListRegistrationsRequest::default()))
        .await
        .unwrap();
    assert!(mine.into_inner().registrations.is_empty());
    let all = h
        .client
        .list_registrations(authority(ListRegistrationsRequest::default()))
        .await
        .unwrap();
    assert_eq!(all.into_inner().registrations.len(), 1);

    let other = CreateRegistrationRequest {
        registration: Some(application("resources/population", vec![])),
        request_id: String::new(),
    };
    let err = h
        .client
        .create_registration(provider(TRANSPORT, other))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn a_public_notice_lasts_ten_working_days_counting_its_first_day() {
    // D5 N3 Art.12: 10 WD. The notice starts Thu 2026-02-12 and that day is its first working day (DOMAIN §10
    // counts the days after the trigger, the day before the notice): 02-12, 02-13, the make-up Saturday 02-14,
    // 02-24..02-27 after Spring Festival, the make-up Saturday 02-28, 03-02 and 03-03 (N6).
    let first_day = NaiveDate::from_ymd_opt(2026, 2, 12).unwrap();
    let last_day = NaiveDate::from_ymd_opt(2026, 3, 3).unwrap();
    let mut h = Harness::start_on_day(first_day, &[]).await;
    providers(&mut h).await;
    catalogued_resource(&mut h, STATS, "population").await;
    let app = application("resources/population", all_materials());
    let name = through_notice(&mut h, STATS, &[Role::DataProvider], app).await;
    let noticed = get_registration(&mut h, &name).await;
    let period = noticed.notice_period.unwrap();
    assert_eq!(ymd(&period.start_date), first_day);
    assert_eq!(ymd(&period.end_date), last_day);
    let deadline = noticed.current_deadline.unwrap();
    assert_eq!((deadline.duration, ymd(&deadline.due_date)), (10, last_day));
    let started = pdop_proto::registry::events::v1::RegistrationNoticeStarted::decode(
        h.events("pdop.registry.registration.notice_started").await[0].as_slice(),
    )
    .unwrap();
    assert_eq!(started.notice_period, Some(period));
    assert_eq!(started.period_working_days, 10);
    assert_eq!(ymd(&started.notice_deadline.unwrap().due_date), last_day);

    // On its last day the notice still runs; the day after, the code is issued.
    h.advance_to(last_day);
    let err = issue(&mut h, &name).await.unwrap_err();
    assert_eq!(reason(&err), "NOTICE_OPEN");
    h.advance_to(last_day.succ_opt().unwrap());
    issue(&mut h, &name).await.unwrap();
}

#[tokio::test]
async fn two_jurisdictions_sharing_a_division_code_issue_distinct_codes() {
    // Both codes fall in 2026.
    let mut h = Harness::start_on_day(NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(), &[]).await;
    h.create_jurisdiction(
        "china",
        "中华人民共和国",
        JurisdictionLevel::National,
        "",
        "national",
    )
    .await
    .unwrap();
    // registry.registration_code_format numbers codes within what the code shows ({division}-{year}-{seq}).
    for id in ["yunnan", "yunnan-pilot"] {
        let request = CreateJurisdictionRequest {
            jurisdiction: Some(Jurisdiction {
                display_name: id.into(),
                level: JurisdictionLevel::Province as i32,
                parent: "jurisdictions/china".into(),
                profile_id: "yunnan".into(),
                division_code: "530000".into(),
                ..Default::default()
            }),
            jurisdiction_id: id.into(),
            request_id: String::new(),
        };
        h.client.create_jurisdiction(authority(request)).await.unwrap();
    }
    let mut codes = Vec::new();
    for (n, jurisdiction) in [(20, "yunnan"), (21, "yunnan-pilot")] {
        let org = format!("org-{jurisdiction}");
        let owner = format!("organizations/{org}");
        organization(
            &mut h,
            &org,
            &credit_code(n),
            &format!("jurisdictions/{jurisdiction}"),
            &[OrganizationRole::DataProvider],
        )
        .await;
        let id = format!("res-{jurisdiction}");
        let r = Resource {
            jurisdiction: format!("jurisdictions/{jurisdiction}"),
            grade: pdop_proto::common::DataGrade::General as i32,
            ..resource(&owner, &id, vec![field("a", "", false)])
        };
        create(&mut h, &owner, &id, r).await.unwrap();
        let catalog = CatalogResourceRequest {
            name: format!("resources/{id}"),
            etag: String::new(),
        };
        h.client
            .catalog_resource(provider(&owner, catalog))
            .await
            .unwrap();
        let app = application(&format!("resources/{id}"), all_materials());
        let name = through_notice(&mut h, &owner, &[Role::DataProvider], app).await;
        end_notice(&mut h, &name).await;
        codes.push(issue(&mut h, &name).await.unwrap().registration_code);
    }
    assert_eq!(codes, ["DJ-530000-2026-000001", "DJ-530000-2026-000002"]);
}

// THREATS H2: a data authority of another province (Henan, a sibling of Yunnan under the national root) cannot
// accept a Yunnan application, and the application is left as it was.
#[tokio::test]
async fn a_data_authority_of_another_province_cannot_accept_the_application() {
    let mut h = setup().await;
    h.province("henan", "henan").await;
    catalogued_resource(&mut h, STATS, "population").await;
    let app = apply(
        &mut h,
        STATS,
        application("resources/population", all_materials()),
    )
    .await;
    let submitted = submit(&mut h, STATS, &app.name).await.unwrap();
    let accept = AcceptRegistrationRequest {
        name: app.name.clone(),
        etag: String::new(),
    };
    let henan = pdop_testkit::acting_in(
        "organizations/hn-authority",
        &[Role::DataAuthority],
        "jurisdictions/henan",
        accept,
    );
    let status = h.client.accept_registration(henan).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert_eq!(pdop_testkit::reason(&status), "OUTSIDE_JURISDICTION");
    let after = get_registration(&mut h, &app.name).await;
    assert_eq!(after.state, RegistrationState::Submitted as i32);
    assert_eq!(after.etag, submitted.etag);
    assert!(after.accept_time.is_none());
}
