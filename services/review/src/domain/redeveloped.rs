//! Developers' release applications (发布申请) for products re-developed from the operator's (S-YN Art.22): a product
//! review the developer drafts and submits, which the operator reviews (`review.product.redeveloped_panel`).

use pdop_kit::uow::{Call, Change};
use pdop_proto::review::v1::product_review::Subject;
use pdop_proto::review::v1::{ProductReview, ProductReviewState as State};

use super::error::{Error, ErrorReason};
use super::product_review::{fresh_checklist, revise_materials};
use super::rules::ProductRules;

/// A developer agreement as the registry announced it, for a developer's release application.
#[derive(Debug, Clone, Default)]
pub struct DeveloperAgreementFacts {
    pub name: String,
    pub developer: String,
    pub operator: String,
    pub agreement: String,
    pub jurisdiction: String,
    pub products: Vec<String>,
    pub active: bool,
}

/// ∅ → DRAFT: a developer's release application for a product re-developed from the operator's (S-YN Art.22
/// "由开发主体通过运营平台提交发布申请，运营机构评估审查后发布"), only where the profile has such a review, under an
/// ACTIVE developer agreement that covers the base products, never on the developer's own products (N2 Art.6).
/// `base_operators` are the operators of the base products as announced.
pub fn create(
    r: &mut ProductReview,
    call: &Call,
    rules: &ProductRules,
    deal: &DeveloperAgreementFacts,
    base_operators: &[String],
) -> Result<Change, Error> {
    let Some((_, source)) = &rules.redeveloped_panel else {
        return Err(Error::refused(
            ErrorReason::NoRedevelopmentReview,
            format!(
                "profile {} has no release review of re-developed products (S-YN Art.22 only); the operator releases them",
                rules.profile_id
            ),
        ));
    };
    if deal.developer != call.caller.organization {
        return Err(Error::denied(
            ErrorReason::NotTheApplicant,
            format!(
                "{} is the developer agreement of {}, not of your organization",
                deal.name, deal.developer
            ),
        ));
    }
    if !deal.active {
        return Err(Error::refused(
            ErrorReason::AgreementNotActive,
            format!(
                "{} is not ACTIVE; a release application needs a running developer agreement",
                deal.name
            ),
        ));
    }
    let Some(Subject::RedevelopedProduct(product)) = &r.subject else {
        return Err(Error::invalid(
            "product_review.redeveloped_product",
            "is required",
        ));
    };
    if let Some(outside) = product.base_products.iter().find(|b| !deal.products.contains(b)) {
        return Err(Error::refused(
            ErrorReason::OutOfScope,
            format!("{outside} is not among the products of {}", deal.name),
        ));
    }
    if base_operators.iter().any(|o| o == &deal.developer) {
        return Err(Error::refused(
            ErrorReason::OwnProducts,
            format!(
                "{} delivered a base product itself and may not re-develop it (N2 Art.6)",
                deal.developer
            ),
        ));
    }
    r.applicant = deal.developer.clone();
    r.operator = deal.operator.clone();
    r.agreement = deal.agreement.clone();
    r.jurisdiction = deal.jurisdiction.clone();
    r.profile_id = rules.profile_id.clone();
    r.state = State::Draft as i32;
    r.registration_required = false;
    r.checks = fresh_checklist(&rules.checklist);
    r.timeline = Some(Default::default());
    r.materials_revision = 0;
    r.material_revisions.clear();
    let materials = std::mem::take(&mut r.materials);
    if !materials.is_empty() {
        revise_materials(r, call, materials)?;
    }
    Ok(Change::new(
        &r.name,
        serde_json::json!({ "state": "DRAFT", "source": source }),
    ))
}

pub fn is_redeveloped(r: &ProductReview) -> bool {
    matches!(r.subject, Some(Subject::RedevelopedProduct(_)))
}
