//! The pricing service: government-guided cost-plus pricing (政府指导价): cost surveys, maximum allowed revenue, cap and specific prices, annual checks, period settlement and revenue sharing.
//!
//! The N1 arithmetic is in `formula` (pure, property-tested); each resource has its module. Jurisdictions,
//! organizations, agreements and products are read from the registry's events (`incoming`); a withdrawn product's
//! published caps and prices end, and so do those whose effective period is over (`scheduler`). Caps and prices
//! and annual checks, and `UpdatePricingCase`, have the unit-of-work shape (`domain`, `storage`, `grpc`,
//! `events`). Supervisors act only on cases of their jurisdiction or one below it (THREATS H2).

mod approval;
mod bond_yields;
mod calculations;
mod carry;
mod cases;
mod context;
mod decimals;
mod domain;
mod events;
pub mod formula;
mod grpc;
mod incoming;
mod preview;
mod revenue_sharing;
mod rows;
mod scheduler;
mod settlement;
mod storage;
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

use crate::context::Ctx;

/// The pricing service, as assembled by `pdop_kit::server`.
pub struct Pricing;

/// The `pricing:` configuration section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingConfig {
    /// How often the scheduler ends the published caps and prices whose effective period is over; they end by
    /// calendar day, so minutes of delay are harmless.
    #[serde(with = "pdop_kit::config::humantime_secs")]
    pub scheduler_interval: std::time::Duration,
}

impl Service for Pricing {
    type Config = PricingConfig;
    type State = Ctx;
    const DEFAULTS: ServiceDefaults = ServiceDefaults {
        name: "pricing",
        grpc_port: 50053,
        admin_port: 9093,
    };
    const GRPC_SERVICE: &'static str = "pdop.pricing.v1.PricingService";
    const IMPLEMENTED: &'static [&'static str] = Rpcs::IMPLEMENTED;
    const CONFIG_DEFAULTS: &'static str = "pricing: {scheduler_interval: 10m}";

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
        let dir = platform.settings.rules.profiles_dir.as_deref();
        let profiles = Profiles::configured(dir).context("loading rules.profiles_dir")?;
        Ok(Ctx {
            platform,
            profiles,
            recent_bindings: Default::default(),
            scheduler_interval: config.scheduler_interval,
        })
    }

    fn routes(state: Arc<Self::State>) -> Routes {
        let limit = state.platform.settings.grpc.max_decoding_message_size;
        Routes::new(PricingServiceServer::new(Rpcs::new(state)).max_decoding_message_size(limit))
    }

    async fn on_ready(state: Arc<Ctx>) -> anyhow::Result<()> {
        for spec in incoming::specs() {
            let handler = incoming::Incoming::new(&state.platform);
            state.platform.spawn_consumer(spec, handler).await?;
        }
        scheduler::start(state.clone(), state.scheduler_interval);
        Ok(())
    }
}

/// Who may call what: one line per RPC of the contract (deny by default); handlers add the finer checks.
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
        (
            "UpdatePricingCase",
            Access::Roles(vec![ImplementingAgency, PricingAuthority]),
        ),
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
        ("UpdateCapPrice", Access::Roles(vec![ImplementingAgency])),
        ("SetCapPrice", Access::Roles(vec![ImplementingAgency])),
        ("PublishCapPrice", Access::Roles(vec![ImplementingAgency])),
        ("CreateSpecificPrice", Access::Roles(vec![Operator])),
        ("GetSpecificPrice", Access::Authenticated),
        ("ListSpecificPrices", Access::Authenticated),
        ("UpdateSpecificPrice", Access::Roles(vec![Operator])),
        ("PublishSpecificPrice", Access::Roles(vec![Operator])),
        (
            "CreateAnnualCheck",
            Access::Roles(vec![ImplementingAgency, Operator]),
        ),
        ("GetAnnualCheck", Access::Authenticated),
        ("ListAnnualChecks", Access::Authenticated),
        (
            "UpdateAnnualCheck",
            Access::Roles(vec![ImplementingAgency, Operator]),
        ),
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
    Policy::table(svc, table)
}

