//! Campaigns and evaluations (§3.3, §3.4) over gRPC: who is evaluated, the self-assessment, scores and vetoes,
//! the result graded per profile, closing a campaign.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::scoring::{day, score, scores_72_50, scores_req, self_assessment, veto};

use common::campaigns::{campaign, create, evaluations, published, start};
use common::systems::{dec, operator_system, pass_fail, pass_fail_rectify};
use common::{date, period};
use pdop_kit::auth::Role;
use pdop_proto::common::OrganizationRole;
use pdop_proto::evaluation::events::v1 as ev;
use pdop_proto::evaluation::v1 as pb;
use pdop_proto::evaluation::v1::{
    EvaluationCampaignState, EvaluationConsequence as Consequence, EvaluationGrade as Grade, EvaluationState,
    IndicatorScore,
};
use pdop_proto::registry::events::v1::SecurityIncidentRecorded;
use pdop_proto::registry::v1::IncidentSeverity;
use pdop_testkit::{acting, assert_invalid, reason};
use prost::Message;
use tonic::Code;

#[tokio::test]
async fn yunnan_evaluates_every_operator_active_in_2025_and_grades_72_50_rectify() {
    // S8: campaign by the implementing agency, started Mon 2026-01-05.
    let mut h = common::start_on(day(2026, 1, 5)).await;
    let w = h.world("yunnan").await;
    let late_op = w.org("op2");
    h.organization(&w, &late_op, OrganizationRole::Operator).await;
    // An operator whose agreement starts in 2026 is not evaluated for 2025.
    h.agreement(
        &w,
        "agreements/yunnan-a2",
        &late_op,
        period(date(2026, 3, 1), date(2030, 2, 28)),
        "a-y2",
    )
    .await;
    h.until(
        "a2 is known",
        "SELECT EXISTS (SELECT 1 FROM agreements WHERE id = 'yunnan-a2')",
    )
    .await;
    let system = published(
        &mut h,
        &w.ia(),
        Role::ImplementingAgency,
        operator_system(&w, pass_fail_rectify()),
    )
    .await;

    let covered = period(date(2025, 1, 1), date(2025, 12, 31));
    let c = campaign(&system, covered, date(2026, 1, 30), &[w.op()]);
    let c = h
        .client
        .create_evaluation_campaign(w.as_ia(create(c)))
        .await
        .unwrap()
        .into_inner();
    let c = c.evaluation_campaign.unwrap();
    // R-EV-02: an evaluator that is also a subject blocks the start.
    let err = h
        .client
        .start_evaluation_campaign(w.as_ia(start(&c)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "EVALUATOR_IS_SUBJECT")
    );
    let fix = pb::UpdateEvaluationCampaignRequest {
        evaluation_campaign: Some(pb::EvaluationCampaign {
            name: c.name.clone(),
            evaluators: vec![w.third()],
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["evaluators".into()],
        }),
        etag: String::new(),
    };
    h.client.update_evaluation_campaign(w.as_ia(fix)).await.unwrap();
    let started = h
        .client
        .start_evaluation_campaign(w.as_ia(start(&c)))
        .await
        .unwrap()
        .into_inner();
    let started = started.evaluation_campaign.unwrap();
    assert_eq!(
        EvaluationCampaignState::try_from(started.state).unwrap(),
        EvaluationCampaignState::InProgress
    );
    assert_eq!(started.subjects, [w.op()]);
    // R-EV-02 while the campaign runs: a subject never joins its evaluators.
    let join = pb::UpdateEvaluationCampaignRequest {
        evaluation_campaign: Some(pb::EvaluationCampaign {
            name: c.name.clone(),
            evaluators: vec![w.third(), w.op()],
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["evaluators".into()],
        }),
        etag: String::new(),
    };
    let err = h
        .client
        .update_evaluation_campaign(w.as_ia(join))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "EVALUATOR_IS_SUBJECT");
    let list = pb::ListEvaluationsRequest {
        campaign: c.name.clone(),
        ..Default::default()
    };
    let found = evaluations(&mut h, w.as_ia(list)).await;
    assert_eq!(found.len(), 1);
    let e = &found[0];
    assert_eq!(
        (e.subject.as_str(), e.agreement.as_str()),
        (w.op().as_str(), w.agreement().as_str())
    );
    assert_eq!(
        EvaluationState::try_from(e.state).unwrap(),
        EvaluationState::DataCollection
    );
    assert!(e.evaluators[0].third_party);
    let deadline = e.self_assessment_deadline.clone().unwrap();
    assert_eq!(deadline.due_date, Some(date(2026, 1, 30)));
    assert!(!deadline.provisional);
    assert_eq!(h.events("pdop.evaluation.evaluation.started", &e.name).await, 1);
    let started: ev::EvaluationCampaignStarted = h
        .event("pdop.evaluation.evaluation_campaign.started", &c.name)
        .await;
    assert_eq!(started.subjects[0].display_name, "yunnan-op 名称");

    // R-EV-06: the declaration is required.
    let err = h
        .client
        .submit_self_assessment(w.as_operator(self_assessment(&e.name, false)))
        .await
        .unwrap_err();
    assert_invalid(&err, &["self_assessment.truthfulness_declared"]);
    let err = h
        .client
        .submit_self_assessment(w.as_ia(self_assessment(&e.name, true)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    h.advance_days(4); // Fri 01-09
    let e = h
        .client
        .submit_self_assessment(w.as_operator(self_assessment(&e.name, true)))
        .await
        .unwrap();
    let e = e.into_inner().evaluation.unwrap();
    assert_eq!(
        EvaluationState::try_from(e.state).unwrap(),
        EvaluationState::Scoring
    );
    assert!(!e.self_assessment.unwrap().late);

    // The subject scores nothing of its own; a score below its self-score states why (inferred).
    let err = h
        .client
        .record_indicator_scores(w.as_operator(scores_req(&e.name, scores_72_50())))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let mut silent = scores_72_50();
    silent[0].comment.clear();
    let err = h
        .client
        .record_indicator_scores(w.as_third(scores_req(&e.name, silent)))
        .await
        .unwrap_err();
    assert_invalid(&err, &["scores[0].comment", "scores[0].comment"]);
    h.client
        .record_indicator_scores(w.as_third(scores_req(&e.name, scores_72_50())))
        .await
        .unwrap();

    // CalculateEvaluationResult lists the veto item still to be found; then 72.50 → RECTIFY (PASS ≥80, RECTIFY ≥60).
    let calc = pb::CalculateEvaluationResultRequest { name: e.name.clone() };
    let r = h
        .client
        .calculate_evaluation_result(w.as_third(calc.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.missing_veto_findings, ["major_incident"]);
    assert!(r.missing_indicators.is_empty());
    let result = r.result.unwrap();
    assert_eq!(result.total_score.unwrap().value, "72.50");
    assert_eq!(Grade::try_from(result.grade).unwrap(), Grade::Rectify);
    assert!(
        result
            .calculation_steps
            .iter()
            .any(|s| s.contains("75 / 100 × 1 × 0.5 × 100 = 37.5")),
        "{:?}",
        result.calculation_steps
    );
    h.client
        .record_veto_finding(w.as_third(veto(&e.name, false, "")))
        .await
        .unwrap();

    // S-YN Art.26: RECTIFY needs a rectification (限期整改).
    let complete = pb::CompleteEvaluationRequest {
        name: e.name.clone(),
        summary: "需限期整改".into(),
        ..Default::default()
    };
    let err = h.client.complete_evaluation(w.as_ia(complete)).await.unwrap_err();
    assert_invalid(&err, &["rectification"]);
}

#[tokio::test]
async fn henan_veto_gives_fail_whatever_the_score_and_recommends_suspension() {
    // S9: the 2025 campaign of the data authority, the self-assessment due Fri 2026-02-27.
    let mut h = common::start_on(day(2026, 1, 5)).await;
    let w = h.world("henan").await;
    // The registry records a MAJOR incident of O dated 2025-11-20: SECURITY_INCIDENT evidence.
    let incident = SecurityIncidentRecorded {
        organization: Some(common::org_ref(&w.op(), OrganizationRole::Operator)),
        jurisdiction: Some(pdop_proto::common::JurisdictionRef {
            name: w.jurisdiction(),
            ..Default::default()
        }),
        occur_date: Some(date(2025, 11, 20)),
        severity: IncidentSeverity::Major as i32,
        description: "数据泄露".into(),
        ..Default::default()
    };
    h.publish(
        "pdop.registry.organization.incident_recorded",
        "incident-1",
        incident.encode_to_vec(),
    )
    .await;
    h.until(
        "the incident is evidence",
        "SELECT count(*) = 1 FROM evidence_records",
    )
    .await;
    let system = published(
        &mut h,
        &w.da(),
        Role::DataAuthority,
        operator_system(&w, pass_fail()),
    )
    .await;
    let covered = period(date(2025, 1, 1), date(2025, 12, 31));
    let c = campaign(&system, covered, date(2026, 2, 27), &[]);
    let c = h
        .client
        .create_evaluation_campaign(w.as_da(create(c)))
        .await
        .unwrap()
        .into_inner();
    let c = c.evaluation_campaign.unwrap();
    // One annual campaign per year (inferred).
    let again = campaign(&system, covered, date(2026, 2, 27), &[]);
    let err = h
        .client
        .create_evaluation_campaign(w.as_da(create(again)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "CAMPAIGN_EXISTS")
    );
    h.client
        .start_evaluation_campaign(w.as_da(start(&c)))
        .await
        .unwrap();
    let list = pb::ListEvaluationsRequest {
        subject: w.op(),
        ..Default::default()
    };
    let e = evaluations(&mut h, w.as_operator(list)).await.remove(0);
    // O submits nothing: on Sat 02-28 data collection ends without a self-assessment (R-EV-06: no automatic veto).
    h.advance_days(54);
    h.until(
        "scoring opens on 02-28",
        &format!(
            "SELECT state = 3 FROM evaluations WHERE id = '{}'",
            e.name.trim_start_matches("evaluations/")
        ),
    )
    .await;

    // Scores total 91.00: outcomes 92 (46) + 25 products → 100 (25) + 2 misses → 80 (20).
    let scores = vec![
        IndicatorScore {
            raw_score: dec("92"),
            comment: "良好".into(),
            ..score("outcomes")
        },
        IndicatorScore {
            measured_value: dec("25"),
            ..score("products_listed")
        },
        IndicatorScore {
            occurrences: 2,
            ..score("deadlines_missed")
        },
    ];
    h.client
        .record_indicator_scores(w.as_da(scores_req(&e.name, scores)))
        .await
        .unwrap();
    // The incident of the covered period is linked and listed as a veto candidate, not triggered by itself.
    assert_eq!(e.evidence_records.len(), 1);
    let calc = pb::CalculateEvaluationResultRequest { name: e.name.clone() };
    let r = h
        .client
        .calculate_evaluation_result(w.as_da(calc))
        .await
        .unwrap()
        .into_inner();
    let steps = r.result.unwrap().calculation_steps;
    assert!(
        steps
            .iter()
            .any(|s| s.contains("veto candidate MAJOR_SECURITY_INCIDENT") && s.contains("2025-11-20")),
        "{steps:?}"
    );
    assert!(
        steps
            .iter()
            .any(|s| s.contains("veto candidate REFUSAL_OR_CONCEALMENT")),
        "{steps:?}"
    );
    assert_eq!(r.missing_veto_findings, ["major_incident"]);
    // S-HN Art.22: 评价发现重大安全风险. A triggered veto states its facts.
    let err = h
        .client
        .record_veto_finding(w.as_da(veto(&e.name, true, "")))
        .await
        .unwrap_err();
    assert_invalid(&err, &["finding.facts"]);
    let mut found = veto(&e.name, true, "2025-11-20 重大数据安全事件");
    found.finding.as_mut().unwrap().evidence_records = e.evidence_records.clone();
    h.client.record_veto_finding(w.as_da(found)).await.unwrap();
    assert_eq!(
        h.events("pdop.evaluation.evaluation.veto_triggered", &e.name)
            .await,
        1
    );
    // Recording the same triggered finding again (more evidence) announces nothing new.
    let mut again = veto(&e.name, true, "2025-11-20 重大数据安全事件（补充）");
    again.finding.as_mut().unwrap().evidence_records = e.evidence_records.clone();
    h.client.record_veto_finding(w.as_da(again)).await.unwrap();
    assert_eq!(
        h.events("pdop.evaluation.evaluation.veto_triggered", &e.name)
            .await,
        1
    );
    // §3.4: a self-assessment after the date is accepted and marked late, once.
    let late = h
        .client
        .submit_self_assessment(w.as_operator(self_assessment(&e.name, true)))
        .await
        .unwrap();
    assert!(
        late.into_inner()
            .evaluation
            .unwrap()
            .self_assessment
            .unwrap()
            .late
    );
    let err = h
        .client
        .submit_self_assessment(w.as_operator(self_assessment(&e.name, true)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "WRONG_STATE");
    let calc = pb::CalculateEvaluationResultRequest { name: e.name.clone() };
    let r = h
        .client
        .calculate_evaluation_result(w.as_da(calc))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    assert_eq!(r.total_score.unwrap().value, "91.00");
    assert!(r.vetoed);
    assert_eq!(Grade::try_from(r.grade).unwrap(), Grade::Fail);

    // An override to PASS is refused (VETO_OVERRIDE, inferred).
    let mut complete = pb::CompleteEvaluationRequest {
        name: e.name.clone(),
        grade: Grade::Pass as i32,
        override_reason: "整改已完成".into(),
        summary: "评价发现重大安全风险".into(),
        consequences: vec![Consequence::PrincipalInterview as i32],
        ..Default::default()
    };
    let err = h
        .client
        .complete_evaluation(w.as_da(complete.clone()))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "VETO_OVERRIDE")
    );
    // The subject never completes its own evaluation.
    complete.grade = 0;
    complete.override_reason.clear();
    let err = h
        .client
        .complete_evaluation(w.as_operator(complete.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let done = h
        .client
        .complete_evaluation(w.as_da(complete))
        .await
        .unwrap()
        .into_inner()
        .evaluation
        .unwrap();
    assert_eq!(
        EvaluationState::try_from(done.state).unwrap(),
        EvaluationState::Completed
    );
    let completed: ev::EvaluationCompleted = h.event("pdop.evaluation.evaluation.completed", &e.name).await;
    assert_eq!(Grade::try_from(completed.grade).unwrap(), Grade::Fail);
    assert!(completed.vetoed && !completed.rectification_pending && !completed.grade_overridden);
    // S-HN Art.22 makes suspension mandatory on a veto: the record says so (§3.4).
    assert_eq!(
        completed.consequences,
        [
            Consequence::PrincipalInterview as i32,
            Consequence::SuspensionRecommended as i32
        ]
    );
    assert_eq!(
        completed.evaluation.unwrap().subject.unwrap().display_name,
        "henan-op 名称"
    );
}

#[tokio::test]
async fn campaigns_into_2027_are_provisional_and_recused_evaluators_stop_acting() {
    let mut h = common::start_on(day(2026, 12, 7)).await;
    let w = h.world("henan").await;
    let system = published(
        &mut h,
        &w.da(),
        Role::DataAuthority,
        operator_system(&w, pass_fail()),
    )
    .await;
    // A developer runs no campaign (policy), and a campaign needs its dates in order.
    let c = campaign(
        &system,
        period(date(2026, 1, 1), date(2026, 12, 31)),
        date(2027, 1, 15),
        &[w.third()],
    );
    let err = h
        .client
        .create_evaluation_campaign(w.as_dev(create(c.clone())))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // §3.3: a listed subject must be of the campaign's kind, active in its jurisdiction and period.
    let mut provider = campaign(
        &system,
        period(date(2024, 1, 1), date(2024, 12, 31)),
        date(2026, 12, 31),
        &[],
    );
    provider.year = 2024;
    provider.subjects = vec![w.dp()];
    let provider = h
        .client
        .create_evaluation_campaign(w.as_da(create(provider)))
        .await
        .unwrap();
    let provider = provider.into_inner().evaluation_campaign.unwrap();
    let err = h
        .client
        .start_evaluation_campaign(w.as_da(start(&provider)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "SUBJECT_OUT_OF_SCOPE")
    );
    let mut twice = c.clone();
    twice.subjects = vec![w.op(), w.op()];
    let err = h
        .client
        .create_evaluation_campaign(w.as_da(create(twice)))
        .await
        .unwrap_err();
    assert_invalid(&err, &["evaluation_campaign.subjects[1]"]);
    let mut backwards = c.clone();
    backwards.result_due_date = Some(date(2027, 1, 1));
    let err = h
        .client
        .create_evaluation_campaign(w.as_da(create(backwards)))
        .await
        .unwrap_err();
    assert_invalid(&err, &["evaluation_campaign.result_due_date"]);
    let c = h
        .client
        .create_evaluation_campaign(w.as_da(create(c)))
        .await
        .unwrap()
        .into_inner();
    let c = c.evaluation_campaign.unwrap();
    h.client
        .start_evaluation_campaign(w.as_da(start(&c)))
        .await
        .unwrap();
    let list = pb::ListEvaluationsRequest {
        campaign: c.name.clone(),
        ..Default::default()
    };
    let e = evaluations(&mut h, w.as_da(list)).await.remove(0);
    // R-EV-10: past the loaded calendar (2026) the deadline is provisional.
    assert!(e.self_assessment_deadline.unwrap().provisional);
    // A non-party reads nothing of it.
    let get = pb::GetEvaluationRequest { name: e.name.clone() };
    let err = h
        .client
        .get_evaluation(acting("organizations/stranger", &[Role::Operator], get))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // R-EV-02: once recused, an evaluator no longer scores.
    let recuse = pb::RecuseEvaluatorRequest {
        name: e.name.clone(),
        organization: w.third(),
        reason: "与运营机构存在关联关系".into(),
        ..Default::default()
    };
    h.client
        .recuse_evaluator(w.as_third(recuse.clone()))
        .await
        .unwrap();
    let err = h.client.recuse_evaluator(w.as_third(recuse)).await.unwrap_err();
    assert_eq!(reason(&err), "EVALUATOR_RECUSED");
    let err = h
        .client
        .record_indicator_scores(w.as_third(scores_req(&e.name, scores_72_50())))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::PermissionDenied, "EVALUATOR_RECUSED")
    );
}
