//! Product compliance reviews (合规审核, spec §2.6) over gRPC against PostgreSQL and NATS: opened by the registry's
//! `product.submitted`, the profile's checklist and panel, materials revised during the round (M-1..M-3), the
//! approved-scenario rule, and the verdicts the registry consumes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{product, start, submitted};
use pdop_proto::common::DocumentRef;
use pdop_proto::registry::events::v1::ProductSubmitted;
use pdop_proto::review::v1 as pb;
use pdop_proto::review::v1::{
    ComplianceCheck, ComplianceCheckKind as Kind, ComplianceCheckResult, OpinionStance, ProductReview,
    ProductReviewState as State, ReviewOpinion, ReviewerRole,
};
use pdop_testkit::{assert_invalid, reason};
use prost::Message;
use prost_types::FieldMask;
use tonic::Code;

fn doc(title: &str) -> DocumentRef {
    DocumentRef {
        uri: format!("https://docs.example/{title}.pdf"),
        sha256: "cd".repeat(32),
        ..Default::default()
    }
}

fn materials(r: &ProductReview, titles: &[&str]) -> pb::UpdateProductReviewRequest {
    let mut edit = r.clone();
    edit.materials = titles.iter().map(|t| doc(t)).collect();
    edit.etag.clear(); // no concurrency check: an opinion may have moved the version
    pb::UpdateProductReviewRequest {
        product_review: Some(edit),
        update_mask: Some(FieldMask {
            paths: vec!["materials".into()],
        }),
        etag: String::new(),
    }
}

fn results(kinds: &[(Kind, ComplianceCheckResult)]) -> Vec<ComplianceCheck> {
    kinds
        .iter()
        .map(|(k, r)| ComplianceCheck {
            kind: *k as i32,
            result: *r as i32,
            comment: "审查记录".into(),
            ..Default::default()
        })
        .collect()
}

fn seat(r: &ProductReview, org: &str) -> pb::ReviewerAssignment {
    r.reviewers
        .iter()
        .find(|s| s.organization == org)
        .cloned()
        .unwrap_or_else(|| panic!("no seat for {org}: {:?}", r.reviewers))
}

