//! The pdop calls the benchmarks drive, through the project's generated clients, with bearer tokens signed by the
//! services' development secret, and the fixtures they need.

use std::sync::Arc;

use anyhow::Context;
use chrono::Datelike;
use pdop_kit::auth::Role;
use pdop_proto::common::{Date, JurisdictionLevel, OrganizationRole, Rate};
use pdop_proto::disclosure::v1::GetInclusionProofRequest;
use pdop_proto::disclosure::v1::disclosure_service_client::DisclosureServiceClient;
use pdop_proto::disclosure::v1::get_inclusion_proof_request::Leaf;
use pdop_proto::pricing::v1::calculation_input::{CostBasis, YieldBasis};
use pdop_proto::pricing::v1::pricing_service_client::PricingServiceClient;
use pdop_proto::pricing::v1::{CalculationInput, PreviewMaxAllowedRevenueRequest, TaxMethod};
use pdop_proto::registry::v1::registry_service_client::RegistryServiceClient;
use pdop_proto::registry::v1::*;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;
use tonic::{Code, Request};

use crate::load::CallFn;

/// Mints the tokens the calls carry.
#[derive(Clone)]
pub struct Tokens {
    secret: String,
}

impl Tokens {
    pub fn new(dev_secret: &str) -> Self {
        Self {
            secret: dev_secret.to_owned(),
        }
    }

    /// A `Bearer …` header value for `organization` holding `roles`, valid for two hours.
    pub fn bearer(&self, organization: &str, roles: &[Role]) -> anyhow::Result<MetadataValue<Ascii>> {
        let token =
            pdop_testkit::bearer_signed_with(&self.secret, "pdop-loadgen", organization, roles, 7200)?;
        Ok(token.parse()?)
    }
}

pub(crate) fn signed<T>(message: T, bearer: &MetadataValue<Ascii>) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert("authorization", bearer.clone());
    request
}

/// Treats "already there" as done, so fixtures can be laid on a service that has them from an earlier run.
fn created<T>(result: Result<T, tonic::Status>, what: &str) -> anyhow::Result<()> {
    match result {
        Ok(_) => Ok(()),
        Err(s) if s.code() == Code::AlreadyExists => Ok(()),
        Err(s) => Err(anyhow::anyhow!("creating {what}: {:?} {}", s.code(), s.message())),
    }
}

/// A valid unified social credit code numbered `n` (the check characters found by trying each).
fn credit_code(n: u32) -> anyhow::Result<String> {
    const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    let base = format!("91530100{:08}", 20_000_000 + n);
    for org_check in "0123456789X".chars() {
        for check in ALPHABET.chars() {
            let code = format!("{base}{org_check}{check}");
            if pdop_rules::UnifiedSocialCreditCode::parse(&code).is_ok() {
                return Ok(code);
            }
        }
    }
    anyhow::bail!("no valid credit code for {n}")
}

pub const JURISDICTION: &str = "jurisdictions/bench-yunnan";
const AUTHORITY_ORG: &str = "organizations/bench-authority";
const PROVIDER: &str = "organizations/bench-provider";
pub const READ_RESOURCE: &str = "resources/bench-read";

/// What the registry scenarios act on.
pub struct RegistryFixture {
    /// Organizations security incidents are recorded against, one per concurrent writer.
    pub incident_orgs: Vec<String>,
}

