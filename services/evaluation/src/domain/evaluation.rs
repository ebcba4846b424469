//! Evaluations (§3.4): DATA_COLLECTION → SCORING → RECTIFYING → COMPLETED, or SCORING → COMPLETED (SCHEDULED stays
//! in the contract but is never entered). The subject self-assesses (如实提供, R-EV-06); evaluators score and
//! record veto findings; the evaluating organization issues the result. Nobody evaluates their own organization
//! and a recused evaluator no longer acts (R-EV-02).

use pdop_kit::auth::Caller;
use pdop_kit::convert::{actor, audit_info};
use pdop_kit::uow::{Call, Change};
use pdop_proto::common::{Deadline, JurisdictionRef, OrganizationRef};
use pdop_proto::evaluation::events::v1 as ev;
use pdop_proto::evaluation::v1::{
    Evaluation, EvaluationCampaign, EvaluationConsequence as Consequence, EvaluationGrade as Grade,
    EvaluationResult, EvaluationState as State, EvaluationSubjectKind, EvaluatorAssignment, IndicatorScore,
    IndicatorSystem, SelfAssessment, VetoFinding, VetoItem,
};
use pdop_rules::Profile;
use pdop_rules::profiles::SuspensionGround;

use super::error::{Error, ErrorReason, require_state};
use super::{grading, scoring};

pub const COLLECTION: &str = "evaluations";

pub fn state_of(e: &Evaluation) -> State {
    State::try_from(e.state).unwrap_or_default()
}

/// The references the events carry.
#[derive(Debug, Clone, Default)]
pub struct Parties {
    pub subject: OrganizationRef,
    pub evaluating: OrganizationRef,
    pub jurisdiction: JurisdictionRef,
}

pub fn summary(e: &Evaluation, p: &Parties) -> ev::EvaluationSummary {
    ev::EvaluationSummary {
        name: e.name.clone(),
        campaign: e.campaign.clone(),
        subject: Some(p.subject.clone()),
        subject_kind: e.subject_kind,
        agreement: e.agreement.clone(),
        jurisdiction: Some(p.jurisdiction.clone()),
        year: e.year,
        evaluating_organization: Some(p.evaluating.clone()),
        covered_period: e.covered_period,
    }
}

fn audit(e: &Evaluation) -> serde_json::Value {
    serde_json::json!({ "state": format!("{:?}", state_of(e)) })
}

/// A new evaluation of `subject` in DATA_COLLECTION, with the campaign's evaluators.
pub fn open(
    e: &mut Evaluation,
    c: &EvaluationCampaign,
    call: &Call,
    evaluators: Vec<EvaluatorAssignment>,
    deadline: Option<Deadline>,
    p: &Parties,
) -> Change<ev::EvaluationStarted> {
    e.campaign = c.name.clone();
    e.jurisdiction = c.jurisdiction.clone();
    e.profile_id = c.profile_id.clone();
    e.year = c.year;
    e.subject_kind = c.subject_kind;
    e.indicator_system = c.indicator_system.clone();
    e.covered_period = c.covered_period;
    e.evaluating_organization = c.evaluating_organization.clone();
    e.evaluators = evaluators;
    e.state = State::DataCollection as i32;
    e.self_assessment_deadline = deadline.clone();
    let event = ev::EvaluationStarted {
        evaluation: Some(summary(e, p)),
        self_assessment_deadline: deadline,
        actor: Some(actor(&call.caller)),
    };
    Change::new(&e.name, audit(e)).announce(event)
}

/// The campaign's new due date or evaluators reached an open evaluation.
pub fn campaign_changed(e: &Evaluation) -> Change {
    Change::new(&e.name, audit(e))
}

/// The subject's own evaluation only.
fn require_subject(e: &Evaluation, caller: &Caller) -> Result<(), Error> {
    if e.subject == caller.organization {
        return Ok(());
    }
    Err(Error::denied(
        ErrorReason::NotAParty,
        format!("only {} self-assesses in {}", e.subject, e.name),
    ))
}

