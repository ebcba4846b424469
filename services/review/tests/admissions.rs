//! Developer admissions (开发主体准入, spec §2.7) over gRPC against PostgreSQL and NATS: Yunnan's qualification
//! review, public notice across National Day (D21), objections forwarded by disclosure and admission after the
//! notice; Zhengzhou's missing procedure.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::NaiveDate;
use common::admissions::*;
use common::{Harness, World, date, start, start_on};
use pdop_proto::registry::events::v1::DeveloperAgreementSigned;
use pdop_proto::registry::v1::ProductState;
use pdop_proto::review::v1 as pb;
use pdop_proto::review::v1::{
    AdmissionExitReason, AdmissionMaterialKind as Kind, AdmissionObjectionState, DeveloperAdmission,
    DeveloperAdmissionState as State, MissingItem, ReviewerRole,
};
use pdop_testkit::{acting, assert_invalid, reason};
use prost::Message;
use prost_types::FieldMask;
use tonic::Code;

const SUBMITTED: &str = "pdop.review.developer_admission.submitted";
const QUALIFIED: &str = "pdop.review.developer_admission.qualified";
const NOTICE: &str = "pdop.review.developer_admission.notice_started";
const RESOLVED: &str = "pdop.review.developer_admission.objection_resolved";
const REJECTED: &str = "pdop.review.developer_admission.rejected";
const ADMITTED: &str = "pdop.review.developer_admission.admitted";
const EXITED: &str = "pdop.review.developer_admission.exited";

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

fn start_notice(name: &str, working_days: i32) -> pb::StartDeveloperAdmissionNoticeRequest {
    pb::StartDeveloperAdmissionNoticeRequest {
        name: name.into(),
        working_days,
        ..Default::default()
    }
}

fn admit(name: &str) -> pb::AdmitDeveloperRequest {
    pb::AdmitDeveloperRequest {
        name: name.into(),
        ..Default::default()
    }
}

/// Yunnan: a QUALIFIED admission of the world's developer for a LISTED product.
async fn qualified(h: &mut Harness, w: &World) -> DeveloperAdmission {
    let p = announce_product(h, w, "p1", ProductState::Listed).await;
    approved(h, w, &w.dev(), &[p], &YUNNAN_MATERIALS).await
}

