//! The eight evaluation RPCs (§3.4): reads, the self-assessment, scores, veto findings, recusal, the pure
//! calculation and the result.

use chrono::{DateTime, Utc};
use pdop_kit::Violations;
use pdop_kit::auth::Role;
use pdop_kit::convert::{due_date, naive_date};
use pdop_kit::handling::{optional_name, paging};
use pdop_kit::uow::{Call, Mutate};
use pdop_proto::evaluation::v1 as pb;
use pdop_proto::evaluation::v1::{
    Evaluation, EvaluationConsequence, EvaluationGrade, EvaluationState, IndicatorScore, IndicatorSystem,
    RectificationIssue, RectificationOrder, RectificationSource, ScoringMethod, VetoFinding,
};
use rust_decimal::Decimal;

use crate::context::Ctx;
use crate::domain::evaluation::{self, Decision, Parties, state_of};
use crate::domain::evidence as evidence_rules;
use crate::domain::scoring::{self, Measured};
use crate::domain::{Error, ErrorReason, decimals, grading, rectification};
use crate::storage::{Tx, evaluations, evidence, facts, indicator_systems, rectification_orders as orders};

async fn parties(tx: &mut Tx, e: &Evaluation) -> Result<Parties, Error> {
    Ok(Parties {
        subject: facts::organization(tx, &e.subject).await?,
        evaluating: facts::organization(tx, &e.evaluating_organization).await?,
        jurisdiction: facts::jurisdiction(tx, &e.jurisdiction).await?,
    })
}

fn is_supervisor(call: &Call) -> bool {
    [Role::DataAuthority, Role::Auditor, Role::PricingAuthority]
        .iter()
        .any(|r| call.caller.has_role(*r))
}

fn is_party(e: &Evaluation, org: &str) -> bool {
    e.subject == org || e.evaluating_organization == org || e.evaluators.iter().any(|a| a.organization == org)
}

/// A pricing authority reads the result only (§3.4): the self-assessment, scores and findings stay with the parties.
fn result_only(mut e: Evaluation) -> Evaluation {
    e.self_assessment = None;
    e.scores.clear();
    e.veto_findings.clear();
    e.evidence_records.clear();
    e
}

fn visible(e: Evaluation, call: &Call) -> Evaluation {
    let pricing_only = call.caller.has_role(Role::PricingAuthority)
        && !is_party(&e, &call.caller.organization)
        && !call.caller.has_role(Role::DataAuthority)
        && !call.caller.has_role(Role::Auditor);
    if pricing_only { result_only(e) } else { e }
}

pub async fn get(
    ctx: &Ctx,
    call: Call,
    req: pb::GetEvaluationRequest,
) -> Result<pb::GetEvaluationResponse, Error> {
    let e = evaluations::read(&ctx.platform.pool, &req.name).await?;
    let party = is_party(&e, &call.caller.organization);
    super::may_read(ctx, &call, party, is_supervisor(&call), &e.jurisdiction, &e.name).await?;
    Ok(pb::GetEvaluationResponse {
        evaluation: Some(visible(e, &call)),
    })
}

pub async fn list(
    ctx: &Ctx,
    call: Call,
    req: pb::ListEvaluationsRequest,
) -> Result<pb::ListEvaluationsResponse, Error> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<(DateTime<Utc>, String)>) =
        paging(req.page_size, &req.page_token, &mut v);
    let campaign = optional_name(
        &req.campaign,
        crate::domain::campaign::COLLECTION,
        "campaign",
        &mut v,
    );
    let subject = optional_name(&req.subject, "organizations", "subject", &mut v);
    let jurisdiction = optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    let supervised = super::supervised(ctx, &call, is_supervisor(&call)).await?;
    let me = pdop_kit::names::parse(&call.caller.organization, "organizations").unwrap_or_default();
    let (found, next) = evaluations::list(
        &ctx.platform.pool,
        evaluations::Filter {
            campaign,
            subject,
            jurisdiction,
            year: req.year,
            state: req.state,
            grade: req.grade,
            visible_to: me,
            supervised,
            size,
            after,
        },
    )
    .await?;
    Ok(pb::ListEvaluationsResponse {
        evaluations: found.into_iter().map(|e| visible(e, &call)).collect(),
        next_page_token: next,
    })
}

