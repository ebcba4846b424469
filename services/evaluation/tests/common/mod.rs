//! An evaluation service on a private NATS server, and the registry events that tell it about jurisdictions,
//! organizations and agreements: one small world per profile.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod campaigns;
pub mod orders;
pub mod scoring;
pub mod systems;

use std::sync::Arc;

use pdop_evaluation::Evaluation;
use pdop_kit::Running;
use pdop_kit::auth::Role;
use pdop_kit::clock::{Clock, ManualClock};
use pdop_kit::events::Namespace;
use pdop_proto::common::{Date, DateRange, JurisdictionRef, OrganizationRef, OrganizationRole};
use pdop_proto::evaluation::v1::evaluation_service_client::EvaluationServiceClient;
use pdop_proto::registry::events::v1::{
    AgreementActivated, AgreementSummary, JurisdictionCreated, OrganizationCreated,
};
use pdop_proto::registry::v1::AgreementState;
use pdop_testkit::{
    PrivateNats, TestDb, TestEnv, acting, publish_as_relay, spawn_service, spawn_service_with_clock,
    until_holds,
};
use prost::Message;
use tonic::transport::Channel;

pub struct Harness {
    pub nats: PrivateNats,
    pub namespace: Namespace,
    pub db: TestDb,
    running: Running,
    pub client: EvaluationServiceClient<Channel>,
}

/// The organizations and agreement of one profile's world.
pub struct World {
    pub profile: &'static str,
}

impl World {
    pub fn org(&self, suffix: &str) -> String {
        format!("organizations/{}-{suffix}", self.profile)
    }
    pub fn jurisdiction(&self) -> String {
        format!("jurisdictions/{}", self.profile)
    }
    /// The data authority (数据主管部门).
    pub fn da(&self) -> String {
        self.org("da")
    }
    /// The implementing agency (实施机构).
    pub fn ia(&self) -> String {
        self.org("ia")
    }
    /// The operator of `agreement()`.
    pub fn op(&self) -> String {
        self.org("op")
    }
    pub fn dp(&self) -> String {
        self.org("dp")
    }
    pub fn dev(&self) -> String {
        self.org("dev")
    }
    /// A third-party evaluator (委托第三方).
    pub fn third(&self) -> String {
        self.org("third")
    }
    pub fn agreement(&self) -> String {
        format!("agreements/{}-a1", self.profile)
    }

    pub fn as_operator<T>(&self, m: T) -> tonic::Request<T> {
        acting(&self.op(), &[Role::Operator], m)
    }
    pub fn as_da<T>(&self, m: T) -> tonic::Request<T> {
        acting(&self.da(), &[Role::DataAuthority], m)
    }
    pub fn as_ia<T>(&self, m: T) -> tonic::Request<T> {
        acting(&self.ia(), &[Role::ImplementingAgency], m)
    }
    pub fn as_dp<T>(&self, m: T) -> tonic::Request<T> {
        acting(&self.dp(), &[Role::DataProvider], m)
    }
    pub fn as_dev<T>(&self, m: T) -> tonic::Request<T> {
        acting(&self.dev(), &[Role::Developer], m)
    }
    pub fn as_third<T>(&self, m: T) -> tonic::Request<T> {
        acting(&self.third(), &[Role::Evaluator], m)
    }
}

pub fn org_ref(name: &str, role: OrganizationRole) -> OrganizationRef {
    OrganizationRef {
        name: name.into(),
        display_name: format!("{} 名称", name.trim_start_matches("organizations/")),
        roles: vec![role as i32],
        ..Default::default()
    }
}

pub fn date(year: i32, month: i32, day: i32) -> Date {
    Date { year, month, day }
}

pub fn period(from: Date, until: Date) -> DateRange {
    DateRange {
        start_date: Some(from),
        end_date: Some(until),
    }
}

impl Harness {
    pub fn grpc_addr(&self) -> std::net::SocketAddr {
        self.running.grpc_addr
    }

    /// Moves the service's clock forward by whole days, waking its schedulers.
    pub fn advance_days(&self, days: i64) {
        self.running.platform.clock.advance(chrono::Duration::days(days));
    }

    pub async fn publish(&self, subject: &str, id: &str, payload: Vec<u8>) {
        publish_as_relay(&self.nats.url(), &self.namespace, subject, id, id, id, payload)
            .await
            .unwrap();
    }

    pub async fn until(&self, what: &str, sql: &str) {
        until_holds(&self.db.pool, what, sql).await.unwrap();
    }

    pub async fn jurisdiction(&self, name: &str, parent: &str, profile: &str) {
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
        self.publish(
            "pdop.registry.jurisdiction.created",
            &format!("j-{name}"),
            created.encode_to_vec(),
        )
        .await;
    }

