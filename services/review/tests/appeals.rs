//! Appeals (申诉, spec §2.8) over gRPC against PostgreSQL and NATS: only where the profile enables them, only by its
//! appellants against their own rejected application, handled by the implementing agency of the agreement, never
//! by the official who took the decision; an upheld appeal reopens the subject for a new round.
//!
//! Laiyuan's appellants are developers (S-LY §二(五)), whose admissions are the reachable subject. The uphold flow
//! here runs on product reviews under a test profile that extends Laiyuan and also lets operators appeal.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Harness, World, product, start, start_with, submitted};
use pdop_kit::auth::Role;
use pdop_proto::review::v1 as pb;
use pdop_proto::review::v1::{
    Appeal, AppealState, AppealSubjectKind, ProductReview, ProductReviewState as State, ReviewOutcome,
    ReviewerAssignmentState,
};
use pdop_testkit::{acting, assert_invalid, reason};
use tonic::Code;

/// A profile directory holding the built-in profiles and `appealtest`, which extends Laiyuan and lets operators
/// appeal product reviews (a configuration a province could adopt; no seed does).
fn profiles_with_operator_appeals() -> String {
    let dir = std::env::temp_dir().join(format!(
        "pdop-review-profiles-{}-{}",
        std::process::id(),
        uuid_like()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let builtin = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/rules/profiles");
    for entry in std::fs::read_dir(builtin).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    std::fs::write(
        dir.join("appealtest.toml"),
        r#"id = "appealtest"
name = "申诉测试"
documents = ["test fixture: Laiyuan with operator appellants"]
draft = true
extends = "laiyuan"

[review.appeals]
subjects = { value = ["product_review"], source = "test fixture (S-LY §二(五) 数据产品出域合规审核结果)" }
appellants = { value = ["operator", "developer"], source = "test fixture" }
"#,
    )
    .unwrap();
    dir.to_string_lossy().into_owned()
}

fn uuid_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

async fn rejected(h: &mut Harness, w: &World, id: &str) -> ProductReview {
    let r = submitted(h, w, &product(w, id, &[]), &format!("ps-{}-{id}", w.profile)).await;
    let reject = pb::RejectProductReviewRequest {
        name: r.name.clone(),
        reasons: "脱敏不充分".into(),
        basis: "S-LY §三(三)4(2)".into(),
        ..Default::default()
    };
    let done = h
        .client
        .reject_product_review(w.as_da(reject))
        .await
        .unwrap()
        .into_inner();
    done.product_review.unwrap()
}

fn appeal(subject: &str) -> pb::CreateAppealRequest {
    pb::CreateAppealRequest {
        appeal: Some(Appeal {
            subject: subject.into(),
            grounds: "审核未考虑补充的脱敏报告".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

/// The implementing agency, as an official other than the one who took the decision (all test tokens act as
/// `test-user` unless minted otherwise).
fn as_other_ia<T>(w: &World, m: T) -> tonic::Request<T> {
    let token = pdop_testkit::bearer_signed_with(
        pdop_testkit::DEV_SECRET,
        "ia-official",
        &w.ia(),
        &[Role::ImplementingAgency],
        3600,
    )
    .unwrap();
    let mut request = tonic::Request::new(m);
    request
        .metadata_mut()
        .insert("authorization", token.parse().unwrap());
    request
}

#[tokio::test]
async fn only_profiles_with_an_appeal_procedure_take_appeals_and_only_from_their_appellants() {
    let mut h = start().await;
    // §2.8: Hubei has no appeal procedure.
    let hubei = h.world("hubei").await;
    let r = rejected(&mut h, &hubei, "p1").await;
    let err = h
        .client
        .create_appeal(hubei.as_operator(appeal(&r.name)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "APPEALS_NOT_ENABLED")
    );
    assert!(err.message().contains("hubei"), "{}", err.message());
    // S-LY §二(五): in Laiyuan the 二级市场 (developers) appeal, not the operator.
    let laiyuan = h.world("laiyuan").await;
    let r = rejected(&mut h, &laiyuan, "p1").await;
    let err = h
        .client
        .create_appeal(laiyuan.as_operator(appeal(&r.name)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "APPELLANT_NOT_ALLOWED")
    );
    // A developer is no party to the operator's product review.
    let err = h
        .client
        .create_appeal(acting(&laiyuan.dev(), &[Role::Developer], appeal(&r.name)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::PermissionDenied, "NOT_THE_APPLICANT")
    );
    let err = h
        .client
        .create_appeal(laiyuan.as_operator(appeal("nope")))
        .await
        .unwrap_err();
    assert_invalid(&err, &["appeal.subject"]);
}

#[tokio::test]
async fn an_upheld_appeal_reopens_the_rejected_review_for_a_new_round() {
    let dir = profiles_with_operator_appeals();
    let mut h = start_with(&[("rules.profiles_dir", dir.clone())]).await;
    let w = h.world("appealtest").await;
    let r = rejected(&mut h, &w, "p1").await;

    let filed = h
        .client
        .create_appeal(w.as_operator(appeal(&r.name)))
        .await
        .unwrap()
        .into_inner()
        .appeal
        .unwrap();
    assert_eq!(filed.state, AppealState::Filed as i32);
    assert_eq!(filed.subject_kind, AppealSubjectKind::ProductReview as i32);
    assert_eq!(
        filed.handling_organization,
        w.ia(),
        "S-LY §二(五): 向实施机构提出申诉"
    );
    assert_eq!(h.events("pdop.review.appeal.filed", &filed.name).await, 1);
    let err = h
        .client
        .create_appeal(w.as_operator(appeal(&r.name)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "APPEAL_OPEN", "one open appeal per subject");

    let uphold = pb::UpholdAppealRequest {
        name: filed.name.clone(),
        reasons: "补充材料足以消除疑问".into(),
        ..Default::default()
    };
    // Only the handling agency, and not the official who rejected the review.
    let err = h
        .client
        .uphold_appeal(w.as_operator(uphold.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let token = pdop_testkit::bearer_signed_with(
        pdop_testkit::DEV_SECRET,
        "test-user",
        &w.ia(),
        &[Role::ImplementingAgency],
        3600,
    )
    .unwrap();
    let mut same_official = tonic::Request::new(uphold.clone());
    same_official
        .metadata_mut()
        .insert("authorization", token.parse().unwrap());
    let err = h.client.uphold_appeal(same_official).await.unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::PermissionDenied, "OWN_DECISION")
    );

    let upheld = h
        .client
        .uphold_appeal(as_other_ia(&w, uphold))
        .await
        .unwrap()
        .into_inner()
        .appeal
        .unwrap();
    assert_eq!(upheld.state, AppealState::Upheld as i32);
    assert!(upheld.decision.unwrap().subject_reopened);
    assert_eq!(h.events("pdop.review.appeal.decided", &filed.name).await, 1);
    let get = pb::GetProductReviewRequest { name: r.name.clone() };
    let reopened = h
        .client
        .get_product_review(w.as_operator(get))
        .await
        .unwrap()
        .into_inner()
        .product_review
        .unwrap();
    assert_eq!(reopened.state, State::UnderReview as i32);
    assert_eq!(reopened.timeline.unwrap().review_round, 2);
    assert_eq!(
        reopened.decisions.last().unwrap().outcome,
        ReviewOutcome::ReopenedOnAppeal as i32
    );
    assert!(
        reopened
            .reviewers
            .iter()
            .all(|s| s.state == ReviewerAssignmentState::Assigned as i32)
    );
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_dismissed_or_withdrawn_appeal_leaves_the_rejection_standing() {
    let dir = profiles_with_operator_appeals();
    let mut h = start_with(&[("rules.profiles_dir", dir.clone())]).await;
    let w = h.world("appealtest").await;
    let r = rejected(&mut h, &w, "p1").await;
    let first = h
        .client
        .create_appeal(w.as_operator(appeal(&r.name)))
        .await
        .unwrap()
        .into_inner()
        .appeal
        .unwrap();
    let dismiss = pb::DismissAppealRequest {
        name: first.name.clone(),
        ..Default::default()
    };
    let err = h
        .client
        .dismiss_appeal(as_other_ia(&w, dismiss.clone()))
        .await
        .unwrap_err();
    assert_invalid(&err, &["reasons"]);
    let dismiss = pb::DismissAppealRequest {
        reasons: "理由不成立".into(),
        ..dismiss
    };
    let done = h
        .client
        .dismiss_appeal(as_other_ia(&w, dismiss))
        .await
        .unwrap()
        .into_inner()
        .appeal
        .unwrap();
    assert!(!done.decision.unwrap().subject_reopened);
    let get = pb::GetProductReviewRequest { name: r.name.clone() };
    let still = h
        .client
        .get_product_review(w.as_operator(get))
        .await
        .unwrap()
        .into_inner()
        .product_review
        .unwrap();
    assert_eq!(still.state, State::Rejected as i32);

    let second = h
        .client
        .create_appeal(w.as_operator(appeal(&r.name)))
        .await
        .unwrap()
        .into_inner()
        .appeal
        .unwrap();
    let withdraw = pb::WithdrawAppealRequest {
        name: second.name.clone(),
        reason: "撤回".into(),
        ..Default::default()
    };
    let err = h
        .client
        .withdraw_appeal(as_other_ia(&w, withdraw.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    h.client.withdraw_appeal(w.as_operator(withdraw)).await.unwrap();
    assert_eq!(h.events("pdop.review.appeal.withdrawn", &second.name).await, 1);
    std::fs::remove_dir_all(dir).ok();
}
