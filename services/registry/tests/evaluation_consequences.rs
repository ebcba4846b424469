//! The registry carries out the evaluation consequences a seed makes mandatory and tracks the others as
//! obligations (REVIEW-EVALUATION §3.8), consuming the evaluation service's events as its relay publishes them:
//! scenarios S9 (Henan), S12 (Zhengzhou) and the registry's part of S8 (Yunnan).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::agreements::*;
use common::evaluation::*;
use common::*;
use pdop_kit::auth::Role;
use pdop_proto::evaluation::events::v1::{
    EvaluationCompleted, RectificationOrdered, RectificationOverdue, RectificationVerified,
};
use pdop_proto::evaluation::v1::{
    EvaluationConsequence, EvaluationGrade, EvaluationSubjectKind, RectificationSource, VerificationOutcome,
};
use pdop_proto::registry::events::v1::AgreementSuspended;
use pdop_proto::registry::v1::*;
use prost::Message;
use tonic::Code;

const COMPLETED: &str = "pdop.evaluation.evaluation.completed";
const ISSUED: &str = "pdop.evaluation.rectification_order.issued";
const VERIFIED: &str = "pdop.evaluation.rectification_order.verified";
const OVERDUE: &str = "pdop.evaluation.rectification_order.overdue";

fn result(
    evaluation: &str,
    agreement: &str,
    grade: EvaluationGrade,
    consequences: &[EvaluationConsequence],
) -> EvaluationCompleted {
    EvaluationCompleted {
        evaluation: operator_evaluation(evaluation, agreement),
        grade: grade as i32,
        consequences: consequences.iter().map(|c| *c as i32).collect(),
        ..Default::default()
    }
}

fn verified(
    order_name: &str,
    source: RectificationSource,
    agreement: &str,
    outcome: VerificationOutcome,
) -> RectificationVerified {
    RectificationVerified {
        order: order(order_name, source, agreement, on(2026, 6, 30)),
        outcome: outcome as i32,
        ..Default::default()
    }
}

/// A result that asks nothing of the registry, published after another event on the results durable so that its
/// consumption shows the earlier one was handled.
async fn marker(h: &Harness, id: &str) {
    let nothing = EvaluationCompleted {
        evaluation: Some(pdop_proto::evaluation::events::v1::EvaluationSummary {
            name: "evaluations/provider".into(),
            subject_kind: EvaluationSubjectKind::DataProvider as i32,
            ..Default::default()
        }),
        ..Default::default()
    };
    publish(h, COMPLETED, id, at(2026, 3, 11), nothing.encode_to_vec()).await;
}

// S9; S-HN Art.22 "评价发现重大安全风险…的，应当暂停": a vetoed result suspends the operator's agreement at once, even
// while rectification is pending, under the consumer's service account; the principal interview (必要时约谈主要负责人)
// opens a follow-up for the Henan data authority, due 20 WD (inferred) after 2026-03-10 = 2026-04-08 (Qingming
// 04-04…06 not counted). A redelivery changes nothing.
#[tokio::test]
async fn a_henan_veto_suspends_at_once_and_opens_the_interview_follow_up() {
    let (mut h, a) = world_in(on(2026, 1, 5), "henan", "henan").await;
    let mut vetoed = result(
        "evaluations/e-veto",
        &a.name,
        EvaluationGrade::Fail,
        &[
            EvaluationConsequence::PrincipalInterview,
            EvaluationConsequence::SuspensionRecommended,
        ],
    );
    vetoed.vetoed = true;
    vetoed.rectification_pending = true;
    let payload = vetoed.encode_to_vec();
    publish(&h, COMPLETED, "ev-veto", at(2026, 3, 10), payload.clone()).await;

    let suspended = get(&mut h, &a.name).await;
    assert_eq!(suspended.state, AgreementState::Suspended as i32);
    let reason = "评价发现重大安全风险 evaluations/e-veto (S-HN Art.22)";
    assert_eq!(suspended.suspension_reason, reason);
    assert_eq!(suspended.suspension_ground, "evaluations/e-veto");
    let events = h.events("pdop.registry.agreement.suspended").await;
    assert_eq!(events.len(), 1);
    let event = AgreementSuspended::decode(events[0].as_slice()).unwrap();
    assert_eq!(event.reason, reason);
    let actor = event.actor.unwrap();
    assert_eq!(actor.subject, "service:registry-evaluation-consumer");

    let d = open_follow_up(&mut h, &a.name).await;
    assert_eq!(due_of(&d), on(2026, 4, 8));
    assert_eq!(d.responsible_organization, PROVINCE_AUTHORITY);
    assert_eq!(d.jurisdiction, "jurisdictions/henan");
    let ground = d.ground.clone().unwrap();
    assert_eq!(ground.source, "evaluations/e-veto");
    // The suspension was carried out: only the interview is left to decide.
    assert_eq!(
        ground.consequences,
        ["EVALUATION_CONSEQUENCE_PRINCIPAL_INTERVIEW"]
    );
    assert!(
        ground.description.contains("约谈主要负责人"),
        "{}",
        ground.description
    );

    // A redelivery JetStream cannot drop (same ce-id, another Nats-Msg-Id) is a no-op: the inbox holds its id.
    publish_with_msg_id(
        &h,
        COMPLETED,
        "ev-veto",
        "ev-veto-again",
        at(2026, 3, 10),
        payload,
    )
    .await;
    marker(&h, "after-veto").await;
    assert_eq!(suspension_reasons(&h).await.len(), 1);
    assert_eq!(follow_ups(&mut h, &a.name).await.len(), 1, "no second obligation");
}

