//! The product-review RPCs (合规审核, §2.6). An operator's product review opens from the registry's
//! `product.submitted` (`events::products`); a developer drafts its release application with CreateProductReview.

use chrono::{DateTime, Utc};
use pdop_kit::Violations;
use pdop_kit::handling::{optional_name, paging};
use pdop_kit::mask::{Mask, update_envelope};
use pdop_kit::uow::{Call, Mutate};
use pdop_proto::review::v1 as pb;
use pdop_proto::review::v1::{ComplianceCheckResult, ProductReview, ReviewerRole};

use super::parse;
use crate::context::Ctx;
use crate::domain::product_review::{self, COLLECTION, Parties, Transition};
use crate::domain::reviewable::Reviewable;
use crate::domain::{Error, ErrorReason, panel, redeveloped, rules, scenario};
use crate::storage::{Tx, facts, opinions, product_reviews, scenarios};

const FIELD: &str = "product_review";

/// The applicant-owned fields; while UNDER_REVIEW only `materials` (M-1).
const MUTABLE: &[&str] = &[
    "display_name",
    "masking_description",
    "materials",
    "involves_trade_secret",
    "involves_cross_border_transfer",
    "fast_track_requested",
    "data_use_applications",
];

fn populated(r: &ProductReview, path: &str) -> bool {
    match path {
        "display_name" => !r.display_name.is_empty(),
        "masking_description" => !r.masking_description.is_empty(),
        "materials" => !r.materials.is_empty(),
        "involves_trade_secret" => r.involves_trade_secret,
        "involves_cross_border_transfer" => r.involves_cross_border_transfer,
        "fast_track_requested" => r.fast_track_requested,
        "data_use_applications" => !r.data_use_applications.is_empty(),
        _ => false,
    }
}

async fn parties(tx: &mut Tx, r: &ProductReview) -> Result<Parties, Error> {
    Ok(Parties {
        applicant: facts::organization(tx, &r.applicant).await?,
        operator: facts::organization(tx, &r.operator).await?,
        jurisdiction: facts::jurisdiction(tx, &r.jurisdiction).await?,
    })
}

pub async fn get(
    ctx: &Ctx,
    call: Call,
    req: pb::GetProductReviewRequest,
) -> Result<pb::GetProductReviewResponse, Error> {
    let r = product_reviews::read(&ctx.platform.pool, &req.name).await?;
    let (party, supervisor) = (
        product_review::is_party(&call.caller, &r),
        scenario::is_supervisor(&call.caller),
    );
    super::may_read(ctx, &call, party, supervisor, &r.jurisdiction, &r.name).await?;
    Ok(pb::GetProductReviewResponse {
        product_review: Some(r),
    })
}

pub async fn list(
    ctx: &Ctx,
    call: Call,
    req: pb::ListProductReviewsRequest,
) -> Result<pb::ListProductReviewsResponse, Error> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<(DateTime<Utc>, String)>) =
        paging(req.page_size, &req.page_token, &mut v);
    let jurisdiction = optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v);
    let product = optional_name(&req.product, "products", "product", &mut v);
    let applicant = optional_name(&req.applicant, "organizations", "applicant", &mut v);
    let operator = optional_name(&req.operator, "organizations", "operator", &mut v);
    let reviewer = optional_name(
        &req.reviewer_organization,
        "organizations",
        "reviewer_organization",
        &mut v,
    );
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    let supervised = super::supervised(ctx, &call, scenario::is_supervisor(&call.caller)).await?;
    let (reviews, next) = product_reviews::list(
        &ctx.platform.pool,
        product_reviews::Filter {
            jurisdiction,
            product,
            applicant,
            operator,
            reviewer_organization: reviewer,
            state: req.state,
            visible_to: pdop_kit::names::parse(&call.caller.organization, "organizations")
                .unwrap_or_default(),
            supervised,
            size,
            after,
        },
    )
    .await?;
    Ok(pb::ListProductReviewsResponse {
        product_reviews: reviews,
        next_page_token: next,
    })
}