#[tokio::test]
async fn yunnan_admits_a_developer_after_review_supplement_notice_and_a_dismissed_objection() {
    // REVIEW-EVALUATION S6; S-YN Art.12, 13(一)–(四); D21 (≥5 WD notice); N2 Art.6 (own products).
    let mut h = start_on(day(9, 21)).await;
    let w = h.world("yunnan").await;
    let p = announce_product(&h, &w, "p1", ProductState::Listed).await;

    // §1.2, R-RV-18: the operator may not apply for its own products.
    let own = acting(
        &w.op(),
        &[pdop_kit::auth::Role::Developer],
        create_request(draft(&w, std::slice::from_ref(&p), &[])),
    );
    let err = h.client.create_developer_admission(own).await.unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "OWN_PRODUCTS")
    );

    // S-YN Art.13(一): all four materials; without CREDIT_REPORT the submission is refused.
    let without_credit = [
        Kind::ScenarioPlan,
        Kind::SecurityCommitment,
        Kind::QualificationProof,
    ];
    let a = create(
        &mut h,
        &w.dev(),
        draft(&w, std::slice::from_ref(&p), &without_credit),
    )
    .await;
    assert_eq!(
        (a.state, a.developer.as_str(), a.operator.as_str()),
        (State::Draft as i32, w.dev().as_str(), w.op().as_str())
    );
    assert_eq!(h.events(SUBMITTED, &a.name).await, 0, "a draft announces nothing");
    let err = submit(&mut h, &w.dev(), &a.name).await.unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "MATERIALS_MISSING")
    );
    assert!(err.message().contains("CREDIT_REPORT"), "{}", err.message());
    let mut edit = a.clone();
    edit.materials = YUNNAN_MATERIALS.iter().map(|k| material(*k)).collect();
    let update = pb::UpdateDeveloperAdmissionRequest {
        developer_admission: Some(edit),
        update_mask: Some(FieldMask {
            paths: vec!["materials".into()],
        }),
        etag: a.etag.clone(),
    };
    h.client
        .update_developer_admission(w.as_dev(update))
        .await
        .unwrap();

    // Submitted Mon 09-21: the blacklist is clear; the operator leads (S-YN Art.13).
    let a = submit(&mut h, &w.dev(), &a.name).await.unwrap();
    assert_eq!(a.state, State::UnderReview as i32);
    assert!(a.blacklist_check.as_ref().unwrap().clear);
    assert_eq!(a.reviewers.len(), 1);
    assert_eq!(
        (a.reviewers[0].organization.as_str(), a.reviewers[0].reviewer_role),
        (w.op().as_str(), ReviewerRole::Lead as i32)
    );
    assert_eq!(h.events(SUBMITTED, &a.name).await, 1);

    // R-RV-05, S-YN Art.13(二): returned for supplement, due 09-29; resubmitted Mon 09-28 (round 2).
    let ret = pb::ReturnDeveloperAdmissionForSupplementRequest {
        name: a.name.clone(),
        items: vec![MissingItem {
            item: "QUALIFICATION_PROOF".into(),
            description: "资格证明材料不完整".into(),
        }],
        due_date: Some(date(2026, 9, 29)),
        ..Default::default()
    };
    let err = h
        .client
        .return_developer_admission_for_supplement(w.as_dev(ret.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "only the lead returns it");
    let r = h
        .client
        .return_developer_admission_for_supplement(w.as_operator(ret))
        .await
        .unwrap();
    assert_eq!(
        r.into_inner().developer_admission.unwrap().state,
        State::SupplementRequested as i32
    );
    h.advance_days(7);
    let a = submit(&mut h, &w.dev(), &a.name).await.unwrap();
    assert_eq!(a.timeline.as_ref().unwrap().review_round, 2);

    // R-RV-08: approval waits for the eight Yunnan criteria (S-YN Art.13, 12(一)–(四)); approved Wed 09-30.
    h.advance_days(2);
    let err = h
        .client
        .approve_developer_admission(w.as_operator(approve_request(&a.name)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "CRITERION_NOT_ASSESSED");
    all_agree(&mut h, &a).await;
    let r = h
        .client
        .approve_developer_admission(w.as_operator(approve_request(&a.name)))
        .await
        .unwrap();
    let a = r.into_inner().developer_admission.unwrap();
    assert_eq!(a.state, State::Qualified as i32);
    assert_eq!(
        (
            h.events(QUALIFIED, &a.name).await,
            h.events(ADMITTED, &a.name).await
        ),
        (1, 0)
    );

    // D21: 4 WD is too short; 0 takes the minimum, from the next working day: 10-08 … 10-13 over National Day.
    let err = h
        .client
        .start_developer_admission_notice(w.as_operator(start_notice(&a.name, 4)))
        .await
        .unwrap_err();
    assert_invalid(&err, &["working_days"]);
    let r = h
        .client
        .start_developer_admission_notice(w.as_operator(start_notice(&a.name, 0)))
        .await
        .unwrap();
    let a = r.into_inner().developer_admission.unwrap();
    let period = a.notice_period.unwrap();
    assert_eq!(
        (period.start_date, period.end_date),
        (Some(date(2026, 10, 8)), Some(date(2026, 10, 13)))
    );
    let cited = a.notice_deadline.as_ref().unwrap();
    assert_eq!(
        (cited.duration, cited.source.as_ref().unwrap().rule_id.as_str()),
        (5, "D21")
    );
    assert_eq!(
        h.events(NOTICE, &a.name).await,
        1,
        "ce-subject is the admission, which disclosure keys objections by"
    );

    // An objection on Sat 10-10 arrives from disclosure and is PENDING.
    h.advance_days(10);
    objection_filed(&h, &a.name, "o-1").await;
    assert_eq!(get(&mut h, &w, &a.name).await.objection_count, 1);

    // Admission only from the day after the notice end (10-14), and with no objection PENDING (S-YN Art.13(四)).
    h.advance_days(3);
    let err = h
        .client
        .admit_developer(w.as_operator(admit(&a.name)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "NOTICE_OPEN")
    );
    h.advance_days(1);
    let err = h
        .client
        .admit_developer(w.as_operator(admit(&a.name)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "OBJECTION_OPEN")
    );

    // The developer sees the objection without identity numbers; the lead sees them.
    let list = pb::ListDeveloperAdmissionObjectionsRequest {
        parent: a.name.clone(),
        ..Default::default()
    };
    let seen = h
        .client
        .list_developer_admission_objections(w.as_dev(list.clone()))
        .await
        .unwrap()
        .into_inner();
    let objector = seen.objections[0].objector.clone().unwrap();
    assert_eq!(
        (
            objector.display_name.as_str(),
            objector.identity_number.as_str(),
            objector.contact.as_str()
        ),
        ("张三", "", "")
    );
    let seen = h
        .client
        .list_developer_admission_objections(w.as_operator(list))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        seen.objections[0].objector.as_ref().unwrap().identity_number,
        "530102199001011234"
    );

    // Dismissed after re-checking (a reason is required), then admitted on 10-14.
    let objection = seen.objections[0].name.clone();
    let dismiss = |reason: &str| pb::DismissDeveloperAdmissionObjectionRequest {
        name: objection.clone(),
        reason: reason.into(),
        ..Default::default()
    };
    let err = h
        .client
        .dismiss_developer_admission_objection(w.as_operator(dismiss("")))
        .await
        .unwrap_err();
    assert_invalid(&err, &["reason"]);
    let r = h
        .client
        .dismiss_developer_admission_objection(w.as_operator(dismiss("经复核，资质证明真实有效")))
        .await
        .unwrap();
    assert_eq!(
        r.into_inner().objection.unwrap().state,
        AdmissionObjectionState::Dismissed as i32
    );
    assert_eq!(h.events(RESOLVED, &objection).await, 1);
    let r = h
        .client
        .admit_developer(w.as_operator(admit(&a.name)))
        .await
        .unwrap();
    let a = r.into_inner().developer_admission.unwrap();
    assert_eq!(a.state, State::Admitted as i32);
    assert_eq!(h.events(ADMITTED, &a.name).await, 1);
    assert!(audit_has_no_identity_numbers(&h).await);

    // §2.11: the registry's developer agreement names the admission, which records it.
    let signed = DeveloperAgreementSigned {
        name: "developerAgreements/da-1".into(),
        agreement: w.agreement(),
        developer_admission: a.name.clone(),
        ..Default::default()
    };
    h.publish(
        "pdop.registry.developer_agreement.signed",
        "das-1",
        signed.encode_to_vec(),
    )
    .await;
    h.until(
        "the agreement is recorded",
        "SELECT EXISTS (SELECT 1 FROM inbox WHERE message_id = 'das-1')",
    )
    .await;
    assert_eq!(
        get(&mut h, &w, &a.name).await.developer_agreement,
        "developerAgreements/da-1"
    );

    // Exit: the developer only voluntarily; the operator disqualifies it (S-YN Art.21, 25(5)).
    let exit = |reason: AdmissionExitReason| pb::ExitDeveloperAdmissionRequest {
        name: a.name.clone(),
        reason: reason as i32,
        description: "违反开发利用协议".into(),
        ..Default::default()
    };
    let err = h
        .client
        .exit_developer_admission(w.as_dev(exit(AdmissionExitReason::Disqualified)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::PermissionDenied, "VOLUNTARY_ONLY")
    );
    let r = h
        .client
        .exit_developer_admission(w.as_operator(exit(AdmissionExitReason::Disqualified)))
        .await
        .unwrap();
    assert_eq!(
        r.into_inner().developer_admission.unwrap().state,
        State::Exited as i32
    );
    assert_eq!(h.events(EXITED, &a.name).await, 1);
}