/// DATA_COLLECTION → SCORING with the subject's self-assessment; accepted late and marked (§3.4).
pub fn submit_self_assessment(
    e: &mut Evaluation,
    call: &Call,
    mut sa: SelfAssessment,
    late: bool,
    p: &Parties,
) -> Result<Change<ev::SelfAssessmentSubmitted>, Error> {
    require_subject(e, &call.caller)?;
    // Accepted late even once scoring opened without it (§3.4), but only once.
    let open = state_of(e) == State::Scoring && e.self_assessment.is_none();
    if !open {
        require_state(
            &e.name,
            state_of(e),
            &[State::DataCollection],
            "a self-assessment",
        )?;
    }
    sa.late = late;
    sa.submitted = Some(audit_info(&call.caller, call.now));
    e.self_assessment = Some(sa);
    e.state = State::Scoring as i32;
    let event = ev::SelfAssessmentSubmitted {
        evaluation: Some(summary(e, p)),
        late,
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&e.name, audit(e)).announce(event))
}

/// DATA_COLLECTION → SCORING on the day after the self-assessment date, without one (the scheduler).
pub fn close_collection(e: &mut Evaluation) -> Result<Change, Error> {
    require_state(
        &e.name,
        state_of(e),
        &[State::DataCollection],
        "closing data collection",
    )?;
    e.state = State::Scoring as i32;
    Ok(Change::new(&e.name, audit(e)))
}

/// R-EV-02: who may score, record vetoes and calculate: an evaluator that is not recused, or staff of the
/// evaluating organization; never the subject's own organization.
pub fn require_scorer(e: &Evaluation, caller: &Caller) -> Result<(), Error> {
    let me = &caller.organization;
    if *me == e.subject {
        return Err(Error::denied(
            ErrorReason::OwnOrganization,
            format!(
                "{me} is the subject of {}; nobody evaluates their own organization (回避)",
                e.name
            ),
        ));
    }
    if let Some(a) = e.evaluators.iter().find(|a| a.organization == *me) {
        if a.recused {
            return Err(Error::denied(
                ErrorReason::EvaluatorRecused,
                format!("{me} recused itself from {}", e.name),
            ));
        }
        return Ok(());
    }
    if e.evaluating_organization == *me {
        return Ok(());
    }
    Err(Error::denied(
        ErrorReason::NotAnEvaluator,
        format!("{me} is not an evaluator of {}", e.name),
    ))
}

/// Records (or replaces) indicator scores in DATA_COLLECTION or SCORING.
pub fn record_scores(e: &mut Evaluation, call: &Call, scores: Vec<IndicatorScore>) -> Result<Change, Error> {
    require_scorer(e, &call.caller)?;
    require_state(
        &e.name,
        state_of(e),
        &[State::DataCollection, State::Scoring],
        "scoring",
    )?;
    for mut s in scores {
        s.scored = Some(audit_info(&call.caller, call.now));
        e.scores.retain(|x| x.indicator_key != s.indicator_key);
        e.scores.push(s);
    }
    Ok(Change::new(&e.name, audit(e)))
}

/// Records (or replaces) a veto finding; a triggered veto is announced.
pub fn record_veto(
    e: &mut Evaluation,
    call: &Call,
    mut finding: VetoFinding,
    item: &VetoItem,
    p: &Parties,
) -> Result<Change<ev::EvaluationVetoTriggered>, Error> {
    require_scorer(e, &call.caller)?;
    require_state(
        &e.name,
        state_of(e),
        &[State::DataCollection, State::Scoring],
        "a veto finding",
    )?;
    finding.recorded = Some(audit_info(&call.caller, call.now));
    let was_triggered = e
        .veto_findings
        .iter()
        .any(|x| x.veto_key == finding.veto_key && x.triggered);
    e.veto_findings.retain(|x| x.veto_key != finding.veto_key);
    e.veto_findings.push(finding.clone());
    let change = Change::new(&e.name, audit(e));
    if !finding.triggered || was_triggered {
        return Ok(change);
    }
    Ok(change.announce(ev::EvaluationVetoTriggered {
        evaluation: Some(summary(e, p)),
        veto_key: item.key.clone(),
        veto_name: item.display_name.clone(),
        veto_kind: item.kind,
        facts: finding.facts,
        evidence_records: finding.evidence_records,
        actor: Some(actor(&call.caller)),
    }))
}

