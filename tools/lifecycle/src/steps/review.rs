//! Review steps: the product's compliance review, opened in the review service from the registry's event.

use pdop_kit::auth::Role;
use pdop_proto::review::v1::*;

use crate::{Platform, Province, until};

/// The review opened from `product.submitted`: every checklist item passed and approved by its lead reviewer.
pub async fn compliance_review(p: &mut Platform, j: &mut Province) -> anyhow::Result<()> {
    let supervisor = j.data();
    let list = ListProductReviewsRequest {
        product: j.product.clone(),
        ..Default::default()
    };
    let client = p.review.clone();
    let platform = &*p;
    until("the review service opened the product review", || {
        let mut client = client.clone();
        let request = platform.acting(&supervisor, &[Role::DataAuthority], list.clone());
        async move {
            let listed = client.list_product_reviews(request?).await?.into_inner();
            Ok(!listed.product_reviews.is_empty())
        }
    })
    .await?;
    let request = p.acting(&supervisor, &[Role::DataAuthority], list)?;
    let review = p
        .review
        .list_product_reviews(request)
        .await?
        .into_inner()
        .product_reviews
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("the product review vanished"))?;
    let lead = review
        .reviewers
        .iter()
        .find(|r| r.reviewer_role == ReviewerRole::Lead as i32)
        .or(review.reviewers.first())
        .map(|r| r.organization.clone())
        .ok_or_else(|| anyhow::anyhow!("{} has no reviewer", review.name))?;
    // The other seats (Hubei: the data provider, binding) agree first: the lead decides only after them.
    for seat in review.reviewers.iter().filter(|r| r.organization != lead) {
        let role = j.role_of(&seat.organization).ok_or_else(|| {
            anyhow::anyhow!("{} sits on {} but is no party", seat.organization, review.name)
        })?;
        let opinion = CreateReviewOpinionRequest {
            parent: review.name.clone(),
            opinion: Some(ReviewOpinion {
                reviewer: seat.name.clone(),
                stance: OpinionStance::Agree as i32,
                comments: "同意发布".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        };
        p.review
            .create_review_opinion(p.acting(&seat.organization, &[role], opinion)?)
            .await?;
        p.note(format!(
            "{}: {} agreed in {}",
            j.id, seat.organization, review.name
        ));
    }
    let checks = review
        .checks
        .iter()
        .map(|c| ComplianceCheck {
            kind: c.kind,
            result: ComplianceCheckResult::Passed as i32,
            ..Default::default()
        })
        .collect();
    let record = RecordProductComplianceChecksRequest {
        name: review.name.clone(),
        checks,
        ..Default::default()
    };
    p.review
        .record_product_compliance_checks(p.acting(&lead, &[Role::DataAuthority], record)?)
        .await?;
    let approve = ApproveProductReviewRequest {
        name: review.name.clone(),
        reasons: "合规".into(),
        ..Default::default()
    };
    p.review
        .approve_product_review(p.acting(&lead, &[Role::DataAuthority], approve)?)
        .await?;
    j.product_review = review.name;
    p.note(format!(
        "{}: {} approved {} ({} checks passed)",
        j.id,
        lead,
        j.product_review,
        review.checks.len()
    ));
    Ok(())
}
