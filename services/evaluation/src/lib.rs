//! The evaluation service: indicator systems (评价指标体系), evaluation campaigns and per-organization evaluations
//! with self-assessment, scores, veto items and grades, evidence collected from the other services' events,
//! rectification orders (整改) and operator reports (运营报告).
//!
//! Built on the unit-of-work shape (`design/SPINE.md`): `domain` decides (pure), `storage` reads and writes,
//! `grpc` parses and delegates. What the registry announces is kept as a read model (`incoming`); the service never
//! calls the registry.

mod collection_sweep;
mod collectors;
mod context;
mod domain;
mod grpc;
mod incoming;
mod scheduler;
mod storage;

use std::sync::Arc;

use pdop_kit::auth::{Access, Policy, Role};
use pdop_kit::config::ServiceDefaults;
use pdop_kit::{Platform, Service};
use pdop_proto::evaluation::v1 as pb;
use pdop_proto::evaluation::v1::evaluation_service_server::{EvaluationService, EvaluationServiceServer};
use serde::Deserialize;
use sqlx::migrate::Migrator;
use tonic::service::Routes;

use crate::context::Ctx;

/// The evaluation service, as assembled by `pdop_kit::server`.
pub struct Evaluation;

/// The `evaluation:` configuration section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationConfig {
    /// How often the schedulers look for passed self-assessment, rectification and report due dates; they act by
    /// calendar day, so minutes of delay are harmless.
    #[serde(with = "pdop_kit::config::humantime_secs")]
    pub scheduler_interval: std::time::Duration,
}

impl Service for Evaluation {
    type Config = EvaluationConfig;
    type State = Ctx;
    const DEFAULTS: ServiceDefaults = ServiceDefaults {
        name: "evaluation",
        grpc_port: 50054,
        admin_port: 9094,
    };
    const GRPC_SERVICE: &'static str = "pdop.evaluation.v1.EvaluationService";
    const IMPLEMENTED: &'static [&'static str] = Rpcs::IMPLEMENTED;
    const CONFIG_DEFAULTS: &'static str = "evaluation: {scheduler_interval: 10m}";

    fn descriptor_set() -> &'static [u8] {
        pdop_proto::FILE_DESCRIPTOR_SET
    }

    fn migrator() -> Migrator {
        sqlx::migrate!()
    }

    fn policy() -> Policy {
        policy()
    }

    fn build(platform: Arc<Platform>, config: Self::Config) -> anyhow::Result<Self::State> {
        let (profiles, calendar) = platform.settings.rules.load()?;
        Ok(Ctx {
            platform,
            profiles,
            calendar,
            scheduler_interval: config.scheduler_interval,
        })
    }

    fn routes(state: Arc<Self::State>) -> Routes {
        let limit = state.platform.settings.grpc.max_decoding_message_size;
        Routes::new(EvaluationServiceServer::new(Rpcs::new(state)).max_decoding_message_size(limit))
    }

    async fn on_ready(state: Arc<Ctx>) -> anyhow::Result<()> {
        for spec in incoming::specs() {
            let handler = incoming::Incoming;
            state.platform.spawn_consumer(spec, handler).await?;
        }
        for (spec, collector) in collectors::collectors(&state) {
            state.platform.spawn_consumer(spec, collector).await?;
        }
        scheduler::start(state.clone());
        Ok(())
    }
}

