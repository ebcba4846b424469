//! The review service's facts about products and developers (REVIEW-EVALUATION §2.12): a rejected or withdrawn
//! (RG-1) compliance review returns its product to DRAFT, an upheld appeal that reopens a review puts its product
//! back UNDER_REVIEW (RG-2), an admission is recorded for developer agreements (RG-4), and a developer's exit closes
//! its admission and ends the developer agreements resting on it (RG-3). Each runs in the transaction the kit's consumer gives; a fact that finds nothing to change is a no-op.

use chrono::{DateTime, Utc};
use pdop_proto::common::OrganizationRef;
use pdop_proto::registry::events::v1 as ev;
use pdop_proto::registry::v1::{Product, ProductState};
use pdop_proto::review::events::v1::{AppealDecided, DeveloperAdmissionSummary};
use pdop_proto::review::v1::AppealSubjectKind;
use sqlx::{Postgres, Transaction};
use tonic::Status;

use crate::context::{Ctx, Handling};
use crate::convert::actor;
use crate::incoming::consumer;
use crate::names;
use crate::products::{Row, for_change, save, snapshot, state_of};

/// The registry product `name`, locked, if it is UNDER_REVIEW: a verdict applies to nothing else (a product already
/// decided, or a re-developed one the registry does not hold).
pub(crate) async fn under_review(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    name: &str,
) -> Result<Option<(Row, Product)>, Status> {
    let found = for_change(ctx, tx, name, "").await?;
    Ok(found.filter(|(_, p)| state_of(p) == ProductState::UnderReview))
}

/// `product`, UNDER_REVIEW, returns to DRAFT with `review` last: rejected by it, with the reasons, or (RG-1) its
/// review withdrawn by the operator (`rejection` None), so that it can be edited, resubmitted or dropped
/// (WithdrawProduct refuses a product under review). A product in any other state (already decided, or not the
/// registry's) is left as it is.
pub async fn back_to_draft(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    product: &str,
    review: &str,
    rejection: Option<&str>,
) -> Result<(), Status> {
    let Some((row, mut p)) = under_review(ctx, tx, product).await? else {
        return Ok(());
    };
    let caller = consumer();
    p.state = ProductState::Draft as i32;
    p.last_review = review.to_owned();
    let mut changed = vec!["state".to_owned(), "last_review".to_owned()];
    let action = match rejection {
        Some(reasons) => {
            p.rejection_reasons = reasons.to_owned();
            changed.push("rejection_reasons".to_owned());
            "registry.ProductRejected"
        }
        None => "registry.ProductReviewWithdrawn",
    };
    let saved = save(ctx, tx, &row, &p).await?;
    let event = ev::ProductUpdated {
        product: Some(snapshot(ctx, tx, &saved).await?),
        changed_fields: changed,
        actor: Some(actor(&caller)),
    };
    let detail = serde_json::json!({ "state": "DRAFT", "review": review });
    ctx.record(
        tx,
        &caller,
        action,
        &saved.name,
        detail,
        ("pdop.registry.product.updated", &event),
    )
    .await
}

