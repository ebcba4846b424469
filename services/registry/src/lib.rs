//! The registry service: the source of truth for jurisdictions and their rule profiles,
//! organizations, the data-resource catalog and registration (登记), implementation plans,
//! agreements, products and deadlines. Other services read it through its events.
//!
//! Implemented so far: jurisdictions, organizations and data resources (the catalog). The other RPCs answer `UNIMPLEMENTED`.

mod context;
mod convert;
mod jurisdictions;
mod mask;
mod names;
mod negative_list;
mod organizations;
mod resources;

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

/// The `registry:` configuration section (none yet).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {}

impl Service for Registry {
    type Config = RegistryConfig;
    const DEFAULTS: ServiceDefaults = ServiceDefaults {
        name: "registry",
        grpc_port: 50051,
        admin_port: 9091,
    };
    const GRPC_SERVICE: &'static str = "pdop.registry.v1.RegistryService";
    const CONFIG_DEFAULTS: &'static str = "registry: {}";

    fn descriptor_set() -> &'static [u8] {
        pdop_proto::FILE_DESCRIPTOR_SET
    }

    fn migrator() -> Migrator {
        sqlx::migrate!()
    }

    fn policy() -> Policy {
        policy()
    }

    fn routes(platform: Arc<Platform>, _config: Arc<Self::Config>) -> anyhow::Result<Routes> {
        let profiles = match &platform.settings.rules.profiles_dir {
            Some(dir) => Profiles::load_dir(dir)
                .with_context(|| format!("loading rules.profiles_dir {}", dir.display()))?,
            None => Profiles::builtin(),
        };
        let calendar = match &platform.settings.rules.holidays_file {
            Some(file) => Calendar::from_path(file)
                .with_context(|| format!("loading rules.holidays_file {}", file.display()))?,
            None => Calendar::builtin(),
        };
        let ctx = Arc::new(Ctx {
            platform,
            profiles,
            calendar,
        });
        Ok(Routes::new(RegistryServiceServer::new(Handlers { ctx })))
    }
}

/// Who may call what: one line per implemented RPC. RPCs not listed yet are open to any authenticated
/// caller and answer `UNIMPLEMENTED` until they are built; each listed RPC has a test of its refusal.
fn policy() -> Policy {
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
    ];
    let svc = Registry::GRPC_SERVICE;
    table.into_iter().fold(
        Policy::new().allow_service(svc, Access::Authenticated),
        |policy, (method, access)| policy.allow(svc, method, access),
    )
}

struct Handlers {
    ctx: Arc<Ctx>,
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
}