/// Who may call what: one line per RPC of the contract (deny by default); handlers add the party, recusal and
/// jurisdiction checks (R-EV-01, R-EV-02).
fn policy() -> Policy {
    use Role::*;
    let roles = |r: &[Role]| Access::Roles(r.to_vec());
    // The evaluating organizations of §3.3: data authorities, implementing agencies, operators (of developers).
    let evaluating = roles(&[DataAuthority, ImplementingAgency, Operator]);
    let scorers = roles(&[Evaluator, DataAuthority, ImplementingAgency, Operator]);
    let subjects = roles(&[Operator, Developer, ImplementingAgency, DataProvider]);
    let campaign_readers = roles(&[
        DataAuthority,
        ImplementingAgency,
        Operator,
        Developer,
        DataProvider,
        Evaluator,
        Auditor,
    ]);
    let evaluation_readers = roles(&[
        DataAuthority,
        ImplementingAgency,
        Operator,
        Developer,
        DataProvider,
        Evaluator,
        Auditor,
        PricingAuthority,
    ]);
    let evidence_readers = campaign_readers.clone();
    let order_readers = campaign_readers.clone();
    let report_readers = roles(&[
        Operator,
        ImplementingAgency,
        DataAuthority,
        Evaluator,
        PricingAuthority,
        Auditor,
    ]);
    let lines = [
        ("CreateIndicatorSystem", evaluating.clone()),
        ("GetIndicatorSystem", Access::Authenticated),
        ("ListIndicatorSystems", Access::Authenticated),
        ("UpdateIndicatorSystem", evaluating.clone()),
        ("PublishIndicatorSystem", evaluating.clone()),
        ("RetireIndicatorSystem", evaluating.clone()),
        ("CreateEvaluationCampaign", evaluating.clone()),
        ("GetEvaluationCampaign", campaign_readers.clone()),
        ("ListEvaluationCampaigns", campaign_readers),
        ("UpdateEvaluationCampaign", evaluating.clone()),
        ("StartEvaluationCampaign", evaluating.clone()),
        ("CloseEvaluationCampaign", evaluating.clone()),
        ("GetEvaluation", evaluation_readers.clone()),
        ("ListEvaluations", evaluation_readers.clone()),
        ("SubmitSelfAssessment", subjects.clone()),
        ("RecordIndicatorScores", scorers.clone()),
        ("RecordVetoFinding", scorers.clone()),
        ("RecuseEvaluator", scorers.clone()),
        ("CalculateEvaluationResult", evaluation_readers),
        ("CompleteEvaluation", evaluating.clone()),
        (
            "CreateEvidenceRecord",
            roles(&[
                Evaluator,
                DataAuthority,
                ImplementingAgency,
                Operator,
                Developer,
                DataProvider,
            ]),
        ),
        ("GetEvidenceRecord", evidence_readers.clone()),
        ("ListEvidenceRecords", evidence_readers),
        ("CreateRectificationOrder", evaluating.clone()),
        ("GetRectificationOrder", order_readers.clone()),
        ("ListRectificationOrders", order_readers),
        ("SubmitRectificationPlan", subjects.clone()),
        ("SubmitRectificationReport", subjects),
        ("VerifyRectification", scorers),
        ("CreateOperatorReport", roles(&[Operator])),
        ("GetOperatorReport", report_readers.clone()),
        ("ListOperatorReports", report_readers),
        ("UpdateOperatorReport", roles(&[Operator])),
        ("SubmitOperatorReport", roles(&[Operator])),
        (
            "AcceptOperatorReport",
            roles(&[ImplementingAgency, DataAuthority]),
        ),
        (
            "ReturnOperatorReport",
            roles(&[ImplementingAgency, DataAuthority]),
        ),
    ];
    Policy::table(Evaluation::GRPC_SERVICE, lines)
}

