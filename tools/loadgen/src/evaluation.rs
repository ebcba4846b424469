//! The evaluation service's scenarios: a Henan jurisdiction, its data authority and an operator with an ACTIVE
//! agreement are published as the registry's relay would; over gRPC the authority publishes an indicator system
//! (two dimensions, three indicators of three scoring methods, one veto item) and starts a campaign. Then
//! `RecordIndicatorScores` (a write: the system read, raw scores computed, a row and an audit row) and
//! `CalculateEvaluationResult` (the scoring: exact decimal totals, the grade and every calculation step) are
//! driven on its one evaluation.

use std::sync::Arc;

use pdop_kit::auth::Role;
use pdop_kit::events::Namespace;
use pdop_proto::common::{Date, DateRange, Decimal, JurisdictionRef, OrganizationRef, OrganizationRole};
use pdop_proto::evaluation::v1 as pb;
use pdop_proto::evaluation::v1::evaluation_service_client::EvaluationServiceClient;
use pdop_proto::evaluation::v1::{
    Dimension, EvaluationCampaign, EvaluationGrade as Grade, EvaluationSubjectKind, GradeThreshold,
    GradingScheme, GradingSchemeKind, Indicator, IndicatorScore, IndicatorSystem, ScoringMethod, VetoItem,
    VetoKind,
};
use pdop_proto::registry::events::v1::{
    AgreementActivated, AgreementSummary, JurisdictionCreated, OrganizationCreated,
};
use pdop_proto::registry::v1::AgreementState;
use prost::Message;
use tonic::transport::Channel;

use crate::calls::{Tokens, signed};
use crate::load::CallFn;

const JURISDICTION: &str = "jurisdictions/bench-henan";
const AUTHORITY: &str = "organizations/bench-evaluation-da";
const OPERATOR: &str = "organizations/bench-evaluation-op";

fn org(name: &str, role: OrganizationRole) -> OrganizationRef {
    OrganizationRef {
        name: name.into(),
        display_name: name.into(),
        roles: vec![role as i32],
        ..Default::default()
    }
}

fn dec(value: &str) -> Option<Decimal> {
    Some(Decimal { value: value.into() })
}

fn date(year: i32, month: i32, day: i32) -> Option<Date> {
    Some(Date { year, month, day })
}