/// Lays the registry fixtures: a province (profile yunnan), a data provider with one resource to read, and
/// `incident_orgs` organizations.
pub async fn registry_fixture(
    channel: Channel,
    tokens: &Tokens,
    incident_orgs: usize,
) -> anyhow::Result<RegistryFixture> {
    let mut client = RegistryServiceClient::new(channel);
    let authority = tokens.bearer(AUTHORITY_ORG, &[Role::DataAuthority])?;
    // The root is `china`, the jurisdiction the testkit's tokens act in, so the authority supervises the tree.
    let jurisdictions = [
        ("china", "全国", JurisdictionLevel::National, "", "national"),
        (
            "bench-yunnan",
            "云南省",
            JurisdictionLevel::Province,
            "jurisdictions/china",
            "yunnan",
        ),
    ];
    for (id, display_name, level, parent, profile) in jurisdictions {
        let request = CreateJurisdictionRequest {
            jurisdiction: Some(Jurisdiction {
                display_name: display_name.into(),
                level: level as i32,
                parent: parent.into(),
                profile_id: profile.into(),
                ..Default::default()
            }),
            jurisdiction_id: id.into(),
            request_id: String::new(),
        };
        created(client.create_jurisdiction(signed(request, &authority)).await, id)?;
    }
    let mut organizations = vec![("bench-provider".to_owned(), OrganizationRole::DataProvider)];
    organizations.extend((0..incident_orgs).map(|i| (format!("bench-org-{i}"), OrganizationRole::Operator)));
    for (n, (id, role)) in organizations.iter().enumerate() {
        let request = CreateOrganizationRequest {
            organization: Some(Organization {
                display_name: id.clone(),
                unified_social_credit_code: credit_code(u32::try_from(n)?)?,
                roles: vec![*role as i32],
                jurisdiction: JURISDICTION.into(),
                ..Default::default()
            }),
            organization_id: id.clone(),
            request_id: String::new(),
        };
        created(client.create_organization(signed(request, &authority)).await, id)?;
    }
    let provider = tokens.bearer(PROVIDER, &[Role::DataProvider])?;
    let request = CreateResourceRequest {
        resource: Some(resource("基准读取资源")),
        resource_id: "bench-read".into(),
        request_id: String::new(),
    };
    created(
        client.create_resource(signed(request, &provider)).await,
        READ_RESOURCE,
    )?;
    Ok(RegistryFixture {
        incident_orgs: (0..incident_orgs)
            .map(|i| format!("organizations/bench-org-{i}"))
            .collect(),
    })
}

