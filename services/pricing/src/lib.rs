//! The pricing service: government-guided cost-plus pricing (政府指导价): cost surveys, maximum allowed revenue, cap and specific prices, annual checks, period settlement and revenue sharing.
//!
//! The N1 arithmetic is in `formula` (pure, property-tested); each resource has its module. Jurisdictions,
//! organizations, agreements and products are read from the registry's events (`incoming`). Editing drafts in place
//! (the `Update*` RPCs) answers `UNIMPLEMENTED`.

mod annual;
mod approval;
mod bond_yields;
mod calculations;
mod caps;
mod carry;
mod cases;
mod context;
mod decimals;
pub mod formula;
mod incoming;
mod preview;
mod prices;
mod products;
mod revenue_sharing;
mod rows;
mod settlement;
mod survey_lines;
mod surveys;

use std::sync::Arc;

use anyhow::Context as _;
use pdop_kit::auth::{Access, Policy, Role};
use pdop_kit::config::ServiceDefaults;
use pdop_kit::{Platform, Service};
use pdop_proto::pricing::v1 as pb;
use pdop_proto::pricing::v1::pricing_service_server::{PricingService, PricingServiceServer};
use pdop_rules::Profiles;
use serde::Deserialize;
use sqlx::migrate::Migrator;
use tonic::service::Routes;
use tonic::{Request, Response, Status};

use crate::context::{Ctx, caller};

/// The pricing service, as assembled by `pdop_kit::server`.
pub struct Pricing;

/// The `pricing:` configuration section (none yet).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingConfig {}

impl Service for Pricing {
    type Config = PricingConfig;
    const DEFAULTS: ServiceDefaults = ServiceDefaults {
        name: "pricing",
        grpc_port: 50053,
        admin_port: 9093,
    };
    const GRPC_SERVICE: &'static str = "pdop.pricing.v1.PricingService";
    const CONFIG_DEFAULTS: &'static str = "pricing: {}";

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
        Ok(Routes::new(PricingServiceServer::new(Handlers {
            ctx: context(platform)?,
        })))
    }

    async fn on_ready(platform: Arc<Platform>, _config: Arc<Self::Config>) -> anyhow::Result<()> {
        for spec in incoming::specs() {
            platform.spawn_consumer(spec, incoming::Incoming).await?;
        }
        Ok(())
    }
}

fn context(platform: Arc<Platform>) -> anyhow::Result<Arc<Ctx>> {
    let dir = platform.settings.rules.profiles_dir.as_deref();
    let profiles = Profiles::configured(dir).context("loading rules.profiles_dir")?;
    Ok(Arc::new(Ctx {
        platform,
        profiles,
        recent_bindings: Default::default(),
    }))
}

