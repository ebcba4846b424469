//! Evaluation steps (REVIEW-EVALUATION §3): the operator's evaluation under the profile's grades, and, where the
//! grade asks for it, the rectification whose verification re-evaluates and completes it.
//!
//! Yunnan: the implementing agency evaluates its operators periodically, grading pass / fail / rectify (S-YN
//! Art.26); the step gives 限期整改, which orders a rectification within 30 days. Hubei: the data authority's annual
//! evaluation (S-HB §五(七)), pass / fail (inferred), passed.

use chrono::{Datelike, NaiveDate};
use pdop_kit::auth::Role;
use pdop_proto::common::{DateRange, Decimal};
use pdop_proto::evaluation::v1::*;

use super::{date, doc};
use crate::{Platform, Province, until};

/// How a province evaluates its operator in the lifecycle.
struct Plan {
    /// The evaluating party (`agency`, `data`) and its token role.
    evaluator: &'static str,
    role: Role,
    scheme: GradingScheme,
    /// Annual campaigns cover the calendar year (one a year); periodic ones cover the agreement's time so far.
    annual: bool,
    /// The raw score of the single indicator (of 100) and the grade it gives.
    score: &'static str,
    grade: EvaluationGrade,
}

fn dec(value: &str) -> Option<Decimal> {
    Some(Decimal { value: value.into() })
}

fn threshold(grade: EvaluationGrade, min: &str) -> GradeThreshold {
    GradeThreshold {
        grade: grade as i32,
        min_score: dec(min),
    }
}

fn plan(profile: &str) -> Plan {
    use EvaluationGrade::*;
    match profile {
        // S-YN Art.26: 通过 / 未通过 / 限期整改; thresholds PASS ≥80, RECTIFY ≥60 (inferred).
        "yunnan" => Plan {
            evaluator: "agency",
            role: Role::ImplementingAgency,
            scheme: GradingScheme {
                kind: GradingSchemeKind::PassFailRectify as i32,
                thresholds: vec![
                    threshold(Pass, "80"),
                    threshold(Rectify, "60"),
                    threshold(Fail, "0"),
                ],
                veto_grade: Fail as i32,
                rectification_grades: vec![Rectify as i32],
            },
            annual: false,
            score: "70",
            grade: Rectify,
        },
        // Every other profile: pass / fail, PASS ≥60 (inferred), by the data authority.
        _ => Plan {
            evaluator: "data",
            role: Role::DataAuthority,
            scheme: GradingScheme {
                kind: GradingSchemeKind::PassFail as i32,
                thresholds: vec![threshold(Pass, "60"), threshold(Fail, "0")],
                veto_grade: Fail as i32,
                rectification_grades: Vec::new(),
            },
            annual: true,
            score: "85",
            grade: Pass,
        },
    }
}

/// One dimension of one manual indicator: small, and valid under every profile that sets no dimensions.
fn system(j: &Province, year: i32, scheme: GradingScheme) -> IndicatorSystem {
    IndicatorSystem {
        display_name: format!("{}{year}运营机构评价指标体系", j.display_name),
        jurisdiction: j.name(),
        subject_kind: EvaluationSubjectKind::Operator as i32,
        year,
        dimensions: vec![Dimension {
            key: "outcomes".into(),
            display_name: "运营成效".into(),
            weight: dec("1"),
            indicators: vec![Indicator {
                key: "quality".into(),
                display_name: "运营质量".into(),
                weight: dec("1"),
                max_score: dec("100"),
                scoring_method: ScoringMethod::Manual as i32,
                ..Default::default()
            }],
            ..Default::default()
        }],
        grading: Some(scheme),
        ..Default::default()
    }
}

/// The agreement's first day, as the registry holds it.
async fn agreement_start(p: &Platform, j: &Province) -> anyhow::Result<NaiveDate> {
    let get = pdop_proto::registry::v1::GetAgreementRequest {
        name: j.agreement.clone(),
    };
    let get = p.acting(&j.agency(), &[Role::ImplementingAgency], get)?;
    let agreement = p.registry.clone().get_agreement(get).await?.into_inner();
    agreement
        .agreement
        .and_then(|a| a.term)
        .and_then(|t| t.start_date)
        .and_then(|d| pdop_kit::convert::naive_date(&d))
        .ok_or_else(|| anyhow::anyhow!("{} has no term", j.agreement))
}

