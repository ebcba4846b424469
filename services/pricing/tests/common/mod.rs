//! A pricing service on a private NATS server, and the registry events that tell it about jurisdictions,
//! organizations and agreements.

#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use pdop_kit::clock::Clock;

use pdop_kit::Running;
use pdop_kit::auth::Role;
use pdop_kit::events::Namespace;
use pdop_pricing::Pricing;
use pdop_proto::common::{JurisdictionRef, OrganizationRef, OrganizationRole};
use pdop_proto::pricing::v1::pricing_service_client::PricingServiceClient;
use pdop_proto::registry::events::v1::{
    AgreementSigned, AgreementSummary, JurisdictionCreated, OrganizationCreated,
};
use pdop_proto::registry::v1::AgreementState;
use pdop_testkit::{
    PrivateNats, TestDb, TestEnv, acting, publish_as_relay, spawn_service, spawn_service_with_clock,
    until_holds,
};
use prost::Message;
use tonic::transport::Channel;

mod workflow;
pub use workflow::*;

pub const AUTHORITY: &str = "organizations/yn-drc";
pub const DATA_AUTHORITY: &str = "organizations/yn-data";
pub const AGENCY: &str = "organizations/yn-agency";
pub const OPERATOR: &str = "organizations/yn-operator";
pub const AGREEMENT: &str = "agreements/a1";

pub struct Harness {
    pub nats: PrivateNats,
    /// The test's NATS namespace, which the service and `publish` use.
    pub namespace: Namespace,
    pub db: TestDb,
    _running: Running,
    pub client: PricingServiceClient<Channel>,
}

/// The case's pricing authority (发展改革部门).
pub fn authority<T>(message: T) -> tonic::Request<T> {
    acting(AUTHORITY, &[Role::PricingAuthority], message)
}

/// The authorizing entity (授权主体).
pub fn agency<T>(message: T) -> tonic::Request<T> {
    acting(AGENCY, &[Role::ImplementingAgency], message)
}

impl Harness {
    /// Publishes a registry event the way the registry's outbox relay does.
    pub async fn publish(&self, subject: &str, id: &str, payload: Vec<u8>) {
        publish_as_relay(&self.nats.url(), &self.namespace, subject, id, id, id, payload)
            .await
            .unwrap();
    }

    /// Announces the jurisdiction `name` (under `parent`, empty for a root) bound to `profile`, as the registry
    /// does; `id` is the event id.
    pub async fn jurisdiction(&self, id: &str, name: &str, parent: &str, profile: &str) {
        let created = JurisdictionCreated {
            jurisdiction: Some(JurisdictionRef {
                name: name.into(),
                display_name: name.trim_start_matches("jurisdictions/").into(),
                profile_id: profile.into(),
                ..Default::default()
            }),
            parent: parent.into(),
            ..Default::default()
        };
        self.publish("pdop.registry.jurisdiction.created", id, created.encode_to_vec())
            .await;
    }

    /// Moves the service's clock forward (it must run on a manual one), waking its scheduler.
    pub fn advance(&self, by: chrono::Duration) -> bool {
        self._running.platform.clock.advance(by)
    }

    /// Waits until `sql` (a boolean query) holds in the service's database.
    pub async fn until(&self, what: &str, sql: &str) {
        until_holds(&self.db.pool, what, sql).await.unwrap();
    }
}

fn org(name: &str, role: OrganizationRole) -> OrganizationRef {
    OrganizationRef {
        name: name.into(),
        display_name: name.trim_start_matches("organizations/").into(),
        roles: vec![role as i32],
        ..Default::default()
    }
}

/// A pricing service that knows Yunnan (profile yunnan), its authorities, an agency, an operator and a
/// signed agreement between them, all from registry events.
pub async fn start() -> Harness {
    start_with(&[]).await
}

/// As `start`, with configuration overrides (`section.key`, value).
pub async fn start_with(overrides: &[(&str, String)]) -> Harness {
    start_from(overrides, None).await
}

/// As `start`, on `clock` (moved with [`Harness::advance`]).
pub async fn start_on(clock: Arc<dyn Clock>) -> Harness {
    start_from(&[], Some(clock)).await
}

async fn start_from(overrides: &[(&str, String)], clock: Option<Arc<dyn Clock>>) -> Harness {
    let env = TestEnv::new().await.unwrap();
    let nats = PrivateNats::start().await.unwrap();
    let db = env.fresh_database().await.unwrap();
    let running = match clock {
        Some(clock) => {
            spawn_service_with_clock::<Pricing>(&db, &nats.url(), &env.namespace, overrides, clock).await
        }
        None => spawn_service::<Pricing>(&db, &nats.url(), &env.namespace, overrides).await,
    }
    .unwrap();
    let client = PricingServiceClient::connect(format!("http://{}", running.grpc_addr))
        .await
        .unwrap();
    let h = Harness {
        nats,
        namespace: env.namespace.clone(),
        db,
        _running: running,
        client,
    };
    let yunnan = JurisdictionRef {
        name: "jurisdictions/yunnan".into(),
        display_name: "云南省".into(),
        profile_id: "yunnan".into(),
        ..Default::default()
    };
    // The tree the test tokens act in (testkit: `jurisdictions/china`), with Yunnan below it.
    h.jurisdiction("j-0", "jurisdictions/china", "", "national").await;
    h.jurisdiction("j-1", &yunnan.name, "jurisdictions/china", "yunnan")
        .await;
    for (i, (name, role)) in [
        (AUTHORITY, OrganizationRole::PricingAuthority),
        (DATA_AUTHORITY, OrganizationRole::DataAuthority),
        (AGENCY, OrganizationRole::ImplementingAgency),
        (OPERATOR, OrganizationRole::Operator),
    ]
    .into_iter()
    .enumerate()
    {
        let event = OrganizationCreated {
            organization: Some(org(name, role)),
            ..Default::default()
        };
        h.publish(
            "pdop.registry.organization.created",
            &format!("o-{i}"),
            event.encode_to_vec(),
        )
        .await;
    }
    let signed = AgreementSigned {
        agreement: Some(AgreementSummary {
            name: AGREEMENT.into(),
            jurisdiction: Some(yunnan),
            implementing_agency: Some(org(AGENCY, OrganizationRole::ImplementingAgency)),
            operator: Some(org(OPERATOR, OrganizationRole::Operator)),
            state: AgreementState::Signed as i32,
            ..Default::default()
        }),
        ..Default::default()
    };
    h.publish("pdop.registry.agreement.signed", "a-1", signed.encode_to_vec())
        .await;
    h.until(
        "the registry's facts are known",
        "SELECT (SELECT count(*) FROM jurisdictions) = 2 AND (SELECT count(*) FROM organizations) = 4
            AND EXISTS (SELECT 1 FROM agreements WHERE id = 'a1')",
    )
    .await;
    h
}