/// R-EV-02: an evaluator recuses itself, or the evaluating organization recuses one.
pub fn recuse(e: &mut Evaluation, call: &Call, organization: &str, reason: String) -> Result<Change, Error> {
    let me = &call.caller.organization;
    if *me != organization && *me != e.evaluating_organization {
        return Err(Error::denied(
            ErrorReason::NotAParty,
            format!("{me} may recuse only itself, or its evaluators as the evaluating organization"),
        ));
    }
    require_state(
        &e.name,
        state_of(e),
        &[State::DataCollection, State::Scoring],
        "a recusal",
    )?;
    let Some(a) = e.evaluators.iter_mut().find(|a| a.organization == organization) else {
        return Err(Error::refused(
            ErrorReason::NotAnEvaluator,
            format!("{organization} is not an evaluator of {}", e.name),
        ));
    };
    if a.recused {
        return Err(Error::refused(
            ErrorReason::EvaluatorRecused,
            format!("{organization} already recused itself from {}", e.name),
        ));
    }
    a.recused = true;
    a.recusal_reason = reason;
    Ok(Change::new(&e.name, audit(e)))
}

/// What the evaluating organization decides in CompleteEvaluation.
#[derive(Debug, Clone, Default)]
pub struct Decision {
    pub grade: Grade,
    pub override_reason: String,
    pub summary: String,
    pub findings: Vec<String>,
    pub consequences: Vec<Consequence>,
    pub result_document: Option<pdop_proto::common::DocumentRef>,
    /// The rectification order issued with the result, if any.
    pub rectification_order: Option<String>,
}

/// The result as decided: the computed result, the grade (computed unless overridden with reasons; a triggered
/// veto is never overridden to a better grade), and the consequences the profile makes mandatory added.
pub fn decide(
    e: &Evaluation,
    system: &IndicatorSystem,
    profile: &Profile,
    mut d: Decision,
    call: &Call,
) -> Result<EvaluationResult, Error> {
    let calc = scoring::calculate(system, &e.scores, &e.veto_findings);
    if !calc.missing_indicators.is_empty() || !calc.missing_veto_findings.is_empty() {
        let mut missing = calc.missing_indicators.clone();
        missing.extend(calc.missing_veto_findings.iter().map(|k| format!("veto {k}")));
        return Err(Error::refused(
            ErrorReason::Unscored,
            format!("{} is not fully assessed: {} missing", e.name, missing.join(", ")),
        ));
    }
    let mut result = calc.result;
    let scheme = system.grading.clone().unwrap_or_default();
    let kind = grading::kind_of(&scheme);
    let computed = grading::grade(result.computed_grade);
    let grade = if d.grade == Grade::Unspecified {
        computed
    } else {
        d.grade
    };
    if grade != computed && result.vetoed && grading::rank(kind, grade) < grading::rank(kind, computed) {
        return Err(Error::refused(
            ErrorReason::VetoOverride,
            format!(
                "a veto was triggered in {} ({}): its grade {} is never overridden to {} (inferred)",
                e.name,
                result.triggered_vetoes.join(", "),
                grading::label(computed),
                grading::label(grade)
            ),
        ));
    }
    // §3.8: the suspension a seed makes mandatory concerns operators (S-HN Art.22 一级开发主体).
    let operator = e.subject_kind == EvaluationSubjectKind::Operator as i32;
    let suspends = operator
        && ((result.vetoed && profile.evaluation.suspends_on(SuspensionGround::Veto))
            || (grade == Grade::Fail
                && d.rectification_order.is_none()
                && profile.evaluation.suspends_on(SuspensionGround::FinalFail)));
    if suspends && !d.consequences.contains(&Consequence::SuspensionRecommended) {
        d.consequences.push(Consequence::SuspensionRecommended);
    }
    result.grade = grade as i32;
    result.override_reason = if grade == computed {
        String::new()
    } else {
        d.override_reason
    };
    result.summary = d.summary;
    result.findings = d.findings;
    result.consequences = d.consequences.iter().map(|c| *c as i32).collect();
    result.result_document = d.result_document;
    result.decided = Some(audit_info(&call.caller, call.now));
    Ok(result)
}