fn agree(parent: &str, seat: &str) -> pb::CreateReviewOpinionRequest {
    pb::CreateReviewOpinionRequest {
        parent: parent.into(),
        opinion: Some(ReviewOpinion {
            reviewer: seat.into(),
            stance: OpinionStance::Agree as i32,
            comments: "同意发布".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

const HENAN: [Kind; 5] = [
    Kind::DataSourceLawful,
    Kind::SensitiveDataMasked,
    Kind::RawDataStaysInDomain,
    Kind::AccessControl,
    Kind::RelatedPartyAuthorization,
];

#[tokio::test]
async fn henan_opens_a_review_per_submitted_product_with_its_five_point_checklist_and_revised_materials() {
    // S-HN Art.15 (在…发布前，提交合规审核申请; five review points); panel: DA lead, IA joint (Art.4, 15).
    let mut h = start().await;
    let w = h.world("henan").await;
    let p = product(&w, "p1", &[]);
    let r = submitted(&mut h, &w, &p, "ps-1").await;
    assert_eq!(r.state, State::UnderReview as i32);
    assert_eq!(r.timeline.as_ref().unwrap().review_round, 1);
    let kinds: Vec<i32> = r.checks.iter().map(|c| c.kind).collect();
    assert_eq!(kinds, HENAN.map(|k| k as i32));
    assert!(
        r.checks
            .iter()
            .all(|c| c.result == ComplianceCheckResult::Pending as i32)
    );
    assert_eq!(seat(&r, &w.da()).reviewer_role, ReviewerRole::Lead as i32);
    assert!(seat(&r, &w.ia()).binding);
    assert_eq!(
        (r.materials_revision, r.registration_required),
        (0, false),
        "Henan: products_mandatory false, inferred"
    );
    assert_eq!(h.events("pdop.review.product_review.opened", &r.name).await, 1);
    // The same product announced again opens nothing.
    let again = ProductSubmitted {
        product: Some(p.clone()),
        ..Default::default()
    };
    h.publish(
        "pdop.registry.product.submitted",
        "ps-1-again",
        again.encode_to_vec(),
    )
    .await;
    h.until(
        "the second announcement is applied",
        "SELECT EXISTS (SELECT 1 FROM inbox WHERE message_id = 'ps-1-again')",
    )
    .await;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM product_reviews")
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
    assert_eq!(count, 1);

    // M-1, M-2: materials change during the round, each change a revision; nothing else does.
    let r = h
        .client
        .update_product_review(w.as_operator(materials(&r, &["说明书"])))
        .await
        .unwrap()
        .into_inner();
    let r = r.product_review.unwrap();
    assert_eq!(r.materials_revision, 1);
    let mut rename = r.clone();
    rename.display_name = "改名".into();
    let req = pb::UpdateProductReviewRequest {
        product_review: Some(rename),
        update_mask: Some(FieldMask {
            paths: vec!["display_name".into()],
        }),
        etag: String::new(),
    };
    let err = h
        .client
        .update_product_review(w.as_operator(req))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "NOT_EDITABLE_UNDER_REVIEW")
    );
    // M-3: the opinion records the revision it saw; later revisions keep the history.
    let opinion = h
        .client
        .create_review_opinion(w.as_ia(agree(&r.name, &seat(&r, &w.ia()).name)))
        .await
        .unwrap();
    assert_eq!(opinion.into_inner().opinion.unwrap().materials_revision, 1);
    let r = h
        .client
        .update_product_review(w.as_operator(materials(&r, &["说明书", "脱敏报告"])))
        .await
        .unwrap();
    let r = r.into_inner().product_review.unwrap();
    assert_eq!((r.materials_revision, r.material_revisions.len()), (2, 2));

    // Checklist results: only the profile's items; a FAILED one states the finding.
    let record = |checks| pb::RecordProductComplianceChecksRequest {
        name: r.name.clone(),
        checks,
        ..Default::default()
    };
    let err = h
        .client
        .record_product_compliance_checks(w.as_da(record(results(&[(
            Kind::InformedConsent,
            ComplianceCheckResult::Passed,
        )]))))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "NOT_ON_CHECKLIST");
    let mut failed = results(&[(Kind::AccessControl, ComplianceCheckResult::Failed)]);
    failed[0].comment.clear();
    let err = h
        .client
        .record_product_compliance_checks(w.as_da(record(failed)))
        .await
        .unwrap_err();
    assert_invalid(&err, &["checks[0].comment"]);
    let err = h
        .client
        .record_product_compliance_checks(w.as_operator(record(results(&[(
            Kind::AccessControl,
            ComplianceCheckResult::Passed,
        )]))))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::PermissionDenied,
        "the applicant never records its own results"
    );

    let approve = pb::ApproveProductReviewRequest {
        name: r.name.clone(),
        reasons: "合规".into(),
        ..Default::default()
    };
    let err = h
        .client
        .approve_product_review(w.as_da(approve.clone()))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "CHECKLIST_OPEN");
    let all: Vec<_> = HENAN
        .iter()
        .map(|k| (*k, ComplianceCheckResult::Passed))
        .collect();
    let recorded = h
        .client
        .record_product_compliance_checks(w.as_da(record(results(&all))))
        .await
        .unwrap();
    assert!(
        recorded
            .into_inner()
            .product_review
            .unwrap()
            .checks
            .iter()
            .all(|c| c.materials_revision == 2)
    );
    // S-HN Art.15 一场景一审核: the product names no approved scenario.
    let err = h
        .client
        .approve_product_review(w.as_da(approve))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "SCENARIO_NOT_APPROVED")
    );
    assert!(err.message().contains("henan"), "{}", err.message());
}

