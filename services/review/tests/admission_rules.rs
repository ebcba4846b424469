//! Developer admissions (spec §2.7) per profile and under the registry's facts, over gRPC against PostgreSQL and
//! NATS: Henan's binding implementing agency, Laiyuan's four-party joint review, the refusals (R-RV-14, R-RV-17,
//! listed products, one open admission), and the exits the registry's facts cause.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::admissions::*;
use common::{Harness, World, org_ref, start};
use pdop_proto::common::{JurisdictionRef, OrganizationRole};
use pdop_proto::registry::events::v1::{BlacklistEntryLifted, DeveloperAgreementEnded, OrganizationUpdated};
use pdop_proto::registry::v1::{AgreementState, BlacklistAction, CreditStatus, ProductState};
use pdop_proto::review::v1 as pb;
use pdop_proto::review::v1::{
    AdmissionExitReason, AdmissionRoute, DeveloperAdmission, DeveloperAdmissionState as State, OpinionStance,
    ReviewerAssignment, ReviewerRole,
};
use pdop_testkit::{assert_invalid, reason};
use prost::Message;
use tonic::Code;

const QUALIFIED: &str = "pdop.review.developer_admission.qualified";
const ADMITTED: &str = "pdop.review.developer_admission.admitted";
const EXITED: &str = "pdop.review.developer_admission.exited";

fn seat(a: &DeveloperAdmission, role: ReviewerRole) -> ReviewerAssignment {
    a.reviewers
        .iter()
        .find(|s| s.reviewer_role == role as i32)
        .cloned()
        .unwrap_or_else(|| panic!("no {role:?} seat: {:?}", a.reviewers))
}

#[tokio::test]
async fn henan_admits_on_approval_once_the_implementing_agency_agrees() {
    // S-HN Art.17 ("进行评估并经实施机构审核后"): operator LEAD, implementing agency JOINT and binding; no notice,
    // so approval admits at once (DeveloperQualified + DeveloperAdmitted).
    let mut h = start().await;
    let w = h.world("henan").await;
    let p = announce_product(&h, &w, "p1", ProductState::Listed).await;
    let a = create(&mut h, &w.dev(), draft(&w, &[p], &[])).await;
    let a = submit(&mut h, &w.dev(), &a.name).await.unwrap();
    let (lead, joint) = (seat(&a, ReviewerRole::Lead), seat(&a, ReviewerRole::Joint));
    assert_eq!(
        (lead.organization, joint.organization.clone(), joint.binding),
        (w.op(), w.ia(), true)
    );
    let lead_opinion = opinion(&a.name, &seat(&a, ReviewerRole::Lead).name, OpinionStance::Agree);
    h.client
        .create_review_opinion(w.as_operator(lead_opinion))
        .await
        .unwrap();
    let err = h
        .client
        .approve_developer_admission(w.as_operator(approve_request(&a.name)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "BINDING_SEAT_PENDING")
    );
    let err = h
        .client
        .approve_developer_admission(w.as_ia(approve_request(&a.name)))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::PermissionDenied,
        "R-RV-03: only the lead decides"
    );
    let ia_opinion = opinion(&a.name, &joint.name, OpinionStance::Agree);
    h.client.create_review_opinion(w.as_ia(ia_opinion)).await.unwrap();
    let r = h
        .client
        .approve_developer_admission(w.as_operator(approve_request(&a.name)))
        .await
        .unwrap();
    let a = r.into_inner().developer_admission.unwrap();
    assert_eq!(a.state, State::Admitted as i32);
    assert!(a.admit_time.is_some() && a.notice_period.is_none());
    assert_eq!(
        (
            h.events(QUALIFIED, &a.name).await,
            h.events(ADMITTED, &a.name).await
        ),
        (1, 1)
    );
    // No notice in Henan: StartDeveloperAdmissionNotice finds nothing QUALIFIED.
    let notice = pb::StartDeveloperAdmissionNoticeRequest {
        name: a.name.clone(),
        ..Default::default()
    };
    let err = h
        .client
        .start_developer_admission_notice(w.as_operator(notice))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "WRONG_STATE")
    );
}

