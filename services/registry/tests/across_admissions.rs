//! Across services over NATS (issue: review service, developer admissions): a developer admission in Yunnan is
//! qualified in the review service, its public notice opens in the disclosure service, an objection filed through
//! the disclosure service's CreateObjection reaches the review service (the registry skips it), the operator
//! dismisses it, and after the notice the developer is admitted: the registry records the admission and the
//! disclosure service publishes the outcome and the result. The three services run in-process, each with its own
//! database and a manual clock standing on the same day, in the test's NATS namespace.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use chrono::NaiveDate;
use common::agreements::*;
use common::review::*;
use common::*;
use pdop_disclosure::Disclosure;
use pdop_kit::Running;
use pdop_kit::auth::Role;
use pdop_kit::clock::ManualClock;
use pdop_proto::common::{
    DocumentRef, JurisdictionRef, OrganizationRef, OrganizationRole, PartyKind, RealNameParty,
};
use pdop_proto::disclosure::v1 as dv;
use pdop_proto::disclosure::v1::disclosure_service_client::DisclosureServiceClient;
use pdop_proto::registry::events::v1::{ProductListed, ProductSnapshot};
use pdop_proto::registry::v1::ProductState;
use pdop_proto::review::v1 as rv;
use pdop_proto::review::v1::review_service_client::ReviewServiceClient;
use pdop_review::Review;
use pdop_testkit::{acting, reason, spawn_service_with_clock, until_holds};
use prost::Message;

const DEVELOPER_YN: &str = "organizations/yn-dev";
const PRODUCT: &str = "products/yn-p1";

fn as_developer<T>(m: T) -> tonic::Request<T> {
    acting(DEVELOPER_YN, &[Role::Developer], m)
}

fn as_operator<T>(m: T) -> tonic::Request<T> {
    acting(OPERATOR, &[Role::Operator], m)
}

