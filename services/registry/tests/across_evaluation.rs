//! Across services over NATS (issue: evaluation service): an incident the registry records becomes evidence in the
//! evaluation service, a Henan evaluation vetoed on it fails, the registry suspends the operator's agreement on that
//! ground (S-HN Art.22), and the disclosure service publishes the grade. The three services run in-process, each
//! with its own database, in the test's NATS namespace.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::agreements::*;
use common::evaluation::wait_for_state;
use common::review::world_on_own_nats;
use common::*;
use pdop_disclosure::Disclosure;
use pdop_evaluation::Evaluation;
use pdop_kit::auth::Role;
use pdop_proto::common::{Date, DateRange, Decimal, OrganizationRole};
use pdop_proto::evaluation::v1 as ev;
use pdop_proto::evaluation::v1::evaluation_service_client::EvaluationServiceClient;
use pdop_proto::registry::v1::{
    AgreementState, IncidentSeverity, RecordSecurityIncidentRequest, SecurityIncident,
};
use pdop_testkit::{acting, spawn_service, until_holds};

const BUREAU_HN: &str = "organizations/hn-bureau";

fn as_bureau<T>(message: T) -> tonic::Request<T> {
    acting(BUREAU_HN, &[Role::DataAuthority], message)
}

fn dec(value: &str) -> Option<Decimal> {
    Some(Decimal { value: value.into() })
}

fn date(year: i32, month: i32, day: i32) -> Option<Date> {
    Some(Date { year, month, day })
}

