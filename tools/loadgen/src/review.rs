//! The review service's scenarios: its read model is laid by publishing the registry's facts (a Hubei
//! jurisdiction, its authority, operator and provider, a resource and an ACTIVE agreement) the way the registry's
//! relay does, then `CreateScenarioApplication` (a write: facts read, a row, an audit row) and
//! `GetScenarioApplication` (a read with its party check) are driven.

use std::sync::Arc;

use pdop_kit::auth::Role;
use pdop_kit::events::Namespace;
use pdop_proto::common::{Date, DateRange, JurisdictionRef, OrganizationRef, OrganizationRole};
use pdop_proto::registry::events::v1::{
    AgreementSigned, AgreementSummary, AuthorizedResource, JurisdictionCreated, OrganizationCreated,
    ResourceCreated, ResourceSnapshot,
};
use pdop_proto::registry::v1::AgreementState;
use pdop_proto::review::v1::review_service_client::ReviewServiceClient;
use pdop_proto::review::v1::{
    CreateScenarioApplicationRequest, DataDemand, GetScenarioApplicationRequest, ScenarioApplication,
};
use prost::Message;
use tonic::transport::Channel;

use crate::calls::{Tokens, signed};
use crate::load::CallFn;

const JURISDICTION: &str = "jurisdictions/bench-hubei";
const OPERATOR: &str = "organizations/bench-review-op";
const AGREEMENT: &str = "agreements/bench-review-a1";
const RESOURCE: &str = "resources/bench-review-r1";

fn org(name: &str, role: OrganizationRole) -> OrganizationRef {
    OrganizationRef {
        name: name.into(),
        display_name: name.into(),
        roles: vec![role as i32],
        ..Default::default()
    }
}

/// Publishes the registry facts the scenarios need and waits until the review service has applied them.
pub async fn fixture(nats_url: &str, review_database_url: &str) -> anyhow::Result<()> {
    let namespace = Namespace::new(Namespace::DEFAULT)?;
    let jurisdiction = JurisdictionRef {
        name: JURISDICTION.into(),
        profile_id: "hubei".into(),
        ..Default::default()
    };
    let organization = |name: &str, role| OrganizationCreated {
        organization: Some(org(name, role)),
        jurisdiction: Some(jurisdiction.clone()),
        ..Default::default()
    };
    let events: Vec<(&str, &str, Vec<u8>)> = vec![
        (
            "pdop.registry.jurisdiction.created",
            "bench-review-j",
            JurisdictionCreated {
                jurisdiction: Some(jurisdiction.clone()),
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            "pdop.registry.organization.created",
            "bench-review-da",
            organization("organizations/bench-review-da", OrganizationRole::DataAuthority).encode_to_vec(),
        ),
        (
            "pdop.registry.organization.created",
            "bench-review-op",
            organization(OPERATOR, OrganizationRole::Operator).encode_to_vec(),
        ),
        (
            "pdop.registry.resource.created",
            "bench-review-r1",
            ResourceCreated {
                resource: Some(ResourceSnapshot {
                    name: RESOURCE.into(),
                    provider: Some(org(
                        "organizations/bench-review-dp",
                        OrganizationRole::DataProvider,
                    )),
                    jurisdiction: Some(jurisdiction.clone()),
                    authorizable: true,
                    ..Default::default()
                }),
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            "pdop.registry.agreement.signed",
            "bench-review-a1",
            AgreementSigned {
                agreement: Some(AgreementSummary {
                    name: AGREEMENT.into(),
                    jurisdiction: Some(jurisdiction.clone()),
                    operator: Some(org(OPERATOR, OrganizationRole::Operator)),
                    resources: vec![AuthorizedResource {
                        resource: RESOURCE.into(),
                        ..Default::default()
                    }],
                    term: Some(DateRange {
                        start_date: Some(Date {
                            year: 2020,
                            month: 1,
                            day: 1,
                        }),
                        end_date: Some(Date {
                            year: 2099,
                            month: 12,
                            day: 31,
                        }),
                    }),
                    state: AgreementState::Active as i32,
                    ..Default::default()
                }),
                ..Default::default()
            }
            .encode_to_vec(),
        ),
    ];
    for (subject, id, payload) in events {
        pdop_testkit::publish_as_relay(nats_url, &namespace, subject, id, id, id, payload).await?;
    }
    let pool = sqlx::PgPool::connect(review_database_url).await?;
    pdop_testkit::until_holds(
        &pool,
        "the review service knows the bench agreement",
        "SELECT EXISTS (SELECT 1 FROM agreements WHERE id = 'bench-review-a1')
            AND EXISTS (SELECT 1 FROM resources WHERE id = 'bench-review-r1')
            AND EXISTS (SELECT 1 FROM jurisdictions WHERE id = 'bench-hubei')",
    )
    .await?;
    Ok(())
}

fn application(n: u64) -> ScenarioApplication {
    ScenarioApplication {
        display_name: format!("基准场景 {n}"),
        agreement: AGREEMENT.into(),
        purpose: "基准测试".into(),
        data_demands: vec![DataDemand {
            resource: RESOURCE.into(),
            necessity: "必需".into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn clients(channels: Vec<Channel>) -> Arc<Vec<ReviewServiceClient<Channel>>> {
    Arc::new(channels.into_iter().map(ReviewServiceClient::new).collect())
}

/// `CreateScenarioApplication`: the agreement, profile and resource read, one row and one audit row written.
pub fn create(channels: Vec<Channel>, tokens: &Tokens) -> anyhow::Result<CallFn> {
    let clients = clients(channels);
    let bearer = tokens.bearer(OPERATOR, &[Role::Operator])?;
    Ok(Arc::new(move |n| {
        let mut client = clients[n as usize % clients.len()].clone();
        let request = signed(
            CreateScenarioApplicationRequest {
                scenario_application: Some(application(n)),
                request_id: String::new(),
            },
            &bearer,
        );
        Box::pin(async move {
            client
                .create_scenario_application(request)
                .await
                .map(|_| ())
                .map_err(|s| s.code())
        })
    }))
}

/// One application created for the read scenario.
pub async fn seed(channel: Channel, tokens: &Tokens) -> anyhow::Result<String> {
    let mut client = ReviewServiceClient::new(channel);
    let bearer = tokens.bearer(OPERATOR, &[Role::Operator])?;
    let request = signed(
        CreateScenarioApplicationRequest {
            scenario_application: Some(application(0)),
            request_id: String::new(),
        },
        &bearer,
    );
    let created = client.create_scenario_application(request).await?.into_inner();
    Ok(created.scenario_application.map(|a| a.name).unwrap_or_default())
}

/// `GetScenarioApplication` of one application, as its applicant.
pub fn get(channels: Vec<Channel>, tokens: &Tokens, name: String) -> anyhow::Result<CallFn> {
    let clients = clients(channels);
    let bearer = tokens.bearer(OPERATOR, &[Role::Operator])?;
    Ok(Arc::new(move |n| {
        let mut client = clients[n as usize % clients.len()].clone();
        let request = signed(GetScenarioApplicationRequest { name: name.clone() }, &bearer);
        Box::pin(async move {
            client
                .get_scenario_application(request)
                .await
                .map(|_| ())
                .map_err(|s| s.code())
        })
    }))
}