    /// Announces an organization of `w` holding `role`.
    pub async fn organization(&self, w: &World, name: &str, role: OrganizationRole) {
        let event = OrganizationCreated {
            organization: Some(org_ref(name, role)),
            jurisdiction: Some(JurisdictionRef {
                name: w.jurisdiction(),
                ..Default::default()
            }),
            ..Default::default()
        };
        self.publish(
            "pdop.registry.organization.created",
            &format!("o-{name}"),
            event.encode_to_vec(),
        )
        .await;
    }

    /// Announces `agreement` of `operator` ACTIVE over `term` (event `event_id`).
    pub async fn agreement(
        &self,
        w: &World,
        agreement: &str,
        operator: &str,
        term: DateRange,
        event_id: &str,
    ) {
        let activated = AgreementActivated {
            agreement: Some(AgreementSummary {
                name: agreement.into(),
                jurisdiction: Some(JurisdictionRef {
                    name: w.jurisdiction(),
                    ..Default::default()
                }),
                implementing_agency: Some(org_ref(&w.ia(), OrganizationRole::ImplementingAgency)),
                operator: Some(org_ref(operator, OrganizationRole::Operator)),
                term: Some(term),
                state: AgreementState::Active as i32,
                ..Default::default()
            }),
            ..Default::default()
        };
        self.publish(
            "pdop.registry.agreement.activated",
            event_id,
            activated.encode_to_vec(),
        )
        .await;
    }

    /// Announces one profile's world: its data authority, implementing agency, operator (with agreement a1 in
    /// force 2025-01-01 … 2029-12-31), provider, developer and third-party evaluator; waits until all is known.
    pub async fn world(&self, profile: &'static str) -> World {
        let w = World { profile };
        self.jurisdiction(&w.jurisdiction(), "jurisdictions/china", profile)
            .await;
        for (name, role) in [
            (w.da(), OrganizationRole::DataAuthority),
            (w.ia(), OrganizationRole::ImplementingAgency),
            (w.op(), OrganizationRole::Operator),
            (w.dp(), OrganizationRole::DataProvider),
            (w.dev(), OrganizationRole::Developer),
            (w.third(), OrganizationRole::Evaluator),
        ] {
            self.organization(&w, &name, role).await;
        }
        let term = period(date(2025, 1, 1), date(2029, 12, 31));
        self.agreement(&w, &w.agreement(), &w.op(), term, &format!("a-{profile}"))
            .await;
        let p = profile;
        self.until(
            &format!("the registry's facts of {p} are known"),
            &format!(
                "SELECT (SELECT count(*) FROM organizations WHERE id LIKE '{p}-%') = 6
                    AND EXISTS (SELECT 1 FROM agreements WHERE id = '{p}-a1')
                    AND EXISTS (SELECT 1 FROM jurisdictions WHERE id = '{p}')"
            ),
        )
        .await;
        w
    }

    /// The payload of the one event of `subject` the service enqueued about `ce_subject`.
    pub async fn event<M: Message + Default>(&self, subject: &str, ce_subject: &str) -> M {
        let payload: Vec<u8> =
            sqlx::query_scalar("SELECT payload FROM outbox WHERE subject = $1 AND ce_subject = $2")
                .bind(subject)
                .bind(ce_subject)
                .fetch_one(&self.db.pool)
                .await
                .unwrap();
        M::decode(payload.as_slice()).unwrap()
    }

    /// How many events of `subject` the service has enqueued about `ce_subject`.
    pub async fn events(&self, subject: &str, ce_subject: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE subject = $1 AND ce_subject = $2")
            .bind(subject)
            .bind(ce_subject)
            .fetch_one(&self.db.pool)
            .await
            .unwrap()
    }
}

/// An evaluation service that knows the jurisdiction tree's root (`jurisdictions/china`, where test tokens act).
pub async fn start() -> Harness {
    start_from(None, &[]).await
}

/// As `start`, on a manual clock standing at 09:00 China time on `day` (moved with [`Harness::advance_days`]).
pub async fn start_on(day: chrono::NaiveDate) -> Harness {
    start_from(Some(Arc::new(ManualClock::on(day))), &[]).await
}

/// As `start`, with configuration overrides (`section.key`, value), e.g. a test profile directory.
pub async fn start_with(overrides: &[(&str, String)]) -> Harness {
    start_from(None, overrides).await
}

async fn start_from(clock: Option<Arc<dyn Clock>>, overrides: &[(&str, String)]) -> Harness {
    let env = TestEnv::new().await.unwrap();
    let nats = PrivateNats::start().await.unwrap();
    let db = env.fresh_database().await.unwrap();
    let running = match clock {
        Some(clock) => {
            spawn_service_with_clock::<Evaluation>(&db, &nats.url(), &env.namespace, overrides, clock).await
        }
        None => spawn_service::<Evaluation>(&db, &nats.url(), &env.namespace, overrides).await,
    }
    .unwrap();
    let client = EvaluationServiceClient::connect(format!("http://{}", running.grpc_addr))
        .await
        .unwrap();
    let h = Harness {
        nats,
        namespace: env.namespace.clone(),
        db,
        running,
        client,
    };
    h.jurisdiction("jurisdictions/china", "", "national").await;
    h
}
