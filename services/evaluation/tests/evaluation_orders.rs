//! An evaluation's rectification order (S8, S-YN Art.26): issued with a 限期整改 result, due 30 days later rolled to
//! the next working day, and verified as the re-evaluation that completes the evaluation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::campaigns::{campaign, create, evaluations, published, start};
use common::orders::{plan, report, verification};
use common::scoring::{day, scores_72_50, scores_req, self_assessment, veto};
use common::systems::{operator_system, pass_fail_rectify};
use common::{date, period};
use pdop_kit::auth::Role;
use pdop_proto::evaluation::events::v1 as ev;
use pdop_proto::evaluation::v1 as pb;
use pdop_proto::evaluation::v1::{
    Evaluation, EvaluationConsequence as Consequence, EvaluationGrade as Grade, EvaluationState,
    RectificationIssueInput, RectificationOrder, RectificationRequirement, VerificationOutcome,
};
use pdop_testkit::{assert_invalid, reason};
use tonic::Code;

/// A Yunnan operator evaluation scored 72.50 (RECTIFY) on Fri 2026-01-16, ready for its result.
async fn scored_rectify() -> (common::Harness, common::World, Evaluation) {
    let mut h = common::start_on(day(2026, 1, 16)).await;
    let w = h.world("yunnan").await;
    let system = published(
        &mut h,
        &w.ia(),
        Role::ImplementingAgency,
        operator_system(&w, pass_fail_rectify()),
    )
    .await;
    let c = campaign(
        &system,
        period(date(2025, 1, 1), date(2025, 12, 31)),
        date(2026, 1, 30),
        &[w.third()],
    );
    let c = h
        .client
        .create_evaluation_campaign(w.as_ia(create(c)))
        .await
        .unwrap()
        .into_inner();
    let c = c.evaluation_campaign.unwrap();
    h.client
        .start_evaluation_campaign(w.as_ia(start(&c)))
        .await
        .unwrap();
    let list = pb::ListEvaluationsRequest {
        campaign: c.name.clone(),
        ..Default::default()
    };
    let e = evaluations(&mut h, w.as_ia(list)).await.remove(0);
    h.client
        .submit_self_assessment(w.as_operator(self_assessment(&e.name, true)))
        .await
        .unwrap();
    h.client
        .record_indicator_scores(w.as_third(scores_req(&e.name, scores_72_50())))
        .await
        .unwrap();
    h.client
        .record_veto_finding(w.as_third(veto(&e.name, false, "")))
        .await
        .unwrap();
    (h, w, e)
}

fn complete_with_order(e: &Evaluation) -> pb::CompleteEvaluationRequest {
    pb::CompleteEvaluationRequest {
        name: e.name.clone(),
        summary: "运营成效未达标，限期整改".into(),
        rectification: Some(RectificationRequirement {
            issues: vec![RectificationIssueInput {
                description: "上架产品不足".into(),
                indicator_key: "products_listed".into(),
                required_action: "完善产品供给".into(),
            }],
            due_date: None,
        }),
        ..Default::default()
    }
}

async fn order_of(h: &mut common::Harness, w: &common::World, e: &Evaluation) -> RectificationOrder {
    let list = pb::ListRectificationOrdersRequest {
        evaluation: e.name.clone(),
        ..Default::default()
    };
    let found = h
        .client
        .list_rectification_orders(w.as_operator(list))
        .await
        .unwrap()
        .into_inner();
    found.rectification_orders.into_iter().next().unwrap()
}

