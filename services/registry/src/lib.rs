//! The registry service: the source of truth for jurisdictions and their rule profiles,
//! organizations, the data-resource catalog and registration (登记), implementation plans,
//! agreements, products and deadlines. Other services read it through its events.
//!
//! Implemented so far: jurisdictions, organizations, the catalog and negative list, registration,
//! implementation plans, operator agreements, developer agreements, the blacklist and products, and the
//! consequences of evaluation results (`evaluation_events`, `follow_ups`). The other RPCs answer `UNIMPLEMENTED`.

mod agreements;
mod blacklist;
mod checklist;
mod context;
mod convert;
mod deadlines;
mod developer_agreements;
mod domain;
mod evaluation_events;
mod events;
mod follow_ups;
mod grpc;
mod incoming;
mod jurisdictions;
mod mask;
mod names;
mod negative_list;
mod organizations;
mod plans;
mod products;
mod resources;
mod review_events;
mod scheduler;
mod storage;
mod supervision;
mod validate;

use std::sync::Arc;

use anyhow::Context as _;
use pdop_kit::auth::{Access, Policy, Role};
use pdop_kit::config::ServiceDefaults;
use pdop_kit::{Platform, Service};
use pdop_proto::registry::v1 as pb;
use pdop_proto::registry::v1::registry_service_server::{RegistryService, RegistryServiceServer};
use pdop_rules::{Calendar, Profiles};
use serde::Deserialize;
use sqlx::migrate::Migrator;
use tonic::service::Routes;

use crate::context::Ctx;

/// The registry service, as assembled by `pdop_kit::server`.
pub struct Registry;

/// The `registry:` configuration section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    /// Pattern of registration-result query codes (登记结果查询码, N3 Art.13); the national coding rules
    /// are not published. Placeholders: `{division}`, `{year}`, `{seq}` (six digits).
    pub registration_code_format: String,
    /// How often the scheduler makes the day's transitions (agreements beginning and expiring, blacklist
    /// measures taking effect and ending); they are by calendar day, so minutes of delay are harmless.
    #[serde(with = "pdop_kit::config::humantime_secs")]
    pub scheduler_interval: std::time::Duration,
}

impl Service for Registry {
    type Config = RegistryConfig;
    type State = Ctx;
    const DEFAULTS: ServiceDefaults = ServiceDefaults {
        name: "registry",
        grpc_port: 50051,
        admin_port: 9091,
    };
    const GRPC_SERVICE: &'static str = "pdop.registry.v1.RegistryService";
    const IMPLEMENTED: &'static [&'static str] = Rpcs::IMPLEMENTED;
    const CONFIG_DEFAULTS: &'static str =
        "registry: {registration_code_format: 'DJ-{division}-{year}-{seq}', scheduler_interval: 600}";

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
        let rules = &platform.settings.rules;
        let profiles =
            Profiles::configured(rules.profiles_dir.as_deref()).context("loading rules.profiles_dir")?;
        let calendar =
            Calendar::configured(rules.holidays_file.as_deref()).context("loading rules.holidays_file")?;
        Ok(Ctx {
            platform,
            profiles,
            calendar,
            config,
        })
    }

    fn routes(state: Arc<Self::State>) -> Routes {
        let limit = state.platform.settings.grpc.max_decoding_message_size;
        Routes::new(RegistryServiceServer::new(Rpcs::new(state)).max_decoding_message_size(limit))
    }

    async fn on_ready(ctx: Arc<Ctx>) -> anyhow::Result<()> {
        scheduler::spawn(Arc::clone(&ctx));
        let handler = incoming::Incoming {
            ctx: Arc::clone(&ctx),
        };
        for spec in incoming::specs() {
            ctx.platform.spawn_consumer(spec, handler.clone()).await?;
        }
        Ok(())
    }
}

/// Who may call what: one line per RPC; an RPC missing here is refused to everyone (a unit test checks
/// that every RPC of the contract is listed). Handlers add the finer checks (ownership, parties).
fn policy() -> Policy {
    let svc = Registry::GRPC_SERVICE;
    Policy::table(svc, policy_table())
}

