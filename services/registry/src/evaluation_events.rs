//! The evaluation service's results and rectification orders, as the registry acts on them (REVIEW-EVALUATION
//! §3.8): two durables, one filter subject each (NATS 2.9). What a seed makes mandatory is carried out with the
//! transitions SuspendAgreement and ResumeAgreement use, under the consumer's service account; what an authority
//! must decide opens an EVALUATION_FOLLOW_UP obligation. The decision is `domain::consequence`; a redelivery is
//! dropped by the kit's inbox, and a fact finding nothing to change (an agreement not ACTIVE, or not suspended on
//! that ground) leaves it as it is.

use chrono::NaiveDate;
use pdop_kit::auth::Caller;
use pdop_kit::events::{ConsumerSpec, HandleError, IncomingEvent};
use pdop_proto::evaluation::events::v1::{
    EvaluationCompleted, RectificationOrdered, RectificationOverdue, RectificationVerified,
};
use pdop_rules::profiles::EvaluationRules;
use sqlx::{Postgres, Transaction};
use tonic::Status;

use crate::context::Ctx;
use crate::domain::consequence::{self, Consequences};
use crate::{agreements, follow_ups};

const COMPLETED: &str = "pdop.evaluation.evaluation.completed";
const ISSUED: &str = "pdop.evaluation.rectification_order.issued";
const VERIFIED: &str = "pdop.evaluation.rectification_order.verified";
const OVERDUE: &str = "pdop.evaluation.rectification_order.overdue";

/// Results, and every fact about rectification orders (of which `issued`, `verified` and `overdue` matter).
pub fn specs() -> [ConsumerSpec; 2] {
    [
        ConsumerSpec {
            durable: "registry-evaluation-results".to_owned(),
            producer: "evaluation".to_owned(),
            filter_subject: COMPLETED.to_owned(),
        },
        ConsumerSpec {
            durable: "registry-rectifications".to_owned(),
            producer: "evaluation".to_owned(),
            filter_subject: "pdop.evaluation.rectification_order.>".to_owned(),
        },
    ]
}

/// Whether `subject` is one of the evaluation service's.
pub fn handles(subject: &str) -> bool {
    subject.starts_with("pdop.evaluation.")
}

/// The service account the consequences are carried out under.
fn consumer() -> Caller {
    Caller {
        subject: "service:registry-evaluation-consumer".to_owned(),
        organization: String::new(),
        roles: Vec::new(),
        jurisdiction: String::new(),
    }
}

/// Acts on `event`, which happened on `date` (its ce-time in Asia/Shanghai).
pub async fn handle(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    event: &IncomingEvent,
    date: NaiveDate,
) -> Result<(), HandleError> {
    let outcome = match event.subject.as_str() {
        COMPLETED => {
            let e = event.decode::<EvaluationCompleted>()?;
            let agreement = e
                .evaluation
                .as_ref()
                .map(|s| s.agreement.as_str())
                .unwrap_or_default();
            carry_out(ctx, tx, agreement, date, |rules| {
                consequence::on_completed(&e, rules)
            })
            .await
        }
        ISSUED => {
            let o = event.decode::<RectificationOrdered>()?;
            let agreement = o.order.as_ref().map(|s| s.agreement.as_str()).unwrap_or_default();
            carry_out(ctx, tx, agreement, date, |_| consequence::on_ordered(&o)).await
        }
        VERIFIED => {
            let v = event.decode::<RectificationVerified>()?;
            let agreement = v.order.as_ref().map(|s| s.agreement.as_str()).unwrap_or_default();
            carry_out(ctx, tx, agreement, date, |rules| {
                consequence::on_verified(&v, rules, date)
            })
            .await
        }
        OVERDUE => {
            let o = event.decode::<RectificationOverdue>()?;
            let agreement = o.order.as_ref().map(|s| s.agreement.as_str()).unwrap_or_default();
            carry_out(ctx, tx, agreement, date, |rules| {
                consequence::on_overdue(&o, rules)
            })
            .await
        }
        // Plans and reports submitted ask nothing of the registry.
        _ => Ok(()),
    };
    outcome.map_err(crate::incoming::handle_error)
}

/// Decides under the profile of the agreement's jurisdiction, then suspends, resumes and opens the follow-up.
async fn carry_out(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    agreement: &str,
    date: NaiveDate,
    decide: impl FnOnce(&EvaluationRules) -> Consequences,
) -> Result<(), Status> {
    let Some(subject) = consequence::subject_of(agreement) else {
        return Ok(());
    };
    let Some(party) = follow_ups::locate(ctx, tx, subject).await? else {
        tracing::warn!(
            agreement = subject,
            "an evaluation fact names an agreement the registry does not hold"
        );
        return Ok(());
    };
    let profile = ctx.profile_of(tx, &party.jurisdiction_id).await?;
    let decided = decide(&profile.evaluation);
    let caller = consumer();
    if let Some(s) = decided.suspend {
        agreements::suspend_on_ground(ctx, tx, &caller, &s.agreement, &s.reason, &s.ground).await?;
    }
    if let Some(r) = decided.resume {
        agreements::resume_on_ground(ctx, tx, &caller, &r.agreement, &r.ground, &r.reason).await?;
    }
    if let Some(f) = decided.follow_up {
        follow_ups::open(ctx, tx, f, &party, date).await?;
    }
    Ok(())
}