#[tokio::test]
async fn laiyuan_admits_after_the_four_party_joint_review() {
    // S-LY §三(三)2 ("经实施机构、行业主管部门、运营机构、数源单位联合审查通过后方可入场"): implementing agency LEAD,
    // the regulator it assigns, the operator JOINT and the providers of the products' resources, all binding;
    // materials 资质、合规及技术安全材料.
    let mut h = start().await;
    let w = h.world("laiyuan").await;
    let p = announce_product(&h, &w, "p1", ProductState::Listed).await;
    let a = create(&mut h, &w.dev(), draft(&w, &[p], &[])).await;
    let err = submit(&mut h, &w.dev(), &a.name).await.unwrap_err();
    assert_eq!(reason(&err), "MATERIALS_MISSING");
    assert!(
        err.message().contains("COMPLIANCE_AND_SECURITY"),
        "{}",
        err.message()
    );
    let withdraw = pb::WithdrawDeveloperAdmissionRequest {
        name: a.name.clone(),
        reason: "补齐材料后重新申请".into(),
        ..Default::default()
    };
    let r = h
        .client
        .withdraw_developer_admission(w.as_dev(withdraw))
        .await
        .unwrap();
    assert_eq!(
        r.into_inner().developer_admission.unwrap().state,
        State::Withdrawn as i32
    );

    let materials = [
        pb::AdmissionMaterialKind::QualificationProof,
        pb::AdmissionMaterialKind::ComplianceAndSecurity,
    ];
    let p = format!("products/{}-p1", w.profile);
    let a = create(&mut h, &w.dev(), draft(&w, &[p], &materials)).await;
    let a = submit(&mut h, &w.dev(), &a.name).await.unwrap();
    assert_eq!(seat(&a, ReviewerRole::Lead).organization, w.ia());
    assert_eq!(seat(&a, ReviewerRole::Joint).organization, w.op());
    assert_eq!(
        seat(&a, ReviewerRole::DataProvider).organization,
        w.dp(),
        "the provider of r1"
    );
    assert!(a.reviewers.iter().all(|s| s.binding));
    all_agree(&mut h, &a).await;
    let err = h
        .client
        .approve_developer_admission(w.as_ia(approve_request(&a.name)))
        .await
        .unwrap_err();
    assert_eq!(
        reason(&err),
        "BINDING_SEAT_PENDING",
        "the regulator seat is not assigned yet"
    );
    // The panel RPCs take developerAdmissions/{id} (§2.9).
    let assign = pb::AssignReviewerRequest {
        parent: a.name.clone(),
        reviewer: Some(ReviewerAssignment {
            organization: w.ir(),
            reviewer_role: ReviewerRole::IndustryRegulator as i32,
            binding: true,
            ..Default::default()
        }),
        ..Default::default()
    };
    let regulator = h
        .client
        .assign_reviewer(w.as_ia(assign))
        .await
        .unwrap()
        .into_inner()
        .reviewer
        .unwrap();
    let as_dp = opinion(&a.name, &regulator.name, OpinionStance::Agree);
    let err = h.client.create_review_opinion(w.as_dp(as_dp)).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let agrees = opinion(&a.name, &regulator.name, OpinionStance::Agree);
    h.client.create_review_opinion(w.as_ir(agrees)).await.unwrap();
    let r = h
        .client
        .approve_developer_admission(w.as_ia(approve_request(&a.name)))
        .await
        .unwrap();
    assert_eq!(
        r.into_inner().developer_admission.unwrap().state,
        State::Admitted as i32
    );
}