/// Who may call what, one line per implemented RPC; the RPCs not built yet are open to any authenticated
/// caller and answer `UNIMPLEMENTED`.
fn policy() -> Policy {
    use Role::*;
    let svc = Pricing::GRPC_SERVICE;
    let table: Vec<(&str, Access)> = vec![
        ("CreateBondYield", Access::Roles(vec![PricingAuthority])),
        ("GetBondYield", Access::Authenticated),
        ("ListBondYields", Access::Authenticated),
        (
            "CreatePricingCase",
            Access::Roles(vec![ImplementingAgency, PricingAuthority]),
        ),
        ("GetPricingCase", Access::Authenticated),
        ("ListPricingCases", Access::Authenticated),
        (
            "SubmitPricingApplication",
            Access::Roles(vec![ImplementingAgency]),
        ),
        ("AssessPricingBasis", Access::Roles(vec![PricingAuthority])),
        (
            "CreateCostSurvey",
            Access::Roles(vec![Operator, PricingAuthority]),
        ),
        ("GetCostSurvey", Access::Authenticated),
        ("ListCostSurveys", Access::Authenticated),
        (
            "UpdateCostSurvey",
            Access::Roles(vec![Operator, PricingAuthority]),
        ),
        ("SubmitCostSurvey", Access::Roles(vec![Operator])),
        ("ApproveCostSurvey", Access::Roles(vec![PricingAuthority])),
        ("ReturnCostSurvey", Access::Roles(vec![PricingAuthority])),
        ("CreateCalculation", Access::Roles(vec![PricingAuthority])),
        ("GetCalculation", Access::Authenticated),
        ("ListCalculations", Access::Authenticated),
        ("ExplainCalculation", Access::Authenticated),
        ("ApproveMaxAllowedRevenue", Access::Roles(vec![PricingAuthority])),
        ("CreateCapPrice", Access::Roles(vec![ImplementingAgency])),
        ("GetCapPrice", Access::Authenticated),
        ("ListCapPrices", Access::Authenticated),
        ("SetCapPrice", Access::Roles(vec![ImplementingAgency])),
        ("PublishCapPrice", Access::Roles(vec![ImplementingAgency])),
        ("CreateSpecificPrice", Access::Roles(vec![Operator])),
        ("GetSpecificPrice", Access::Authenticated),
        ("ListSpecificPrices", Access::Authenticated),
        ("PublishSpecificPrice", Access::Roles(vec![Operator])),
        (
            "CreateAnnualCheck",
            Access::Roles(vec![ImplementingAgency, Operator]),
        ),
        ("GetAnnualCheck", Access::Authenticated),
        ("ListAnnualChecks", Access::Authenticated),
        ("CompleteAnnualCheck", Access::Roles(vec![ImplementingAgency])),
        ("CreatePeriodSettlement", Access::Roles(vec![PricingAuthority])),
        ("GetPeriodSettlement", Access::Authenticated),
        ("ListPeriodSettlements", Access::Authenticated),
        ("CompletePeriodSettlement", Access::Roles(vec![PricingAuthority])),
        ("RecordRevenueSharing", Access::Roles(vec![ImplementingAgency])),
        ("GetRevenueSharing", Access::Authenticated),
        ("ListRevenueSharings", Access::Authenticated),
        (
            "PreviewMaxAllowedRevenue",
            Access::Roles(vec![
                PricingAuthority,
                DataAuthority,
                ImplementingAgency,
                Operator,
                Auditor,
            ]),
        ),
    ];
    table.into_iter().fold(
        Policy::new().allow_service(svc, Access::Authenticated),
        |policy, (method, access)| policy.allow(svc, method, access),
    )
}

struct Handlers {
    ctx: Arc<Ctx>,
}

