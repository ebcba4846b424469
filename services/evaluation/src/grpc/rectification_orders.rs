//! The six rectification-order RPCs (整改, §3.6).

use chrono::NaiveDate;
use pdop_kit::Violations;
use pdop_kit::auth::Role;
use pdop_kit::convert::optional_date;
use pdop_kit::edge::document;
use pdop_kit::handling::{optional_name, paging};
use pdop_kit::names;
use pdop_kit::uow::{Announcement, Call, Change, Mutate};
use pdop_proto::evaluation::v1 as pb;
use pdop_proto::evaluation::v1::RectificationSource as Source;

use crate::context::Ctx;
use crate::domain::Error;
use crate::domain::rectification::{self, FIELD, Parties, source_of};
use crate::storage::{Tx, facts, rectification_orders as orders};

fn field(name: &str) -> String {
    format!("{FIELD}.{name}")
}

/// What the request states, checked before anything is read.
fn check_create(o: &pb::RectificationOrder, v: &mut Violations) -> Option<NaiveDate> {
    match source_of(o) {
        Source::SupervisionInspection => {}
        Source::AgreementBreach if o.agreement.is_empty() => {
            v.add(field("agreement"), "must name the agreement breached");
        }
        Source::AgreementBreach => {}
        Source::Evaluation => v.add(
            field("source"),
            "EVALUATION orders are issued by CompleteEvaluation; here SUPERVISION_INSPECTION or AGREEMENT_BREACH",
        ),
        Source::Unspecified => v.add(field("source"), "must be SUPERVISION_INSPECTION or AGREEMENT_BREACH"),
    }
    if names::parse(&o.subject, "organizations").is_none() {
        v.add(field("subject"), names::expected("organizations"));
    }
    let agreement_ok = o.agreement.is_empty()
        || names::parse(&o.agreement, "agreements").is_some()
        || names::parse(&o.agreement, "developerAgreements").is_some();
    if !agreement_ok {
        v.add(
            field("agreement"),
            "must be agreements/{agreement} or developerAgreements/{developer_agreement}",
        );
    }
    if !o.evaluation.is_empty() {
        v.add(field("evaluation"), "is set only on an evaluation's order");
    }
    optional_name(&o.jurisdiction, "jurisdictions", &field("jurisdiction"), v);
    rectification::check_issues(&o.issues, &field("issues"), v);
    document(o.order_document.as_ref(), &field("order_document"), v);
    optional_date(o.requested_due_date.as_ref()).unwrap_or_else(|e| {
        v.add(field("requested_due_date"), e);
        None
    })
}

/// The order's jurisdiction, and the operator of the developer agreement it concerns (if so): from the agreement
/// when one is named (whose operator or developer must be the subject), else the subject's own.
async fn scope(tx: &mut Tx, o: &pb::RectificationOrder) -> Result<(String, Option<String>), Error> {
    let at = field("agreement");
    if names::parse(&o.agreement, "agreements").is_some() {
        let a = facts::agreement(tx, &o.agreement, &at).await?;
        let operator = a.operator.unwrap_or_default().name;
        if operator != o.subject {
            return Err(Error::invalid(
                at,
                format!("is operated by {operator}, not by the subject"),
            ));
        }
        return Ok((a.jurisdiction.unwrap_or_default().name, None));
    }
    if !o.agreement.is_empty() {
        let (operator, developer, jurisdiction) = orders::developer_agreement(tx, &o.agreement, &at).await?;
        if developer != o.subject {
            return Err(Error::invalid(
                at,
                format!("is the agreement of {developer}, not of the subject"),
            ));
        }
        return Ok((jurisdiction, Some(operator)));
    }
    let jurisdiction = facts::jurisdiction_of(tx, &o.subject).await?;
    Ok((jurisdiction.unwrap_or_default(), None))
}

pub async fn create(
    ctx: &Ctx,
    call: Call,
    req: pb::CreateRectificationOrderRequest,
) -> Result<pb::CreateRectificationOrderResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let mut o = req.rectification_order.unwrap_or_default();
    let mut v = Violations::new();
    let requested = check_create(&o, &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let caller = &u.call.caller;
            let subject = facts::known_organization(u.tx, &o.subject, &field("subject")).await?;
            let (jurisdiction, developer_operator) = scope(u.tx, &o).await?;
            if !o.jurisdiction.is_empty() && o.jurisdiction != jurisdiction {
                return Err(Error::invalid(
                    field("jurisdiction"),
                    format!("must be {jurisdiction}, the subject's (or agreement's) jurisdiction"),
                ));
            }
            let row = pdop_kit::scope::ancestry(&mut **u.tx, &jurisdiction).await?;
            let supervises = pdop_kit::scope::supervises(caller, &row);
            rectification::may_issue(caller, supervises, developer_operator.as_deref())?;
            let profile = facts::profile(u.tx, &u.state.profiles, &jurisdiction).await?;
            let deadline = rectification::deadline(
                &u.state.calendar,
                &profile,
                u.call.today(),
                requested,
                &field("requested_due_date"),
            )?;
            let p = Parties {
                subject,
                issuer: facts::organization(u.tx, &caller.organization).await?,
                jurisdiction: facts::jurisdiction(u.tx, &jurisdiction).await?,
            };
            o.name = orders::new_name();
            let change = rectification::issue(&mut o, u.call, &profile, deadline, &p)?;
            let saved = orders::insert(u.tx, &o, &[], u.call.now).await?;
            Ok(change.into_write(pb::CreateRectificationOrderResponse {
                rectification_order: Some(saved),
            }))
        })
    })
    .await
}