/// RG-2: an appeal on a product review was upheld and the review reopened; the product it rejected (DRAFT, with
/// that review last) goes back UNDER_REVIEW, so the reopened review's verdict applies when it comes. A product
/// resubmitted or changed since is no longer on that review and stays as it is.
pub async fn appeal_decided(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    decided: &AppealDecided,
) -> Result<(), Status> {
    if decided.subject_kind != AppealSubjectKind::ProductReview as i32 || !decided.subject_reopened {
        return Ok(());
    }
    let Some(review_id) = names::parse(&decided.subject, "productReviews") else {
        return Ok(());
    };
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT id FROM products WHERE last_review_id = $1 AND state = $2 ORDER BY id")
            .bind(review_id)
            .bind(ProductState::Draft as i16)
            .fetch_all(&mut **tx)
            .await
            .map_err(|e| ctx.db(e))?;
    let caller = consumer();
    for id in ids {
        let Some((row, mut p)) = for_change(ctx, tx, &format!("products/{id}"), "").await? else {
            continue;
        };
        if state_of(&p) != ProductState::Draft || p.last_review != decided.subject {
            continue;
        }
        p.state = ProductState::UnderReview as i32;
        p.rejection_reasons.clear();
        let saved = save(ctx, tx, &row, &p).await?;
        let event = ev::ProductUpdated {
            product: Some(snapshot(ctx, tx, &saved).await?),
            changed_fields: vec!["state".to_owned(), "rejection_reasons".to_owned()],
            actor: Some(actor(&caller)),
        };
        let detail = serde_json::json!({
            "state": "UNDER_REVIEW", "review": decided.subject, "appeal": decided.name,
        });
        ctx.record(
            tx,
            &caller,
            "registry.ProductReopenedOnAppeal",
            &saved.name,
            detail,
            ("pdop.registry.product.updated", &event),
        )
        .await?;
    }
    Ok(())
}

/// Which fact about an admission is recorded.
#[derive(Clone, Copy)]
enum AdmissionFact {
    Admitted,
    Exited,
}

/// Records `fact` at `time` on the admission, creating its row if this is the first fact to arrive (admission and
/// exit travel on different durables, so either may come first). Returns the parties' organization ids when the
/// fact is new, `None` when it was recorded before.
async fn record_admission_fact(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    admission: &DeveloperAdmissionSummary,
    fact: AdmissionFact,
    time: DateTime<Utc>,
) -> Result<Option<(String, String)>, Status> {
    let Some(id) = names::parse(&admission.name, "developerAdmissions") else {
        return Ok(None);
    };
    let column = match fact {
        AdmissionFact::Admitted => "admit_time",
        AdmissionFact::Exited => "exit_time",
    };
    let org = |r: &Option<OrganizationRef>| {
        r.as_ref()
            .map(|o| o.name.trim_start_matches("organizations/").to_owned())
            .unwrap_or_default()
    };
    sqlx::query_as(&format!(
        "INSERT INTO developer_admissions (id, developer_id, operator_id, agreement_id, {column})
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET {column} = EXCLUDED.{column} WHERE developer_admissions.{column} IS NULL
         RETURNING developer_id, operator_id"
    ))
    .bind(id)
    .bind(org(&admission.developer))
    .bind(org(&admission.operator))
    .bind(admission.agreement.trim_start_matches("agreements/"))
    .bind(time)
    .fetch_optional(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))
}

/// Records the review service's admission of a developer (DeveloperAdmitted) for developer agreements, admitted at
/// `admit_time` (RG-4: the event's time, not when it arrived). A redelivery changes nothing; an exit that came
/// first stays.
pub async fn developer_admitted(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    admission: &DeveloperAdmissionSummary,
    admit_time: DateTime<Utc>,
) -> Result<(), Status> {
    record_admission_fact(ctx, tx, admission, AdmissionFact::Admitted, admit_time).await?;
    Ok(())
}

/// RG-3: the developer exited `admission` at `exit_time`. The admission no longer supports a new developer
/// agreement, and the running ones resting on it end now (platform access closed at once, S-YN Art.25(5)). A second
/// exit changes nothing.
pub async fn developer_exited(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    admission: &DeveloperAdmissionSummary,
    exit_time: DateTime<Utc>,
) -> Result<(), Status> {
    let exited = record_admission_fact(ctx, tx, admission, AdmissionFact::Exited, exit_time).await?;
    let Some((developer_id, operator_id)) = exited else {
        return Ok(());
    };
    let caller = consumer();
    let detail =
        serde_json::json!({ "exit_time": exit_time, "developer": names::organization(&developer_id) });
    ctx.audit(tx, &caller, "registry.DeveloperExited", &admission.name, detail)
        .await?;
    crate::developer_agreements::end_on_exit(ctx, tx, &caller, &admission.name, &developer_id, &operator_id)
        .await
}