pub async fn submit_self_assessment(
    ctx: &Ctx,
    call: Call,
    req: pb::SubmitSelfAssessmentRequest,
) -> Result<pb::SubmitSelfAssessmentResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let sa = req.self_assessment.unwrap_or_default();
    let mut v = Violations::new();
    // R-EV-06 (S-HN Art.22 如实提供有关资料，不得拒绝、隐匿、瞒报).
    if !sa.truthfulness_declared {
        v.add(
            "self_assessment.truthfulness_declared",
            "must be true: the subject declares its materials true (R-EV-06)",
        );
    }
    let mut claimed = Vec::new();
    for (i, entry) in sa.entries.iter().enumerate() {
        let at = format!("self_assessment.entries[{i}]");
        decimals::optional(
            entry.claimed_value.as_ref(),
            &format!("{at}.claimed_value"),
            &mut v,
        );
        let score = decimals::optional(entry.self_score.as_ref(), &format!("{at}.self_score"), &mut v);
        claimed.push((at, entry.indicator_key.clone(), score));
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut e = evaluations::lock(u.tx, &req.name, &req.etag).await?;
            let system = indicator_systems::read(&mut **u.tx, &e.indicator_system).await?;
            let mut v = Violations::new();
            for (at, key, score) in claimed {
                match scoring::dimension_of(&system, &key) {
                    None => v.add(
                        format!("{at}.indicator_key"),
                        format!("{key:?} is not an indicator of {}", system.name),
                    ),
                    Some((_, ind, _)) => {
                        let max = decimals::stored(ind.max_score.as_ref());
                        if score.is_some_and(|s| s < Decimal::ZERO || s > max) {
                            v.add(format!("{at}.self_score"), format!("must be within [0, {max}]"));
                        }
                    }
                }
            }
            if !v.is_empty() {
                return Err(Error::Invalid(v));
            }
            let due = due_date(e.self_assessment_deadline.as_ref());
            let late = due.is_some_and(|d| u.call.today() > d);
            let p = parties(u.tx, &e).await?;
            let change = evaluation::submit_self_assessment(&mut e, u.call, sa, late, &p)?;
            let saved = evaluations::save(u.tx, &e, u.call.now).await?;
            Ok(change.into_write(pb::SubmitSelfAssessmentResponse {
                evaluation: Some(saved),
            }))
        })
    })
    .await
}

/// One entered score read against its indicator: the raw score computed or checked, a comment where required.
fn scored(
    system: &IndicatorSystem,
    e: &Evaluation,
    entry: IndicatorScore,
    at: &str,
    v: &mut Violations,
) -> Option<IndicatorScore> {
    let Some((dimension, ind, dw)) = scoring::dimension_of(system, &entry.indicator_key) else {
        v.add(
            format!("{at}.indicator_key"),
            format!("{:?} is not an indicator of {}", entry.indicator_key, system.name),
        );
        return None;
    };
    let max = decimals::stored(ind.max_score.as_ref());
    let method = ScoringMethod::try_from(ind.scoring_method).unwrap_or_default();
    let measured = Measured {
        raw: decimals::optional(entry.raw_score.as_ref(), &format!("{at}.raw_score"), v),
        value: decimals::optional(entry.measured_value.as_ref(), &format!("{at}.measured_value"), v),
        occurrences: entry.occurrences,
        met: entry.met,
    };
    if entry.occurrences < 0 {
        v.add(format!("{at}.occurrences"), "must not be negative");
    }
    if method == ScoringMethod::Manual && entry.comment.trim().is_empty() {
        v.add(
            format!("{at}.comment"),
            "a MANUAL score states the evaluator's basis",
        );
    }
    let Some(raw) = scoring::raw_score(ind, &measured) else {
        let what = match method {
            ScoringMethod::Manual => "raw_score",
            _ => "measured_value",
        };
        v.add(
            format!("{at}.{what}"),
            format!("is required to score a {method:?} indicator"),
        );
        return None;
    };
    if raw < Decimal::ZERO || raw > max {
        v.add(format!("{at}.raw_score"), format!("must be within [0, {max}]"));
        return None;
    }
    // A score that departs from the subject's own needs the evaluator's reason (inferred).
    let own = e
        .self_assessment
        .as_ref()
        .and_then(|sa| sa.entries.iter().find(|x| x.indicator_key == entry.indicator_key))
        .and_then(|x| x.self_score.as_ref())
        .map(|s| decimals::stored(Some(s)));
    if own.is_some_and(|s| s != raw) && entry.comment.trim().is_empty() {
        v.add(
            format!("{at}.comment"),
            "a score differing from the self-score states why",
        );
    }
    Some(IndicatorScore {
        dimension_key: dimension.to_owned(),
        raw_score: Some(decimals::pb(raw)),
        weighted_score: Some(decimals::pb(scoring::weighted(ind, dw, raw))),
        scored: None,
        ..entry
    })
}

