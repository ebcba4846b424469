//! The registry service: the source of truth for jurisdictions and their rule profiles,
//! organizations, the data-resource catalog and registration (登记), implementation plans,
//! agreements, products and deadlines. Other services read it through its events.
//!
//! Implemented so far: jurisdictions, organizations, the catalog and negative list, registration,
//! implementation plans, operator agreements, developer agreements, the blacklist and products. The other
//! RPCs answer `UNIMPLEMENTED`.

mod agreements;
mod blacklist;
mod checklist;
mod context;
mod convert;
mod deadlines;
mod developer_agreements;
mod incoming;
mod jurisdictions;
mod mask;
mod names;
mod negative_list;
mod organizations;
mod plans;
mod products;
mod registrations;
mod resources;
mod scheduler;
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
use tonic::{Request, Response, Status};

use crate::context::{Ctx, caller};

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
    const DEFAULTS: ServiceDefaults = ServiceDefaults {
        name: "registry",
        grpc_port: 50051,
        admin_port: 9091,
    };
    const GRPC_SERVICE: &'static str = "pdop.registry.v1.RegistryService";
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

    fn routes(platform: Arc<Platform>, config: Arc<Self::Config>) -> anyhow::Result<Routes> {
        let ctx = context(platform)?;
        Ok(Routes::new(RegistryServiceServer::new(Handlers { ctx, config })))
    }

    async fn on_ready(platform: Arc<Platform>, config: Arc<Self::Config>) -> anyhow::Result<()> {
        let ctx = context(Arc::clone(&platform))?;
        scheduler::spawn(Arc::clone(&ctx), config.scheduler_interval);
        let handler = incoming::Incoming { ctx };
        for spec in incoming::specs() {
            platform.spawn_consumer(spec, handler.clone()).await?;
        }
        Ok(())
    }
}

/// The handlers' context: the platform with the configured rule profiles and calendar.
fn context(platform: Arc<Platform>) -> anyhow::Result<Arc<Ctx>> {
    let rules = &platform.settings.rules;
    let profiles =
        Profiles::configured(rules.profiles_dir.as_deref()).context("loading rules.profiles_dir")?;
    let calendar =
        Calendar::configured(rules.holidays_file.as_deref()).context("loading rules.holidays_file")?;
    Ok(Arc::new(Ctx {
        platform,
        profiles,
        calendar,
    }))
}