fn apply(to: &mut ProductReview, from: &ProductReview, mask: &Mask) {
    for path in mask.paths() {
        match path {
            "display_name" => to.display_name = from.display_name.clone(),
            "masking_description" => to.masking_description = from.masking_description.clone(),
            "involves_trade_secret" => to.involves_trade_secret = from.involves_trade_secret,
            "involves_cross_border_transfer" => {
                to.involves_cross_border_transfer = from.involves_cross_border_transfer
            }
            "fast_track_requested" => to.fast_track_requested = from.fast_track_requested,
            "data_use_applications" => to.data_use_applications = from.data_use_applications.clone(),
            _ => {}
        }
    }
}

pub async fn update(
    ctx: &Ctx,
    call: Call,
    req: pb::UpdateProductReviewRequest,
) -> Result<pb::UpdateProductReviewResponse, Error> {
    let from = req.product_review.unwrap_or_default();
    let (mask, etag) = update_envelope::<ErrorReason>(
        FIELD,
        &from.name,
        COLLECTION,
        req.update_mask.as_ref(),
        MUTABLE,
        |p| populated(&from, p),
        (req.etag, &from.etag),
    )?;
    let mut v = Violations::new();
    for (i, d) in from.materials.iter().enumerate() {
        parse::document(Some(d), &format!("{FIELD}.materials[{i}]"), &mut v);
    }
    for (i, n) in from.data_use_applications.iter().enumerate() {
        if pdop_kit::names::parse(n, "dataUseApplications").is_none() {
            v.add(
                format!("{FIELD}.data_use_applications[{i}]"),
                pdop_kit::names::expected("dataUseApplications"),
            );
        }
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut r = product_reviews::lock(u.tx, &from.name, &etag, &format!("{FIELD}.name")).await?;
            product_review::own(u.call, &r)?;
            let others: Vec<&str> = mask.paths().filter(|p| *p != "materials").collect();
            if !others.is_empty() {
                if product_review::state_of(&r) == pdop_proto::review::v1::ProductReviewState::UnderReview {
                    return Err(Error::refused(
                        ErrorReason::NotEditableUnderReview,
                        format!(
                            "while {} is under review only `materials` change (M-1); not: {}",
                            r.name,
                            others.join(", ")
                        ),
                    ));
                }
                product_review::require(&r, Transition::Edit)?;
                apply(&mut r, &from, &mask);
            }
            if mask.has("materials") {
                product_review::revise_materials(&mut r, u.call, from.materials)?;
            }
            let change = product_review::edited(&r, mask.paths().collect());
            let saved = product_reviews::save(u.tx, &r, u.call.now).await?;
            Ok(change.into_write(pb::UpdateProductReviewResponse {
                product_review: Some(saved),
            }))
        })
    })
    .await
}

/// CreateProductReview: a developer's release application for a re-developed product (S-YN Art.22).
pub async fn create(
    ctx: &Ctx,
    call: Call,
    req: pb::CreateProductReviewRequest,
) -> Result<pb::CreateProductReviewResponse, Error> {
    use pdop_proto::review::v1::product_review::Subject;
    let call = call.with_request(&req.request_id, &req);
    let mut r = req.product_review.unwrap_or_default();
    let mut v = Violations::new();
    match &r.subject {
        Some(Subject::RedevelopedProduct(p)) => {
            let at = format!("{FIELD}.redeveloped_product");
            if pdop_kit::names::parse(&p.developer_agreement, "developerAgreements").is_none() {
                v.add(
                    format!("{at}.developer_agreement"),
                    pdop_kit::names::expected("developerAgreements"),
                );
            }
            if p.base_products.is_empty() {
                v.add(
                    format!("{at}.base_products"),
                    "must name the products it is re-developed from",
                );
            }
            for (i, b) in p.base_products.iter().enumerate() {
                if pdop_kit::names::parse(b, "products").is_none() {
                    v.add(
                        format!("{at}.base_products[{i}]"),
                        pdop_kit::names::expected("products"),
                    );
                }
            }
            parse::required(&p.description, &format!("{at}.description"), &mut v);
        }
        _ => v.add(
            format!("{FIELD}.redeveloped_product"),
            "is required: operators' products are reviewed when the registry submits them",
        ),
    }
    parse::required(&r.display_name, &format!("{FIELD}.display_name"), &mut v);
    for (i, d) in r.materials.iter().enumerate() {
        parse::document(Some(d), &format!("{FIELD}.materials[{i}]"), &mut v);
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let Some(Subject::RedevelopedProduct(p)) = &r.subject else {
                return Err(Error::invalid(
                    format!("{FIELD}.redeveloped_product"),
                    "is required",
                ));
            };
            let field = format!("{FIELD}.redeveloped_product.developer_agreement");
            let deal = facts::developer_agreement_named(u.tx, &p.developer_agreement, &field).await?;
            let base = format!("{FIELD}.redeveloped_product.base_products");
            let operators = facts::product_operators(u.tx, &p.base_products, &base).await?;
            let profile = facts::profile(u.tx, &u.state.profiles, &deal.jurisdiction).await?;
            r.name = format!("{COLLECTION}/{}", crate::storage::new_id());
            let change = redeveloped::create(&mut r, u.call, &rules::product(&profile), &deal, &operators)?;
            let saved = product_reviews::insert(u.tx, &r, u.call.now)
                .await?
                .ok_or_else(|| {
                    Error::Internal(anyhow::anyhow!(
                        "a re-developed product review has no product to collide on"
                    ))
                })?;
            Ok(change.into_write(pb::CreateProductReviewResponse {
                product_review: Some(saved),
            }))
        })
    })
    .await
}