pub async fn record_scores(
    ctx: &Ctx,
    call: Call,
    req: pb::RecordIndicatorScoresRequest,
) -> Result<pb::RecordIndicatorScoresResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    if req.scores.is_empty() {
        return Err(Error::invalid("scores", "at least one score is required"));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut e = evaluations::lock(u.tx, &req.name, &req.etag).await?;
            evaluation::require_scorer(&e, &u.call.caller)?;
            let system = indicator_systems::read(&mut **u.tx, &e.indicator_system).await?;
            let mut v = Violations::new();
            let mut scores = Vec::new();
            for (i, entry) in req.scores.into_iter().enumerate() {
                scores.extend(scored(&system, &e, entry, &format!("scores[{i}]"), &mut v));
            }
            if !v.is_empty() {
                return Err(Error::Invalid(v));
            }
            let change = evaluation::record_scores(&mut e, u.call, scores)?;
            let saved = evaluations::save(u.tx, &e, u.call.now).await?;
            Ok(change.into_write(pb::RecordIndicatorScoresResponse {
                evaluation: Some(saved),
            }))
        })
    })
    .await
}

pub async fn record_veto(
    ctx: &Ctx,
    call: Call,
    req: pb::RecordVetoFindingRequest,
) -> Result<pb::RecordVetoFindingResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let finding: VetoFinding = req.finding.unwrap_or_default();
    if finding.triggered && finding.facts.trim().is_empty() {
        return Err(Error::invalid(
            "finding.facts",
            "a triggered veto states the facts found",
        ));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut e = evaluations::lock(u.tx, &req.name, &req.etag).await?;
            evaluation::require_scorer(&e, &u.call.caller)?;
            let system = indicator_systems::read(&mut **u.tx, &e.indicator_system).await?;
            let Some(item) = system
                .veto_items
                .iter()
                .find(|i| i.key == finding.veto_key)
                .cloned()
            else {
                return Err(Error::invalid(
                    "finding.veto_key",
                    format!("{:?} is not a veto item of {}", finding.veto_key, system.name),
                ));
            };
            // Evidence relied on must be about the subject.
            for (i, name) in finding.evidence_records.iter().enumerate() {
                let record = evidence::read(&u.state.platform.pool, name).await?;
                if record.organization != e.subject {
                    return Err(Error::invalid(
                        format!("finding.evidence_records[{i}]"),
                        format!(
                            "{name} is about {}, not the subject {}",
                            record.organization, e.subject
                        ),
                    ));
                }
            }
            let p = parties(u.tx, &e).await?;
            let change = evaluation::record_veto(&mut e, u.call, finding, &item, &p)?;
            let saved = evaluations::save(u.tx, &e, u.call.now).await?;
            Ok(change.into_write(pb::RecordVetoFindingResponse {
                evaluation: Some(saved),
            }))
        })
    })
    .await
}

pub async fn recuse(
    ctx: &Ctx,
    call: Call,
    req: pb::RecuseEvaluatorRequest,
) -> Result<pb::RecuseEvaluatorResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let mut v = Violations::new();
    if req.reason.trim().is_empty() {
        v.add("reason", "a recusal states the conflict of interest");
    }
    if pdop_kit::names::parse(&req.organization, "organizations").is_none() {
        v.add("organization", pdop_kit::names::expected("organizations"));
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut e = evaluations::lock(u.tx, &req.name, &req.etag).await?;
            let change = evaluation::recuse(&mut e, u.call, &req.organization, req.reason)?;
            let saved = evaluations::save(u.tx, &e, u.call.now).await?;
            Ok(change.into_write(pb::RecuseEvaluatorResponse {
                evaluation: Some(saved),
            }))
        })
    })
    .await
}

