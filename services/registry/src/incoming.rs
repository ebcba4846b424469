//! Events the registry consumes. From the disclosure service: objections to registration notices (see
//! `events::objections`). From the review service: developer admissions, recorded for developer
//! agreements, and product verdicts: an approved product is listed (上架), or held APPROVED
//! until its registration is coded where the profile makes product registration mandatory (S-HB §四(五)2,
//! S-YN Art.18); a rejected one returns to DRAFT with the reasons. A verdict for a product not UNDER_REVIEW
//! (a redelivery, or one already decided) changes nothing. Returns to draft (rejected or withdrawn reviews), upheld
//! appeals, admissions and exits are applied in `review_events`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use pdop_kit::auth::Caller;
use pdop_kit::events::{ConsumerSpec, HandleError, Handler, IncomingEvent};
use pdop_kit::uow::Call;
use pdop_proto::disclosure::events::v1::ObjectionFiled;
use pdop_proto::registry::events::v1 as ev;
use pdop_proto::registry::v1::ProductState;
use pdop_proto::review::events::v1::{
    AppealDecided, DeveloperAdmitted, DeveloperExited, ProductComplianceApproved, ProductComplianceRejected,
    ProductReviewWithdrawn,
};
use prost::Message;
use sqlx::{Postgres, Transaction};
use tonic::{Code, Status};

use crate::context::{Ctx, Handling};
use crate::convert::{actor, timestamp};
use crate::events::objections;
use crate::products::{save, snapshot};
use crate::{evaluation_events, review_events};

const APPROVED: &str = "pdop.review.product_review.approved";
const REJECTED: &str = "pdop.review.product_review.rejected";
const WITHDRAWN: &str = "pdop.review.product_review.withdrawn";
const ADMITTED: &str = "pdop.review.developer_admission.admitted";
const EXITED: &str = "pdop.review.developer_admission.exited";
const APPEAL_DECIDED: &str = "pdop.review.appeal.decided";
const OBJECTION_FILED: &str = "pdop.disclosure.objection.filed";

/// The durable consumers: product verdicts, developer admissions and exits, appeal decisions, objections, evaluation
/// results and rectification orders (one filter subject each: NATS 2.9).
pub fn specs() -> Vec<ConsumerSpec> {
    let own = [
        ConsumerSpec {
            durable: "registry-objections".to_owned(),
            producer: "disclosure".to_owned(),
            filter_subject: OBJECTION_FILED.to_owned(),
        },
        ConsumerSpec {
            durable: "registry-product-reviews".to_owned(),
            producer: "review".to_owned(),
            filter_subject: "pdop.review.product_review.>".to_owned(),
        },
        ConsumerSpec {
            durable: "registry-developer-admissions".to_owned(),
            producer: "review".to_owned(),
            filter_subject: ADMITTED.to_owned(),
        },
        ConsumerSpec {
            durable: "registry-developer-exits".to_owned(),
            producer: "review".to_owned(),
            filter_subject: EXITED.to_owned(),
        },
        ConsumerSpec {
            durable: "registry-appeals".to_owned(),
            producer: "review".to_owned(),
            filter_subject: APPEAL_DECIDED.to_owned(),
        },
    ];
    own.into_iter().chain(evaluation_events::specs()).collect()
}

#[derive(Clone)]
pub struct Incoming {
    pub ctx: Arc<Ctx>,
}

/// The service account the review follow-ups are recorded under.
pub(crate) fn consumer() -> Caller {
    Caller {
        subject: "service:registry-review-consumer".to_owned(),
        organization: String::new(),
        roles: Vec::new(),
        jurisdiction: String::new(),
    }
}

/// A refusal (the event names something invalid, or asks for what the registry's state forbids) cannot succeed on
/// retry and is dead-lettered; anything else (an outage, a deadlock reported as internal) is retried.
pub(crate) fn handle_error(status: Status) -> HandleError {
    let error = anyhow::anyhow!("{}: {}", status.code(), status.message());
    match status.code() {
        Code::InvalidArgument
        | Code::NotFound
        | Code::AlreadyExists
        | Code::PermissionDenied
        | Code::FailedPrecondition
        | Code::OutOfRange => HandleError::Permanent(error),
        _ => HandleError::Transient(error),
    }
}