#[tokio::test]
async fn admissions_need_an_active_agreement_listed_products_one_open_admission_and_a_clear_record() {
    // §2.7 CreateDeveloperAdmission; R-RV-14 (S-HN Art.22); R-RV-17 (S-YN Art.21, Art.12(一)).
    let mut h = start().await;
    let w = h.world("henan").await;
    let p = announce_product(&h, &w, "p1", ProductState::Listed).await;
    let unlisted = announce_product(&h, &w, "p2", ProductState::UnderReview).await;

    // Bad input names the field; a role outside the RPC is denied.
    let mut bad = draft(&w, std::slice::from_ref(&p), &[]);
    bad.route = AdmissionRoute::Unspecified as i32;
    bad.requested_products = vec!["p1".into()];
    let err = h
        .client
        .create_developer_admission(w.as_dev(create_request(bad)))
        .await
        .unwrap_err();
    assert_invalid(
        &err,
        &[
            "developer_admission.route",
            "developer_admission.requested_products[0]",
        ],
    );
    let err = h
        .client
        .create_developer_admission(w.as_operator(create_request(draft(&w, std::slice::from_ref(&p), &[]))))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    let err = h
        .client
        .create_developer_admission(w.as_dev(create_request(draft(&w, &[unlisted], &[]))))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "PRODUCT_NOT_LISTED")
    );
    let a = create(&mut h, &w.dev(), draft(&w, std::slice::from_ref(&p), &[])).await;
    let err = h
        .client
        .create_developer_admission(w.as_dev(create_request(draft(&w, std::slice::from_ref(&p), &[]))))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "ADMISSION_OPEN")
    );

    // R-RV-17 at submission: an active SUSPEND entry, then a serious dishonesty listing.
    blacklist(&h, &w, &w.dev(), BlacklistAction::Suspend, "s1").await;
    let err = submit(&mut h, &w.dev(), &a.name).await.unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "BLACKLISTED")
    );
    let lifted = BlacklistEntryLifted {
        name: "blacklistEntries/s1".into(),
        organization: Some(org_ref(&w.dev(), OrganizationRole::Developer)),
        action: BlacklistAction::Suspend as i32,
        ..Default::default()
    };
    h.publish(
        "pdop.registry.blacklist_entry.lifted",
        "bl-s1-lifted",
        lifted.encode_to_vec(),
    )
    .await;
    let dishonest = OrganizationUpdated {
        organization: Some(org_ref(&w.dev(), OrganizationRole::Developer)),
        jurisdiction: Some(JurisdictionRef {
            name: w.jurisdiction(),
            ..Default::default()
        }),
        credit_status: CreditStatus::DishonestListed as i32,
        ..Default::default()
    };
    h.publish(
        "pdop.registry.organization.updated",
        "ou-dishonest",
        dishonest.encode_to_vec(),
    )
    .await;
    let dev_id = w.dev().trim_start_matches("organizations/").to_owned();
    h.until(
        "both facts are applied",
        &format!("SELECT NOT EXISTS (SELECT 1 FROM blacklist WHERE active) AND EXISTS (SELECT 1 FROM organizations WHERE id = '{dev_id}' AND credit_status = 3)"),
    )
    .await;
    let err = submit(&mut h, &w.dev(), &a.name).await.unwrap_err();
    assert_eq!(reason(&err), "BLACKLISTED");
    assert!(err.message().contains("dishonesty"), "{}", err.message());

    // R-RV-14: nothing new under a SUSPENDED agreement.
    h.agreement(&w, AgreementState::Suspended, "a-suspended").await;
    h.until(
        "the agreement is suspended",
        &format!(
            "SELECT EXISTS (SELECT 1 FROM agreements WHERE id = 'henan-a1' AND state = {})",
            AgreementState::Suspended as i32
        ),
    )
    .await;
    let other = h.developer(&w, "dev2").await;
    let err = h
        .client
        .create_developer_admission(as_dev(&other, create_request(draft(&w, &[p], &[]))))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "AGREEMENT_SUSPENDED")
    );
    // A stranger reads nothing.
    let read = pb::GetDeveloperAdmissionRequest { name: a.name.clone() };
    let err = h
        .client
        .get_developer_admission(as_dev(&other, read))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

async fn admitted_henan(h: &mut Harness, w: &World, dev: &str) -> DeveloperAdmission {
    let p = format!("products/{}-p1", w.profile);
    let a = approved(h, w, dev, &[p], &[]).await;
    assert_eq!(a.state, State::Admitted as i32);
    a
}

async fn state_of(h: &mut Harness, w: &World, name: &str) -> (i32, i32) {
    let a = get(h, w, name).await;
    (a.state, a.exit.map_or(0, |e| e.reason))
}