pub async fn calculate(
    ctx: &Ctx,
    call: Call,
    req: pb::CalculateEvaluationResultRequest,
) -> Result<pb::CalculateEvaluationResultResponse, Error> {
    let pool = &ctx.platform.pool;
    let e = evaluations::read(pool, &req.name).await?;
    // The subject sees the calculation once the result is issued; before that only the scorers do.
    let subject_after = e.subject == call.caller.organization && state_of(&e) == EvaluationState::Completed;
    if !subject_after {
        let supervisor = call.caller.has_role(Role::DataAuthority) || call.caller.has_role(Role::Auditor);
        match evaluation::require_scorer(&e, &call.caller) {
            Ok(()) => {}
            Err(_) if supervisor && e.subject != call.caller.organization => {
                super::may_read(ctx, &call, false, true, &e.jurisdiction, &e.name).await?;
            }
            Err(err) => return Err(err),
        }
    }
    let system = indicator_systems::read(pool, &e.indicator_system).await?;
    let mut calc = scoring::calculate(&system, &e.scores, &e.veto_findings);
    // Veto candidates are listed for the evaluator to weigh; none is triggered by itself (§3.4, R-EV-06).
    for name in &e.evidence_records {
        let record = evidence::read(pool, name).await?;
        if evidence_rules::is_veto_candidate(&record) {
            calc.result.calculation_steps.push(format!(
                "veto candidate MAJOR_SECURITY_INCIDENT: {name} ({}, {})",
                record.summary,
                record
                    .occur_date
                    .map(|d| format!("{}-{:02}-{:02}", d.year, d.month, d.day))
                    .unwrap_or_default()
            ));
        }
    }
    let due = due_date(e.self_assessment_deadline.as_ref());
    if e.self_assessment.is_none() && due.is_some_and(|d| call.today() > d) {
        calc.result.calculation_steps.push(format!(
            "veto candidate REFUSAL_OR_CONCEALMENT: no self-assessment by {} (S-HN Art.22 不得拒绝、隐匿、瞒报)",
            due.map(|d| d.to_string()).unwrap_or_default()
        ));
    }
    Ok(pb::CalculateEvaluationResultResponse {
        result: Some(calc.result),
        missing_indicators: calc.missing_indicators,
        missing_veto_findings: calc.missing_veto_findings,
    })
}