pdop_kit::rpcs! {
    EvaluationService for Evaluation;
    create_indicator_system(pb::CreateIndicatorSystemRequest) -> pb::CreateIndicatorSystemResponse = grpc::indicator_systems::create;
    get_indicator_system(pb::GetIndicatorSystemRequest) -> pb::GetIndicatorSystemResponse = grpc::indicator_systems::get;
    list_indicator_systems(pb::ListIndicatorSystemsRequest) -> pb::ListIndicatorSystemsResponse = grpc::indicator_systems::list;
    update_indicator_system(pb::UpdateIndicatorSystemRequest) -> pb::UpdateIndicatorSystemResponse = grpc::indicator_systems::update;
    publish_indicator_system(pb::PublishIndicatorSystemRequest) -> pb::PublishIndicatorSystemResponse = grpc::indicator_systems::publish;
    retire_indicator_system(pb::RetireIndicatorSystemRequest) -> pb::RetireIndicatorSystemResponse = grpc::indicator_systems::retire;
    create_evaluation_campaign(pb::CreateEvaluationCampaignRequest) -> pb::CreateEvaluationCampaignResponse = grpc::campaigns::create;
    get_evaluation_campaign(pb::GetEvaluationCampaignRequest) -> pb::GetEvaluationCampaignResponse = grpc::campaigns::get;
    list_evaluation_campaigns(pb::ListEvaluationCampaignsRequest) -> pb::ListEvaluationCampaignsResponse = grpc::campaigns::list;
    update_evaluation_campaign(pb::UpdateEvaluationCampaignRequest) -> pb::UpdateEvaluationCampaignResponse = grpc::campaigns::update;
    start_evaluation_campaign(pb::StartEvaluationCampaignRequest) -> pb::StartEvaluationCampaignResponse = grpc::campaigns::start;
    close_evaluation_campaign(pb::CloseEvaluationCampaignRequest) -> pb::CloseEvaluationCampaignResponse = grpc::campaigns::close;
    get_evaluation(pb::GetEvaluationRequest) -> pb::GetEvaluationResponse = grpc::evaluations::get;
    list_evaluations(pb::ListEvaluationsRequest) -> pb::ListEvaluationsResponse = grpc::evaluations::list;
    submit_self_assessment(pb::SubmitSelfAssessmentRequest) -> pb::SubmitSelfAssessmentResponse = grpc::evaluations::submit_self_assessment;
    record_indicator_scores(pb::RecordIndicatorScoresRequest) -> pb::RecordIndicatorScoresResponse = grpc::evaluations::record_scores;
    record_veto_finding(pb::RecordVetoFindingRequest) -> pb::RecordVetoFindingResponse = grpc::evaluations::record_veto;
    recuse_evaluator(pb::RecuseEvaluatorRequest) -> pb::RecuseEvaluatorResponse = grpc::evaluations::recuse;
    calculate_evaluation_result(pb::CalculateEvaluationResultRequest) -> pb::CalculateEvaluationResultResponse = grpc::evaluations::calculate;
    complete_evaluation(pb::CompleteEvaluationRequest) -> pb::CompleteEvaluationResponse = grpc::evaluations::complete;
    create_evidence_record(pb::CreateEvidenceRecordRequest) -> pb::CreateEvidenceRecordResponse = grpc::evidence::create;
    get_evidence_record(pb::GetEvidenceRecordRequest) -> pb::GetEvidenceRecordResponse = grpc::evidence::get;
    list_evidence_records(pb::ListEvidenceRecordsRequest) -> pb::ListEvidenceRecordsResponse = grpc::evidence::list;
    create_rectification_order(pb::CreateRectificationOrderRequest) -> pb::CreateRectificationOrderResponse = grpc::rectification_orders::create;
    get_rectification_order(pb::GetRectificationOrderRequest) -> pb::GetRectificationOrderResponse = grpc::rectification_orders::get;
    list_rectification_orders(pb::ListRectificationOrdersRequest) -> pb::ListRectificationOrdersResponse = grpc::rectification_orders::list;
    submit_rectification_plan(pb::SubmitRectificationPlanRequest) -> pb::SubmitRectificationPlanResponse = grpc::rectification_orders::submit_plan;
    submit_rectification_report(pb::SubmitRectificationReportRequest) -> pb::SubmitRectificationReportResponse = grpc::rectification_orders::submit_report;
    verify_rectification(pb::VerifyRectificationRequest) -> pb::VerifyRectificationResponse = grpc::rectification_orders::verify;
    create_operator_report(pb::CreateOperatorReportRequest) -> pb::CreateOperatorReportResponse = grpc::operator_reports::create;
    get_operator_report(pb::GetOperatorReportRequest) -> pb::GetOperatorReportResponse = grpc::operator_reports::get;
    list_operator_reports(pb::ListOperatorReportsRequest) -> pb::ListOperatorReportsResponse = grpc::operator_reports::list;
    update_operator_report(pb::UpdateOperatorReportRequest) -> pb::UpdateOperatorReportResponse = grpc::operator_reports::update;
    submit_operator_report(pb::SubmitOperatorReportRequest) -> pb::SubmitOperatorReportResponse = grpc::operator_reports::submit;
    accept_operator_report(pb::AcceptOperatorReportRequest) -> pb::AcceptOperatorReportResponse = grpc::operator_reports::accept;
    return_operator_report(pb::ReturnOperatorReportRequest) -> pb::ReturnOperatorReportResponse = grpc::operator_reports::return_report;
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_rpc_has_exactly_one_policy_line() {
        pdop_kit::testing::assert_policy_covers::<super::Evaluation>(&[]);
    }
}