fn resource(display_name: &str) -> Resource {
    Resource {
        display_name: display_name.into(),
        provider: PROVIDER.into(),
        jurisdiction: JURISDICTION.into(),
        description: "基准测试用数据资源".into(),
        fields: vec![ResourceField {
            field_key: "name".into(),
            display_name: "名称".into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn registry_clients(channels: Vec<Channel>) -> Arc<Vec<RegistryServiceClient<Channel>>> {
    Arc::new(channels.into_iter().map(RegistryServiceClient::new).collect())
}

/// `GetResource` of the fixture's resource, as the platform (any authenticated caller may read).
pub fn registry_get(channels: Vec<Channel>, tokens: &Tokens) -> anyhow::Result<CallFn> {
    let clients = registry_clients(channels);
    let bearer = tokens.bearer("organizations/bench-platform", &[Role::Operator])?;
    Ok(Arc::new(move |n| {
        let mut client = clients[n as usize % clients.len()].clone();
        let request = signed(
            GetResourceRequest {
                name: READ_RESOURCE.into(),
            },
            &bearer,
        );
        Box::pin(async move {
            client
                .get_resource(request)
                .await
                .map(|_| ())
                .map_err(|s| s.code())
        })
    }))
}

/// `CreateResource` of a new draft resource (state row, revision, audit row and outbox event in one commit).
pub fn registry_create(channels: Vec<Channel>, tokens: &Tokens) -> anyhow::Result<CallFn> {
    let clients = registry_clients(channels);
    let bearer = tokens.bearer(PROVIDER, &[Role::DataProvider])?;
    Ok(Arc::new(move |n| {
        let mut client = clients[n as usize % clients.len()].clone();
        let request = signed(
            CreateResourceRequest {
                resource: Some(resource(&format!("基准资源 {n}"))),
                // Server-assigned ids, so repeated runs against one registry never collide.
                resource_id: String::new(),
                request_id: String::new(),
            },
            &bearer,
        );
        Box::pin(async move {
            client
                .create_resource(request)
                .await
                .map(|_| ())
                .map_err(|s| s.code())
        })
    }))
}

/// `RecordSecurityIncident` against the fixture's organizations in turn: a write the disclosure log publishes.
pub fn registry_incident(
    channels: Vec<Channel>,
    tokens: &Tokens,
    organizations: Vec<String>,
) -> anyhow::Result<CallFn> {
    anyhow::ensure!(
        !organizations.is_empty(),
        "incidents need at least one organization"
    );
    let clients = registry_clients(channels);
    let bearer = tokens.bearer(AUTHORITY_ORG, &[Role::DataAuthority])?;
    let organizations = Arc::new(organizations);
    Ok(Arc::new(move |n| {
        let mut client = clients[n as usize % clients.len()].clone();
        let today = chrono::Utc::now().date_naive();
        let request = signed(
            RecordSecurityIncidentRequest {
                organization: organizations[n as usize % organizations.len()].clone(),
                incident: Some(SecurityIncident {
                    occur_date: Some(Date {
                        year: today.year(),
                        month: i32::try_from(today.month()).unwrap_or(1),
                        day: i32::try_from(today.day()).unwrap_or(1),
                    }),
                    severity: IncidentSeverity::General as i32,
                    description: format!("基准测试事件 {n}"),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            &bearer,
        );
        Box::pin(async move {
            client
                .record_security_incident(request)
                .await
                .map(|_| ())
                .map_err(|s| s.code())
        })
    }))
}

/// The DOMAIN §3.2 worked example as preview input (C 8,000,000, yield 1.7 %, m 6 points, gross-up at 25 %).
fn preview_input() -> CalculationInput {
    CalculationInput {
        jurisdiction: JURISDICTION.into(),
        cost_basis: Some(CostBasis::OperatingCost(pdop_proto::common::Money {
            amount: "8000000".into(),
            currency: String::new(),
        })),
        yield_basis: Some(YieldBasis::BondYieldValue(Rate {
            value: "0.017".into(),
        })),
        markup: Some(Rate { value: "0.06".into() }),
        tax_method: TaxMethod::IncomeTaxGrossUp as i32,
        income_tax_rate: Some(Rate { value: "0.25".into() }),
        period_years: 3,
        ..Default::default()
    }
}

/// `PreviewMaxAllowedRevenue` of the worked example, as the pricing authority (pure computation, no writes).
pub fn pricing_preview(channels: Vec<Channel>, tokens: &Tokens) -> anyhow::Result<CallFn> {
    let clients: Arc<Vec<PricingServiceClient<Channel>>> =
        Arc::new(channels.into_iter().map(PricingServiceClient::new).collect());
    let bearer = tokens.bearer("organizations/bench-pricing", &[Role::PricingAuthority])?;
    Ok(Arc::new(move |n| {
        let mut client = clients[n as usize % clients.len()].clone();
        let request = signed(
            PreviewMaxAllowedRevenueRequest {
                input: Some(preview_input()),
            },
            &bearer,
        );
        Box::pin(async move {
            client
                .preview_max_allowed_revenue(request)
                .await
                .map(|_| ())
                .map_err(|s| s.code())
        })
    }))
}

/// Waits until pricing has learned the fixture's jurisdiction from the registry's events (previews succeed).
pub async fn pricing_ready(channel: Channel, tokens: &Tokens) -> anyhow::Result<()> {
    let call = pricing_preview(vec![channel], tokens)?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match call(0).await {
            Ok(()) => return Ok(()),
            // Polling a condition the registry's events will make true; the interval is not a synchronization.
            Err(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(code) => anyhow::bail!("pricing never accepted the preview: last answer {code:?}"),
        }
    }
}

/// `GetInclusionProof` of entries spread over a log of `size` entries, against the latest signed head.
pub fn disclosure_proof(channels: Vec<Channel>, size: u64) -> anyhow::Result<CallFn> {
    anyhow::ensure!(size > 0, "an inclusion proof needs a non-empty log");
    let clients: Arc<Vec<DisclosureServiceClient<Channel>>> =
        Arc::new(channels.into_iter().map(DisclosureServiceClient::new).collect());
    Ok(Arc::new(move |n| {
        let mut client = clients[n as usize % clients.len()].clone();
        // A large odd stride visits the whole log instead of the same hot pages.
        let sequence = i64::try_from(n.wrapping_mul(2_654_435_761) % size).unwrap_or(0);
        let request = Request::new(GetInclusionProofRequest {
            leaf: Some(Leaf::Sequence(sequence)),
            tree_size: 0,
        });
        Box::pin(async move {
            client
                .get_inclusion_proof(request)
                .await
                .map(|_| ())
                .map_err(|s| s.code())
        })
    }))
}

/// `connections` HTTP/2 connections to `addr` (e.g. `http://127.0.0.1:50051`); calls are spread over them.
pub async fn channels(addr: &str, connections: usize) -> anyhow::Result<Vec<Channel>> {
    let mut out = Vec::with_capacity(connections.max(1));
    for _ in 0..connections.max(1) {
        let channel = Channel::from_shared(addr.to_owned())?
            .tcp_nodelay(true)
            .connect()
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        out.push(channel);
    }
    Ok(out)
}
