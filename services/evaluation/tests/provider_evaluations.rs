//! Data-provider contribution evaluation (S11, S-HB §四(七)2) and one result graded under two profiles.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::campaigns::{campaign, create, evaluations, published, start};
use common::scoring::{day, score, scores_72_50, scores_req, self_assessment, veto};
use common::systems::{dec, operator_system, pass_fail, pass_fail_rectify};
use common::{date, period};
use pdop_kit::auth::Role;
use pdop_proto::common::OrganizationRole;
use pdop_proto::evaluation::events::v1 as ev;
use pdop_proto::evaluation::v1 as pb;
use pdop_proto::evaluation::v1::{
    EvaluationConsequence as Consequence, EvaluationGrade as Grade, EvaluationState, IndicatorScore,
};
use pdop_testkit::{acting, reason};
use tonic::Code;

#[tokio::test]
async fn hubei_provider_contribution_is_evaluated_by_the_authority_with_its_co_departments() {
    // S11: started Tue 2026-12-01, the self-assessment due Thu 2026-12-31.
    let mut h = common::start_on(day(2026, 12, 1)).await;
    let w = h.world("hubei").await;
    let p2 = w.org("dp2");
    h.organization(&w, &p2, OrganizationRole::DataProvider).await;
    let (ndrc, finance) = (w.org("fagai"), w.org("caizheng"));
    for o in [&ndrc, &finance] {
        h.organization(&w, o, OrganizationRole::Evaluator).await;
    }
    h.until(
        "all providers are known",
        "SELECT count(*) = 2 FROM organizations WHERE id LIKE 'hubei-dp%'",
    )
    .await;
    h.until(
        "the departments are known",
        "SELECT count(*) = 2 FROM organizations WHERE id IN ('hubei-fagai', 'hubei-caizheng')",
    )
    .await;
    let system = common::systems::provider_system(&w);
    let system = published(&mut h, &w.da(), Role::DataAuthority, system).await;
    let c = campaign(
        &system,
        period(date(2026, 1, 1), date(2026, 12, 31)),
        date(2026, 12, 31),
        &[ndrc.clone(), finance],
    );
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
    let found = evaluations(&mut h, w.as_da(list)).await;
    let mut subjects: Vec<_> = found.iter().map(|e| e.subject.clone()).collect();
    subjects.sort();
    assert_eq!(subjects, [w.dp(), p2.clone()]);
    let e2 = found.iter().find(|e| e.subject == p2).unwrap();
    for e in &found {
        let mut sa = self_assessment(&e.name, true);
        sa.self_assessment.as_mut().unwrap().entries.clear();
        h.client
            .submit_self_assessment(acting(&e.subject, &[Role::DataProvider], sa))
            .await
            .unwrap();
    }

    // Before scoring the calculation lists every indicator.
    let calc = pb::CalculateEvaluationResultRequest {
        name: e2.name.clone(),
    };
    let r = h
        .client
        .calculate_evaluation_result(w.as_da(calc.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.missing_indicators.len(), 3);
    // R-EV-02: an evaluator token of P2's own organization never scores P2.
    let own = acting(&p2, &[Role::Evaluator], scores_req(&e2.name, vec![]));
    let err = h.client.record_indicator_scores(own).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let own = acting(&p2, &[Role::Evaluator], scores_req(&e2.name, provider_scores(1)));
    let err = h.client.record_indicator_scores(own).await.unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::PermissionDenied, "OWN_ORGANIZATION")
    );
    // 审核时效: DEDUCTION 10 per missed review deadline; one miss → 90 (inferred).
    let scored = acting(
        &ndrc,
        &[Role::Evaluator],
        scores_req(&e2.name, provider_scores(1)),
    );
    let e2 = h
        .client
        .record_indicator_scores(scored)
        .await
        .unwrap()
        .into_inner()
        .evaluation
        .unwrap();
    let timeliness = e2
        .scores
        .iter()
        .find(|s| s.indicator_key == "review_timeliness_i")
        .unwrap();
    assert_eq!(timeliness.raw_score.clone().unwrap().value, "90");

    // The campaign closes once every evaluation has a result.
    let close = pb::CloseEvaluationCampaignRequest {
        name: c.name.clone(),
        ..Default::default()
    };
    let err = h
        .client
        .close_evaluation_campaign(w.as_da(close.clone()))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "RESULTS_PENDING")
    );
    for e in &found {
        let scored = acting(
            &ndrc,
            &[Role::Evaluator],
            scores_req(&e.name, provider_scores(if e.subject == p2 { 1 } else { 0 })),
        );
        h.client.record_indicator_scores(scored).await.unwrap();
        // S-HB §四(七)2: results are a reference for 项目立项, 试点示范, 优秀案例.
        let complete = pb::CompleteEvaluationRequest {
            name: e.name.clone(),
            summary: "数据贡献评价".into(),
            consequences: vec![Consequence::AssessmentReference as i32],
            ..Default::default()
        };
        let done = h
            .client
            .complete_evaluation(w.as_da(complete))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            EvaluationState::try_from(done.evaluation.unwrap().state).unwrap(),
            EvaluationState::Completed
        );
    }
    let closed = h
        .client
        .close_evaluation_campaign(w.as_da(close))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(closed.evaluation_campaign.unwrap().completed_count, 2);
    let event: ev::EvaluationCampaignClosed = h
        .event("pdop.evaluation.evaluation_campaign.closed", &c.name)
        .await;
    assert_eq!(
        (event.grades, event.grade_counts),
        (vec![Grade::Pass as i32], vec![2])
    );
}