/// Who may call what: one line per RPC; an RPC missing here is refused to everyone (a unit test checks
/// that every RPC of the contract is listed). Handlers add the finer checks (ownership, parties).
fn policy() -> Policy {
    let svc = Registry::GRPC_SERVICE;
    policy_table()
        .into_iter()
        .fold(Policy::new(), |policy, (method, access)| {
            policy.allow(svc, method, access)
        })
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

struct Handlers {
    ctx: Arc<Ctx>,
    config: Arc<RegistryConfig>,
}

#[tonic::async_trait]
impl RegistryService for Handlers {
    async fn create_jurisdiction(
        &self,
        request: Request<pb::CreateJurisdictionRequest>,
    ) -> Result<Response<pb::CreateJurisdictionResponse>, Status> {
        let caller = caller(&request)?;
        jurisdictions::create(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_jurisdiction(
        &self,
        request: Request<pb::GetJurisdictionRequest>,
    ) -> Result<Response<pb::GetJurisdictionResponse>, Status> {
        jurisdictions::get(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_jurisdictions(
        &self,
        request: Request<pb::ListJurisdictionsRequest>,
    ) -> Result<Response<pb::ListJurisdictionsResponse>, Status> {
        jurisdictions::list(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn update_jurisdiction(
        &self,
        request: Request<pb::UpdateJurisdictionRequest>,
    ) -> Result<Response<pb::UpdateJurisdictionResponse>, Status> {
        let caller = caller(&request)?;
        jurisdictions::update(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn create_organization(
        &self,
        request: Request<pb::CreateOrganizationRequest>,
    ) -> Result<Response<pb::CreateOrganizationResponse>, Status> {
        let caller = caller(&request)?;
        organizations::create(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_organization(
        &self,
        request: Request<pb::GetOrganizationRequest>,
    ) -> Result<Response<pb::GetOrganizationResponse>, Status> {
        organizations::get(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_organizations(
        &self,
        request: Request<pb::ListOrganizationsRequest>,
    ) -> Result<Response<pb::ListOrganizationsResponse>, Status> {
        organizations::list(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn update_organization(
        &self,
        request: Request<pb::UpdateOrganizationRequest>,
    ) -> Result<Response<pb::UpdateOrganizationResponse>, Status> {
        let caller = caller(&request)?;
        organizations::update(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn record_security_incident(
        &self,
        request: Request<pb::RecordSecurityIncidentRequest>,
    ) -> Result<Response<pb::RecordSecurityIncidentResponse>, Status> {
        let caller = caller(&request)?;
        organizations::record_security_incident(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn create_resource(
        &self,
        request: Request<pb::CreateResourceRequest>,
    ) -> Result<Response<pb::CreateResourceResponse>, Status> {
        let caller = caller(&request)?;
        resources::create(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_resource(
        &self,
        request: Request<pb::GetResourceRequest>,
    ) -> Result<Response<pb::GetResourceResponse>, Status> {
        resources::get(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_resources(
        &self,
        request: Request<pb::ListResourcesRequest>,
    ) -> Result<Response<pb::ListResourcesResponse>, Status> {
        resources::list(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn update_resource(
        &self,
        request: Request<pb::UpdateResourceRequest>,
    ) -> Result<Response<pb::UpdateResourceResponse>, Status> {
        let caller = caller(&request)?;
        resources::update(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn catalog_resource(
        &self,
        request: Request<pb::CatalogResourceRequest>,
    ) -> Result<Response<pb::CatalogResourceResponse>, Status> {
        let caller = caller(&request)?;
        resources::catalog(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn retire_resource(
        &self,
        request: Request<pb::RetireResourceRequest>,
    ) -> Result<Response<pb::RetireResourceResponse>, Status> {
        let caller = caller(&request)?;
        resources::retire(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_resource_revisions(
        &self,
        request: Request<pb::ListResourceRevisionsRequest>,
    ) -> Result<Response<pb::ListResourceRevisionsResponse>, Status> {
        resources::list_revisions(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_resource_revision(
        &self,
        request: Request<pb::GetResourceRevisionRequest>,
    ) -> Result<Response<pb::GetResourceRevisionResponse>, Status> {
        resources::get_revision(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn create_negative_list_entry(
        &self,
        request: Request<pb::CreateNegativeListEntryRequest>,
    ) -> Result<Response<pb::CreateNegativeListEntryResponse>, Status> {
        let caller = caller(&request)?;
        negative_list::create(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_negative_list_entry(
        &self,
        request: Request<pb::GetNegativeListEntryRequest>,
    ) -> Result<Response<pb::GetNegativeListEntryResponse>, Status> {
        negative_list::get(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_negative_list_entries(
        &self,
        request: Request<pb::ListNegativeListEntriesRequest>,
    ) -> Result<Response<pb::ListNegativeListEntriesResponse>, Status> {
        negative_list::list(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn review_negative_list_entry(
        &self,
        request: Request<pb::ReviewNegativeListEntryRequest>,
    ) -> Result<Response<pb::ReviewNegativeListEntryResponse>, Status> {
        let caller = caller(&request)?;
        negative_list::review(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn lift_negative_list_entry(
        &self,
        request: Request<pb::LiftNegativeListEntryRequest>,
    ) -> Result<Response<pb::LiftNegativeListEntryResponse>, Status> {
        let caller = caller(&request)?;
        negative_list::lift(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn create_registration(
        &self,
        request: Request<pb::CreateRegistrationRequest>,
    ) -> Result<Response<pb::CreateRegistrationResponse>, Status> {
        let caller = caller(&request)?;
        registrations::create(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_registration(
        &self,
        request: Request<pb::GetRegistrationRequest>,
    ) -> Result<Response<pb::GetRegistrationResponse>, Status> {
        let caller = caller(&request)?;
        registrations::get(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_registrations(
        &self,
        request: Request<pb::ListRegistrationsRequest>,
    ) -> Result<Response<pb::ListRegistrationsResponse>, Status> {
        let caller = caller(&request)?;
        registrations::list(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn submit_registration(
        &self,
        request: Request<pb::SubmitRegistrationRequest>,
    ) -> Result<Response<pb::SubmitRegistrationResponse>, Status> {
        let caller = caller(&request)?;
        registrations::submit(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn accept_registration(
        &self,
        request: Request<pb::AcceptRegistrationRequest>,
    ) -> Result<Response<pb::AcceptRegistrationResponse>, Status> {
        let caller = caller(&request)?;
        registrations::accept(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn return_registration_for_supplement(
        &self,
        request: Request<pb::ReturnRegistrationForSupplementRequest>,
    ) -> Result<Response<pb::ReturnRegistrationForSupplementResponse>, Status> {
        let caller = caller(&request)?;
        registrations::return_for_supplement(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn refuse_registration(
        &self,
        request: Request<pb::RefuseRegistrationRequest>,
    ) -> Result<Response<pb::RefuseRegistrationResponse>, Status> {
        let caller = caller(&request)?;
        registrations::refuse(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn complete_registration_review(
        &self,
        request: Request<pb::CompleteRegistrationReviewRequest>,
    ) -> Result<Response<pb::CompleteRegistrationReviewResponse>, Status> {
        let caller = caller(&request)?;
        registrations::complete_review(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn start_registration_notice(
        &self,
        request: Request<pb::StartRegistrationNoticeRequest>,
    ) -> Result<Response<pb::StartRegistrationNoticeResponse>, Status> {
        let caller = caller(&request)?;
        registrations::start_notice(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn issue_registration_code(
        &self,
        request: Request<pb::IssueRegistrationCodeRequest>,
    ) -> Result<Response<pb::IssueRegistrationCodeResponse>, Status> {
        let caller = caller(&request)?;
        let format = &self.config.registration_code_format;
        registrations::issue_code(&self.ctx, &caller, format, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn create_implementation_plan(
        &self,
        request: Request<pb::CreateImplementationPlanRequest>,
    ) -> Result<Response<pb::CreateImplementationPlanResponse>, Status> {
        let caller = caller(&request)?;
        plans::create(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_implementation_plan(
        &self,
        request: Request<pb::GetImplementationPlanRequest>,
    ) -> Result<Response<pb::GetImplementationPlanResponse>, Status> {
        plans::get(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_implementation_plans(
        &self,
        request: Request<pb::ListImplementationPlansRequest>,
    ) -> Result<Response<pb::ListImplementationPlansResponse>, Status> {
        plans::list(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn update_implementation_plan(
        &self,
        request: Request<pb::UpdateImplementationPlanRequest>,
    ) -> Result<Response<pb::UpdateImplementationPlanResponse>, Status> {
        let caller = caller(&request)?;
        plans::update(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn submit_implementation_plan(
        &self,
        request: Request<pb::SubmitImplementationPlanRequest>,
    ) -> Result<Response<pb::SubmitImplementationPlanResponse>, Status> {
        let caller = caller(&request)?;
        plans::submit(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn approve_implementation_plan(
        &self,
        request: Request<pb::ApproveImplementationPlanRequest>,
    ) -> Result<Response<pb::ApproveImplementationPlanResponse>, Status> {
        let caller = caller(&request)?;
        plans::approve(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn file_implementation_plan(
        &self,
        request: Request<pb::FileImplementationPlanRequest>,
    ) -> Result<Response<pb::FileImplementationPlanResponse>, Status> {
        let caller = caller(&request)?;
        plans::file(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn change_implementation_plan(
        &self,
        request: Request<pb::ChangeImplementationPlanRequest>,
    ) -> Result<Response<pb::ChangeImplementationPlanResponse>, Status> {
        let caller = caller(&request)?;
        plans::change(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn create_agreement(
        &self,
        request: Request<pb::CreateAgreementRequest>,
    ) -> Result<Response<pb::CreateAgreementResponse>, Status> {
        let caller = caller(&request)?;
        agreements::create(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_agreement(
        &self,
        request: Request<pb::GetAgreementRequest>,
    ) -> Result<Response<pb::GetAgreementResponse>, Status> {
        let caller = caller(&request)?;
        agreements::get(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_agreements(
        &self,
        request: Request<pb::ListAgreementsRequest>,
    ) -> Result<Response<pb::ListAgreementsResponse>, Status> {
        let caller = caller(&request)?;
        agreements::list(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn update_agreement(
        &self,
        request: Request<pb::UpdateAgreementRequest>,
    ) -> Result<Response<pb::UpdateAgreementResponse>, Status> {
        let caller = caller(&request)?;
        agreements::update(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn sign_agreement(
        &self,
        request: Request<pb::SignAgreementRequest>,
    ) -> Result<Response<pb::SignAgreementResponse>, Status> {
        let caller = caller(&request)?;
        agreements::sign(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn file_agreement(
        &self,
        request: Request<pb::FileAgreementRequest>,
    ) -> Result<Response<pb::FileAgreementResponse>, Status> {
        let caller = caller(&request)?;
        agreements::file(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn apply_agreement_renewal(
        &self,
        request: Request<pb::ApplyAgreementRenewalRequest>,
    ) -> Result<Response<pb::ApplyAgreementRenewalResponse>, Status> {
        let caller = caller(&request)?;
        agreements::apply_renewal(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn renew_agreement(
        &self,
        request: Request<pb::RenewAgreementRequest>,
    ) -> Result<Response<pb::RenewAgreementResponse>, Status> {
        let caller = caller(&request)?;
        agreements::renew(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn suspend_agreement(
        &self,
        request: Request<pb::SuspendAgreementRequest>,
    ) -> Result<Response<pb::SuspendAgreementResponse>, Status> {
        let caller = caller(&request)?;
        agreements::suspend(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn resume_agreement(
        &self,
        request: Request<pb::ResumeAgreementRequest>,
    ) -> Result<Response<pb::ResumeAgreementResponse>, Status> {
        let caller = caller(&request)?;
        agreements::resume(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn terminate_agreement(
        &self,
        request: Request<pb::TerminateAgreementRequest>,
    ) -> Result<Response<pb::TerminateAgreementResponse>, Status> {
        let caller = caller(&request)?;
        agreements::terminate(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn record_data_destruction(
        &self,
        request: Request<pb::RecordDataDestructionRequest>,
    ) -> Result<Response<pb::RecordDataDestructionResponse>, Status> {
        let caller = caller(&request)?;
        agreements::record_destruction(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn file_agreement_termination(
        &self,
        request: Request<pb::FileAgreementTerminationRequest>,
    ) -> Result<Response<pb::FileAgreementTerminationResponse>, Status> {
        let caller = caller(&request)?;
        agreements::file_termination(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_agreement_revisions(
        &self,
        request: Request<pb::ListAgreementRevisionsRequest>,
    ) -> Result<Response<pb::ListAgreementRevisionsResponse>, Status> {
        let caller = caller(&request)?;
        agreements::list_revisions(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn create_product(
        &self,
        request: Request<pb::CreateProductRequest>,
    ) -> Result<Response<pb::CreateProductResponse>, Status> {
        let caller = caller(&request)?;
        products::create(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_product(
        &self,
        request: Request<pb::GetProductRequest>,
    ) -> Result<Response<pb::GetProductResponse>, Status> {
        let caller = caller(&request)?;
        products::get(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_products(
        &self,
        request: Request<pb::ListProductsRequest>,
    ) -> Result<Response<pb::ListProductsResponse>, Status> {
        let caller = caller(&request)?;
        products::list(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn update_product(
        &self,
        request: Request<pb::UpdateProductRequest>,
    ) -> Result<Response<pb::UpdateProductResponse>, Status> {
        let caller = caller(&request)?;
        products::update(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn submit_product(
        &self,
        request: Request<pb::SubmitProductRequest>,
    ) -> Result<Response<pb::SubmitProductResponse>, Status> {
        let caller = caller(&request)?;
        products::submit(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn withdraw_product(
        &self,
        request: Request<pb::WithdrawProductRequest>,
    ) -> Result<Response<pb::WithdrawProductResponse>, Status> {
        let caller = caller(&request)?;
        products::withdraw(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn create_developer_agreement(
        &self,
        request: Request<pb::CreateDeveloperAgreementRequest>,
    ) -> Result<Response<pb::CreateDeveloperAgreementResponse>, Status> {
        let caller = caller(&request)?;
        developer_agreements::create(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_developer_agreement(
        &self,
        request: Request<pb::GetDeveloperAgreementRequest>,
    ) -> Result<Response<pb::GetDeveloperAgreementResponse>, Status> {
        let caller = caller(&request)?;
        developer_agreements::get(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_developer_agreements(
        &self,
        request: Request<pb::ListDeveloperAgreementsRequest>,
    ) -> Result<Response<pb::ListDeveloperAgreementsResponse>, Status> {
        let caller = caller(&request)?;
        developer_agreements::list(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn update_developer_agreement(
        &self,
        request: Request<pb::UpdateDeveloperAgreementRequest>,
    ) -> Result<Response<pb::UpdateDeveloperAgreementResponse>, Status> {
        let caller = caller(&request)?;
        developer_agreements::update(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn sign_developer_agreement(
        &self,
        request: Request<pb::SignDeveloperAgreementRequest>,
    ) -> Result<Response<pb::SignDeveloperAgreementResponse>, Status> {
        let caller = caller(&request)?;
        developer_agreements::sign(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn terminate_developer_agreement(
        &self,
        request: Request<pb::TerminateDeveloperAgreementRequest>,
    ) -> Result<Response<pb::TerminateDeveloperAgreementResponse>, Status> {
        let caller = caller(&request)?;
        developer_agreements::terminate(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn create_blacklist_entry(
        &self,
        request: Request<pb::CreateBlacklistEntryRequest>,
    ) -> Result<Response<pb::CreateBlacklistEntryResponse>, Status> {
        let caller = caller(&request)?;
        blacklist::create(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_blacklist_entry(
        &self,
        request: Request<pb::GetBlacklistEntryRequest>,
    ) -> Result<Response<pb::GetBlacklistEntryResponse>, Status> {
        blacklist::get(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_blacklist_entries(
        &self,
        request: Request<pb::ListBlacklistEntriesRequest>,
    ) -> Result<Response<pb::ListBlacklistEntriesResponse>, Status> {
        blacklist::list(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn lift_blacklist_entry(
        &self,
        request: Request<pb::LiftBlacklistEntryRequest>,
    ) -> Result<Response<pb::LiftBlacklistEntryResponse>, Status> {
        let caller = caller(&request)?;
        blacklist::lift(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_deadline(
        &self,
        request: Request<pb::GetDeadlineRequest>,
    ) -> Result<Response<pb::GetDeadlineResponse>, Status> {
        let caller = caller(&request)?;
        deadlines::get(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_deadlines(
        &self,
        request: Request<pb::ListDeadlinesRequest>,
    ) -> Result<Response<pb::ListDeadlinesResponse>, Status> {
        let caller = caller(&request)?;
        deadlines::list(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn update_registration(
        &self,
        request: Request<pb::UpdateRegistrationRequest>,
    ) -> Result<Response<pb::UpdateRegistrationResponse>, Status> {
        let caller = caller(&request)?;
        registrations::update(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_registration_objections(
        &self,
        request: Request<pb::ListRegistrationObjectionsRequest>,
    ) -> Result<Response<pb::ListRegistrationObjectionsResponse>, Status> {
        let caller = caller(&request)?;
        registrations::list_objections(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn uphold_registration_objection(
        &self,
        request: Request<pb::UpholdRegistrationObjectionRequest>,
    ) -> Result<Response<pb::UpholdRegistrationObjectionResponse>, Status> {
        let caller = caller(&request)?;
        registrations::uphold_objection(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn dismiss_registration_objection(
        &self,
        request: Request<pb::DismissRegistrationObjectionRequest>,
    ) -> Result<Response<pb::DismissRegistrationObjectionResponse>, Status> {
        let caller = caller(&request)?;
        registrations::dismiss_objection(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn renew_registration(
        &self,
        request: Request<pb::RenewRegistrationRequest>,
    ) -> Result<Response<pb::RenewRegistrationResponse>, Status> {
        let caller = caller(&request)?;
        registrations::renew(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn cancel_registration(
        &self,
        request: Request<pb::CancelRegistrationRequest>,
    ) -> Result<Response<pb::CancelRegistrationResponse>, Status> {
        let caller = caller(&request)?;
        registrations::cancel(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn revoke_registration(
        &self,
        request: Request<pb::RevokeRegistrationRequest>,
    ) -> Result<Response<pb::RevokeRegistrationResponse>, Status> {
        let caller = caller(&request)?;
        registrations::revoke(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    #[test]
    fn every_rpc_of_the_contract_has_a_policy_line() {
        let set = prost_types::FileDescriptorSet::decode(pdop_proto::FILE_DESCRIPTOR_SET).unwrap_or_default();
        let methods: Vec<String> = set
            .file
            .iter()
            .filter(|f| f.package() == "pdop.registry.v1")
            .flat_map(|f| f.service.iter())
            .filter(|svc| svc.name() == "RegistryService")
            .flat_map(|svc| svc.method.iter().map(|m| m.name().to_owned()))
            .collect();
        assert!(methods.len() > 70, "found {} methods", methods.len());
        let table = super::policy_table();
        let missing: Vec<&String> = methods
            .iter()
            .filter(|m| !table.iter().any(|(name, _)| name == m))
            .collect();
        assert!(missing.is_empty(), "RPCs without a policy line: {missing:?}");
    }
}