/// Waits until the evaluation service holds the operator's evidence of the approved data use (from the review
/// service's event, §3.9), and returns the record.
async fn data_use_evidence(
    p: &Platform,
    j: &Province,
    evaluator: &str,
    role: Role,
) -> anyhow::Result<EvidenceRecord> {
    let list = ListEvidenceRecordsRequest {
        organization: j.operator(),
        kind: EvidenceKind::DataUseApproved as i32,
        page_size: 100,
        ..Default::default()
    };
    let found = std::sync::Arc::new(std::sync::Mutex::new(EvidenceRecord::default()));
    let seen = found.clone();
    let client = p.evaluation.clone();
    until("the evaluation service recorded the approved data use", || {
        let mut client = client.clone();
        let request = p.acting(evaluator, &[role], list.clone());
        let (seen, data_use) = (seen.clone(), j.data_use.clone());
        async move {
            let records = client.list_evidence_records(request?).await?.into_inner();
            let record = records
                .evidence_records
                .into_iter()
                .find(|r| r.source_subject == data_use);
            Ok(match record {
                Some(r) => {
                    *seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = r;
                    true
                }
                None => false,
            })
        }
    })
    .await?;
    let name = found
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    Ok(name)
}

/// The operator's evaluation: an indicator system published, a campaign covering the operator started (its
/// evaluation linking the data use's evidence), the self-assessment, the score, the calculated result, and the
/// result completed (Yunnan: 限期整改 with its rectification order).
pub async fn evaluation(p: &mut Platform, j: &mut Province) -> anyhow::Result<()> {
    let plan = plan(&j.id);
    let (evaluator, role) = (j.org(plan.evaluator), plan.role);
    let start = agreement_start(p, j).await?;
    let today = p.today().await?;
    let year = start.year();
    let (from, until_day) = if plan.annual {
        let first = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(start);
        (first, NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(start))
    } else {
        (start, today)
    };
    let evidence = data_use_evidence(p, j, &evaluator, role).await?;

    let create = CreateIndicatorSystemRequest {
        indicator_system: Some(system(j, year, plan.scheme.clone())),
        request_id: String::new(),
    };
    let draft = p
        .evaluation
        .create_indicator_system(p.acting(&evaluator, &[role], create)?)
        .await?
        .into_inner()
        .indicator_system
        .unwrap_or_default();
    let publish = PublishIndicatorSystemRequest {
        name: draft.name.clone(),
        ..Default::default()
    };
    p.evaluation
        .publish_indicator_system(p.acting(&evaluator, &[role], publish)?)
        .await?;

    let due = today.checked_add_days(chrono::Days::new(15)).unwrap_or(today);
    let campaign = EvaluationCampaign {
        display_name: format!("{}{year}运营机构评价 {}", j.display_name, p.run),
        jurisdiction: j.name(),
        year,
        subject_kind: EvaluationSubjectKind::Operator as i32,
        indicator_system: draft.name.clone(),
        subjects: vec![j.operator()],
        covered_period: Some(DateRange {
            start_date: Some(date(from)),
            end_date: Some(date(until_day)),
        }),
        self_assessment_due_date: Some(date(due)),
        ..Default::default()
    };
    let create = CreateEvaluationCampaignRequest {
        evaluation_campaign: Some(campaign),
        request_id: String::new(),
    };
    let created = match p
        .evaluation
        .create_evaluation_campaign(p.acting(&evaluator, &[role], create)?)
        .await
    {
        Ok(created) => created.into_inner().evaluation_campaign.unwrap_or_default(),
        // One annual campaign a year: a second demo run in the same year finds the operator evaluated.
        Err(status) if pdop_testkit::reason(&status) == "CAMPAIGN_EXISTS" => {
            return evaluated_before(p, j, &evaluator, role, year).await;
        }
        Err(status) => return Err(status.into()),
    };
    let client = p.evaluation.clone();
    let start = StartEvaluationCampaignRequest {
        name: created.name.clone(),
        ..Default::default()
    };
    // The operator is a subject once the evaluation service has learnt that its agreement is active.
    p.once_known_as(
        "the evaluation service knows the operator's active agreement",
        &evaluator,
        &[role],
        start,
        |request| {
            let mut client = client.clone();
            async move { client.start_evaluation_campaign(request).await }
        },
    )
    .await?;
    let list = ListEvaluationsRequest {
        campaign: created.name.clone(),
        subject: j.operator(),
        ..Default::default()
    };
    let opened = p
        .evaluation
        .list_evaluations(p.acting(&evaluator, &[role], list)?)
        .await?
        .into_inner()
        .evaluations
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("{} opened no evaluation of {}", created.name, j.operator()))?;
    anyhow::ensure!(
        opened.evidence_records.contains(&evidence.name),
        "{} over {from}…{until_day} does not link the data use's evidence {} (dated {:?}): {:?}",
        opened.name,
        evidence.name,
        evidence.occur_date,
        opened.evidence_records
    );
    p.note(format!(
        "{}: {evaluator} started {} over {from}…{until_day}; {} links {} evidence records, the data use's among them",
        j.id,
        created.name,
        opened.name,
        opened.evidence_records.len()
    ));

    let assess = SubmitSelfAssessmentRequest {
        name: opened.name.clone(),
        self_assessment: Some(SelfAssessment {
            entries: vec![SelfAssessmentEntry {
                indicator_key: "quality".into(),
                self_score: dec(plan.score),
                explanation: "按协议开展运营".into(),
                ..Default::default()
            }],
            summary: "自评报告".into(),
            truthfulness_declared: true,
            ..Default::default()
        }),
        ..Default::default()
    };
    p.evaluation
        .submit_self_assessment(p.acting(&j.operator(), &[Role::Operator], assess)?)
        .await?;
    let scores = RecordIndicatorScoresRequest {
        name: opened.name.clone(),
        scores: vec![IndicatorScore {
            indicator_key: "quality".into(),
            raw_score: dec(plan.score),
            comment: "运营质量评定".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    p.evaluation
        .record_indicator_scores(p.acting(&evaluator, &[role], scores)?)
        .await?;
    let calculate = CalculateEvaluationResultRequest {
        name: opened.name.clone(),
    };
    let calculated = p
        .evaluation
        .calculate_evaluation_result(p.acting(&evaluator, &[role], calculate)?)
        .await?
        .into_inner();
    let result = calculated.result.unwrap_or_default();
    anyhow::ensure!(
        calculated.missing_indicators.is_empty() && result.grade == plan.grade as i32,
        "{}: {:?} missing, grade {:?}, expected {:?}",
        opened.name,
        calculated.missing_indicators,
        EvaluationGrade::try_from(result.grade),
        plan.grade
    );
    let rectify = plan.scheme.rectification_grades.contains(&(plan.grade as i32));
    let complete = CompleteEvaluationRequest {
        name: opened.name.clone(),
        summary: if rectify {
            "运营成效未达标，限期整改".into()
        } else {
            "运营规范，评价通过".into()
        },
        rectification: rectify.then(|| RectificationRequirement {
            issues: vec![RectificationIssueInput {
                description: "上架产品不足".into(),
                indicator_key: "quality".into(),
                required_action: "完善产品供给".into(),
            }],
            // The profile's period (S-YN Art.26: 30 days) decides.
            due_date: None,
        }),
        result_document: doc("评价结果"),
        ..Default::default()
    };
    let done = p
        .evaluation
        .complete_evaluation(p.acting(&evaluator, &[role], complete)?)
        .await?
        .into_inner()
        .evaluation
        .unwrap_or_default();
    let state = if rectify {
        EvaluationState::Rectifying
    } else {
        EvaluationState::Completed
    };
    anyhow::ensure!(
        done.state == state as i32 && rectify != done.rectification_order.is_empty(),
        "{} is {:?} with order {:?} after its result",
        done.name,
        EvaluationState::try_from(done.state),
        done.rectification_order
    );
    j.evaluation = done.name;
    j.rectification_order = done.rectification_order;
    let total = result.total_score.map(|t| t.value).unwrap_or_default();
    p.note(format!(
        "{}: {} graded {} ({total}){}",
        j.id,
        j.evaluation,
        plan.grade.as_str_name(),
        if rectify {
            format!(", ordering {}", j.rectification_order)
        } else {
            String::new()
        }
    ));
    Ok(())
}

/// The operator's evaluation in the campaign `evaluator` already runs for `year` (a repeated demo).
async fn evaluated_before(
    p: &mut Platform,
    j: &mut Province,
    evaluator: &str,
    role: Role,
    year: i32,
) -> anyhow::Result<()> {
    let list = ListEvaluationsRequest {
        subject: j.operator(),
        jurisdiction: j.name(),
        year,
        ..Default::default()
    };
    let found = p
        .evaluation
        .list_evaluations(p.acting(evaluator, &[role], list)?)
        .await?
        .into_inner()
        .evaluations;
    let done = found
        .into_iter()
        .find(|e| e.state == EvaluationState::Completed as i32)
        .ok_or_else(|| anyhow::anyhow!("{year}'s campaign exists but has not completed {}", j.operator()))?;
    j.evaluation = done.name;
    p.note(format!(
        "{}: {} was evaluated for {year} already, in {}",
        j.id,
        j.operator(),
        j.evaluation
    ));
    Ok(())
}

/// The rectification the evaluation ordered, where it did: the operator's plan (整改方案) and report, then the
/// evaluating party verifies it, which re-evaluates (S-YN Art.26 "报评估单位再次评估") and completes the evaluation.
pub async fn rectification(p: &mut Platform, j: &mut Province) -> anyhow::Result<()> {
    if j.rectification_order.is_empty() {
        p.note(format!("{}: no rectification ordered", j.id));
        return Ok(());
    }
    let plan = plan(&j.id);
    let (evaluator, role) = (j.org(plan.evaluator), plan.role);
    let operator = j.operator();
    let get = GetRectificationOrderRequest {
        name: j.rectification_order.clone(),
    };
    let order = p
        .evaluation
        .get_rectification_order(p.acting(&operator, &[Role::Operator], get)?)
        .await?
        .into_inner()
        .rectification_order
        .unwrap_or_default();
    let deadline = order
        .deadline
        .as_ref()
        .and_then(|d| d.due_date.as_ref())
        .and_then(pdop_kit::convert::naive_date)
        .ok_or_else(|| anyhow::anyhow!("{} has no deadline", order.name))?;
    let measures = |text: &str| -> Vec<IssueMeasure> {
        order
            .issues
            .iter()
            .map(|i| IssueMeasure {
                issue_key: i.key.clone(),
                measure: format!("{text}：{}", i.description),
                evidence: doc("整改佐证").into_iter().collect(),
            })
            .collect()
    };
    let submit_plan = SubmitRectificationPlanRequest {
        name: order.name.clone(),
        plan: Some(RectificationPlan {
            measures: measures("整改措施"),
            planned_completion_date: Some(date(deadline)),
            responsible: "运营管理部".into(),
            document: doc("整改方案"),
            ..Default::default()
        }),
        ..Default::default()
    };
    p.evaluation
        .submit_rectification_plan(p.acting(&operator, &[Role::Operator], submit_plan)?)
        .await?;
    let report = SubmitRectificationReportRequest {
        name: order.name.clone(),
        report: Some(RectificationReport {
            actions: measures("已完成"),
            summary: "整改完成".into(),
            document: doc("整改报告"),
            ..Default::default()
        }),
        ..Default::default()
    };
    p.evaluation
        .submit_rectification_report(p.acting(&operator, &[Role::Operator], report)?)
        .await?;
    let verify = VerifyRectificationRequest {
        name: order.name.clone(),
        verification: Some(RectificationVerification {
            outcome: VerificationOutcome::Passed as i32,
            comments: "整改到位，再次评估通过".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let verified = p
        .evaluation
        .verify_rectification(p.acting(&evaluator, &[role], verify)?)
        .await?
        .into_inner();
    let evaluation = verified.evaluation.unwrap_or_default();
    let last = evaluation.final_result.unwrap_or_default();
    anyhow::ensure!(
        evaluation.state == EvaluationState::Completed as i32
            && last.re_evaluation
            && last.grade == EvaluationGrade::Pass as i32,
        "{} is {:?} with final {:?} after the verification",
        evaluation.name,
        EvaluationState::try_from(evaluation.state),
        EvaluationGrade::try_from(last.grade)
    );
    p.note(format!(
        "{}: {} planned, reported and verified by {evaluator} (due {deadline}); {} re-evaluated PASS",
        j.id, order.name, evaluation.name
    ));
    Ok(())
}