/// One dimension of one manual indicator, a security veto, pass/fail (Henan's grades, inferred).
fn system() -> ev::IndicatorSystem {
    ev::IndicatorSystem {
        display_name: "河南 2026 运营机构".into(),
        jurisdiction: "jurisdictions/henan".into(),
        subject_kind: ev::EvaluationSubjectKind::Operator as i32,
        year: 2026,
        dimensions: vec![ev::Dimension {
            key: "outcomes".into(),
            display_name: "运营成效".into(),
            weight: dec("1"),
            indicators: vec![ev::Indicator {
                key: "quality".into(),
                display_name: "运营质量".into(),
                weight: dec("1"),
                max_score: dec("100"),
                scoring_method: ev::ScoringMethod::Manual as i32,
                ..Default::default()
            }],
            ..Default::default()
        }],
        veto_items: vec![ev::VetoItem {
            key: "major_incident".into(),
            display_name: "重大安全事件".into(),
            kind: ev::VetoKind::MajorSecurityIncident as i32,
            ..Default::default()
        }],
        grading: Some(ev::GradingScheme {
            kind: ev::GradingSchemeKind::PassFail as i32,
            thresholds: vec![
                ev::GradeThreshold {
                    grade: ev::EvaluationGrade::Pass as i32,
                    min_score: dec("60"),
                },
                ev::GradeThreshold {
                    grade: ev::EvaluationGrade::Fail as i32,
                    min_score: dec("0"),
                },
            ],
            veto_grade: ev::EvaluationGrade::Fail as i32,
            rectification_grades: Vec::new(),
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_registry_incident_vetoes_a_henan_evaluation_which_suspends_the_agreement_and_is_disclosed() {
    let (mut h, nats, agreement) = world_on_own_nats("henan", "henan").await;
    organization(
        &mut h,
        "hn-bureau",
        &credit_code(9),
        "jurisdictions/henan",
        &[OrganizationRole::DataAuthority],
    )
    .await;
    let evaluation_db = h.env.fresh_database().await.unwrap();
    let evaluation = spawn_service::<Evaluation>(&evaluation_db, &nats.url(), &h.env.namespace, &[])
        .await
        .unwrap();
    let disclosure_db = h.env.fresh_database().await.unwrap();
    let disclosure = spawn_service::<Disclosure>(
        &disclosure_db,
        &nats.url(),
        &h.env.namespace,
        &[("disclosure.http_addr", "127.0.0.1:0".to_owned())],
    )
    .await
    .unwrap();
    let mut client = EvaluationServiceClient::connect(format!("http://{}", evaluation.grpc_addr))
        .await
        .unwrap();

    // The registry records a MAJOR incident of the operator: SECURITY_INCIDENT evidence (§3.9).
    let record = RecordSecurityIncidentRequest {
        organization: OPERATOR.into(),
        incident: Some(SecurityIncident {
            occur_date: date(2026, 12, 1),
            severity: IncidentSeverity::Major as i32,
            description: "数据泄露".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    h.client
        .record_security_incident(authority(record))
        .await
        .unwrap();
    let a_id = agreement.name.trim_start_matches("agreements/");
    until_holds(
        &evaluation_db.pool,
        "the incident is evidence and the agreement and bureau are known",
        &format!(
            "SELECT EXISTS (SELECT 1 FROM evidence_records WHERE organization_id = 'yn-operator' AND kind = 1)
                AND EXISTS (SELECT 1 FROM agreements WHERE id = '{a_id}' AND activated)
                AND EXISTS (SELECT 1 FROM organizations WHERE id = 'hn-bureau')"
        ),
    )
    .await
    .unwrap();

    // The Henan data authority evaluates its operators of 2026 (S-HN Art.22).
    let create = ev::CreateIndicatorSystemRequest {
        indicator_system: Some(system()),
        request_id: String::new(),
    };
    let s = client
        .create_indicator_system(as_bureau(create))
        .await
        .unwrap()
        .into_inner();
    let publish = ev::PublishIndicatorSystemRequest {
        name: s.indicator_system.unwrap().name,
        ..Default::default()
    };
    let s = client
        .publish_indicator_system(as_bureau(publish))
        .await
        .unwrap()
        .into_inner();
    let campaign = ev::EvaluationCampaign {
        display_name: "河南 2026 年度评价".into(),
        jurisdiction: "jurisdictions/henan".into(),
        year: 2026,
        subject_kind: ev::EvaluationSubjectKind::Operator as i32,
        indicator_system: s.indicator_system.unwrap().name,
        covered_period: Some(DateRange {
            start_date: date(2026, 1, 1),
            end_date: date(2026, 12, 31),
        }),
        self_assessment_due_date: date(2026, 12, 31),
        ..Default::default()
    };
    let create = ev::CreateEvaluationCampaignRequest {
        evaluation_campaign: Some(campaign),
        request_id: String::new(),
    };
    let c = client
        .create_evaluation_campaign(as_bureau(create))
        .await
        .unwrap()
        .into_inner();
    let start = ev::StartEvaluationCampaignRequest {
        name: c.evaluation_campaign.unwrap().name,
        ..Default::default()
    };
    client
        .start_evaluation_campaign(as_bureau(start.clone()))
        .await
        .unwrap();
    let list = ev::ListEvaluationsRequest {
        campaign: start.name,
        ..Default::default()
    };
    let e = client
        .list_evaluations(as_bureau(list))
        .await
        .unwrap()
        .into_inner()
        .evaluations
        .remove(0);
    assert_eq!(
        (e.subject.as_str(), e.agreement.as_str()),
        (OPERATOR, agreement.name.as_str())
    );
    // The operator's evidence of 2026 is linked, the incident among it.
    let incidents: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM evidence_records WHERE organization_id = 'yn-operator' AND kind = 1",
    )
    .fetch_one(&evaluation_db.pool)
    .await
    .unwrap();
    assert!(
        incidents == 1 && !e.evidence_records.is_empty(),
        "{:?}",
        e.evidence_records
    );

    let assess = ev::SubmitSelfAssessmentRequest {
        name: e.name.clone(),
        self_assessment: Some(ev::SelfAssessment {
            summary: "自评".into(),
            truthfulness_declared: true,
            ..Default::default()
        }),
        ..Default::default()
    };
    client
        .submit_self_assessment(acting(OPERATOR, &[Role::Operator], assess))
        .await
        .unwrap();
    let scores = ev::RecordIndicatorScoresRequest {
        name: e.name.clone(),
        scores: vec![ev::IndicatorScore {
            indicator_key: "quality".into(),
            raw_score: dec("91"),
            comment: "运营质量良好".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    client.record_indicator_scores(as_bureau(scores)).await.unwrap();
    let veto = ev::RecordVetoFindingRequest {
        name: e.name.clone(),
        finding: Some(ev::VetoFinding {
            veto_key: "major_incident".into(),
            triggered: true,
            facts: "评价发现重大安全风险".into(),
            evidence_records: e.evidence_records.clone(),
            ..Default::default()
        }),
        ..Default::default()
    };
    client.record_veto_finding(as_bureau(veto)).await.unwrap();
    let complete = ev::CompleteEvaluationRequest {
        name: e.name.clone(),
        summary: "评价发现重大安全风险".into(),
        ..Default::default()
    };
    let done = client
        .complete_evaluation(as_bureau(complete))
        .await
        .unwrap()
        .into_inner();
    let result = done.evaluation.unwrap().result.unwrap();
    assert_eq!(
        result.grade,
        ev::EvaluationGrade::Fail as i32,
        "a veto fails 91 points"
    );

    // S-HN Art.22: the registry suspends the agreement at once, naming the evaluation as the ground.
    let suspended = wait_for_state(&mut h, &agreement.name, AgreementState::Suspended).await;
    assert!(
        suspended.suspension_ground.contains(&e.name),
        "{:?}",
        suspended.suspension_ground
    );
    // The disclosure log publishes the grade (subject, year, grade only).
    until_holds(
        &disclosure_db.pool,
        "the evaluation result is disclosed",
        &format!(
            "SELECT EXISTS (SELECT 1 FROM entries WHERE subject = '{}')",
            e.name
        ),
    )
    .await
    .unwrap();
    drop((evaluation, disclosure));
}
