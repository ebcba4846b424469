//! A registration after first coding (N3 Art.9, 12, 15, 20) over gRPC: change, correction and cancellation
//! applications, renewal within 60 days of expiry, expiry without renewal, revocation, objections received
//! from the disclosure service, and product registration that lists a held product.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use chrono::Months;
use common::agreements::*;
use common::review::*;
use common::*;
use pdop_kit::auth::Role;
use pdop_proto::common::{RealNameParty, UseClass};
use pdop_proto::disclosure::events::v1::ObjectionFiled;
use pdop_proto::registry::events::v1::{RegistrationCancelled, RegistrationCoded};
use pdop_proto::registry::v1::registration::Subject;
use pdop_proto::registry::v1::*;
use pdop_testkit::PrivateNats;
use prost::Message;
use tonic::Code;

fn amendment(kind: RegistrationKind, original: &str) -> Registration {
    Registration {
        kind: kind as i32,
        original_registration: original.into(),
        title: "人口基础信息（2026版）".into(),
        materials: vec![RegistrationMaterial {
            kind: RegistrationMaterialKind::ResourceDescription as i32,
            document: doc("变更说明"),
            ..Default::default()
        }],
        operation_start_date: None,
        ..application("resources/population", vec![])
    }
}

async fn resource(h: &mut Harness, name: &str) -> Resource {
    let request = authority(GetResourceRequest { name: name.into() });
    h.client
        .get_resource(request)
        .await
        .unwrap()
        .into_inner()
        .resource
        .unwrap()
}

/// The code and last day of validity the resource shows (resource.proto: registration_code,
/// registration_valid_until).
async fn shown_code(h: &mut Harness) -> (String, Option<pdop_proto::common::Date>) {
    let r = resource(h, "resources/population").await;
    (r.registration_code, r.registration_valid_until)
}

/// The last day of validity of a CODED registration.
async fn valid_until(h: &mut Harness, name: &str) -> chrono::NaiveDate {
    ymd(&get_registration(h, name).await.validity.unwrap().end_date)
}