#[tokio::test]
async fn a_yunnan_rectify_result_orders_rectification_and_a_passing_verification_completes_it_as_pass() {
    let (mut h, w, e) = scored_rectify().await;
    let done = h
        .client
        .complete_evaluation(w.as_ia(complete_with_order(&e)))
        .await
        .unwrap()
        .into_inner();
    let done = done.evaluation.unwrap();
    assert_eq!(
        EvaluationState::try_from(done.state).unwrap(),
        EvaluationState::Rectifying
    );
    let o = order_of(&mut h, &w, &e).await;
    assert_eq!(done.rectification_order, o.name);
    // D23, S-YN Art.26: 30 CD from Fri 01-16 is Sun 02-15, a Spring Festival holiday → Tue 2026-02-24.
    let deadline = o.deadline.clone().unwrap();
    assert_eq!(deadline.due_date, Some(date(2026, 2, 24)));
    assert!(deadline.source.unwrap().source_id.contains("S-YN Art.26"));
    assert_eq!(o.issuing_organization, w.ia());
    let completed: ev::EvaluationCompleted = h.event("pdop.evaluation.evaluation.completed", &e.name).await;
    assert_eq!(Grade::try_from(completed.grade).unwrap(), Grade::Rectify);
    assert!(completed.rectification_pending && !completed.re_evaluation);
    assert_eq!(completed.rectification_order, o.name);
    assert_eq!(
        h.events("pdop.evaluation.rectification_order.issued", &o.name)
            .await,
        1
    );

    // A plan completing after the deadline is refused; one by 02-10 is accepted.
    let err = h
        .client
        .submit_rectification_plan(w.as_operator(plan(&o, date(2026, 2, 25))))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let o = h
        .client
        .submit_rectification_plan(w.as_operator(plan(&o, date(2026, 2, 10))))
        .await
        .unwrap();
    let o = o.into_inner().rectification_order.unwrap();
    h.advance_days(39); // Tue 02-24, the last day
    let o = h
        .client
        .submit_rectification_report(w.as_operator(report(&o)))
        .await
        .unwrap();
    let o = o.into_inner().rectification_order.unwrap();
    assert!(!o.reports[0].late);
    // The third-party evaluator re-evaluates (报评估单位再次评估).
    let verified = h
        .client
        .verify_rectification(w.as_third(verification(&o, VerificationOutcome::Passed)))
        .await
        .unwrap()
        .into_inner();
    let e = verified.evaluation.unwrap();
    assert_eq!(
        EvaluationState::try_from(e.state).unwrap(),
        EvaluationState::Completed
    );
    let last = e.final_result.unwrap();
    assert_eq!(Grade::try_from(last.grade).unwrap(), Grade::Pass);
    assert!(last.re_evaluation);
    assert_eq!(e.result.unwrap().total_score.unwrap().value, "72.50");
    assert_eq!(h.events("pdop.evaluation.evaluation.completed", &e.name).await, 2);
}

#[tokio::test]
async fn a_failed_re_evaluation_is_final_with_its_consequences() {
    let (mut h, w, e) = scored_rectify().await;
    // Without the rectification a 限期整改 result is refused; a due date past the profile's 30 days too.
    let mut without = complete_with_order(&e);
    without.rectification = None;
    let err = h.client.complete_evaluation(w.as_ia(without)).await.unwrap_err();
    assert_invalid(&err, &["rectification"]);
    let mut late = complete_with_order(&e);
    late.rectification.as_mut().unwrap().due_date = Some(date(2026, 3, 31));
    let err = h.client.complete_evaluation(w.as_ia(late)).await.unwrap_err();
    assert_invalid(&err, &["rectification.due_date"]);
    h.client
        .complete_evaluation(w.as_ia(complete_with_order(&e)))
        .await
        .unwrap();
    let o = order_of(&mut h, &w, &e).await;
    let o = h
        .client
        .submit_rectification_plan(w.as_operator(plan(&o, date(2026, 2, 10))))
        .await
        .unwrap();
    let o = o.into_inner().rectification_order.unwrap();
    h.advance_days(40); // Wed 02-25: late, and the overdue sweep may change the order meanwhile
    let mut late = report(&o);
    late.etag.clear();
    let o = h
        .client
        .submit_rectification_report(w.as_operator(late))
        .await
        .unwrap();
    let o = o.into_inner().rectification_order.unwrap();
    assert!(o.reports[0].late);
    // The overdue sweep of 02-25 may have changed the order since the report: verify it as it is now.
    let mut failed = verification(&o, VerificationOutcome::Failed);
    failed.etag.clear();
    failed.verification.as_mut().unwrap().consequences = vec![Consequence::TerminationRecommended as i32];
    let verified = h
        .client
        .verify_rectification(w.as_ia(failed))
        .await
        .unwrap()
        .into_inner();
    let e = verified.evaluation.unwrap();
    let last = e.final_result.unwrap();
    assert_eq!(Grade::try_from(last.grade).unwrap(), Grade::Fail);
    assert_eq!(last.consequences, [Consequence::TerminationRecommended as i32]);
    let order = verified.rectification_order.unwrap();
    // Evaluation orders are final at the first verification (§3.6, inferred).
    let err = h
        .client
        .submit_rectification_report(w.as_operator(report(&order)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "ORDER_FINAL")
    );
}