fn policy_table() -> Vec<(&'static str, Access)> {
    use Role::*;
    let anyone = || Access::Authenticated;
    let only = |roles: &[Role]| Access::Roles(roles.to_vec());
    let table: Vec<(&str, Access)> = vec![
        ("GetJurisdiction", anyone()),
        ("ListJurisdictions", anyone()),
        ("CreateJurisdiction", only(&[DataAuthority])),
        ("UpdateJurisdiction", only(&[DataAuthority])),
        ("GetOrganization", anyone()),
        ("ListOrganizations", anyone()),
        ("CreateOrganization", only(&[DataAuthority])),
        ("UpdateOrganization", only(&[DataAuthority])),
        (
            "RecordSecurityIncident",
            only(&[DataAuthority, ImplementingAgency]),
        ),
        ("GetResource", anyone()),
        ("ListResources", anyone()),
        ("ListResourceRevisions", anyone()),
        ("GetResourceRevision", anyone()),
        // Providers act on their own resources only; the handlers check ownership.
        ("CreateResource", only(&[DataProvider, DataAuthority])),
        ("UpdateResource", only(&[DataProvider, DataAuthority])),
        ("CatalogResource", only(&[DataProvider, DataAuthority])),
        ("RetireResource", only(&[DataProvider, DataAuthority])),
        ("GetNegativeListEntry", anyone()),
        ("ListNegativeListEntries", anyone()),
        ("CreateNegativeListEntry", only(&[DataAuthority])),
        ("ReviewNegativeListEntry", only(&[DataAuthority])),
        ("LiftNegativeListEntry", only(&[DataAuthority])),
        // Applicants: providers and implementing agencies (N2 Art.16) for resources; handlers check ownership.
        // Anyone with an interest may apply for a correction (N3 Art.9(3)); the handlers admit only the
        // registrant (provider, implementing agency, operator) for other applications.
        ("CreateRegistration", anyone()),
        ("UpdateRegistration", anyone()),
        ("SubmitRegistration", anyone()),
        ("ListRegistrationObjections", anyone()),
        (
            "RenewRegistration",
            only(&[DataProvider, ImplementingAgency, Operator]),
        ),
        ("GetRegistration", anyone()),
        ("ListRegistrations", anyone()),
        // The registry's staff decide; never on their own organization's application.
        ("AcceptRegistration", only(&[DataAuthority])),
        ("ReturnRegistrationForSupplement", only(&[DataAuthority])),
        ("RefuseRegistration", only(&[DataAuthority])),
        ("CompleteRegistrationReview", only(&[DataAuthority])),
        ("StartRegistrationNotice", only(&[DataAuthority])),
        ("IssueRegistrationCode", only(&[DataAuthority])),
        ("UpholdRegistrationObjection", only(&[DataAuthority])),
        ("DismissRegistrationObjection", only(&[DataAuthority])),
        ("CancelRegistration", only(&[DataAuthority])),
        ("RevokeRegistration", only(&[DataAuthority])),
        // Plans are drafted by the lead data authority; approval and filing are recorded by another authority.
        ("GetImplementationPlan", anyone()),
        ("ListImplementationPlans", anyone()),
        ("CreateImplementationPlan", only(&[DataAuthority])),
        ("UpdateImplementationPlan", only(&[DataAuthority])),
        ("SubmitImplementationPlan", only(&[DataAuthority])),
        ("ApproveImplementationPlan", only(&[DataAuthority])),
        ("FileImplementationPlan", only(&[DataAuthority])),
        ("ChangeImplementationPlan", only(&[DataAuthority])),
        // Agreements: drafted and signed by the implementing agency; filed with, and supervised by, a data
        // authority; parties and overseers read them (the handlers check who is a party).
        ("GetAgreement", anyone()),
        ("ListAgreements", anyone()),
        ("ListAgreementRevisions", anyone()),
        ("CreateAgreement", only(&[ImplementingAgency])),
        ("UpdateAgreement", only(&[ImplementingAgency])),
        ("SignAgreement", only(&[ImplementingAgency])),
        ("FileAgreement", only(&[DataAuthority])),
        ("ApplyAgreementRenewal", only(&[Operator])),
        ("RenewAgreement", only(&[ImplementingAgency])),
        ("SuspendAgreement", only(&[ImplementingAgency, DataAuthority])),
        ("ResumeAgreement", only(&[ImplementingAgency, DataAuthority])),
        ("TerminateAgreement", only(&[ImplementingAgency, DataAuthority])),
        ("RecordDataDestruction", only(&[ImplementingAgency])),
        ("FileAgreementTermination", only(&[DataAuthority])),
        // Developer agreements: made by the operator; parties and supervisors read them.
        ("GetDeveloperAgreement", anyone()),
        ("ListDeveloperAgreements", anyone()),
        ("CreateDeveloperAgreement", only(&[Operator])),
        ("UpdateDeveloperAgreement", only(&[Operator])),
        ("SignDeveloperAgreement", only(&[Operator])),
        (
            "TerminateDeveloperAgreement",
            only(&[Operator, ImplementingAgency]),
        ),
        // The blacklist is public; operators impose measures only on their developers (checked by the handler).
        ("GetBlacklistEntry", anyone()),
        ("ListBlacklistEntries", anyone()),
        (
            "CreateBlacklistEntry",
            only(&[ImplementingAgency, DataAuthority, Operator]),
        ),
        (
            "LiftBlacklistEntry",
            only(&[ImplementingAgency, DataAuthority, Operator]),
        ),
        // Deadlines: the responsible organization sees its own; data authorities and auditors all.
        ("GetDeadline", anyone()),
        ("ListDeadlines", anyone()),
        // Evaluation follow-ups: the supervising authority or the agreement's agency; the operator for its
        // developers (the handler checks which obligation).
        (
            "RecordEvaluationFollowUp",
            only(&[DataAuthority, ImplementingAgency, Operator]),
        ),
        // Products: operators own them; listed products are public, the rest visible to owner and overseers.
        ("GetProduct", anyone()),
        ("ListProducts", anyone()),
        ("CreateProduct", only(&[Operator])),
        ("UpdateProduct", only(&[Operator])),
        ("SubmitProduct", only(&[Operator])),
        (
            "WithdrawProduct",
            only(&[Operator, DataAuthority, ImplementingAgency]),
        ),
    ];
    table
}