fn material(kind: rv::AdmissionMaterialKind) -> rv::AdmissionMaterial {
    rv::AdmissionMaterial {
        kind: kind as i32,
        document: Some(DocumentRef {
            uri: format!("https://docs.example/{}.pdf", kind.as_str_name()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Moves every service's clock by `days`.
fn advance(h: &Harness, others: &[&Running], days: i64) {
    h.advance(days);
    for r in others {
        r.platform.clock.advance(chrono::Duration::days(days));
    }
}

#[tokio::test]
async fn a_yunnan_developer_goes_through_its_notice_and_an_objection_to_admission() {
    // S-YN Art.13(一)–(四); D21 (≥5 WD notice); REVIEW-EVALUATION §2.7, §2.10 (ObjectionFiled with deciding_service
    // "review"), §2.12 RG-4 (admit_time = ce-time), §3.11 (disclosure routes).
    let day = NaiveDate::from_ymd_opt(2026, 9, 29).unwrap();
    let nats = pdop_testkit::PrivateNats::start().await.unwrap();
    let mut h = Harness::start_on_clock(Some(nats.url()), &[], ManualClock::on(day)).await;
    populate(&mut h).await;
    let agreement = running(&mut h, draft("yunnan", months_from_today(24))).await;
    organization(
        &mut h,
        "yn-dev",
        &credit_code(11),
        "jurisdictions/yunnan",
        &[OrganizationRole::Developer],
    )
    .await;
    let review_db = h.env.fresh_database().await.unwrap();
    let review = spawn_service_with_clock::<Review>(
        &review_db,
        &nats.url(),
        &h.env.namespace,
        &[],
        Arc::new(ManualClock::on(day)),
    )
    .await
    .unwrap();
    let disclosure_db = h.env.fresh_database().await.unwrap();
    // Port 0: the public HTTP port must not collide with another disclosure service running beside this test.
    let disclosure = spawn_service_with_clock::<Disclosure>(
        &disclosure_db,
        &nats.url(),
        &h.env.namespace,
        &[("disclosure.http_addr", "127.0.0.1:0".to_owned())],
        Arc::new(ManualClock::on(day)),
    )
    .await
    .unwrap();
    let mut client = ReviewServiceClient::connect(format!("http://{}", review.grpc_addr))
        .await
        .unwrap();
    let mut log = DisclosureServiceClient::connect(format!("http://{}", disclosure.grpc_addr))
        .await
        .unwrap();

    // Yunnan lists a product only once its registration is coded (S-YN Art.18), a flow of its own: the listing is
    // announced here the way the registry's relay does.
    let listed = ProductListed {
        product: Some(ProductSnapshot {
            name: PRODUCT.into(),
            operator: Some(OrganizationRef {
                name: OPERATOR.into(),
                ..Default::default()
            }),
            agreement: agreement.name.clone(),
            jurisdiction: Some(JurisdictionRef {
                name: "jurisdictions/yunnan".into(),
                ..Default::default()
            }),
            state: ProductState::Listed as i32,
            ..Default::default()
        }),
        ..Default::default()
    };
    publish_event(
        &h,
        "pdop.registry.product.listed",
        "yn-p1-listed",
        listed.encode_to_vec(),
    )
    .await;
    until_holds(
        &review_db.pool,
        "the review service knows the agreement, the parties and the product",
        &format!(
            "SELECT EXISTS (SELECT 1 FROM agreements WHERE id = '{}' AND state = {})
                AND EXISTS (SELECT 1 FROM organizations WHERE id = 'yn-dev')
                AND EXISTS (SELECT 1 FROM organizations WHERE id = 'yn-operator')
                AND EXISTS (SELECT 1 FROM products WHERE id = 'yn-p1')",
            agreement.name.trim_start_matches("agreements/"),
            pdop_proto::registry::v1::AgreementState::Active as i32
        ),
    )
    .await
    .unwrap();

    // Qualification review by the operator (S-YN Art.13(二)).
    let draft = rv::DeveloperAdmission {
        agreement: agreement.name.clone(),
        route: rv::AdmissionRoute::SelfProposed as i32,
        scenario_title: "智慧物流调度".into(),
        requested_products: vec![PRODUCT.into()],
        materials: [
            rv::AdmissionMaterialKind::ScenarioPlan,
            rv::AdmissionMaterialKind::SecurityCommitment,
            rv::AdmissionMaterialKind::CreditReport,
            rv::AdmissionMaterialKind::QualificationProof,
        ]
        .into_iter()
        .map(material)
        .collect(),
        ..Default::default()
    };
    let created = client
        .create_developer_admission(as_developer(rv::CreateDeveloperAdmissionRequest {
            developer_admission: Some(draft),
            request_id: String::new(),
        }))
        .await
        .unwrap()
        .into_inner()
        .developer_admission
        .unwrap();
    let submitted = client
        .submit_developer_admission(as_developer(rv::SubmitDeveloperAdmissionRequest {
            name: created.name.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .developer_admission
        .unwrap();
    let name = submitted.name.clone();
    let criteria = (1..=40)
        .filter_map(|i| rv::ReviewCriterion::try_from(i).ok())
        .map(|c| rv::CriterionAssessment {
            criterion: c as i32,
            finding: rv::CriterionFinding::Met as i32,
            ..Default::default()
        })
        .collect();
    let opinion = rv::CreateReviewOpinionRequest {
        parent: name.clone(),
        opinion: Some(rv::ReviewOpinion {
            reviewer: submitted.reviewers[0].name.clone(),
            stance: rv::OpinionStance::Agree as i32,
            comments: "资格审查通过".into(),
            criteria,
            ..Default::default()
        }),
        request_id: String::new(),
    };
    client.create_review_opinion(as_operator(opinion)).await.unwrap();
    client
        .approve_developer_admission(as_operator(rv::ApproveDeveloperAdmissionRequest {
            name: name.clone(),
            reasons: "符合条件".into(),
            ..Default::default()
        }))
        .await
        .unwrap();

    // The notice (D21): from Wed 09-30 over National Day to Mon 10-12; disclosure opens it, keyed by the admission.
    let started = client
        .start_developer_admission_notice(as_operator(rv::StartDeveloperAdmissionNoticeRequest {
            name: name.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .developer_admission
        .unwrap();
    let period = started.notice_period.unwrap();
    assert_eq!(
        (
            period.start_date.unwrap().day,
            period.end_date.unwrap().month,
            period.end_date.unwrap().day
        ),
        (30, 10, 12)
    );
    until_holds(
        &disclosure_db.pool,
        "disclosure opened the developer notice",
        &format!(
            "SELECT EXISTS (SELECT 1 FROM notices WHERE subject = '{name}' AND deciding_service = 'review')"
        ),
    )
    .await
    .unwrap();
    let notice = log
        .list_notices(dv::ListNoticesRequest {
            subject: name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .notices
        .remove(0);

    // An objection through the disclosure service on Thu 10-08 (N3 Art.12: real name with evidence).
    advance(&h, &[&review, &disclosure], 9);
    let filed = log
        .create_objection(dv::CreateObjectionRequest {
            objection: Some(dv::Objection {
                notice: notice.name.clone(),
                objector: Some(RealNameParty {
                    party_kind: PartyKind::Person as i32,
                    display_name: "李四".into(),
                    identity_number: "530102199001011231".into(),
                    contact: "13800000000".into(),
                    ..Default::default()
                }),
                grounds: "该开发主体的资格证明材料与实际经营情况不符，请予复核。".into(),
                evidence: vec![DocumentRef {
                    uri: "https://docs.example/evidence.pdf".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .objection
        .unwrap();
    let objection_id = filed.name.trim_start_matches("objections/").to_owned();
    until_holds(
        &review_db.pool,
        "the review service holds the objection",
        &format!(
            "SELECT EXISTS (SELECT 1 FROM admission_objections WHERE id = '{objection_id}' AND state = 1)"
        ),
    )
    .await
    .unwrap();

    // After the notice (from Tue 10-13) the undecided objection blocks admission; the operator dismisses it.
    advance(&h, &[&review, &disclosure], 5);
    let err = client
        .admit_developer(as_operator(rv::AdmitDeveloperRequest {
            name: name.clone(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "OBJECTION_OPEN");
    client
        .dismiss_developer_admission_objection(as_operator(rv::DismissDeveloperAdmissionObjectionRequest {
            name: format!("{name}/objections/{objection_id}"),
            reason: "经复核，资格证明材料真实有效".into(),
            ..Default::default()
        }))
        .await
        .unwrap();
    until_holds(
        &disclosure_db.pool,
        "disclosure records the outcome on the objection",
        &format!(
            "SELECT EXISTS (SELECT 1 FROM objections WHERE id = '{objection_id}' AND state = {})",
            dv::ObjectionState::Dismissed as i32
        ),
    )
    .await
    .unwrap();
    let admitted = client
        .admit_developer(as_operator(rv::AdmitDeveloperRequest {
            name: name.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .developer_admission
        .unwrap();
    assert_eq!(admitted.state, rv::DeveloperAdmissionState::Admitted as i32);

    // The registry records the admission (a developer agreement may now rest on it); disclosure publishes it.
    let id = name.trim_start_matches("developerAdmissions/");
    until_holds(
        &h.db.pool,
        "the registry recorded the admission",
        &format!("SELECT EXISTS (SELECT 1 FROM developer_admissions WHERE id = '{id}')"),
    )
    .await
    .unwrap();
    until_holds(
        &disclosure_db.pool,
        "the admission is disclosed",
        &format!(
            "SELECT count(*) >= 2 FROM entries WHERE subject = '{name}' AND kind IN ({}, {})",
            dv::EntryKind::DeveloperNotice as i32,
            dv::EntryKind::DeveloperResult as i32
        ),
    )
    .await
    .unwrap();
    let skipped: bool = sqlx::query_scalar("SELECT NOT EXISTS (SELECT 1 FROM registration_objections)")
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
    assert!(
        skipped,
        "the registry leaves review's objections to the review service"
    );
    drop((review, disclosure));
}