#[tokio::test]
async fn a_notice_started_on_2026_09_29_ends_on_monday_10_12_and_admission_opens_the_next_day() {
    // D21, S-YN Art.13(三), computed by hand from holidays_cn.json: started Tue 09-29 with no start date, the first
    // day is Wed 09-30; 10-01…10-07 are holidays and Sat 10-10 a make-up working day, so the five working days are
    // 09-30, 10-08, 10-09, 10-10, 10-12.
    let mut h = start_on(day(9, 29)).await;
    let w = h.world("yunnan").await;
    let a = qualified(&mut h, &w).await;
    let r = h
        .client
        .start_developer_admission_notice(w.as_operator(start_notice(&a.name, 0)))
        .await
        .unwrap();
    let period = r.into_inner().developer_admission.unwrap().notice_period.unwrap();
    assert_eq!(
        (period.start_date, period.end_date),
        (Some(date(2026, 9, 30)), Some(date(2026, 10, 12)))
    );
    h.advance_days(13);
    let err = h
        .client
        .admit_developer(w.as_operator(admit(&a.name)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "NOTICE_OPEN", "10-12 is the notice's last day");
    h.advance_days(1);
    let r = h
        .client
        .admit_developer(w.as_operator(admit(&a.name)))
        .await
        .unwrap();
    assert_eq!(
        r.into_inner().developer_admission.unwrap().state,
        State::Admitted as i32
    );
    // A start date in the past is invalid.
    let b = qualified_second(&mut h, &w).await;
    let mut req = start_notice(&b.name, 5);
    req.start_date = Some(date(2026, 10, 1));
    let err = h
        .client
        .start_developer_admission_notice(w.as_operator(req))
        .await
        .unwrap_err();
    assert_invalid(&err, &["start_date"]);
}

/// Yunnan: a QUALIFIED admission of a second developer.
async fn qualified_second(h: &mut Harness, w: &World) -> DeveloperAdmission {
    let dev = h.developer(w, "dev2").await;
    approved(
        h,
        w,
        &dev,
        &[format!("products/{}-p1", w.profile)],
        &YUNNAN_MATERIALS,
    )
    .await
}

#[tokio::test]
async fn an_upheld_objection_rejects_the_admission_and_announces_both_facts() {
    // §2.7 UpholdDeveloperAdmissionObjection: a re-check reason is required (analogy with N3 Art.12); the admission
    // is REJECTED with `objection` set (S-YN Art.13(四)), so disclosure publishes "开发主体未准入".
    let mut h = start_on(day(9, 21)).await;
    let w = h.world("yunnan").await;
    let a = qualified(&mut h, &w).await;
    h.client
        .start_developer_admission_notice(w.as_operator(start_notice(&a.name, 0)))
        .await
        .unwrap();
    objection_filed(&h, &a.name, "o-up").await;
    let name = format!("{}/objections/o-up", a.name);
    let uphold = |reason: &str| pb::UpholdDeveloperAdmissionObjectionRequest {
        name: name.clone(),
        reason: reason.into(),
        ..Default::default()
    };
    let err = h
        .client
        .uphold_developer_admission_objection(w.as_operator(uphold(" ")))
        .await
        .unwrap_err();
    assert_invalid(&err, &["reason"]);
    let err = h
        .client
        .uphold_developer_admission_objection(w.as_dev(uphold("成立")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let r = h
        .client
        .uphold_developer_admission_objection(w.as_operator(uphold("经复核，资质证明与实际不符")))
        .await
        .unwrap();
    let r = r.into_inner();
    assert_eq!(r.objection.unwrap().state, AdmissionObjectionState::Upheld as i32);
    let rejected = r.developer_admission.unwrap();
    assert_eq!(rejected.state, State::Rejected as i32);
    assert_eq!(
        (h.events(RESOLVED, &name).await, h.events(REJECTED, &a.name).await),
        (1, 1)
    );
    let (payload,): (Vec<u8>,) = sqlx::query_as("SELECT payload FROM outbox WHERE subject = $1")
        .bind(REJECTED)
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
    let event =
        pdop_proto::review::events::v1::DeveloperAdmissionRejected::decode(payload.as_slice()).unwrap();
    assert_eq!(event.objection, "objections/o-up");
    // Decided once: a second decision is refused.
    let err = h
        .client
        .dismiss_developer_admission_objection(w.as_operator(pb::DismissDeveloperAdmissionObjectionRequest {
            name: name.clone(),
            reason: "不成立".into(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn zhengzhou_has_no_admission_procedure() {
    // S-ZZ Art.18, 22: the operator organises developers; CreateDeveloperAdmission names the profile.
    let mut h = start().await;
    let w = h.world("zhengzhou").await;
    let p = announce_product(&h, &w, "p1", ProductState::Listed).await;
    let err = h
        .client
        .create_developer_admission(w.as_dev(create_request(draft(&w, &[p], &[]))))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "ADMISSION_NOT_USED")
    );
    assert!(err.message().contains("zhengzhou"), "{}", err.message());
}