// S9 variants; S-HN Art.22: a FAIL suspends only once final (no rectification pending; by score alone inferred);
// an evaluation's order not rectified in time (未按期整改到位) suspends; a Henan suspension is lifted only by a person
// (inferred), so the order's late passing verification leaves it suspended.
#[tokio::test]
async fn a_henan_final_fail_and_an_overdue_order_suspend_until_a_person_resumes() {
    let (mut h, a) = world_in(on(2026, 1, 5), "henan", "henan").await;
    let mut pending = result("evaluations/e1", &a.name, EvaluationGrade::Fail, &[]);
    pending.rectification_pending = true;
    publish(
        &h,
        COMPLETED,
        "ev-pending",
        at(2026, 3, 10),
        pending.encode_to_vec(),
    )
    .await;
    assert_eq!(get(&mut h, &a.name).await.state, AgreementState::Active as i32);
    assert!(follow_ups(&mut h, &a.name).await.is_empty());

    let mut final_fail = result("evaluations/e1", &a.name, EvaluationGrade::Fail, &[]);
    final_fail.re_evaluation = true;
    publish(
        &h,
        COMPLETED,
        "ev-final",
        at(2026, 5, 6),
        final_fail.encode_to_vec(),
    )
    .await;
    let suspended = get(&mut h, &a.name).await;
    assert_eq!(suspended.state, AgreementState::Suspended as i32);
    assert_eq!(suspended.suspension_reason, "评价未通过 evaluations/e1");
    resume(&mut h, &a.name).await.unwrap();
    assert_eq!(get(&mut h, &a.name).await.suspension_ground, "");

    // S9: PASS with a rectification due 04-30 and no passing verification → RectificationOverdue on Fri 2026-05-01.
    let overdue = RectificationOverdue {
        order: order(
            "rectificationOrders/r-late",
            RectificationSource::Evaluation,
            &a.name,
            on(2026, 4, 30),
        ),
        ..Default::default()
    };
    publish(&h, OVERDUE, "ov-late", at(2026, 5, 1), overdue.encode_to_vec()).await;
    let suspended = get(&mut h, &a.name).await;
    assert_eq!(suspended.state, AgreementState::Suspended as i32);
    assert_eq!(
        suspended.suspension_reason,
        "未按期整改到位 rectificationOrders/r-late"
    );
    // Henan has no termination ground for unrectified orders: no obligation.
    assert!(follow_ups(&mut h, &a.name).await.is_empty());

    let late_pass = verified(
        "rectificationOrders/r-late",
        RectificationSource::Evaluation,
        &a.name,
        VerificationOutcome::Passed,
    );
    publish(&h, VERIFIED, "vf-late", at(2026, 5, 8), late_pass.encode_to_vec()).await;
    assert_eq!(get(&mut h, &a.name).await.state, AgreementState::Suspended as i32);
    assert!(
        h.events("pdop.registry.agreement.resumed").await.len() == 1,
        "only the person's resumption"
    );
    resume(&mut h, &a.name).await.unwrap();
    assert_eq!(get(&mut h, &a.name).await.state, AgreementState::Active as i32);
}