/// Data authorities and auditors read the orders of their jurisdiction and those below it.
fn is_supervisor(call: &Call) -> bool {
    [Role::DataAuthority, Role::Auditor]
        .iter()
        .any(|r| call.caller.has_role(*r))
}

pub async fn get(
    ctx: &Ctx,
    call: Call,
    req: pb::GetRectificationOrderRequest,
) -> Result<pb::GetRectificationOrderResponse, Error> {
    let pool = &ctx.platform.pool;
    let o = orders::read(pool, &req.name).await?;
    let org = &call.caller.organization;
    let party = *org == o.subject
        || *org == o.issuing_organization
        || orders::verifiers(pool, &o.name).await?.contains(org);
    super::may_read(ctx, &call, party, is_supervisor(&call), &o.jurisdiction, &o.name).await?;
    Ok(pb::GetRectificationOrderResponse {
        rectification_order: Some(o),
    })
}

pub async fn list(
    ctx: &Ctx,
    call: Call,
    req: pb::ListRectificationOrdersRequest,
) -> Result<pb::ListRectificationOrdersResponse, Error> {
    let mut v = Violations::new();
    let (size, after) = paging(req.page_size, &req.page_token, &mut v);
    let subject = optional_name(&req.subject, "organizations", "subject", &mut v);
    let evaluation = optional_name(&req.evaluation, "evaluations", "evaluation", &mut v);
    let jurisdiction = optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    let supervised = super::supervised(ctx, &call, is_supervisor(&call)).await?;
    let (found, next) = orders::list(
        &ctx.platform.pool,
        orders::Filter {
            subject,
            evaluation,
            jurisdiction,
            source: req.source,
            state: req.state,
            overdue: req.overdue,
            visible_to: names::parse(&call.caller.organization, "organizations").unwrap_or_default(),
            supervised,
            size,
            after,
        },
    )
    .await?;
    Ok(pb::ListRectificationOrdersResponse {
        rectification_orders: found,
        next_page_token: next,
    })
}

/// Every change to an issued order: lock it (checking the etag), decide, save, answer with the saved order.
async fn transition<R, E, D>(
    ctx: &Ctx,
    call: Call,
    (name, etag): (String, String),
    decide: D,
    respond: fn(pb::RectificationOrder) -> R,
) -> Result<R, Error>
where
    R: prost::Message + Default + 'static,
    E: Announcement,
    D: FnOnce(&mut pb::RectificationOrder, &Call, &[String], &Parties) -> Result<Change<E>, Error>
        + Send
        + 'static,
{
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut o = orders::lock(u.tx, &name, &etag).await?;
            let verifiers = orders::verifiers(&mut **u.tx, &o.name).await?;
            let p = orders::parties(u.tx, &o).await?;
            let change = decide(&mut o, u.call, &verifiers, &p)?;
            let saved = orders::save(u.tx, &o, u.call.now).await?;
            Ok(change.into_write(respond(saved)))
        })
    })
    .await
}

pub async fn submit_plan(
    ctx: &Ctx,
    call: Call,
    req: pb::SubmitRectificationPlanRequest,
) -> Result<pb::SubmitRectificationPlanResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let plan = req.plan.unwrap_or_default();
    let mut v = Violations::new();
    rectification::check_plan(&plan, &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    let decide =
        |o: &mut _, call: &Call, _: &[String], p: &Parties| rectification::submit_plan(o, call, plan, p);
    transition(ctx, call, (req.name, req.etag), decide, |o| {
        pb::SubmitRectificationPlanResponse {
            rectification_order: Some(o),
        }
    })
    .await
}

pub async fn submit_report(
    ctx: &Ctx,
    call: Call,
    req: pb::SubmitRectificationReportRequest,
) -> Result<pb::SubmitRectificationReportResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let report = req.report.unwrap_or_default();
    let mut v = Violations::new();
    rectification::check_report(&report, &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    let decide =
        |o: &mut _, call: &Call, _: &[String], p: &Parties| rectification::submit_report(o, call, report, p);
    transition(ctx, call, (req.name, req.etag), decide, |o| {
        pb::SubmitRectificationReportResponse {
            rectification_order: Some(o),
        }
    })
    .await
}

pub async fn verify(
    ctx: &Ctx,
    call: Call,
    req: pb::VerifyRectificationRequest,
) -> Result<pb::VerifyRectificationResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let verification = req.verification.unwrap_or_default();
    let mut v = Violations::new();
    rectification::check_verification(&verification, &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut o = orders::lock(u.tx, &req.name, &req.etag).await?;
            let verifiers = orders::verifiers(&mut **u.tx, &o.name).await?;
            let p = orders::parties(u.tx, &o).await?;
            let change = rectification::verify(&mut o, u.call, verification, &verifiers, &p)?;
            let saved = orders::save(u.tx, &o, u.call.now).await?;
            // An evaluation's order is its re-evaluation (§3.4, §3.6): the evaluation completes in this unit of work.
            let re_evaluated = if source_of(&o) == Source::Evaluation {
                Some(super::evaluations::re_evaluate(u.tx, u.state, u.call, &o).await?)
            } else {
                None
            };
            let evaluation = re_evaluated.as_ref().map(|(e, _)| e.clone());
            let mut write = change.into_write(pb::VerifyRectificationResponse {
                rectification_order: Some(saved),
                evaluation,
            });
            if let Some((_, completed)) = re_evaluated {
                write = write.and(completed);
            }
            Ok(write)
        })
    })
    .await
}
