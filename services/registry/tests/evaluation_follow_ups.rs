//! RecordEvaluationFollowUp and the other ways an EVALUATION_FOLLOW_UP obligation is met (REVIEW-EVALUATION §3.8):
//! who may record, what a request must hold, and the registry measures that meet it (SuspendAgreement; for
//! developers, TerminateDeveloperAgreement and CreateBlacklistEntry).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::agreements::*;
use common::developers::*;
use common::evaluation::*;
use common::*;
use pdop_kit::auth::Role;
use pdop_proto::common::DocumentRef;
use pdop_proto::evaluation::events::v1::{EvaluationCompleted, EvaluationSummary};
use pdop_proto::evaluation::v1::{EvaluationConsequence, EvaluationGrade, EvaluationSubjectKind};
use pdop_proto::registry::v1::*;
use prost::Message;
use tonic::{Code, Request, Status};

const COMPLETED: &str = "pdop.evaluation.evaluation.completed";

/// Publishes a result about the operator on `agreement` listing `consequence`, as event `id` of 2026-03-02.
async fn recommend(h: &Harness, id: &str, agreement: &str, consequence: EvaluationConsequence) {
    let result = EvaluationCompleted {
        evaluation: operator_evaluation(&format!("evaluations/{id}"), agreement),
        grade: EvaluationGrade::Fail as i32,
        consequences: vec![consequence as i32],
        ..Default::default()
    };
    publish(h, COMPLETED, id, at(2026, 3, 2), result.encode_to_vec()).await;
}

fn request(name: &str) -> RecordEvaluationFollowUpRequest {
    RecordEvaluationFollowUpRequest {
        name: name.into(),
        decision: "约谈主要负责人已进行".into(),
        reasons: "2026-03-20 约谈运营机构主要负责人，责令落实安全整改".into(),
        ..Default::default()
    }
}

async fn record(
    h: &mut Harness,
    r: Request<RecordEvaluationFollowUpRequest>,
) -> Result<ObligationDeadline, Status> {
    Ok(h.client
        .record_evaluation_follow_up(r)
        .await?
        .into_inner()
        .deadline
        .unwrap())
}

fn assert_denied(err: &Status, why: &str, what: &str) {
    assert_eq!(err.code(), Code::PermissionDenied, "{what}: {err:?}");
    if !why.is_empty() {
        assert_eq!(reason(err), why, "{what}: {err:?}");
    }
}

// §3.8: "open to data_authority and implementing_agency, and to the operator for developer obligations"; THREATS H2:
// a supervisor of another province is refused; an agency acts only on its own agreements.
#[tokio::test]
async fn only_the_supervising_authority_and_the_agreements_agency_record_an_operators_follow_up() {
    let (mut h, a) = world_in(on(2026, 1, 5), "yunnan", "yunnan").await;
    organization(
        &mut h,
        "other-agency",
        &credit_code(40),
        "jurisdictions/yunnan",
        &[pdop_proto::common::OrganizationRole::ImplementingAgency],
    )
    .await;
    recommend(&h, "e-int", &a.name, EvaluationConsequence::PrincipalInterview).await;
    let d = open_follow_up(&mut h, &a.name).await;
    for role in [
        Role::DataProvider,
        Role::Developer,
        Role::Auditor,
        Role::Evaluator,
        Role::PricingAuthority,
    ] {
        let err = record(&mut h, acting(BUREAU, &[role], request(&d.name)))
            .await
            .unwrap_err();
        assert_denied(&err, "", &format!("{role:?}"));
    }
    let err = record(&mut h, operator(OPERATOR, request(&d.name)))
        .await
        .unwrap_err();
    assert_denied(&err, "NOT_YOUR_OBLIGATION", "the operator, on its own agreement");
    let other = acting(
        "organizations/other-agency",
        &[Role::ImplementingAgency],
        request(&d.name),
    );
    let err = record(&mut h, other).await.unwrap_err();
    assert_denied(&err, "NOT_YOUR_OBLIGATION", "another agency");
    let err = record(&mut h, henan_authority(request(&d.name)))
        .await
        .unwrap_err();
    assert_outside_jurisdiction(&err, "a Henan authority");
    assert_eq!(
        open_follow_up(&mut h, &a.name).await.state,
        d.state,
        "nothing recorded"
    );

    // The agreement's implementing agency may.
    let met = record(&mut h, agency(request(&d.name))).await.unwrap();
    assert_eq!(met.state, DeadlineState::Met as i32);
    assert_eq!(
        met.ground
            .unwrap()
            .follow_up
            .unwrap()
            .recorded
            .unwrap()
            .actor
            .unwrap()
            .organization,
        AGENCY
    );
}