pub async fn complete(
    ctx: &Ctx,
    call: Call,
    req: pb::CompleteEvaluationRequest,
) -> Result<pb::CompleteEvaluationResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let grade = EvaluationGrade::try_from(req.grade).unwrap_or_default();
    let mut v = Violations::new();
    if req.summary.trim().is_empty() {
        v.add("summary", "the result states the evaluation's opinion");
    }
    let consequences: Vec<EvaluationConsequence> = req
        .consequences
        .iter()
        .map(|c| EvaluationConsequence::try_from(*c).unwrap_or_default())
        .collect();
    pdop_kit::edge::document(req.result_document.as_ref(), "result_document", &mut v);
    if consequences.contains(&EvaluationConsequence::Unspecified) {
        v.add("consequences", "every consequence must be set");
    }
    let rectification = req
        .rectification
        .clone()
        .filter(|r| !r.issues.is_empty() || r.due_date.is_some());
    if let Some(r) = &rectification {
        if r.issues.is_empty() {
            v.add("rectification.issues", "a rectification names at least one issue");
        }
        if r.due_date.as_ref().is_some_and(|d| naive_date(d).is_none()) {
            v.add("rectification.due_date", "is not a calendar date");
        }
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut e = evaluations::lock(u.tx, &req.name, &req.etag).await?;
            if e.subject == u.call.caller.organization {
                return Err(Error::denied(
                    ErrorReason::OwnOrganization,
                    "nobody evaluates their own organization",
                ));
            }
            let system = indicator_systems::read(&mut **u.tx, &e.indicator_system).await?;
            let profile = facts::profile(u.tx, &u.state.profiles, &e.jurisdiction).await?;
            let scheme = system.grading.clone().unwrap_or_default();
            let kind = grading::kind_of(&scheme);
            if grade != EvaluationGrade::Unspecified && !grading::grades(kind).contains(&grade) {
                return Err(Error::invalid(
                    "grade",
                    format!("{grade:?} is not a grade of {kind:?}"),
                ));
            }
            let decision = Decision {
                grade,
                override_reason: req.override_reason,
                summary: req.summary,
                findings: req.findings,
                consequences,
                result_document: req.result_document,
                rectification_order: None,
            };
            let result = evaluation::decide(&e, &system, &profile, decision.clone(), u.call)?;
            if result.grade != result.computed_grade && result.override_reason.trim().is_empty() {
                return Err(Error::invalid(
                    "override_reason",
                    "a grade other than the computed one states why",
                ));
            }
            let needs_order = scheme.rectification_grades.contains(&result.grade);
            if needs_order && rectification.is_none() {
                return Err(Error::invalid(
                    "rectification",
                    format!(
                        "the grade {} requires a rectification order",
                        grading::label(grading::grade(result.grade))
                    ),
                ));
            }
            let p = parties(u.tx, &e).await?;
            // The order is issued with the result (§3.6): the evaluating organization is its issuer and the
            // evaluators verify it with it.
            let ordered = match rectification {
                None => None,
                Some(r) => {
                    let requested = r.due_date.as_ref().and_then(naive_date);
                    let field = "rectification.due_date";
                    let deadline = rectification::deadline(
                        &u.state.calendar,
                        &profile,
                        u.call.today(),
                        requested,
                        field,
                    )?;
                    let mut order = RectificationOrder {
                        name: orders::new_name(),
                        source: RectificationSource::Evaluation as i32,
                        evaluation: e.name.clone(),
                        agreement: e.agreement.clone(),
                        issues: r
                            .issues
                            .into_iter()
                            .map(|i| RectificationIssue {
                                description: i.description,
                                indicator_key: i.indicator_key,
                                required_action: i.required_action,
                                ..Default::default()
                            })
                            .collect(),
                        requested_due_date: r.due_date,
                        ..Default::default()
                    };
                    let op = rectification::Parties {
                        subject: p.subject.clone(),
                        issuer: p.evaluating.clone(),
                        jurisdiction: p.jurisdiction.clone(),
                    };
                    let change = rectification::issue(&mut order, u.call, &profile, deadline, &op)?;
                    let verifiers: Vec<String> = e
                        .evaluators
                        .iter()
                        .filter(|a| !a.recused)
                        .map(|a| a.organization.clone())
                        .collect();
                    orders::insert(u.tx, &order, &verifiers, u.call.now).await?;
                    Some((order.name.clone(), change))
                }
            };
            // Decided again knowing the order: a final FAIL is not final while an order runs (§3.8).
            let order = ordered.as_ref().map(|(n, _)| n.clone());
            let decided = Decision {
                rectification_order: order.clone(),
                ..decision
            };
            let result = evaluation::decide(&e, &system, &profile, decided, u.call)?;
            let change = evaluation::complete(&mut e, u.call, result, order, &p)?;
            let saved = evaluations::save(u.tx, &e, u.call.now).await?;
            let mut write = change.into_write(pb::CompleteEvaluationResponse {
                evaluation: Some(saved),
            });
            if let Some((_, issued)) = ordered {
                write = write.and(issued);
            }
            Ok(write)
        })
    })
    .await
}

/// Completes the evaluation of a verified evaluation order: the re-evaluation graded by the verification.
pub async fn re_evaluate(
    tx: &mut Tx,
    ctx: &Ctx,
    call: &Call,
    order: &pb::RectificationOrder,
) -> Result<
    (
        Evaluation,
        pdop_kit::uow::Change<pdop_proto::evaluation::events::v1::EvaluationCompleted>,
    ),
    Error,
> {
    let mut e = evaluations::lock(tx, &order.evaluation, "").await?;
    let verified = order.verifications.last().cloned().unwrap_or_default();
    let grade = EvaluationGrade::try_from(verified.re_evaluation_grade).unwrap_or_default();
    let consequences = verified
        .consequences
        .iter()
        .map(|c| EvaluationConsequence::try_from(*c).unwrap_or_default())
        .collect();
    let profile = facts::profile(tx, &ctx.profiles, &e.jurisdiction).await?;
    let p = parties(tx, &e).await?;
    let change = evaluation::re_evaluate(&mut e, call, grade, consequences, verified.comments, &profile, &p)?;
    let saved = evaluations::save(tx, &e, call.now).await?;
    Ok((saved, change))
}