/// Publishes the registry facts the scenarios need and waits until the evaluation service has applied them.
async fn registry_facts(nats_url: &str, database_url: &str) -> anyhow::Result<()> {
    let namespace = Namespace::new(Namespace::DEFAULT)?;
    let jurisdiction = JurisdictionRef {
        name: JURISDICTION.into(),
        profile_id: "henan".into(),
        ..Default::default()
    };
    let organization = |name: &str, role| {
        OrganizationCreated {
            organization: Some(org(name, role)),
            jurisdiction: Some(jurisdiction.clone()),
            ..Default::default()
        }
        .encode_to_vec()
    };
    let agreement = AgreementActivated {
        agreement: Some(AgreementSummary {
            name: "agreements/bench-evaluation-a1".into(),
            jurisdiction: Some(jurisdiction.clone()),
            operator: Some(org(OPERATOR, OrganizationRole::Operator)),
            term: Some(DateRange {
                start_date: date(2020, 1, 1),
                end_date: date(2099, 12, 31),
            }),
            state: AgreementState::Active as i32,
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = JurisdictionCreated {
        jurisdiction: Some(jurisdiction.clone()),
        ..Default::default()
    };
    let events: Vec<(&str, &str, Vec<u8>)> = vec![
        (
            "pdop.registry.jurisdiction.created",
            "bench-evaluation-j",
            created.encode_to_vec(),
        ),
        (
            "pdop.registry.organization.created",
            "bench-evaluation-da",
            organization(AUTHORITY, OrganizationRole::DataAuthority),
        ),
        (
            "pdop.registry.organization.created",
            "bench-evaluation-op",
            organization(OPERATOR, OrganizationRole::Operator),
        ),
        (
            "pdop.registry.agreement.activated",
            "bench-evaluation-a1",
            agreement.encode_to_vec(),
        ),
    ];
    for (subject, id, payload) in events {
        pdop_testkit::publish_as_relay(nats_url, &namespace, subject, id, id, id, payload).await?;
    }
    let pool = sqlx::PgPool::connect(database_url).await?;
    pdop_testkit::until_holds(
        &pool,
        "the evaluation service knows the bench agreement",
        "SELECT EXISTS (SELECT 1 FROM agreements WHERE id = 'bench-evaluation-a1')
            AND (SELECT count(*) FROM organizations WHERE id LIKE 'bench-evaluation-%') = 2",
    )
    .await?;
    Ok(())
}

fn indicator(key: &str, weight: &str, method: ScoringMethod) -> Indicator {
    Indicator {
        key: key.into(),
        display_name: key.into(),
        weight: dec(weight),
        max_score: dec("100"),
        scoring_method: method as i32,
        target: dec("20"),
        deduction_per_occurrence: dec("10"),
        ..Default::default()
    }
}

fn system() -> IndicatorSystem {
    let threshold = |grade: Grade, min: &str| GradeThreshold {
        grade: grade as i32,
        min_score: dec(min),
    };
    IndicatorSystem {
        display_name: "基准评价指标体系".into(),
        jurisdiction: JURISDICTION.into(),
        subject_kind: EvaluationSubjectKind::Operator as i32,
        year: 2025,
        dimensions: vec![
            Dimension {
                key: "outcomes".into(),
                display_name: "运营成效".into(),
                weight: dec("0.6"),
                indicators: vec![
                    indicator("quality", "0.5", ScoringMethod::Manual),
                    indicator("products", "0.5", ScoringMethod::Proportional),
                ],
                ..Default::default()
            },
            Dimension {
                key: "compliance".into(),
                display_name: "安全合规".into(),
                weight: dec("0.4"),
                indicators: vec![indicator("misses", "1", ScoringMethod::Deduction)],
                ..Default::default()
            },
        ],
        veto_items: vec![VetoItem {
            key: "major_incident".into(),
            display_name: "重大安全事件".into(),
            kind: VetoKind::MajorSecurityIncident as i32,
            ..Default::default()
        }],
        grading: Some(GradingScheme {
            kind: GradingSchemeKind::PassFail as i32,
            thresholds: vec![threshold(Grade::Pass, "60"), threshold(Grade::Fail, "0")],
            veto_grade: Grade::Fail as i32,
            rectification_grades: Vec::new(),
        }),
        ..Default::default()
    }
}

fn scores(n: u64) -> Vec<IndicatorScore> {
    vec![
        IndicatorScore {
            indicator_key: "quality".into(),
            raw_score: dec(&format!("{}", 60 + n % 40)),
            comment: "基准".into(),
            ..Default::default()
        },
        IndicatorScore {
            indicator_key: "products".into(),
            measured_value: dec(&format!("{}", n % 30)),
            ..Default::default()
        },
        IndicatorScore {
            indicator_key: "misses".into(),
            occurrences: i32::try_from(n % 5).unwrap_or(0),
            ..Default::default()
        },
    ]
}

/// Lays the fixture and returns the name of the one evaluation the scenarios drive.
pub async fn fixture(
    nats_url: &str,
    database_url: &str,
    channel: Channel,
    tokens: &Tokens,
) -> anyhow::Result<String> {
    registry_facts(nats_url, database_url).await?;
    let mut client = EvaluationServiceClient::new(channel);
    let bearer = tokens.bearer(AUTHORITY, &[Role::DataAuthority])?;
    let create = pb::CreateIndicatorSystemRequest {
        indicator_system: Some(system()),
        request_id: String::new(),
    };
    let created = client
        .create_indicator_system(signed(create, &bearer))
        .await?
        .into_inner();
    let name = created.indicator_system.map(|s| s.name).unwrap_or_default();
    let publish = pb::PublishIndicatorSystemRequest {
        name: name.clone(),
        ..Default::default()
    };
    client.publish_indicator_system(signed(publish, &bearer)).await?;
    let campaign = EvaluationCampaign {
        display_name: "基准 2025 年度评价".into(),
        jurisdiction: JURISDICTION.into(),
        year: 2025,
        subject_kind: EvaluationSubjectKind::Operator as i32,
        indicator_system: name,
        covered_period: Some(DateRange {
            start_date: date(2025, 1, 1),
            end_date: date(2025, 12, 31),
        }),
        self_assessment_due_date: date(2099, 3, 31),
        ..Default::default()
    };
    let create = pb::CreateEvaluationCampaignRequest {
        evaluation_campaign: Some(campaign),
        request_id: String::new(),
    };
    let created = client
        .create_evaluation_campaign(signed(create, &bearer))
        .await?
        .into_inner();
    let campaign = created.evaluation_campaign.map(|c| c.name).unwrap_or_default();
    let start = pb::StartEvaluationCampaignRequest {
        name: campaign.clone(),
        ..Default::default()
    };
    client.start_evaluation_campaign(signed(start, &bearer)).await?;
    let list = pb::ListEvaluationsRequest {
        campaign,
        ..Default::default()
    };
    let listed = client.list_evaluations(signed(list, &bearer)).await?.into_inner();
    let evaluation = listed
        .evaluations
        .into_iter()
        .next()
        .map(|e| e.name)
        .unwrap_or_default();
    let record = pb::RecordIndicatorScoresRequest {
        name: evaluation.clone(),
        scores: scores(0),
        ..Default::default()
    };
    client.record_indicator_scores(signed(record, &bearer)).await?;
    Ok(evaluation)
}

fn clients(channels: Vec<Channel>) -> Arc<Vec<EvaluationServiceClient<Channel>>> {
    Arc::new(channels.into_iter().map(EvaluationServiceClient::new).collect())
}

/// `RecordIndicatorScores` of three indicators on the one evaluation, as its evaluating authority.
pub fn record(channels: Vec<Channel>, tokens: &Tokens, evaluation: String) -> anyhow::Result<CallFn> {
    let clients = clients(channels);
    let bearer = tokens.bearer(AUTHORITY, &[Role::DataAuthority])?;
    Ok(Arc::new(move |n| {
        let mut client = clients[n as usize % clients.len()].clone();
        let request = signed(
            pb::RecordIndicatorScoresRequest {
                name: evaluation.clone(),
                scores: scores(n),
                ..Default::default()
            },
            &bearer,
        );
        Box::pin(async move {
            client
                .record_indicator_scores(request)
                .await
                .map(|_| ())
                .map_err(|s| s.code())
        })
    }))
}

/// `CalculateEvaluationResult`: the weighted total, grade and calculation steps of the one evaluation.
pub fn calculate(channels: Vec<Channel>, tokens: &Tokens, evaluation: String) -> anyhow::Result<CallFn> {
    let clients = clients(channels);
    let bearer = tokens.bearer(AUTHORITY, &[Role::DataAuthority])?;
    Ok(Arc::new(move |n| {
        let mut client = clients[n as usize % clients.len()].clone();
        let request = signed(
            pb::CalculateEvaluationResultRequest {
                name: evaluation.clone(),
            },
            &bearer,
        );
        Box::pin(async move {
            client
                .calculate_evaluation_result(request)
                .await
                .map(|_| ())
                .map_err(|s| s.code())
        })
    }))
}