pdop_kit::rpcs! {
    PricingService for Pricing;
    create_bond_yield(pb::CreateBondYieldRequest) -> pb::CreateBondYieldResponse = bond_yields::create, caller;
    get_bond_yield(pb::GetBondYieldRequest) -> pb::GetBondYieldResponse = bond_yields::get, plain;
    list_bond_yields(pb::ListBondYieldsRequest) -> pb::ListBondYieldsResponse = bond_yields::list, plain;
    preview_max_allowed_revenue(pb::PreviewMaxAllowedRevenueRequest) -> pb::PreviewMaxAllowedRevenueResponse = preview::preview, plain;
    create_pricing_case(pb::CreatePricingCaseRequest) -> pb::CreatePricingCaseResponse = cases::create, caller;
    get_pricing_case(pb::GetPricingCaseRequest) -> pb::GetPricingCaseResponse = cases::get, caller;
    list_pricing_cases(pb::ListPricingCasesRequest) -> pb::ListPricingCasesResponse = cases::list, caller;
    update_pricing_case(pb::UpdatePricingCaseRequest) -> pb::UpdatePricingCaseResponse = grpc::cases::update;
    submit_pricing_application(pb::SubmitPricingApplicationRequest) -> pb::SubmitPricingApplicationResponse = cases::submit_application, caller;
    assess_pricing_basis(pb::AssessPricingBasisRequest) -> pb::AssessPricingBasisResponse = cases::assess_basis, caller;
    create_cost_survey(pb::CreateCostSurveyRequest) -> pb::CreateCostSurveyResponse = surveys::create, caller;
    get_cost_survey(pb::GetCostSurveyRequest) -> pb::GetCostSurveyResponse = surveys::get, caller;
    list_cost_surveys(pb::ListCostSurveysRequest) -> pb::ListCostSurveysResponse = surveys::list, caller;
    update_cost_survey(pb::UpdateCostSurveyRequest) -> pb::UpdateCostSurveyResponse = surveys::update, caller;
    submit_cost_survey(pb::SubmitCostSurveyRequest) -> pb::SubmitCostSurveyResponse = surveys::submit, caller;
    approve_cost_survey(pb::ApproveCostSurveyRequest) -> pb::ApproveCostSurveyResponse = surveys::approve, caller;
    return_cost_survey(pb::ReturnCostSurveyRequest) -> pb::ReturnCostSurveyResponse = surveys::return_survey, caller;
    create_calculation(pb::CreateCalculationRequest) -> pb::CreateCalculationResponse = calculations::create, caller;
    get_calculation(pb::GetCalculationRequest) -> pb::GetCalculationResponse = calculations::get, caller;
    list_calculations(pb::ListCalculationsRequest) -> pb::ListCalculationsResponse = calculations::list, caller;
    explain_calculation(pb::ExplainCalculationRequest) -> pb::ExplainCalculationResponse = calculations::explain, caller;
    approve_max_allowed_revenue(pb::ApproveMaxAllowedRevenueRequest) -> pb::ApproveMaxAllowedRevenueResponse = approval::approve, caller;
    create_cap_price(pb::CreateCapPriceRequest) -> pb::CreateCapPriceResponse = grpc::caps::create;
    get_cap_price(pb::GetCapPriceRequest) -> pb::GetCapPriceResponse = grpc::caps::get;
    list_cap_prices(pb::ListCapPricesRequest) -> pb::ListCapPricesResponse = grpc::caps::list;
    update_cap_price(pb::UpdateCapPriceRequest) -> pb::UpdateCapPriceResponse = grpc::caps::update;
    set_cap_price(pb::SetCapPriceRequest) -> pb::SetCapPriceResponse = grpc::caps::set;
    publish_cap_price(pb::PublishCapPriceRequest) -> pb::PublishCapPriceResponse = grpc::caps::publish;
    create_specific_price(pb::CreateSpecificPriceRequest) -> pb::CreateSpecificPriceResponse = grpc::prices::create;
    get_specific_price(pb::GetSpecificPriceRequest) -> pb::GetSpecificPriceResponse = grpc::prices::get;
    list_specific_prices(pb::ListSpecificPricesRequest) -> pb::ListSpecificPricesResponse = grpc::prices::list;
    update_specific_price(pb::UpdateSpecificPriceRequest) -> pb::UpdateSpecificPriceResponse = grpc::prices::update;
    publish_specific_price(pb::PublishSpecificPriceRequest) -> pb::PublishSpecificPriceResponse = grpc::prices::publish;
    create_annual_check(pb::CreateAnnualCheckRequest) -> pb::CreateAnnualCheckResponse = grpc::annual::create;
    get_annual_check(pb::GetAnnualCheckRequest) -> pb::GetAnnualCheckResponse = grpc::annual::get;
    update_annual_check(pb::UpdateAnnualCheckRequest) -> pb::UpdateAnnualCheckResponse = grpc::annual::update;
    complete_annual_check(pb::CompleteAnnualCheckRequest) -> pb::CompleteAnnualCheckResponse = grpc::annual::complete;
    create_period_settlement(pb::CreatePeriodSettlementRequest) -> pb::CreatePeriodSettlementResponse = settlement::create, caller;
    get_period_settlement(pb::GetPeriodSettlementRequest) -> pb::GetPeriodSettlementResponse = settlement::get, caller;
    complete_period_settlement(pb::CompletePeriodSettlementRequest) -> pb::CompletePeriodSettlementResponse = settlement::complete, caller;
    record_revenue_sharing(pb::RecordRevenueSharingRequest) -> pb::RecordRevenueSharingResponse = revenue_sharing::record, caller;
    get_revenue_sharing(pb::GetRevenueSharingRequest) -> pb::GetRevenueSharingResponse = revenue_sharing::get, caller;
    list_revenue_sharings(pb::ListRevenueSharingsRequest) -> pb::ListRevenueSharingsResponse = revenue_sharing::list, caller;
    list_annual_checks(pb::ListAnnualChecksRequest) -> pb::ListAnnualChecksResponse = grpc::annual::list;
    list_period_settlements(pb::ListPeriodSettlementsRequest) -> pb::ListPeriodSettlementsResponse = settlement::list, caller;
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_rpc_has_exactly_one_policy_line() {
        pdop_kit::testing::assert_policy_covers::<super::Pricing>(&[]);
    }
}
