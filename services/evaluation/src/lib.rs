//! The evaluation service: indicator-based annual evaluation of operators (评价), grades and rectification (整改).
//!
//! Its RPCs answer `UNIMPLEMENTED` until the service's own issue lands; the service already starts,
//! migrates its database, provisions its NATS stream, reports health and serves reflection.

use std::sync::Arc;

use pdop_kit::auth::{Access, Policy};
use pdop_kit::config::ServiceDefaults;
use pdop_kit::{Platform, Service};
use pdop_proto::evaluation::v1::evaluation_service_server::{EvaluationService, EvaluationServiceServer};
use serde::Deserialize;
use sqlx::migrate::Migrator;
use tonic::service::Routes;

/// The evaluation service, as assembled by `pdop_kit::server`.
pub struct Evaluation;

/// The `evaluation:` configuration section (none yet).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationConfig {}

impl Service for Evaluation {
    type Config = EvaluationConfig;
    type State = Arc<Platform>;
    const DEFAULTS: ServiceDefaults = ServiceDefaults {
        name: "evaluation",
        grpc_port: 50054,
        admin_port: 9094,
    };
    const GRPC_SERVICE: &'static str = "pdop.evaluation.v1.EvaluationService";
    const IMPLEMENTED: &'static [&'static str] = Rpcs::IMPLEMENTED;
    const CONFIG_DEFAULTS: &'static str = "evaluation: {}";

    fn descriptor_set() -> &'static [u8] {
        pdop_proto::FILE_DESCRIPTOR_SET
    }

    fn migrator() -> Migrator {
        sqlx::migrate!()
    }

    fn policy() -> Policy {
        use Access::*;
        // One line per RPC of the contract; each gets its roles when it is built.
        Policy::table(
            Self::GRPC_SERVICE,
            [
                ("CreateIndicatorSystem", Unimplemented),
                ("GetIndicatorSystem", Unimplemented),
                ("ListIndicatorSystems", Unimplemented),
                ("UpdateIndicatorSystem", Unimplemented),
                ("PublishIndicatorSystem", Unimplemented),
                ("RetireIndicatorSystem", Unimplemented),
                ("CreateEvaluationCampaign", Unimplemented),
                ("GetEvaluationCampaign", Unimplemented),
                ("ListEvaluationCampaigns", Unimplemented),
                ("UpdateEvaluationCampaign", Unimplemented),
                ("StartEvaluationCampaign", Unimplemented),
                ("CloseEvaluationCampaign", Unimplemented),
                ("GetEvaluation", Unimplemented),
                ("ListEvaluations", Unimplemented),
                ("SubmitSelfAssessment", Unimplemented),
                ("RecordIndicatorScores", Unimplemented),
                ("RecordVetoFinding", Unimplemented),
                ("RecuseEvaluator", Unimplemented),
                ("CalculateEvaluationResult", Unimplemented),
                ("CompleteEvaluation", Unimplemented),
                ("CreateEvidenceRecord", Unimplemented),
                ("GetEvidenceRecord", Unimplemented),
                ("ListEvidenceRecords", Unimplemented),
                ("CreateRectificationOrder", Unimplemented),
                ("GetRectificationOrder", Unimplemented),
                ("ListRectificationOrders", Unimplemented),
                ("SubmitRectificationPlan", Unimplemented),
                ("SubmitRectificationReport", Unimplemented),
                ("VerifyRectification", Unimplemented),
                ("CreateOperatorReport", Unimplemented),
                ("GetOperatorReport", Unimplemented),
                ("ListOperatorReports", Unimplemented),
                ("UpdateOperatorReport", Unimplemented),
                ("SubmitOperatorReport", Unimplemented),
                ("AcceptOperatorReport", Unimplemented),
                ("ReturnOperatorReport", Unimplemented),
            ],
        )
    }

    fn build(platform: Arc<Platform>, _config: Self::Config) -> anyhow::Result<Self::State> {
        Ok(platform)
    }

    fn routes(state: Arc<Self::State>) -> Routes {
        let limit = state.as_ref().settings.grpc.max_decoding_message_size;
        Routes::new(EvaluationServiceServer::new(Rpcs::new(state)).max_decoding_message_size(limit))
    }
}

pdop_kit::rpcs! {
    EvaluationService for Evaluation;
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_rpc_has_exactly_one_policy_line() {
        pdop_kit::testing::assert_policy_covers::<super::Evaluation>(&[]);
    }
}
