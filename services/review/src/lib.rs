//! The review service: 一场景一审核 scenario review, data-use applications, product compliance review and developer admission.
//!
//! Built on the unit-of-work shape (`design/SPINE.md`): `domain` decides (pure), `storage` reads and writes,
//! `grpc` parses and delegates. What the registry announces is kept as a read model (`incoming`); the service never
//! calls the registry (R-RV-12). Scenario applications and the panel RPCs are built; the other kinds answer
//! `UNIMPLEMENTED` until they land.

mod context;
mod domain;
mod events;
mod grpc;
mod incoming;
mod scheduler;
mod storage;

use std::sync::Arc;

use pdop_kit::auth::{Access, Policy, Role};
use pdop_kit::config::ServiceDefaults;
use pdop_kit::{Platform, Service};
use pdop_proto::review::v1 as pb;
use pdop_proto::review::v1::review_service_server::{ReviewService, ReviewServiceServer};
use serde::Deserialize;
use sqlx::migrate::Migrator;
use tonic::service::Routes;

use crate::context::Ctx;

/// The review service, as assembled by `pdop_kit::server`.
pub struct Review;

/// The `review:` configuration section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewConfig {
    /// How often the scheduler announces review deadlines that passed unmet; they are announced by calendar
    /// day, so minutes of delay are harmless.
    #[serde(with = "pdop_kit::config::humantime_secs")]
    pub scheduler_interval: std::time::Duration,
}

impl Service for Review {
    type Config = ReviewConfig;
    type State = Ctx;
    const DEFAULTS: ServiceDefaults = ServiceDefaults {
        name: "review",
        grpc_port: 50052,
        admin_port: 9092,
    };
    const GRPC_SERVICE: &'static str = "pdop.review.v1.ReviewService";
    const IMPLEMENTED: &'static [&'static str] = Rpcs::IMPLEMENTED;
    const CONFIG_DEFAULTS: &'static str = "review: {scheduler_interval: 10m}";

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
        Routes::new(ReviewServiceServer::new(Rpcs::new(state)).max_decoding_message_size(limit))
    }

    async fn on_ready(state: Arc<Ctx>) -> anyhow::Result<()> {
        for spec in incoming::specs() {
            let handler = incoming::Incoming { ctx: state.clone() };
            state.platform.spawn_consumer(spec, handler).await?;
        }
        scheduler::start(state.clone(), state.scheduler_interval);
        Ok(())
    }
}