pub async fn submit(
    ctx: &Ctx,
    call: Call,
    req: pb::SubmitProductReviewRequest,
) -> Result<pb::SubmitProductReviewResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut r = product_reviews::lock(u.tx, &req.name, &req.etag, "name").await?;
            let profile = facts::profile(u.tx, &u.state.profiles, &r.jurisdiction).await?;
            let rules = rules::product(&profile);
            let p = parties(u.tx, &r).await?;
            let change = product_review::submit(&mut r, u.call, &rules, &p)?;
            // A developer's release application is seated at submission; an operator's review was at opening.
            if redeveloped::is_redeveloped(&r) {
                let agreement = facts::agreement(u.tx, &r.agreement, "name").await?;
                let specs = rules.panel_for(true);
                let seats = facts::resolve_panel(u.tx, specs, &r.jurisdiction, &agreement, &[]).await?;
                let (name, applicant) = (r.name.clone(), r.applicant.clone());
                panel::seat(&name, &mut r.reviewers, &seats, &applicant, u.call)?;
            }
            let saved = product_reviews::save(u.tx, &r, u.call.now).await?;
            Ok(change.into_write(pb::SubmitProductReviewResponse {
                product_review: Some(saved),
            }))
        })
    })
    .await
}

pub async fn record_checks(
    ctx: &Ctx,
    call: Call,
    req: pb::RecordProductComplianceChecksRequest,
) -> Result<pb::RecordProductComplianceChecksResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let mut v = Violations::new();
    if req.checks.is_empty() {
        v.add("checks", "must record at least one result");
    }
    for (i, c) in req.checks.iter().enumerate() {
        if c.kind == 0 {
            v.add(format!("checks[{i}].kind"), "must be set");
        }
        match ComplianceCheckResult::try_from(c.result).unwrap_or_default() {
            ComplianceCheckResult::Unspecified | ComplianceCheckResult::Pending => v.add(
                format!("checks[{i}].result"),
                "must be PASSED, FAILED or NOT_APPLICABLE",
            ),
            ComplianceCheckResult::Failed if c.comment.trim().is_empty() => {
                v.add(format!("checks[{i}].comment"), "a FAILED item states the finding")
            }
            _ => {}
        }
        for (j, d) in c.evidence.iter().enumerate() {
            parse::document(Some(d), &format!("checks[{i}].evidence[{j}]"), &mut v);
        }
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut r = product_reviews::lock(u.tx, &req.name, &req.etag, "name").await?;
            // The lead, joint reviewers, third parties and regulators record results (§2.6), never the applicant.
            let seat = r
                .reviewers
                .iter()
                .find(|s| s.organization == u.call.caller.organization && panel::seat_state(s) != pdop_proto::review::v1::ReviewerAssignmentState::Recused);
            let allowed = seat.is_some_and(|s| {
                matches!(
                    panel::role_of(s),
                    ReviewerRole::Lead | ReviewerRole::Joint | ReviewerRole::ThirdParty | ReviewerRole::IndustryRegulator
                )
            });
            if !allowed {
                return Err(Error::denied(
                    ErrorReason::NotYourSeat,
                    format!("checklist results on {} are recorded by its lead, joint, third-party or regulator seats", r.name),
                ));
            }
            let change = product_review::record_checks(&mut r, u.call, req.checks)?;
            let saved = product_reviews::save(u.tx, &r, u.call.now).await?;
            Ok(change.into_write(pb::RecordProductComplianceChecksResponse { product_review: Some(saved) }))
        })
    })
    .await
}