fn provider_scores(misses: i32) -> Vec<IndicatorScore> {
    vec![
        IndicatorScore {
            raw_score: dec("100"),
            comment: "更正及时".into(),
            ..score("data_quality_i")
        },
        IndicatorScore {
            occurrences: misses,
            ..score("review_timeliness_i")
        },
        IndicatorScore {
            met: true,
            ..score("application_i")
        },
    ]
}

/// Scores the one operator of `profile` at 72.50 and returns the grade the calculation gives.
async fn graded_72_50(profile: &'static str, as_evaluator: Role) -> Grade {
    let mut h = common::start_on(day(2026, 1, 5)).await;
    let w = h.world(profile).await;
    let (owner, scheme) = match as_evaluator {
        Role::ImplementingAgency => (w.ia(), pass_fail_rectify()),
        _ => (w.da(), pass_fail()),
    };
    let system = published(&mut h, &owner, as_evaluator, operator_system(&w, scheme)).await;
    let c = campaign(
        &system,
        period(date(2025, 1, 1), date(2025, 12, 31)),
        date(2026, 1, 30),
        &[],
    );
    let c = h
        .client
        .create_evaluation_campaign(acting(&owner, &[as_evaluator], create(c)))
        .await
        .unwrap();
    let c = c.into_inner().evaluation_campaign.unwrap();
    h.client
        .start_evaluation_campaign(acting(&owner, &[as_evaluator], start(&c)))
        .await
        .unwrap();
    let list = pb::ListEvaluationsRequest {
        campaign: c.name.clone(),
        ..Default::default()
    };
    let e = evaluations(&mut h, acting(&owner, &[as_evaluator], list))
        .await
        .remove(0);
    h.client
        .record_indicator_scores(acting(
            &owner,
            &[as_evaluator],
            scores_req(&e.name, scores_72_50()),
        ))
        .await
        .unwrap();
    h.client
        .record_veto_finding(acting(&owner, &[as_evaluator], veto(&e.name, false, "")))
        .await
        .unwrap();
    let calc = pb::CalculateEvaluationResultRequest { name: e.name.clone() };
    let r = h
        .client
        .calculate_evaluation_result(acting(&owner, &[as_evaluator], calc))
        .await
        .unwrap();
    Grade::try_from(r.into_inner().result.unwrap().grade).unwrap()
}

#[tokio::test]
async fn the_same_scores_grade_rectify_in_yunnan_and_pass_in_hubei() {
    // R-EV-07: Yunnan 通过 / 未通过 / 限期整改 (S-YN Art.26, thresholds 80 / 60 inferred); Hubei pass/fail
    // (inferred, PASS ≥60). 72.50 is 限期整改 in Yunnan and 通过 in Hubei.
    assert_eq!(
        graded_72_50("yunnan", Role::ImplementingAgency).await,
        Grade::Rectify
    );
    assert_eq!(graded_72_50("hubei", Role::DataAuthority).await, Grade::Pass);
}