fn breach_order(name: &str, agreement: &str) -> RectificationOrdered {
    RectificationOrdered {
        order: order(
            name,
            RectificationSource::AgreementBreach,
            agreement,
            on(2026, 6, 30),
        ),
        issues: vec!["超出授权范围使用数据".into()],
        access_suspended: true,
        ..Default::default()
    }
}

// S12; S-ZZ Art.28 "应当责令其限期整改，并暂时停止公共数据使用权限": a breach order suspends data access while it
// runs, and its passing verification resumes the agreement (inferred, "暂时停止"); a suspension a person made is not
// lifted by an order's verification.
#[tokio::test]
async fn a_zhengzhou_breach_order_suspends_access_until_it_is_verified() {
    let (mut h, a) = world_in(on(2026, 5, 4), "zhengzhou", "zhengzhou").await;
    let ordered = breach_order("rectificationOrders/r-zz", &a.name);
    publish(&h, ISSUED, "is-zz", at(2026, 6, 1), ordered.encode_to_vec()).await;
    let suspended = get(&mut h, &a.name).await;
    assert_eq!(suspended.state, AgreementState::Suspended as i32);
    assert_eq!(
        suspended.suspension_reason,
        "限期整改期间暂停公共数据使用权限 rectificationOrders/r-zz (S-ZZ Art.28)"
    );
    assert_eq!(suspended.suspension_ground, "rectificationOrders/r-zz");

    let passed = verified(
        "rectificationOrders/r-zz",
        RectificationSource::AgreementBreach,
        &a.name,
        VerificationOutcome::Passed,
    );
    publish(&h, VERIFIED, "vf-zz", at(2026, 6, 29), passed.encode_to_vec()).await;
    let resumed = get(&mut h, &a.name).await;
    assert_eq!(resumed.state, AgreementState::Active as i32);
    assert_eq!(resumed.suspension_ground, "");
    assert_eq!(h.events("pdop.registry.agreement.resumed").await.len(), 1);

    // A person suspends; the order's verification (a redelivery with a new id, say) leaves that suspension alone.
    suspend(&mut h, &a.name).await.unwrap();
    publish(
        &h,
        VERIFIED,
        "vf-zz-again",
        at(2026, 6, 29),
        passed.encode_to_vec(),
    )
    .await;
    let still = get(&mut h, &a.name).await;
    assert_eq!(still.state, AgreementState::Suspended as i32);
    assert_eq!(still.suspension_reason, "监督检查发现违规");
    assert_eq!(h.events("pdop.registry.agreement.resumed").await.len(), 1);
}

// S12 variant; S-ZZ Art.28 "未按照要求整改的，可解除运营授权": the order overdue on Wed 2026-07-01 leaves the agreement
// suspended and opens a follow-up for the data authority, due 20 WD (inferred) later = 2026-07-29; terminating the
// agreement meets it.
#[tokio::test]
async fn a_zhengzhou_overdue_breach_order_is_followed_up_until_terminated() {
    let (mut h, a) = world_in(on(2026, 5, 4), "zhengzhou", "zhengzhou").await;
    let ordered = breach_order("rectificationOrders/r-zz", &a.name);
    publish(&h, ISSUED, "is-zz", at(2026, 6, 1), ordered.encode_to_vec()).await;
    let overdue = RectificationOverdue {
        order: ordered.order.clone(),
        ..Default::default()
    };
    publish(&h, OVERDUE, "ov-zz", at(2026, 7, 1), overdue.encode_to_vec()).await;
    assert_eq!(get(&mut h, &a.name).await.state, AgreementState::Suspended as i32);
    assert_eq!(suspension_reasons(&h).await.len(), 1);
    let d = open_follow_up(&mut h, &a.name).await;
    assert_eq!(due_of(&d), on(2026, 7, 29));
    assert_eq!(d.responsible_organization, PROVINCE_AUTHORITY);
    let ground = d.ground.unwrap();
    assert_eq!(ground.source, "rectificationOrders/r-zz");
    assert!(
        ground.description.contains("可解除运营授权"),
        "{}",
        ground.description
    );
    assert!(
        ground.description.contains("S-ZZ Art.28"),
        "{}",
        ground.description
    );

    let terminate = TerminateAgreementRequest {
        name: a.name.clone(),
        ground: TerminationGround::RectificationFailed as i32,
        description: "限期整改未到位，解除运营授权".into(),
        ..Default::default()
    };
    h.client.terminate_agreement(agency(terminate)).await.unwrap();
    let met = follow_ups(&mut h, &a.name).await;
    assert_eq!(met.len(), 1);
    assert_eq!(met[0].state, DeadlineState::Met as i32);
}