pdop_kit::rpcs! {
    RegistryService for Registry;
    create_jurisdiction(pb::CreateJurisdictionRequest) -> pb::CreateJurisdictionResponse = jurisdictions::create, caller;
    get_jurisdiction(pb::GetJurisdictionRequest) -> pb::GetJurisdictionResponse = jurisdictions::get, plain;
    list_jurisdictions(pb::ListJurisdictionsRequest) -> pb::ListJurisdictionsResponse = jurisdictions::list, plain;
    update_jurisdiction(pb::UpdateJurisdictionRequest) -> pb::UpdateJurisdictionResponse = jurisdictions::update, caller;
    create_organization(pb::CreateOrganizationRequest) -> pb::CreateOrganizationResponse = organizations::create, caller;
    get_organization(pb::GetOrganizationRequest) -> pb::GetOrganizationResponse = organizations::get, plain;
    list_organizations(pb::ListOrganizationsRequest) -> pb::ListOrganizationsResponse = organizations::list, plain;
    update_organization(pb::UpdateOrganizationRequest) -> pb::UpdateOrganizationResponse = organizations::update, caller;
    record_security_incident(pb::RecordSecurityIncidentRequest) -> pb::RecordSecurityIncidentResponse = organizations::record_security_incident, caller;
    create_resource(pb::CreateResourceRequest) -> pb::CreateResourceResponse = resources::create, caller;
    get_resource(pb::GetResourceRequest) -> pb::GetResourceResponse = resources::get, plain;
    list_resources(pb::ListResourcesRequest) -> pb::ListResourcesResponse = resources::list, plain;
    update_resource(pb::UpdateResourceRequest) -> pb::UpdateResourceResponse = resources::update, caller;
    catalog_resource(pb::CatalogResourceRequest) -> pb::CatalogResourceResponse = resources::catalog, caller;
    retire_resource(pb::RetireResourceRequest) -> pb::RetireResourceResponse = resources::retire, caller;
    list_resource_revisions(pb::ListResourceRevisionsRequest) -> pb::ListResourceRevisionsResponse = resources::list_revisions, plain;
    get_resource_revision(pb::GetResourceRevisionRequest) -> pb::GetResourceRevisionResponse = resources::get_revision, plain;
    create_negative_list_entry(pb::CreateNegativeListEntryRequest) -> pb::CreateNegativeListEntryResponse = negative_list::create, caller;
    get_negative_list_entry(pb::GetNegativeListEntryRequest) -> pb::GetNegativeListEntryResponse = negative_list::get, plain;
    list_negative_list_entries(pb::ListNegativeListEntriesRequest) -> pb::ListNegativeListEntriesResponse = negative_list::list, plain;
    review_negative_list_entry(pb::ReviewNegativeListEntryRequest) -> pb::ReviewNegativeListEntryResponse = negative_list::review, caller;
    lift_negative_list_entry(pb::LiftNegativeListEntryRequest) -> pb::LiftNegativeListEntryResponse = negative_list::lift, caller;
    create_registration(pb::CreateRegistrationRequest) -> pb::CreateRegistrationResponse = grpc::registrations::create;
    get_registration(pb::GetRegistrationRequest) -> pb::GetRegistrationResponse = grpc::registrations::get;
    list_registrations(pb::ListRegistrationsRequest) -> pb::ListRegistrationsResponse = grpc::registrations::list;
    submit_registration(pb::SubmitRegistrationRequest) -> pb::SubmitRegistrationResponse = grpc::registrations::submit;
    accept_registration(pb::AcceptRegistrationRequest) -> pb::AcceptRegistrationResponse = grpc::registrations::accept;
    return_registration_for_supplement(pb::ReturnRegistrationForSupplementRequest) -> pb::ReturnRegistrationForSupplementResponse = grpc::registrations::return_for_supplement;
    refuse_registration(pb::RefuseRegistrationRequest) -> pb::RefuseRegistrationResponse = grpc::registrations::refuse;
    complete_registration_review(pb::CompleteRegistrationReviewRequest) -> pb::CompleteRegistrationReviewResponse = grpc::registrations::complete_review;
    start_registration_notice(pb::StartRegistrationNoticeRequest) -> pb::StartRegistrationNoticeResponse = grpc::notice::start_notice;
    issue_registration_code(pb::IssueRegistrationCodeRequest) -> pb::IssueRegistrationCodeResponse = grpc::notice::issue_code;
    create_implementation_plan(pb::CreateImplementationPlanRequest) -> pb::CreateImplementationPlanResponse = plans::create, caller;
    get_implementation_plan(pb::GetImplementationPlanRequest) -> pb::GetImplementationPlanResponse = plans::get, plain;
    list_implementation_plans(pb::ListImplementationPlansRequest) -> pb::ListImplementationPlansResponse = plans::list, plain;
    update_implementation_plan(pb::UpdateImplementationPlanRequest) -> pb::UpdateImplementationPlanResponse = plans::update, caller;
    submit_implementation_plan(pb::SubmitImplementationPlanRequest) -> pb::SubmitImplementationPlanResponse = plans::submit, caller;
    approve_implementation_plan(pb::ApproveImplementationPlanRequest) -> pb::ApproveImplementationPlanResponse = plans::approve, caller;
    file_implementation_plan(pb::FileImplementationPlanRequest) -> pb::FileImplementationPlanResponse = plans::file, caller;
    change_implementation_plan(pb::ChangeImplementationPlanRequest) -> pb::ChangeImplementationPlanResponse = plans::change, caller;
    create_agreement(pb::CreateAgreementRequest) -> pb::CreateAgreementResponse = agreements::create, caller;
    get_agreement(pb::GetAgreementRequest) -> pb::GetAgreementResponse = agreements::get, caller;
    list_agreements(pb::ListAgreementsRequest) -> pb::ListAgreementsResponse = agreements::list, caller;
    update_agreement(pb::UpdateAgreementRequest) -> pb::UpdateAgreementResponse = agreements::update, caller;
    sign_agreement(pb::SignAgreementRequest) -> pb::SignAgreementResponse = agreements::sign, caller;
    file_agreement(pb::FileAgreementRequest) -> pb::FileAgreementResponse = agreements::file, caller;
    apply_agreement_renewal(pb::ApplyAgreementRenewalRequest) -> pb::ApplyAgreementRenewalResponse = agreements::apply_renewal, caller;
    renew_agreement(pb::RenewAgreementRequest) -> pb::RenewAgreementResponse = agreements::renew, caller;
    suspend_agreement(pb::SuspendAgreementRequest) -> pb::SuspendAgreementResponse = agreements::suspend, caller;
    resume_agreement(pb::ResumeAgreementRequest) -> pb::ResumeAgreementResponse = agreements::resume, caller;
    terminate_agreement(pb::TerminateAgreementRequest) -> pb::TerminateAgreementResponse = agreements::terminate, caller;
    record_data_destruction(pb::RecordDataDestructionRequest) -> pb::RecordDataDestructionResponse = agreements::record_destruction, caller;
    file_agreement_termination(pb::FileAgreementTerminationRequest) -> pb::FileAgreementTerminationResponse = agreements::file_termination, caller;
    list_agreement_revisions(pb::ListAgreementRevisionsRequest) -> pb::ListAgreementRevisionsResponse = agreements::list_revisions, caller;
    create_product(pb::CreateProductRequest) -> pb::CreateProductResponse = products::create, caller;
    get_product(pb::GetProductRequest) -> pb::GetProductResponse = products::get, caller;
    list_products(pb::ListProductsRequest) -> pb::ListProductsResponse = products::list, caller;
    update_product(pb::UpdateProductRequest) -> pb::UpdateProductResponse = products::update, caller;
    submit_product(pb::SubmitProductRequest) -> pb::SubmitProductResponse = products::submit, caller;
    withdraw_product(pb::WithdrawProductRequest) -> pb::WithdrawProductResponse = products::withdraw, caller;
    create_developer_agreement(pb::CreateDeveloperAgreementRequest) -> pb::CreateDeveloperAgreementResponse = developer_agreements::create, caller;
    get_developer_agreement(pb::GetDeveloperAgreementRequest) -> pb::GetDeveloperAgreementResponse = developer_agreements::get, caller;
    list_developer_agreements(pb::ListDeveloperAgreementsRequest) -> pb::ListDeveloperAgreementsResponse = developer_agreements::list, caller;
    update_developer_agreement(pb::UpdateDeveloperAgreementRequest) -> pb::UpdateDeveloperAgreementResponse = developer_agreements::update, caller;
    sign_developer_agreement(pb::SignDeveloperAgreementRequest) -> pb::SignDeveloperAgreementResponse = developer_agreements::sign, caller;
    terminate_developer_agreement(pb::TerminateDeveloperAgreementRequest) -> pb::TerminateDeveloperAgreementResponse = developer_agreements::terminate, caller;
    create_blacklist_entry(pb::CreateBlacklistEntryRequest) -> pb::CreateBlacklistEntryResponse = blacklist::create, caller;
    get_blacklist_entry(pb::GetBlacklistEntryRequest) -> pb::GetBlacklistEntryResponse = blacklist::get, plain;
    list_blacklist_entries(pb::ListBlacklistEntriesRequest) -> pb::ListBlacklistEntriesResponse = blacklist::list, plain;
    lift_blacklist_entry(pb::LiftBlacklistEntryRequest) -> pb::LiftBlacklistEntryResponse = blacklist::lift, caller;
    get_deadline(pb::GetDeadlineRequest) -> pb::GetDeadlineResponse = deadlines::get, caller;
    list_deadlines(pb::ListDeadlinesRequest) -> pb::ListDeadlinesResponse = deadlines::list, caller;
    record_evaluation_follow_up(pb::RecordEvaluationFollowUpRequest) -> pb::RecordEvaluationFollowUpResponse = grpc::follow_ups::record;
    update_registration(pb::UpdateRegistrationRequest) -> pb::UpdateRegistrationResponse = grpc::lifecycle::update;
    list_registration_objections(pb::ListRegistrationObjectionsRequest) -> pb::ListRegistrationObjectionsResponse = grpc::objections::list;
    uphold_registration_objection(pb::UpholdRegistrationObjectionRequest) -> pb::UpholdRegistrationObjectionResponse = grpc::objections::uphold;
    dismiss_registration_objection(pb::DismissRegistrationObjectionRequest) -> pb::DismissRegistrationObjectionResponse = grpc::objections::dismiss;
    renew_registration(pb::RenewRegistrationRequest) -> pb::RenewRegistrationResponse = grpc::lifecycle::renew;
    cancel_registration(pb::CancelRegistrationRequest) -> pb::CancelRegistrationResponse = grpc::lifecycle::cancel;
    revoke_registration(pb::RevokeRegistrationRequest) -> pb::RevokeRegistrationResponse = grpc::lifecycle::revoke;
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_rpc_has_exactly_one_policy_line() {
        pdop_kit::testing::assert_policy_covers::<super::Registry>(&[]);
    }
}