#[tonic::async_trait]
impl PricingService for Handlers {
    async fn create_bond_yield(
        &self,
        request: Request<pb::CreateBondYieldRequest>,
    ) -> Result<Response<pb::CreateBondYieldResponse>, Status> {
        let caller = caller(&request)?;
        bond_yields::create(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_bond_yield(
        &self,
        request: Request<pb::GetBondYieldRequest>,
    ) -> Result<Response<pb::GetBondYieldResponse>, Status> {
        bond_yields::get(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_bond_yields(
        &self,
        request: Request<pb::ListBondYieldsRequest>,
    ) -> Result<Response<pb::ListBondYieldsResponse>, Status> {
        bond_yields::list(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn preview_max_allowed_revenue(
        &self,
        request: Request<pb::PreviewMaxAllowedRevenueRequest>,
    ) -> Result<Response<pb::PreviewMaxAllowedRevenueResponse>, Status> {
        preview::preview(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn create_pricing_case(
        &self,
        request: Request<pb::CreatePricingCaseRequest>,
    ) -> Result<Response<pb::CreatePricingCaseResponse>, Status> {
        let caller = caller(&request)?;
        cases::create(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_pricing_case(
        &self,
        request: Request<pb::GetPricingCaseRequest>,
    ) -> Result<Response<pb::GetPricingCaseResponse>, Status> {
        let caller = caller(&request)?;
        cases::get(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_pricing_cases(
        &self,
        request: Request<pb::ListPricingCasesRequest>,
    ) -> Result<Response<pb::ListPricingCasesResponse>, Status> {
        let caller = caller(&request)?;
        cases::list(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn submit_pricing_application(
        &self,
        request: Request<pb::SubmitPricingApplicationRequest>,
    ) -> Result<Response<pb::SubmitPricingApplicationResponse>, Status> {
        let caller = caller(&request)?;
        cases::submit_application(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn assess_pricing_basis(
        &self,
        request: Request<pb::AssessPricingBasisRequest>,
    ) -> Result<Response<pb::AssessPricingBasisResponse>, Status> {
        let caller = caller(&request)?;
        cases::assess_basis(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn create_cost_survey(
        &self,
        request: Request<pb::CreateCostSurveyRequest>,
    ) -> Result<Response<pb::CreateCostSurveyResponse>, Status> {
        let caller = caller(&request)?;
        surveys::create(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_cost_survey(
        &self,
        request: Request<pb::GetCostSurveyRequest>,
    ) -> Result<Response<pb::GetCostSurveyResponse>, Status> {
        let caller = caller(&request)?;
        surveys::get(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_cost_surveys(
        &self,
        request: Request<pb::ListCostSurveysRequest>,
    ) -> Result<Response<pb::ListCostSurveysResponse>, Status> {
        let caller = caller(&request)?;
        surveys::list(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn update_cost_survey(
        &self,
        request: Request<pb::UpdateCostSurveyRequest>,
    ) -> Result<Response<pb::UpdateCostSurveyResponse>, Status> {
        let caller = caller(&request)?;
        surveys::update(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn submit_cost_survey(
        &self,
        request: Request<pb::SubmitCostSurveyRequest>,
    ) -> Result<Response<pb::SubmitCostSurveyResponse>, Status> {
        let caller = caller(&request)?;
        surveys::submit(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn approve_cost_survey(
        &self,
        request: Request<pb::ApproveCostSurveyRequest>,
    ) -> Result<Response<pb::ApproveCostSurveyResponse>, Status> {
        let caller = caller(&request)?;
        surveys::approve(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn return_cost_survey(
        &self,
        request: Request<pb::ReturnCostSurveyRequest>,
    ) -> Result<Response<pb::ReturnCostSurveyResponse>, Status> {
        let caller = caller(&request)?;
        surveys::return_survey(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn create_calculation(
        &self,
        request: Request<pb::CreateCalculationRequest>,
    ) -> Result<Response<pb::CreateCalculationResponse>, Status> {
        let caller = caller(&request)?;
        calculations::create(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_calculation(
        &self,
        request: Request<pb::GetCalculationRequest>,
    ) -> Result<Response<pb::GetCalculationResponse>, Status> {
        let caller = caller(&request)?;
        calculations::get(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_calculations(
        &self,
        request: Request<pb::ListCalculationsRequest>,
    ) -> Result<Response<pb::ListCalculationsResponse>, Status> {
        let caller = caller(&request)?;
        calculations::list(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn explain_calculation(
        &self,
        request: Request<pb::ExplainCalculationRequest>,
    ) -> Result<Response<pb::ExplainCalculationResponse>, Status> {
        let caller = caller(&request)?;
        calculations::explain(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn approve_max_allowed_revenue(
        &self,
        request: Request<pb::ApproveMaxAllowedRevenueRequest>,
    ) -> Result<Response<pb::ApproveMaxAllowedRevenueResponse>, Status> {
        let caller = caller(&request)?;
        approval::approve(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn create_cap_price(
        &self,
        request: Request<pb::CreateCapPriceRequest>,
    ) -> Result<Response<pb::CreateCapPriceResponse>, Status> {
        let caller = caller(&request)?;
        caps::create(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_cap_price(
        &self,
        request: Request<pb::GetCapPriceRequest>,
    ) -> Result<Response<pb::GetCapPriceResponse>, Status> {
        let caller = caller(&request)?;
        caps::get(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_cap_prices(
        &self,
        request: Request<pb::ListCapPricesRequest>,
    ) -> Result<Response<pb::ListCapPricesResponse>, Status> {
        let caller = caller(&request)?;
        caps::list(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn set_cap_price(
        &self,
        request: Request<pb::SetCapPriceRequest>,
    ) -> Result<Response<pb::SetCapPriceResponse>, Status> {
        let caller = caller(&request)?;
        caps::set(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn publish_cap_price(
        &self,
        request: Request<pb::PublishCapPriceRequest>,
    ) -> Result<Response<pb::PublishCapPriceResponse>, Status> {
        let caller = caller(&request)?;
        caps::publish(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn create_specific_price(
        &self,
        request: Request<pb::CreateSpecificPriceRequest>,
    ) -> Result<Response<pb::CreateSpecificPriceResponse>, Status> {
        let caller = caller(&request)?;
        prices::create(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_specific_price(
        &self,
        request: Request<pb::GetSpecificPriceRequest>,
    ) -> Result<Response<pb::GetSpecificPriceResponse>, Status> {
        let caller = caller(&request)?;
        prices::get(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_specific_prices(
        &self,
        request: Request<pb::ListSpecificPricesRequest>,
    ) -> Result<Response<pb::ListSpecificPricesResponse>, Status> {
        let caller = caller(&request)?;
        prices::list(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn publish_specific_price(
        &self,
        request: Request<pb::PublishSpecificPriceRequest>,
    ) -> Result<Response<pb::PublishSpecificPriceResponse>, Status> {
        let caller = caller(&request)?;
        prices::publish(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn create_annual_check(
        &self,
        request: Request<pb::CreateAnnualCheckRequest>,
    ) -> Result<Response<pb::CreateAnnualCheckResponse>, Status> {
        let caller = caller(&request)?;
        annual::create(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_annual_check(
        &self,
        request: Request<pb::GetAnnualCheckRequest>,
    ) -> Result<Response<pb::GetAnnualCheckResponse>, Status> {
        let caller = caller(&request)?;
        annual::get(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn complete_annual_check(
        &self,
        request: Request<pb::CompleteAnnualCheckRequest>,
    ) -> Result<Response<pb::CompleteAnnualCheckResponse>, Status> {
        let caller = caller(&request)?;
        annual::complete(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn create_period_settlement(
        &self,
        request: Request<pb::CreatePeriodSettlementRequest>,
    ) -> Result<Response<pb::CreatePeriodSettlementResponse>, Status> {
        let caller = caller(&request)?;
        settlement::create(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_period_settlement(
        &self,
        request: Request<pb::GetPeriodSettlementRequest>,
    ) -> Result<Response<pb::GetPeriodSettlementResponse>, Status> {
        let caller = caller(&request)?;
        settlement::get(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn complete_period_settlement(
        &self,
        request: Request<pb::CompletePeriodSettlementRequest>,
    ) -> Result<Response<pb::CompletePeriodSettlementResponse>, Status> {
        let caller = caller(&request)?;
        settlement::complete(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn record_revenue_sharing(
        &self,
        request: Request<pb::RecordRevenueSharingRequest>,
    ) -> Result<Response<pb::RecordRevenueSharingResponse>, Status> {
        let caller = caller(&request)?;
        revenue_sharing::record(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_revenue_sharing(
        &self,
        request: Request<pb::GetRevenueSharingRequest>,
    ) -> Result<Response<pb::GetRevenueSharingResponse>, Status> {
        revenue_sharing::get(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_revenue_sharings(
        &self,
        request: Request<pb::ListRevenueSharingsRequest>,
    ) -> Result<Response<pb::ListRevenueSharingsResponse>, Status> {
        revenue_sharing::list(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_annual_checks(
        &self,
        request: Request<pb::ListAnnualChecksRequest>,
    ) -> Result<Response<pb::ListAnnualChecksResponse>, Status> {
        let caller = caller(&request)?;
        annual::list(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_period_settlements(
        &self,
        request: Request<pb::ListPeriodSettlementsRequest>,
    ) -> Result<Response<pb::ListPeriodSettlementsResponse>, Status> {
        let caller = caller(&request)?;
        settlement::list(&self.ctx, &caller, request.into_inner())
            .await
            .map(Response::new)
    }
}