/// SCORING → RECTIFYING (an order was issued with the result) or COMPLETED.
pub fn complete(
    e: &mut Evaluation,
    call: &Call,
    result: EvaluationResult,
    rectification_order: Option<String>,
    p: &Parties,
) -> Result<Change<ev::EvaluationCompleted>, Error> {
    if call.caller.organization != e.evaluating_organization {
        return Err(Error::denied(
            ErrorReason::NotAParty,
            format!(
                "the result of {} is issued by {}",
                e.name, e.evaluating_organization
            ),
        ));
    }
    require_state(&e.name, state_of(e), &[State::Scoring], "a result")?;
    let pending = rectification_order.is_some();
    e.rectification_order = rectification_order.unwrap_or_default();
    e.state = if pending {
        State::Rectifying
    } else {
        State::Completed
    } as i32;
    let event = ev::EvaluationCompleted {
        evaluation: Some(summary(e, p)),
        grade: result.grade,
        total_score: result.total_score.clone(),
        vetoed: result.vetoed,
        grade_overridden: result.grade != result.computed_grade,
        rectification_pending: pending,
        re_evaluation: false,
        consequences: result.consequences.clone(),
        rectification_order: e.rectification_order.clone(),
        summary: result.summary.clone(),
        actor: Some(actor(&call.caller)),
    };
    if !pending {
        e.final_result = Some(result.clone());
    }
    e.result = Some(result);
    Ok(Change::new(&e.name, audit(e)).announce(event))
}

/// RECTIFYING → COMPLETED by the verification of the evaluation's order: the re-evaluation (再次评估, S-YN Art.26),
/// PASS when the verification passed and FAIL when it failed (§3.6). The final result keeps the first result's
/// figures and states the re-evaluation's grade and consequences; where the profile suspends on a final FAIL the
/// record says so (S-HN Art.22).
pub fn re_evaluate(
    e: &mut Evaluation,
    call: &Call,
    grade: Grade,
    consequences: Vec<Consequence>,
    comments: String,
    profile: &Profile,
    p: &Parties,
) -> Result<Change<ev::EvaluationCompleted>, Error> {
    require_state(&e.name, state_of(e), &[State::Rectifying], "a re-evaluation")?;
    let mut consequences = consequences;
    if grade == Grade::Fail
        && e.subject_kind == EvaluationSubjectKind::Operator as i32
        && profile.evaluation.suspends_on(SuspensionGround::FinalFail)
        && !consequences.contains(&Consequence::SuspensionRecommended)
    {
        consequences.push(Consequence::SuspensionRecommended);
    }
    let first = e.result.clone().unwrap_or_default();
    let result = EvaluationResult {
        grade: grade as i32,
        re_evaluation: true,
        summary: comments,
        consequences: consequences.iter().map(|c| *c as i32).collect(),
        decided: Some(audit_info(&call.caller, call.now)),
        ..first
    };
    e.state = State::Completed as i32;
    let event = ev::EvaluationCompleted {
        evaluation: Some(summary(e, p)),
        grade: result.grade,
        total_score: result.total_score.clone(),
        // The veto was the first result's; the re-evaluation judges the rectification.
        vetoed: false,
        grade_overridden: false,
        rectification_pending: false,
        re_evaluation: true,
        consequences: result.consequences.clone(),
        rectification_order: e.rectification_order.clone(),
        summary: result.summary.clone(),
        actor: Some(actor(&call.caller)),
    };
    e.final_result = Some(result);
    Ok(Change::new(&e.name, audit(e)).announce(event))
}