// S8 (registry part); S-YN Art.26 and §3.8 "all" row: the final FAIL after a failed verification on Mon 2026-03-02
// recommends termination; the Yunnan data authority owes a follow-up due 20 WD (inferred) later = 2026-03-30, and
// meets it by recording "不再续约" (RecordEvaluationFollowUp), which cannot be recorded twice.
#[tokio::test]
async fn a_yunnan_termination_recommendation_is_met_by_a_recorded_follow_up() {
    let (mut h, a) = world_in(on(2026, 1, 5), "yunnan", "yunnan").await;
    let termination = [EvaluationConsequence::TerminationRecommended];
    let mut failed = verified(
        "rectificationOrders/r-yn",
        RectificationSource::Evaluation,
        &a.name,
        VerificationOutcome::Failed,
    );
    failed.consequences = vec![EvaluationConsequence::TerminationRecommended as i32];
    publish(&h, VERIFIED, "vf-yn", at(2026, 3, 2), failed.encode_to_vec()).await;
    let mut re_evaluation = result("evaluations/e-yn", &a.name, EvaluationGrade::Fail, &termination);
    re_evaluation.re_evaluation = true;
    publish(
        &h,
        COMPLETED,
        "ev-yn",
        at(2026, 3, 2),
        re_evaluation.encode_to_vec(),
    )
    .await;
    // Yunnan suspends nothing by itself (no `evaluation.suspension_on`).
    assert_eq!(get(&mut h, &a.name).await.state, AgreementState::Active as i32);
    // The newer obligation replaced the one the verification opened.
    let d = open_follow_up(&mut h, &a.name).await;
    assert_eq!(follow_ups(&mut h, &a.name).await.len(), 2);
    assert_eq!(due_of(&d), on(2026, 3, 30));
    assert_eq!(d.responsible_organization, BUREAU);
    let ground = d.ground.clone().unwrap();
    assert_eq!(ground.source, "evaluations/e-yn");
    assert_eq!(
        ground.consequences,
        ["EVALUATION_CONSEQUENCE_TERMINATION_RECOMMENDED"]
    );

    if h.today() < on(2026, 3, 10) {
        h.advance_to(on(2026, 3, 10));
    }
    let record = RecordEvaluationFollowUpRequest {
        name: d.name.clone(),
        decision: "不再续约".into(),
        reasons: "评价未通过，协议期满后不再续约".into(),
        evidence: vec![pdop_proto::common::DocumentRef {
            uri: "https://docs.example/决定.pdf".into(),
            title: "不再续约决定".into(),
            ..Default::default()
        }],
        request_id: String::new(),
    };
    let bureau = |r| acting(BUREAU, &[Role::DataAuthority], r);
    let met = h
        .client
        .record_evaluation_follow_up(bureau(record.clone()))
        .await
        .unwrap()
        .into_inner()
        .deadline
        .unwrap();
    assert_eq!(met.state, DeadlineState::Met as i32);
    assert!(!met.met_late);
    let follow_up = met.ground.unwrap().follow_up.unwrap();
    assert_eq!(follow_up.decision, "不再续约");
    assert_eq!(follow_up.evidence.len(), 1);
    assert_eq!(follow_up.recorded.unwrap().actor.unwrap().organization, BUREAU);
    let listed = open_or_met(&mut h, &d.name).await;
    assert_eq!(listed.state, DeadlineState::Met as i32);

    let again = h
        .client
        .record_evaluation_follow_up(bureau(record))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition, "{again:?}");
    assert_eq!(reason(&again), "WRONG_STATE");
}

async fn open_or_met(h: &mut Harness, name: &str) -> ObligationDeadline {
    let request = authority(GetDeadlineRequest { name: name.into() });
    h.client
        .get_deadline(request)
        .await
        .unwrap()
        .into_inner()
        .deadline
        .unwrap()
}
