//! The review service: 一场景一审核 scenario review, data-use applications, product compliance review and developer admission.
//!
//! Its RPCs answer `UNIMPLEMENTED` until the service's own issue lands; the service already starts,
//! migrates its database, provisions its NATS stream, reports health and serves reflection.

use std::sync::Arc;

use pdop_kit::auth::{Access, Policy};
use pdop_kit::config::ServiceDefaults;
use pdop_kit::{Platform, Service};
use pdop_proto::review::v1::review_service_server::{ReviewService, ReviewServiceServer};
use serde::Deserialize;
use sqlx::migrate::Migrator;
use tonic::service::Routes;

/// The review service, as assembled by `pdop_kit::server`.
pub struct Review;

/// The `review:` configuration section (none yet).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewConfig {}

impl Service for Review {
    type Config = ReviewConfig;
    type State = Arc<Platform>;
    const DEFAULTS: ServiceDefaults = ServiceDefaults {
        name: "review",
        grpc_port: 50052,
        admin_port: 9092,
    };
    const GRPC_SERVICE: &'static str = "pdop.review.v1.ReviewService";
    const IMPLEMENTED: &'static [&'static str] = Rpcs::IMPLEMENTED;
    const CONFIG_DEFAULTS: &'static str = "review: {}";

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
                ("CreateScenarioApplication", Unimplemented),
                ("GetScenarioApplication", Unimplemented),
                ("ListScenarioApplications", Unimplemented),
                ("UpdateScenarioApplication", Unimplemented),
                ("SubmitScenarioApplication", Unimplemented),
                ("ApproveScenarioApplication", Unimplemented),
                ("RejectScenarioApplication", Unimplemented),
                ("ReturnScenarioApplicationForSupplement", Unimplemented),
                ("WithdrawScenarioApplication", Unimplemented),
                ("RevokeScenarioApplication", Unimplemented),
                ("CreateDataUseApplication", Unimplemented),
                ("GetDataUseApplication", Unimplemented),
                ("ListDataUseApplications", Unimplemented),
                ("UpdateDataUseApplication", Unimplemented),
                ("SubmitDataUseApplication", Unimplemented),
                ("ConfirmDataUseApplication", Unimplemented),
                ("ApproveDataUseApplication", Unimplemented),
                ("RejectDataUseApplication", Unimplemented),
                ("ReturnDataUseApplicationForSupplement", Unimplemented),
                ("WithdrawDataUseApplication", Unimplemented),
                ("RecordDataUseProvisioning", Unimplemented),
                ("RevokeDataUseApplication", Unimplemented),
                ("CreateDataQualityCheck", Unimplemented),
                ("GetDataQualityCheck", Unimplemented),
                ("ListDataQualityChecks", Unimplemented),
                ("RespondDataQualityCheck", Unimplemented),
                ("CloseDataQualityCheck", Unimplemented),
                ("WithdrawDataQualityCheck", Unimplemented),
                ("CreateProductReview", Unimplemented),
                ("GetProductReview", Unimplemented),
                ("ListProductReviews", Unimplemented),
                ("UpdateProductReview", Unimplemented),
                ("SubmitProductReview", Unimplemented),
                ("RecordProductComplianceChecks", Unimplemented),
                ("ApproveProductReview", Unimplemented),
                ("RejectProductReview", Unimplemented),
                ("ReturnProductReviewForSupplement", Unimplemented),
                ("WithdrawProductReview", Unimplemented),
                ("CreateDeveloperAdmission", Unimplemented),
                ("GetDeveloperAdmission", Unimplemented),
                ("ListDeveloperAdmissions", Unimplemented),
                ("UpdateDeveloperAdmission", Unimplemented),
                ("SubmitDeveloperAdmission", Unimplemented),
                ("ReturnDeveloperAdmissionForSupplement", Unimplemented),
                ("ApproveDeveloperAdmission", Unimplemented),
                ("RejectDeveloperAdmission", Unimplemented),
                ("StartDeveloperAdmissionNotice", Unimplemented),
                ("ListDeveloperAdmissionObjections", Unimplemented),
                ("UpholdDeveloperAdmissionObjection", Unimplemented),
                ("DismissDeveloperAdmissionObjection", Unimplemented),
                ("AdmitDeveloper", Unimplemented),
                ("WithdrawDeveloperAdmission", Unimplemented),
                ("ExitDeveloperAdmission", Unimplemented),
                ("CreateAppeal", Unimplemented),
                ("GetAppeal", Unimplemented),
                ("ListAppeals", Unimplemented),
                ("UpholdAppeal", Unimplemented),
                ("DismissAppeal", Unimplemented),
                ("WithdrawAppeal", Unimplemented),
                ("AssignReviewer", Unimplemented),
                ("RecuseReviewer", Unimplemented),
                ("CreateReviewOpinion", Unimplemented),
                ("ListReviewOpinions", Unimplemented),
            ],
        )
    }

    fn build(platform: Arc<Platform>, _config: Self::Config) -> anyhow::Result<Self::State> {
        Ok(platform)
    }

    fn routes(state: Arc<Self::State>) -> Routes {
        let limit = state.as_ref().settings.grpc.max_decoding_message_size;
        Routes::new(ReviewServiceServer::new(Rpcs::new(state)).max_decoding_message_size(limit))
    }
}

pdop_kit::rpcs! {
    ReviewService for Review;
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_rpc_has_exactly_one_policy_line() {
        pdop_kit::testing::assert_policy_covers::<super::Review>(&[]);
    }
}