#[tokio::test]
async fn hubei_approves_with_the_providers_and_asks_for_registration() {
    // S-HB §四(五)1 (会同数据提供单位…合规审核; three points) and §四(五)2 (应在…登记平台进行登记发布).
    let mut h = start().await;
    let w = h.world("hubei").await;
    let r = submitted(&mut h, &w, &product(&w, "p1", &[]), "ps-1").await;
    assert_eq!(r.checks.len(), 3);
    assert!(r.registration_required);
    let provider = seat(&r, &w.dp());
    assert_eq!(
        (provider.reviewer_role, provider.binding),
        (ReviewerRole::DataProvider as i32, true)
    );
    let checks: Vec<_> = r
        .checks
        .iter()
        .map(|c| (Kind::try_from(c.kind).unwrap(), ComplianceCheckResult::Passed))
        .collect();
    let record = pb::RecordProductComplianceChecksRequest {
        name: r.name.clone(),
        checks: results(&checks),
        ..Default::default()
    };
    h.client
        .record_product_compliance_checks(w.as_da(record))
        .await
        .unwrap();
    let approve = pb::ApproveProductReviewRequest {
        name: r.name.clone(),
        reasons: "合规".into(),
        ..Default::default()
    };
    let err = h
        .client
        .approve_product_review(w.as_da(approve.clone()))
        .await
        .unwrap_err();
    assert_eq!(
        reason(&err),
        "BINDING_SEAT_PENDING",
        "R-RV-03: the provider has not agreed"
    );
    h.client
        .create_review_opinion(w.as_dp(agree(&r.name, &provider.name)))
        .await
        .unwrap();
    let done = h
        .client
        .approve_product_review(w.as_da(approve))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.product_review.unwrap().state, State::Approved as i32);
    assert_eq!(h.events("pdop.review.product_review.approved", &r.name).await, 1);
    let payload: Vec<u8> = sqlx::query_scalar(
        "SELECT payload FROM outbox WHERE subject = 'pdop.review.product_review.approved'",
    )
    .fetch_one(&h.db.pool)
    .await
    .unwrap();
    let event =
        pdop_proto::review::events::v1::ProductComplianceApproved::decode(payload.as_slice()).unwrap();
    assert!(event.registration_required);
    assert_eq!(event.review.unwrap().product, "products/hubei-p1");
}

#[tokio::test]
async fn rejection_lists_the_failed_items_and_withdrawal_is_the_applicants() {
    // R-RV-04 (reasons and basis); S-YN Art.22 checklist (six points; inferred for operator products).
    let mut h = start().await;
    let w = h.world("yunnan").await;
    let r = submitted(&mut h, &w, &product(&w, "p1", &[]), "ps-1").await;
    assert_eq!(r.checks.len(), 6);
    assert_eq!(
        seat(&r, &w.ia()).reviewer_role,
        ReviewerRole::Lead as i32,
        "Yunnan: the implementing agency leads"
    );
    let record = pb::RecordProductComplianceChecksRequest {
        name: r.name.clone(),
        checks: results(&[(Kind::CrossBorderTransfer, ComplianceCheckResult::Failed)]),
        ..Default::default()
    };
    h.client
        .record_product_compliance_checks(w.as_ia(record))
        .await
        .unwrap();
    let reject = pb::RejectProductReviewRequest {
        name: r.name.clone(),
        reasons: "存在数据出境风险".into(),
        basis: "S-YN Art.22(5)".into(),
        ..Default::default()
    };
    let done = h
        .client
        .reject_product_review(w.as_ia(reject))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.product_review.unwrap().state, State::Rejected as i32);
    let payload: Vec<u8> = sqlx::query_scalar(
        "SELECT payload FROM outbox WHERE subject = 'pdop.review.product_review.rejected'",
    )
    .fetch_one(&h.db.pool)
    .await
    .unwrap();
    let event =
        pdop_proto::review::events::v1::ProductComplianceRejected::decode(payload.as_slice()).unwrap();
    assert_eq!(event.failed_checks, [Kind::CrossBorderTransfer as i32]);

    let s = submitted(&mut h, &w, &product(&w, "p2", &[]), "ps-2").await;
    let withdraw = pb::WithdrawProductReviewRequest {
        name: s.name.clone(),
        reason: "重新设计".into(),
        ..Default::default()
    };
    let err = h
        .client
        .withdraw_product_review(w.as_ia(withdraw.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    h.client
        .withdraw_product_review(w.as_operator(withdraw))
        .await
        .unwrap();
    assert_eq!(h.events("pdop.review.product_review.withdrawn", &s.name).await, 1);
}