impl Handler for Incoming {
    async fn handle(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        event: &IncomingEvent,
    ) -> Result<(), HandleError> {
        if evaluation_events::handles(&event.subject) {
            let date = pdop_kit::clock::china_date(self.fact_time(event));
            return evaluation_events::handle(&self.ctx, tx, event, date).await;
        }
        match event.subject.as_str() {
            APPROVED => {
                let verdict = ProductComplianceApproved::decode(event.payload.clone())?;
                let review = verdict.review.unwrap_or_default();
                approve(&self.ctx, tx, &review.product, &review.name)
                    .await
                    .map_err(handle_error)
            }
            REJECTED => {
                let verdict = ProductComplianceRejected::decode(event.payload.clone())?;
                let review = verdict.review.unwrap_or_default();
                let rejection = Some(verdict.reasons.as_str());
                review_events::back_to_draft(&self.ctx, tx, &review.product, &review.name, rejection)
                    .await
                    .map_err(handle_error)
            }
            WITHDRAWN => {
                let withdrawn = event.decode::<ProductReviewWithdrawn>()?;
                let review = withdrawn.review.unwrap_or_default();
                review_events::back_to_draft(&self.ctx, tx, &review.product, &review.name, None)
                    .await
                    .map_err(handle_error)
            }
            APPEAL_DECIDED => {
                let decided = event.decode::<AppealDecided>()?;
                review_events::appeal_decided(&self.ctx, tx, &decided)
                    .await
                    .map_err(handle_error)
            }
            EXITED => {
                let exited = event.decode::<DeveloperExited>()?;
                let admission = exited.admission.unwrap_or_default();
                review_events::developer_exited(&self.ctx, tx, &admission, self.fact_time(event))
                    .await
                    .map_err(handle_error)
            }
            OBJECTION_FILED => {
                let filed = ObjectionFiled::decode(event.payload.clone())?;
                // Objections to review's notices (developer admissions) are decided there.
                if filed.deciding_service != "registry" {
                    return Ok(());
                }
                let platform = &self.ctx.platform;
                let call = Call::system(objections::CONSUMER, objections::RECEIVED, platform.clock.now());
                let max_payload = platform.settings.outbox.max_payload;
                Ok(objections::record(tx, &call, &filed, max_payload).await?)
            }
            ADMITTED => {
                let admitted = DeveloperAdmitted::decode(event.payload.clone())?;
                let admission = admitted.admission.unwrap_or_default();
                review_events::developer_admitted(&self.ctx, tx, &admission, self.fact_time(event))
                    .await
                    .map_err(handle_error)
            }
            _ => Ok(()),
        }
    }
}

impl Incoming {
    /// When the fact happened: the event's ce-time, which a late delivery does not move; the arrival time only for
    /// an event without one.
    fn fact_time(&self, event: &IncomingEvent) -> DateTime<Utc> {
        event.time.unwrap_or_else(|| self.ctx.platform.clock.now())
    }
}

async fn approve(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    product: &str,
    review: &str,
) -> Result<(), Status> {
    // A re-developed product (no registry product) is released by its developer, not listed here.
    let Some((row, mut p)) = review_events::under_review(ctx, tx, product).await? else {
        return Ok(());
    };
    let caller = consumer();
    let jurisdiction = p.jurisdiction.trim_start_matches("jurisdictions/").to_owned();
    let profile = ctx.profile_of(tx, &jurisdiction).await?;
    let registration_first = profile
        .registration
        .products_mandatory
        .as_ref()
        .is_some_and(|s| s.value);
    p.last_review = review.to_owned();
    p.rejection_reasons.clear();
    if registration_first && p.registration.is_empty() {
        p.state = ProductState::Approved as i32;
        let saved = save(ctx, tx, &row, &p).await?;
        let event = ev::ProductUpdated {
            product: Some(snapshot(ctx, tx, &saved).await?),
            changed_fields: vec!["state".to_owned(), "last_review".to_owned()],
            actor: Some(actor(&caller)),
        };
        let detail = serde_json::json!({ "state": "APPROVED", "review": review, "awaiting": "registration" });
        return ctx
            .record(
                tx,
                &caller,
                "registry.ProductApproved",
                &saved.name,
                detail,
                ("pdop.registry.product.updated", &event),
            )
            .await;
    }
    p.state = ProductState::Listed as i32;
    p.list_time = Some(timestamp(ctx.platform.clock.now()));
    let saved = save(ctx, tx, &row, &p).await?;
    let event = ev::ProductListed {
        product: Some(snapshot(ctx, tx, &saved).await?),
        product_review: review.to_owned(),
        registration: saved.registration.clone(),
        actor: Some(actor(&caller)),
    };
    let detail = serde_json::json!({ "state": "LISTED", "review": review });
    ctx.record(
        tx,
        &caller,
        "registry.ProductListed",
        &saved.name,
        detail,
        ("pdop.registry.product.listed", &event),
    )
    .await
}