#[tokio::test]
async fn a_change_amends_the_original_which_keeps_its_code_and_a_correction_may_come_from_anyone() {
    let mut h = setup().await;
    let original = registered_resource(&mut h, STATS, "population").await;
    let coded = get_registration(&mut h, &original).await;

    // N3 Art.9(2): a change says what changed.
    let request = CreateRegistrationRequest {
        registration: Some(amendment(RegistrationKind::Change, &original)),
        request_id: String::new(),
    };
    let err = h
        .client
        .create_registration(provider(STATS, request))
        .await
        .unwrap_err();
    assert_invalid(&err, &["registration.change_description"]);

    let change = Registration {
        change_description: "新增户籍地址字段".into(),
        ..amendment(RegistrationKind::Change, &original)
    };
    // Only the registrant applies for a change.
    let request = CreateRegistrationRequest {
        registration: Some(change.clone()),
        request_id: String::new(),
    };
    let err = h
        .client
        .create_registration(provider(TRANSPORT, request))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    let app = through_notice(&mut h, STATS, &[Role::DataProvider], change).await;
    end_notice(&mut h, &app).await;
    let completed = issue(&mut h, &app).await.unwrap();
    assert_eq!(completed.state, RegistrationState::Completed as i32);
    let amended = get_registration(&mut h, &original).await;
    assert_eq!(amended.state, RegistrationState::Coded as i32);
    assert_eq!(amended.title, "人口基础信息（2026版）");
    assert_eq!(
        amended.registration_code, coded.registration_code,
        "the code is kept"
    );
    assert_eq!(amended.amendments, vec![app.clone()]);
    let events = h.events("pdop.registry.registration.coded").await;
    let last = RegistrationCoded::decode(events.last().unwrap().as_slice()).unwrap();
    assert_eq!(last.application, app);
    assert_eq!(last.registration_code, coded.registration_code);

    // N3 Art.9(3): an interested party may apply for a correction; the registrant stays the provider.
    let correction = Registration {
        correction_basis: CorrectionBasis::ProofOfError as i32,
        ..amendment(RegistrationKind::Correction, &original)
    };
    let request = CreateRegistrationRequest {
        registration: Some(correction),
        request_id: String::new(),
    };
    let draft = h
        .client
        .create_registration(provider(TRANSPORT, request))
        .await
        .unwrap()
        .into_inner()
        .registration
        .unwrap();
    assert_eq!(draft.applicant, TRANSPORT);
    assert_eq!(draft.registrant, STATS);

    // Only a CODED registration can be amended.
    let err = h
        .client
        .create_registration(provider(
            STATS,
            CreateRegistrationRequest {
                registration: Some(Registration {
                    change_description: "x".into(),
                    ..amendment(RegistrationKind::Change, &app)
                }),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn a_cancellation_is_completed_within_10_working_days_and_the_resource_stops_being_authorizable() {
    let mut h = setup().await;
    let original = registered_resource(&mut h, STATS, "population").await;
    assert!(resource(&mut h, "resources/population").await.authorizable);
    let cancellation = Registration {
        cancellation_reason: CancellationReason::ResourceLost as i32,
        ..amendment(RegistrationKind::Cancellation, &original)
    };
    let app = accepted(&mut h, STATS, &[Role::DataProvider], cancellation).await;
    // D6 (N3 Art.9(4)): completed within 10 WD of acceptance.
    let accepted_app = get_registration(&mut h, &app).await;
    let deadline = accepted_app.current_deadline.unwrap();
    assert_eq!(deadline.source.unwrap().rule_id, "D6");
    assert_eq!(deadline.duration, 10);

    let review = CompleteRegistrationReviewRequest {
        name: app.clone(),
        outcome: RegistrationReviewOutcome::Passed as i32,
        ..Default::default()
    };
    let done = h
        .client
        .complete_registration_review(authority(review))
        .await
        .unwrap()
        .into_inner()
        .registration
        .unwrap();
    assert_eq!(done.state, RegistrationState::Completed as i32);
    assert_eq!(
        get_registration(&mut h, &original).await.state,
        RegistrationState::Cancelled as i32
    );
    assert!(!resource(&mut h, "resources/population").await.authorizable);
    let events = h.events("pdop.registry.registration.cancelled").await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        RegistrationCancelled::decode(events[0].as_slice())
            .unwrap()
            .reason,
        CancellationReason::ResourceLost as i32
    );
}

#[tokio::test]
async fn renewal_opens_60_days_before_expiry_and_an_unrenewed_registration_is_cancelled() {
    let mut h = Harness::start_with(&[("registry.scheduler_interval", "100ms".to_owned())]).await;
    providers(&mut h).await;
    let original = registered_resource(&mut h, STATS, "population").await;
    let renew = |years: i32, id: &str| RenewRegistrationRequest {
        name: original.clone(),
        years,
        etag: String::new(),
        request_id: id.into(),
    };
    // D8 (N3 Art.15): renew within the 60 days before expiry, not three years ahead.
    let err = h
        .client
        .renew_registration(provider(STATS, renew(2, "r1")))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "RENEWAL_WINDOW_CLOSED");
    let err = h
        .client
        .renew_registration(provider(STATS, renew(4, "r2")))
        .await
        .unwrap_err();
    assert_invalid(&err, &["years"]);

    let end = valid_until(&mut h, &original).await;
    let coded = get_registration(&mut h, &original).await;
    assert!(!coded.registration_code.is_empty());
    assert_eq!(
        shown_code(&mut h).await,
        (coded.registration_code.clone(), to_date(end))
    );
    h.advance_to(end.checked_sub_days(chrono::Days::new(30)).unwrap());
    let renewed = h
        .client
        .renew_registration(provider(STATS, renew(2, "r3")))
        .await
        .unwrap()
        .into_inner()
        .registration
        .unwrap();
    // Each renewal runs from the day after the previous expiry: the end moves by exactly two years.
    assert_eq!(
        ymd(&renewed.validity.unwrap().end_date),
        end.checked_add_months(Months::new(24)).unwrap()
    );
    assert_eq!(renewed.renewal_count, 1);
    let again = h
        .client
        .renew_registration(provider(STATS, renew(2, "r3")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        again.registration.unwrap().renewal_count,
        1,
        "a retry does not renew twice"
    );
    assert_eq!(h.events("pdop.registry.registration.renewed").await.len(), 1);

    // N3 Art.15: not renewed by expiry, the registry cancels it.
    let renewed_end = valid_until(&mut h, &original).await;
    assert_eq!(
        shown_code(&mut h).await,
        (coded.registration_code, to_date(renewed_end))
    );
    h.advance_to(renewed_end.succ_opt().unwrap());
    let client = h.client.clone();
    let name = original.clone();
    pdop_testkit::wait_until(
        "the expired registration is cancelled",
        Duration::from_secs(20),
        || {
            let mut client = client.clone();
            let name = name.clone();
            async move {
                let request = authority(GetRegistrationRequest { name });
                client
                    .get_registration(request)
                    .await
                    .unwrap()
                    .into_inner()
                    .registration
                    .unwrap()
                    .state
                    == RegistrationState::Cancelled as i32
            }
        },
    )
    .await
    .unwrap();
    let events = h.events("pdop.registry.registration.cancelled").await;
    assert_eq!(
        RegistrationCancelled::decode(events[0].as_slice())
            .unwrap()
            .reason,
        CancellationReason::ExpiredNotRenewed as i32
    );
    assert!(!resource(&mut h, "resources/population").await.authorizable);
    assert_eq!(
        shown_code(&mut h).await,
        (String::new(), None),
        "an expired code is not shown"
    );
}

#[tokio::test]
async fn a_registration_is_revoked_for_false_materials() {
    let mut h = setup().await;
    let original = registered_resource(&mut h, STATS, "population").await;
    let revoke = |description: &str| RevokeRegistrationRequest {
        name: original.clone(),
        ground: RevocationGround::FalseMaterials as i32,
        description: description.into(),
        ..Default::default()
    };
    let err = h
        .client
        .revoke_registration(authority(revoke(" ")))
        .await
        .unwrap_err();
    assert_invalid(&err, &["description"]);
    let err = h
        .client
        .revoke_registration(provider(STATS, revoke("x")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // N3 Art.20: 隐瞒有关情况或提供虚假材料 → 撤销登记.
    let revoked = h
        .client
        .revoke_registration(authority(revoke("数据来源证明系伪造")))
        .await
        .unwrap()
        .into_inner()
        .registration
        .unwrap();
    assert_eq!(revoked.state, RegistrationState::Revoked as i32);
    assert!(!resource(&mut h, "resources/population").await.authorizable);
    assert_eq!(
        shown_code(&mut h).await,
        (String::new(), None),
        "a revoked code is not shown"
    );
    let err = h
        .client
        .revoke_registration(authority(revoke("再次")))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "ALREADY_ENDED");
    assert_eq!(h.events("pdop.registry.registration.revoked").await.len(), 1);
}

fn objection(id: &str, registration: &str) -> ObjectionFiled {
    ObjectionFiled {
        name: format!("objections/{id}"),
        subject: registration.into(),
        deciding_service: "registry".into(),
        objector: Some(RealNameParty {
            display_name: "张三".into(),
            identity_number: "110101199003074514".into(),
            contact: "13800000000".into(),
            ..Default::default()
        }),
        grounds: "数据来源不合法".into(),
        evidence: vec![doc("证据").unwrap()],
        ..Default::default()
    }
}

async fn publish_objection(h: &Harness, o: &ObjectionFiled) {
    publish_event(h, "pdop.disclosure.objection.filed", &o.name, o.encode_to_vec()).await;
}

async fn wait_for_objections(h: &mut Harness, name: &str, pending: i32) {
    let client = h.client.clone();
    pdop_testkit::wait_until("the objection is received", Duration::from_secs(20), || {
        let mut client = client.clone();
        let name = name.to_owned();
        async move {
            let request = authority(GetRegistrationRequest { name });
            client
                .get_registration(request)
                .await
                .unwrap()
                .into_inner()
                .registration
                .unwrap()
                .objection_count
                == pending
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn objections_hold_back_the_code_and_an_upheld_one_terminates_the_registration() {
    let nats = PrivateNats::start().await.unwrap();
    let mut h = Harness::start_on(Some(nats.url()), &[]).await;
    providers(&mut h).await;
    catalogued_resource(&mut h, STATS, "population").await;
    let app = application("resources/population", all_materials());
    let name = through_notice(&mut h, STATS, &[Role::DataProvider], app).await;

    // N3 Art.12: real-name objections with evidence, received from the disclosure service.
    publish_objection(&h, &objection("o1", &name)).await;
    wait_for_objections(&mut h, &name, 1).await;
    end_notice(&mut h, &name).await;
    let err = issue(&mut h, &name).await.unwrap_err();
    assert_eq!(reason(&err), "OBJECTIONS_OPEN");

    // The applicant sees the objection without the objector's identity number and contact.
    let list = ListRegistrationObjectionsRequest {
        parent: name.clone(),
        ..Default::default()
    };
    let seen = h
        .client
        .list_registration_objections(provider(STATS, list.clone()))
        .await
        .unwrap()
        .into_inner();
    let objector = seen.objections[0].objector.clone().unwrap();
    assert_eq!(objector.display_name, "张三");
    assert!(objector.identity_number.is_empty() && objector.contact.is_empty());
    let full = h
        .client
        .list_registration_objections(authority(list))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        full.objections[0].objector.clone().unwrap().identity_number,
        "110101199003074514"
    );

    let dismiss = DismissRegistrationObjectionRequest {
        name: full.objections[0].name.clone(),
        reason: "来源证明材料齐全".into(),
    };
    h.client
        .dismiss_registration_objection(authority(dismiss))
        .await
        .unwrap();
    assert_eq!(get_registration(&mut h, &name).await.objection_count, 0);

    publish_objection(&h, &objection("o2", &name)).await;
    wait_for_objections(&mut h, &name, 1).await;
    let uphold = UpholdRegistrationObjectionRequest {
        name: format!("{name}/objections/o2"),
        reason: "复核确认数据来源不合法".into(),
    };
    let upheld = h
        .client
        .uphold_registration_objection(authority(uphold))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        upheld.objection.unwrap().state,
        ObjectionDecisionState::Upheld as i32
    );
    assert_eq!(
        upheld.registration.unwrap().state,
        RegistrationState::Terminated as i32
    );
    assert_eq!(
        h.events("pdop.registry.registration.objection_resolved")
            .await
            .len(),
        2
    );
    assert_eq!(h.events("pdop.registry.registration.terminated").await.len(), 1);
}

#[tokio::test]
async fn registering_a_product_held_for_registration_lists_it() {
    // S-YN Art.18: in Yunnan an approved product waits for its registration, then is listed.
    let nats = PrivateNats::start().await.unwrap();
    let mut h = Harness::start_on(Some(nats.url()), &[]).await;
    populate(&mut h).await;
    let agreement = running(&mut h, draft("yunnan", months_from_today(24))).await;
    let draft = create_product(
        &mut h,
        OPERATOR,
        product(&agreement.name, &["resources/population"]),
    )
    .await
    .unwrap();
    submit_product(&mut h, &draft.name).await.unwrap();
    let approval = pdop_proto::review::events::v1::ProductComplianceApproved {
        review: summary(&draft.name),
        ..Default::default()
    };
    publish_review_event(
        &h,
        "pdop.review.product_review.approved",
        "ap-1",
        approval.encode_to_vec(),
    )
    .await;
    wait_for_product_state(&mut h, &draft.name, ProductState::Approved).await;

    let app = Registration {
        subject: Some(Subject::Product(draft.name.clone())),
        title: "人口画像接口".into(),
        ..application("", all_materials())
    };
    let name = through_notice(&mut h, OPERATOR, &[Role::Operator], app).await;
    end_notice(&mut h, &name).await;
    issue(&mut h, &name).await.unwrap();
    let listed = get_product(&mut h, OPERATOR, &[Role::Operator], &draft.name)
        .await
        .unwrap();
    assert_eq!(listed.state, ProductState::Listed as i32);
    assert_eq!(listed.registration, name);
    assert_eq!(listed.use_class, UseClass::IndustryDevelopment as i32);
    assert_eq!(h.events("pdop.registry.product.listed").await.len(), 1);
}