/// Who may call what: one line per RPC of the contract (deny by default); handlers add the party, panel and
/// jurisdiction checks (R-RV-01).
fn policy() -> Policy {
    use Role::*;
    let roles = |r: &[Role]| Access::Roles(r.to_vec());
    let readers = roles(&[
        Operator,
        Developer,
        DataAuthority,
        ImplementingAgency,
        DataProvider,
        Auditor,
        IndustryRegulator,
    ]);
    let check_readers = roles(&[
        Operator,
        Developer,
        DataProvider,
        ImplementingAgency,
        DataAuthority,
        Evaluator,
        Auditor,
    ]);
    let panel = roles(&[
        DataAuthority,
        ImplementingAgency,
        DataProvider,
        Operator,
        IndustryRegulator,
    ]);
    // The admission lead is the operator, or the implementing agency in Laiyuan (S-LY §三(三)2).
    let admission_lead = roles(&[Operator, ImplementingAgency]);
    let admission_readers = roles(&[
        Developer,
        Operator,
        DataAuthority,
        ImplementingAgency,
        DataProvider,
        IndustryRegulator,
        Auditor,
    ]);
    Policy::table(
        Review::GRPC_SERVICE,
        [
            ("CreateScenarioApplication", roles(&[Operator])),
            ("GetScenarioApplication", readers.clone()),
            ("ListScenarioApplications", readers.clone()),
            ("UpdateScenarioApplication", roles(&[Operator])),
            ("SubmitScenarioApplication", roles(&[Operator])),
            (
                "ApproveScenarioApplication",
                roles(&[DataAuthority, ImplementingAgency]),
            ),
            (
                "RejectScenarioApplication",
                roles(&[DataAuthority, ImplementingAgency]),
            ),
            (
                "ReturnScenarioApplicationForSupplement",
                roles(&[DataAuthority, ImplementingAgency]),
            ),
            ("WithdrawScenarioApplication", roles(&[Operator])),
            (
                "RevokeScenarioApplication",
                roles(&[DataAuthority, ImplementingAgency]),
            ),
            ("CreateDataUseApplication", roles(&[Operator])),
            ("GetDataUseApplication", readers.clone()),
            ("ListDataUseApplications", readers.clone()),
            ("UpdateDataUseApplication", roles(&[Operator, IndustryRegulator])),
            ("SubmitDataUseApplication", roles(&[Operator])),
            ("ConfirmDataUseApplication", roles(&[DataProvider])),
            (
                "ApproveDataUseApplication",
                roles(&[DataAuthority, ImplementingAgency]),
            ),
            (
                "RejectDataUseApplication",
                roles(&[DataAuthority, ImplementingAgency]),
            ),
            (
                "ReturnDataUseApplicationForSupplement",
                roles(&[DataAuthority, ImplementingAgency, DataProvider]),
            ),
            ("WithdrawDataUseApplication", roles(&[Operator])),
            (
                "RecordDataUseProvisioning",
                roles(&[DataAuthority, ImplementingAgency]),
            ),
            (
                "RevokeDataUseApplication",
                roles(&[DataAuthority, ImplementingAgency, DataProvider]),
            ),
            ("CreateDataQualityCheck", roles(&[Operator, Developer])),
            ("GetDataQualityCheck", check_readers.clone()),
            ("ListDataQualityChecks", check_readers),
            (
                "RespondDataQualityCheck",
                roles(&[DataProvider, ImplementingAgency, DataAuthority]),
            ),
            ("CloseDataQualityCheck", roles(&[Operator, Developer])),
            ("WithdrawDataQualityCheck", roles(&[Operator, Developer])),
            ("CreateProductReview", roles(&[Developer])),
            ("GetProductReview", readers.clone()),
            ("ListProductReviews", readers.clone()),
            ("UpdateProductReview", roles(&[Operator, Developer])),
            ("SubmitProductReview", roles(&[Operator, Developer])),
            ("RecordProductComplianceChecks", panel.clone()),
            (
                "ApproveProductReview",
                roles(&[DataAuthority, ImplementingAgency, Operator]),
            ),
            (
                "RejectProductReview",
                roles(&[DataAuthority, ImplementingAgency, Operator]),
            ),
            (
                "ReturnProductReviewForSupplement",
                roles(&[DataAuthority, ImplementingAgency, Operator]),
            ),
            ("WithdrawProductReview", roles(&[Operator, Developer])),
            ("CreateDeveloperAdmission", roles(&[Developer])),
            ("GetDeveloperAdmission", admission_readers.clone()),
            ("ListDeveloperAdmissions", admission_readers),
            ("UpdateDeveloperAdmission", roles(&[Developer])),
            ("SubmitDeveloperAdmission", roles(&[Developer])),
            ("ReturnDeveloperAdmissionForSupplement", admission_lead.clone()),
            ("ApproveDeveloperAdmission", admission_lead.clone()),
            ("RejectDeveloperAdmission", admission_lead.clone()),
            ("StartDeveloperAdmissionNotice", admission_lead.clone()),
            (
                "ListDeveloperAdmissionObjections",
                roles(&[Operator, ImplementingAgency, DataAuthority, Auditor, Developer]),
            ),
            ("UpholdDeveloperAdmissionObjection", admission_lead.clone()),
            ("DismissDeveloperAdmissionObjection", admission_lead.clone()),
            ("AdmitDeveloper", admission_lead.clone()),
            ("WithdrawDeveloperAdmission", roles(&[Developer])),
            (
                "ExitDeveloperAdmission",
                roles(&[Operator, ImplementingAgency, Developer]),
            ),
            ("CreateAppeal", roles(&[Operator, Developer])),
            ("GetAppeal", readers.clone()),
            ("ListAppeals", readers.clone()),
            ("UpholdAppeal", roles(&[ImplementingAgency])),
            ("DismissAppeal", roles(&[ImplementingAgency])),
            ("WithdrawAppeal", roles(&[Operator, Developer])),
            (
                "AssignReviewer",
                roles(&[DataAuthority, ImplementingAgency, Operator]),
            ),
            ("RecuseReviewer", panel.clone()),
            ("CreateReviewOpinion", panel),
            ("ListReviewOpinions", readers),
        ],
    )
}