pub async fn approve(
    ctx: &Ctx,
    call: Call,
    req: pb::ApproveProductReviewRequest,
) -> Result<pb::ApproveProductReviewResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let mut v = Violations::new();
    parse::document(req.decision_document.as_ref(), "decision_document", &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut r = product_reviews::lock(u.tx, &req.name, &req.etag, "name").await?;
            product_review::require(&r, Transition::Decide)?;
            panel::require_lead(&u.call.caller, &r.name, &r.reviewers)?;
            let profile = facts::profile(u.tx, &u.state.profiles, &r.jurisdiction).await?;
            let rules = rules::product(&profile);
            let opinions = opinions::of_round(u.tx, &r.name, r.round()).await?;
            let specs = rules.panel_for(redeveloped::is_redeveloped(&r));
            panel::ready_to_approve(&r.name, &r.reviewers, specs, &[], &opinions)?;
            let states = scenarios::states(u.tx, &r.scenario_applications).await?;
            let decision = crate::domain::decision::Decision {
                reasons: req.reasons,
                conditions: req.conditions,
                document: req.decision_document,
                late_explanation: req.late_explanation,
                ..Default::default()
            };
            let p = parties(u.tx, &r).await?;
            let change = product_review::approve(&mut r, u.call, &rules, &states, decision, &p)?;
            let saved = product_reviews::save(u.tx, &r, u.call.now).await?;
            Ok(change.into_write(pb::ApproveProductReviewResponse {
                product_review: Some(saved),
            }))
        })
    })
    .await
}

pub async fn reject(
    ctx: &Ctx,
    call: Call,
    req: pb::RejectProductReviewRequest,
) -> Result<pb::RejectProductReviewResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let decision = parse::grounds(
        req.reasons,
        req.basis,
        req.decision_document,
        req.late_explanation,
    )?;
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut r = product_reviews::lock(u.tx, &req.name, &req.etag, "name").await?;
            product_review::require_reject(&r, u.call.today())?;
            panel::require_lead(&u.call.caller, &r.name, &r.reviewers)?;
            let p = parties(u.tx, &r).await?;
            let change = product_review::reject(&mut r, u.call, decision, &p)?;
            let saved = product_reviews::save(u.tx, &r, u.call.now).await?;
            Ok(change.into_write(pb::RejectProductReviewResponse {
                product_review: Some(saved),
            }))
        })
    })
    .await
}

pub async fn return_for_supplement(
    ctx: &Ctx,
    call: Call,
    req: pb::ReturnProductReviewForSupplementRequest,
) -> Result<pb::ReturnProductReviewForSupplementResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let request = parse::supplement(req.items, req.note, req.due_date, call.today())?;
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut r = product_reviews::lock(u.tx, &req.name, &req.etag, "name").await?;
            product_review::require(&r, Transition::Decide)?;
            panel::require_lead(&u.call.caller, &r.name, &r.reviewers)?;
            let p = parties(u.tx, &r).await?;
            let change = product_review::return_for_supplement(&mut r, u.call, request, &p)?;
            let saved = product_reviews::save(u.tx, &r, u.call.now).await?;
            Ok(change.into_write(pb::ReturnProductReviewForSupplementResponse {
                product_review: Some(saved),
            }))
        })
    })
    .await
}

pub async fn withdraw(
    ctx: &Ctx,
    call: Call,
    req: pb::WithdrawProductReviewRequest,
) -> Result<pb::WithdrawProductReviewResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut r = product_reviews::lock(u.tx, &req.name, &req.etag, "name").await?;
            let p = parties(u.tx, &r).await?;
            let change = product_review::withdraw(&mut r, u.call, req.reason, &p)?;
            let saved = product_reviews::save(u.tx, &r, u.call.now).await?;
            Ok(change.into_write(pb::WithdrawProductReviewResponse {
                product_review: Some(saved),
            }))
        })
    })
    .await
}