// THREATS (input validation): every violation named by field; the contract's limits (decision ≤ 500 characters,
// evidence ≤ 20 items, no control characters); an unknown obligation is NOT_FOUND; another kind of obligation is
// FAILED_PRECONDITION.
#[tokio::test]
async fn bad_follow_ups_are_refused_naming_the_field() {
    let (mut h, a) = world_in(on(2026, 1, 5), "yunnan", "yunnan").await;
    recommend(
        &h,
        "e-bad",
        &a.name,
        EvaluationConsequence::AccountabilityReferral,
    )
    .await;
    let d = open_follow_up(&mut h, &a.name).await;

    let empty = RecordEvaluationFollowUpRequest {
        name: "obligations/x".into(),
        decision: "  ".into(),
        evidence: vec![DocumentRef::default()],
        ..Default::default()
    };
    let err = record(&mut h, authority(empty)).await.unwrap_err();
    assert_invalid(&err, &["name", "decision", "reasons", "evidence[0].uri"]);
    let long = RecordEvaluationFollowUpRequest {
        decision: "决".repeat(501),
        ..request(&d.name)
    };
    let err = record(&mut h, authority(long)).await.unwrap_err();
    assert_invalid(&err, &["decision"]);
    let control = RecordEvaluationFollowUpRequest {
        reasons: "约谈\u{0}".into(),
        ..request(&d.name)
    };
    let err = record(&mut h, authority(control)).await.unwrap_err();
    assert_invalid(&err, &["reasons"]);
    let many = RecordEvaluationFollowUpRequest {
        evidence: vec![
            DocumentRef {
                uri: "https://docs.example/a.pdf".into(),
                ..Default::default()
            };
            21
        ],
        ..request(&d.name)
    };
    let err = record(&mut h, authority(many)).await.unwrap_err();
    assert_invalid(&err, &["evidence"]);

    let err = record(&mut h, authority(request("deadlines/nope")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    // D14: signing opened the agreement's filing obligation, which is no follow-up.
    let filing = deadlines_of(&mut h, &a.name, ObligationKind::AgreementFiling).await;
    let err = record(&mut h, authority(request(&filing[0].name)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert_eq!(reason(&err), "NOT_AN_EVALUATION_FOLLOW_UP");
    assert_eq!(open_follow_up(&mut h, &a.name).await.name, d.name);
}

// §3.8: SuspendAgreement is one of the measures that meet a follow-up; Yunnan suspends nothing by itself, so a
// recommended suspension is the authority's to carry out.
#[tokio::test]
async fn suspending_the_agreement_meets_its_follow_up() {
    let (mut h, a) = world_in(on(2026, 1, 5), "yunnan", "yunnan").await;
    recommend(
        &h,
        "e-susp",
        &a.name,
        EvaluationConsequence::SuspensionRecommended,
    )
    .await;
    let d = open_follow_up(&mut h, &a.name).await;
    assert_eq!(get(&mut h, &a.name).await.state, AgreementState::Active as i32);
    assert_eq!(
        d.ground.unwrap().consequences,
        ["EVALUATION_CONSEQUENCE_SUSPENSION_RECOMMENDED"]
    );
    suspend(&mut h, &a.name).await.unwrap();
    let closed = deadlines_of(&mut h, &a.name, ObligationKind::EvaluationFollowUp).await;
    assert_eq!(closed[0].state, DeadlineState::Met as i32);
}

/// Publishes a result about the developer on `developer_agreement`, evaluated by the operator, recommending
/// termination, as event `id` of today.
async fn recommend_for_developer(h: &Harness, id: &str, developer_agreement: &str) {
    let result = EvaluationCompleted {
        evaluation: Some(EvaluationSummary {
            name: format!("evaluations/{id}"),
            subject: org(DEVELOPER),
            subject_kind: EvaluationSubjectKind::Developer as i32,
            agreement: developer_agreement.into(),
            evaluating_organization: org(OPERATOR),
            ..Default::default()
        }),
        grade: EvaluationGrade::Fail as i32,
        consequences: vec![EvaluationConsequence::TerminationRecommended as i32],
        ..Default::default()
    };
    publish(h, COMPLETED, id, chrono::Utc::now(), result.encode_to_vec()).await;
}

// §3.8: a developer's follow-up is the evaluating operator's, on the developer agreement (S-YN Art.21, 26; the
// responsible party inferred); the operator records it, and ending the developer agreement or a blacklist measure
// against the developer meets it.
#[tokio::test]
async fn a_developers_follow_up_is_the_operators() {
    let (mut h, _nats, agreement, listed) = developer_world().await;
    let draft = developer_draft(&agreement.name, &listed.name, months_from_today(12));
    let created = create_developer_agreement(&mut h, draft).await.unwrap();
    let dev = signed(&mut h, &created).await;

    recommend_for_developer(&h, "e-dev1", &dev.name).await;
    let d = open_follow_up(&mut h, &dev.name).await;
    assert_eq!(d.responsible_organization, OPERATOR);
    let err = record(&mut h, operator(RIVAL, request(&d.name)))
        .await
        .unwrap_err();
    assert_denied(&err, "NOT_YOUR_OBLIGATION", "another operator");
    let met = record(&mut h, operator(OPERATOR, request(&d.name)))
        .await
        .unwrap();
    assert_eq!(met.state, DeadlineState::Met as i32);

    recommend_for_developer(&h, "e-dev2", &dev.name).await;
    open_follow_up(&mut h, &dev.name).await;
    let terminate = TerminateDeveloperAgreementRequest {
        name: dev.name.clone(),
        reason: "评价未通过，终止开发利用协议".into(),
        ..Default::default()
    };
    h.client
        .terminate_developer_agreement(operator(OPERATOR, terminate))
        .await
        .unwrap();
    let all = deadlines_of(&mut h, &dev.name, ObligationKind::EvaluationFollowUp).await;
    assert!(
        all.iter().all(|d| d.state == DeadlineState::Met as i32),
        "{all:?}"
    );

    recommend_for_developer(&h, "e-dev3", &dev.name).await;
    open_follow_up(&mut h, &dev.name).await;
    let entry = CreateBlacklistEntryRequest {
        blacklist_entry: Some(BlacklistEntry {
            organization: DEVELOPER.into(),
            jurisdiction: "jurisdictions/guangxi".into(),
            action: BlacklistAction::Disqualify as i32,
            reason: "评价未通过".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    h.client.create_blacklist_entry(authority(entry)).await.unwrap();
    let all = deadlines_of(&mut h, &dev.name, ObligationKind::EvaluationFollowUp).await;
    assert_eq!(all.len(), 3);
    assert!(
        all.iter().all(|d| d.state == DeadlineState::Met as i32),
        "{all:?}"
    );
}