pdop_kit::rpcs! {
    ReviewService for Review;
    create_scenario_application(pb::CreateScenarioApplicationRequest) -> pb::CreateScenarioApplicationResponse = grpc::scenarios::create;
    get_scenario_application(pb::GetScenarioApplicationRequest) -> pb::GetScenarioApplicationResponse = grpc::scenarios::get;
    list_scenario_applications(pb::ListScenarioApplicationsRequest) -> pb::ListScenarioApplicationsResponse = grpc::scenarios::list;
    update_scenario_application(pb::UpdateScenarioApplicationRequest) -> pb::UpdateScenarioApplicationResponse = grpc::scenarios::update;
    submit_scenario_application(pb::SubmitScenarioApplicationRequest) -> pb::SubmitScenarioApplicationResponse = grpc::scenarios::submit;
    approve_scenario_application(pb::ApproveScenarioApplicationRequest) -> pb::ApproveScenarioApplicationResponse = grpc::scenarios::approve;
    reject_scenario_application(pb::RejectScenarioApplicationRequest) -> pb::RejectScenarioApplicationResponse = grpc::scenarios::reject;
    return_scenario_application_for_supplement(pb::ReturnScenarioApplicationForSupplementRequest) -> pb::ReturnScenarioApplicationForSupplementResponse = grpc::scenarios::return_for_supplement;
    withdraw_scenario_application(pb::WithdrawScenarioApplicationRequest) -> pb::WithdrawScenarioApplicationResponse = grpc::scenarios::withdraw;
    revoke_scenario_application(pb::RevokeScenarioApplicationRequest) -> pb::RevokeScenarioApplicationResponse = grpc::scenarios::revoke;
    create_data_use_application(pb::CreateDataUseApplicationRequest) -> pb::CreateDataUseApplicationResponse = grpc::data_uses::create;
    get_data_use_application(pb::GetDataUseApplicationRequest) -> pb::GetDataUseApplicationResponse = grpc::data_uses::get;
    list_data_use_applications(pb::ListDataUseApplicationsRequest) -> pb::ListDataUseApplicationsResponse = grpc::data_uses::list;
    update_data_use_application(pb::UpdateDataUseApplicationRequest) -> pb::UpdateDataUseApplicationResponse = grpc::data_uses::update;
    submit_data_use_application(pb::SubmitDataUseApplicationRequest) -> pb::SubmitDataUseApplicationResponse = grpc::data_uses::submit;
    withdraw_data_use_application(pb::WithdrawDataUseApplicationRequest) -> pb::WithdrawDataUseApplicationResponse = grpc::data_uses::withdraw;
    confirm_data_use_application(pb::ConfirmDataUseApplicationRequest) -> pb::ConfirmDataUseApplicationResponse = grpc::data_use_review::confirm;
    approve_data_use_application(pb::ApproveDataUseApplicationRequest) -> pb::ApproveDataUseApplicationResponse = grpc::data_use_review::approve;
    reject_data_use_application(pb::RejectDataUseApplicationRequest) -> pb::RejectDataUseApplicationResponse = grpc::data_use_review::reject;
    return_data_use_application_for_supplement(pb::ReturnDataUseApplicationForSupplementRequest) -> pb::ReturnDataUseApplicationForSupplementResponse = grpc::data_use_review::return_for_supplement;
    record_data_use_provisioning(pb::RecordDataUseProvisioningRequest) -> pb::RecordDataUseProvisioningResponse = grpc::data_use_review::provision;
    revoke_data_use_application(pb::RevokeDataUseApplicationRequest) -> pb::RevokeDataUseApplicationResponse = grpc::data_use_review::revoke;
    create_data_quality_check(pb::CreateDataQualityCheckRequest) -> pb::CreateDataQualityCheckResponse = grpc::quality_checks::create;
    get_data_quality_check(pb::GetDataQualityCheckRequest) -> pb::GetDataQualityCheckResponse = grpc::quality_checks::get;
    list_data_quality_checks(pb::ListDataQualityChecksRequest) -> pb::ListDataQualityChecksResponse = grpc::quality_checks::list;
    respond_data_quality_check(pb::RespondDataQualityCheckRequest) -> pb::RespondDataQualityCheckResponse = grpc::quality_checks::respond;
    close_data_quality_check(pb::CloseDataQualityCheckRequest) -> pb::CloseDataQualityCheckResponse = grpc::quality_checks::close;
    withdraw_data_quality_check(pb::WithdrawDataQualityCheckRequest) -> pb::WithdrawDataQualityCheckResponse = grpc::quality_checks::withdraw;
    create_product_review(pb::CreateProductReviewRequest) -> pb::CreateProductReviewResponse = grpc::product_reviews::create;
    get_product_review(pb::GetProductReviewRequest) -> pb::GetProductReviewResponse = grpc::product_reviews::get;
    list_product_reviews(pb::ListProductReviewsRequest) -> pb::ListProductReviewsResponse = grpc::product_reviews::list;
    update_product_review(pb::UpdateProductReviewRequest) -> pb::UpdateProductReviewResponse = grpc::product_reviews::update;
    submit_product_review(pb::SubmitProductReviewRequest) -> pb::SubmitProductReviewResponse = grpc::product_reviews::submit;
    record_product_compliance_checks(pb::RecordProductComplianceChecksRequest) -> pb::RecordProductComplianceChecksResponse = grpc::product_reviews::record_checks;
    approve_product_review(pb::ApproveProductReviewRequest) -> pb::ApproveProductReviewResponse = grpc::product_reviews::approve;
    reject_product_review(pb::RejectProductReviewRequest) -> pb::RejectProductReviewResponse = grpc::product_reviews::reject;
    return_product_review_for_supplement(pb::ReturnProductReviewForSupplementRequest) -> pb::ReturnProductReviewForSupplementResponse = grpc::product_reviews::return_for_supplement;
    withdraw_product_review(pb::WithdrawProductReviewRequest) -> pb::WithdrawProductReviewResponse = grpc::product_reviews::withdraw;
    create_developer_admission(pb::CreateDeveloperAdmissionRequest) -> pb::CreateDeveloperAdmissionResponse = grpc::admissions::create;
    get_developer_admission(pb::GetDeveloperAdmissionRequest) -> pb::GetDeveloperAdmissionResponse = grpc::admissions::get;
    list_developer_admissions(pb::ListDeveloperAdmissionsRequest) -> pb::ListDeveloperAdmissionsResponse = grpc::admissions::list;
    update_developer_admission(pb::UpdateDeveloperAdmissionRequest) -> pb::UpdateDeveloperAdmissionResponse = grpc::admissions::update;
    submit_developer_admission(pb::SubmitDeveloperAdmissionRequest) -> pb::SubmitDeveloperAdmissionResponse = grpc::admissions::submit;
    return_developer_admission_for_supplement(pb::ReturnDeveloperAdmissionForSupplementRequest) -> pb::ReturnDeveloperAdmissionForSupplementResponse = grpc::admissions::return_for_supplement;
    approve_developer_admission(pb::ApproveDeveloperAdmissionRequest) -> pb::ApproveDeveloperAdmissionResponse = grpc::admissions::approve;
    reject_developer_admission(pb::RejectDeveloperAdmissionRequest) -> pb::RejectDeveloperAdmissionResponse = grpc::admissions::reject;
    withdraw_developer_admission(pb::WithdrawDeveloperAdmissionRequest) -> pb::WithdrawDeveloperAdmissionResponse = grpc::admissions::withdraw;
    start_developer_admission_notice(pb::StartDeveloperAdmissionNoticeRequest) -> pb::StartDeveloperAdmissionNoticeResponse = grpc::admission_notice::start_notice;
    list_developer_admission_objections(pb::ListDeveloperAdmissionObjectionsRequest) -> pb::ListDeveloperAdmissionObjectionsResponse = grpc::admission_notice::list_objections;
    uphold_developer_admission_objection(pb::UpholdDeveloperAdmissionObjectionRequest) -> pb::UpholdDeveloperAdmissionObjectionResponse = grpc::admission_notice::uphold;
    dismiss_developer_admission_objection(pb::DismissDeveloperAdmissionObjectionRequest) -> pb::DismissDeveloperAdmissionObjectionResponse = grpc::admission_notice::dismiss;
    admit_developer(pb::AdmitDeveloperRequest) -> pb::AdmitDeveloperResponse = grpc::admission_notice::admit;
    exit_developer_admission(pb::ExitDeveloperAdmissionRequest) -> pb::ExitDeveloperAdmissionResponse = grpc::admission_notice::exit;
    create_appeal(pb::CreateAppealRequest) -> pb::CreateAppealResponse = grpc::appeals::create;
    get_appeal(pb::GetAppealRequest) -> pb::GetAppealResponse = grpc::appeals::get;
    list_appeals(pb::ListAppealsRequest) -> pb::ListAppealsResponse = grpc::appeals::list;
    uphold_appeal(pb::UpholdAppealRequest) -> pb::UpholdAppealResponse = grpc::appeals::uphold;
    dismiss_appeal(pb::DismissAppealRequest) -> pb::DismissAppealResponse = grpc::appeals::dismiss;
    withdraw_appeal(pb::WithdrawAppealRequest) -> pb::WithdrawAppealResponse = grpc::appeals::withdraw;
    assign_reviewer(pb::AssignReviewerRequest) -> pb::AssignReviewerResponse = grpc::panel::assign;
    recuse_reviewer(pb::RecuseReviewerRequest) -> pb::RecuseReviewerResponse = grpc::panel::recuse;
    create_review_opinion(pb::CreateReviewOpinionRequest) -> pb::CreateReviewOpinionResponse = grpc::panel::create_opinion;
    list_review_opinions(pb::ListReviewOpinionsRequest) -> pb::ListReviewOpinionsResponse = grpc::panel::list_opinions;
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_rpc_has_exactly_one_policy_line() {
        pdop_kit::testing::assert_policy_covers::<super::Review>(&[]);
    }
}