#[tokio::test]
async fn the_registrys_facts_exit_admitted_developers_once() {
    // §2.7 consumers: developer_agreement.ended → AGREEMENT_ENDED; blacklist DISQUALIFY or BAR → DISQUALIFIED
    // (S-YN Art.21); the operator agreement TERMINATED → OPERATOR_AGREEMENT_ENDED (R-RV-15). A second fact about
    // the same admission changes nothing.
    let mut h = start().await;
    let w = h.world("henan").await;
    announce_product(&h, &w, "p1", ProductState::Listed).await;
    let dev2 = h.developer(&w, "dev2").await;
    let dev3 = h.developer(&w, "dev3").await;
    let a1 = admitted_henan(&mut h, &w, &w.dev()).await;
    let a2 = admitted_henan(&mut h, &w, &dev2).await;
    let a3 = admitted_henan(&mut h, &w, &dev3).await;

    let ended = DeveloperAgreementEnded {
        name: "developerAgreements/da-1".into(),
        developer_admission: a1.name.clone(),
        reason: "协议到期".into(),
        ..Default::default()
    };
    for id in ["dae-1", "dae-1-again"] {
        h.publish(
            "pdop.registry.developer_agreement.ended",
            id,
            ended.encode_to_vec(),
        )
        .await;
    }
    h.until(
        "both facts are applied",
        "SELECT count(*) = 2 FROM inbox WHERE message_id LIKE 'dae-1%'",
    )
    .await;
    assert_eq!(
        state_of(&mut h, &w, &a1.name).await,
        (State::Exited as i32, AdmissionExitReason::AgreementEnded as i32)
    );
    assert_eq!(h.events(EXITED, &a1.name).await, 1);

    // The registry announces a disqualification twice (the entry, then the agreement it ends): one exit.
    blacklist(&h, &w, &dev2, BlacklistAction::Disqualify, "d2").await;
    let ended = DeveloperAgreementEnded {
        name: "developerAgreements/da-2".into(),
        developer_admission: a2.name.clone(),
        ..Default::default()
    };
    h.publish(
        "pdop.registry.developer_agreement.ended",
        "dae-2",
        ended.encode_to_vec(),
    )
    .await;
    h.until(
        "the end is applied",
        "SELECT EXISTS (SELECT 1 FROM inbox WHERE message_id = 'dae-2')",
    )
    .await;
    assert_eq!(
        state_of(&mut h, &w, &a2.name).await,
        (State::Exited as i32, AdmissionExitReason::Disqualified as i32)
    );
    assert_eq!(h.events(EXITED, &a2.name).await, 1);

    // R-RV-15: the operator agreement ends.
    h.agreement(&w, AgreementState::Terminated, "at-1").await;
    h.until(
        "the termination is applied",
        "SELECT EXISTS (SELECT 1 FROM inbox WHERE message_id = 'at-1')",
    )
    .await;
    assert_eq!(
        state_of(&mut h, &w, &a3.name).await,
        (
            State::Exited as i32,
            AdmissionExitReason::OperatorAgreementEnded as i32
        )
    );
    assert_eq!(h.events(EXITED, &a3.name).await, 1);
    assert_eq!(
        h.events(EXITED, &a1.name).await,
        1,
        "an exited admission stays exited"
    );
}

#[tokio::test]
async fn an_upheld_appeal_reopens_a_rejected_laiyuan_admission_for_a_new_round() {
    // §2.7 "REJECTED → UNDER_REVIEW on an upheld appeal (Laiyuan)"; S-LY §二(五) (进驻申请…可向实施机构提出申诉).
    let mut h = start().await;
    let w = h.world("laiyuan").await;
    let p = announce_product(&h, &w, "p1", ProductState::Listed).await;
    let materials = [
        pb::AdmissionMaterialKind::QualificationProof,
        pb::AdmissionMaterialKind::ComplianceAndSecurity,
    ];
    let a = create(&mut h, &w.dev(), draft(&w, &[p], &materials)).await;
    let a = submit(&mut h, &w.dev(), &a.name).await.unwrap();
    let reject = pb::RejectDeveloperAdmissionRequest {
        name: a.name.clone(),
        reasons: "行业主管部门不同意".into(),
        basis: "S-LY §三(三)2".into(),
        ..Default::default()
    };
    h.client
        .reject_developer_admission(w.as_ia(reject))
        .await
        .unwrap();
    let appeal = pb::CreateAppealRequest {
        appeal: Some(pb::Appeal {
            subject: a.name.clone(),
            grounds: "联合审查未考虑补充的安全材料".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let filed = h
        .client
        .create_appeal(w.as_dev(appeal))
        .await
        .unwrap()
        .into_inner()
        .appeal
        .unwrap();
    let uphold = pb::UpholdAppealRequest {
        name: filed.name.clone(),
        reasons: "补充材料足以消除疑问".into(),
        ..Default::default()
    };
    let token = pdop_testkit::bearer_signed_with(
        pdop_testkit::DEV_SECRET,
        "another-official",
        &w.ia(),
        &[pdop_kit::auth::Role::ImplementingAgency],
        3600,
    )
    .unwrap();
    let mut other = tonic::Request::new(uphold);
    other
        .metadata_mut()
        .insert("authorization", token.parse().unwrap());
    h.client.uphold_appeal(other).await.unwrap();
    let reopened = get(&mut h, &w, &a.name).await;
    assert_eq!(reopened.state, State::UnderReview as i32);
    assert_eq!(reopened.timeline.unwrap().review_round, 2);
    assert_eq!(
        reopened.decisions.last().unwrap().outcome,
        pb::ReviewOutcome::ReopenedOnAppeal as i32
    );
}
