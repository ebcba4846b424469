//! A review service on a private NATS server, and the registry events that tell it about jurisdictions,
//! organizations, resources and agreements: one small world per profile.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod admissions;

use std::sync::Arc;

use pdop_kit::Running;
use pdop_kit::auth::Role;
use pdop_kit::clock::{Clock, ManualClock};
use pdop_kit::events::Namespace;
use pdop_proto::common::{
    DataGrade, Date, DateRange, JurisdictionRef, OrganizationRef, OrganizationRole, UseClass,
};
use pdop_proto::registry::events::v1::{
    AgreementSigned, AgreementSummary, AuthorizedResource, FieldFlags, JurisdictionCreated,
    NegativeListEntryAdded, OrganizationCreated, ResourceCreated, ResourceSnapshot,
};
use pdop_proto::registry::events::v1::{ProductSnapshot, ProductSubmitted};
use pdop_proto::registry::v1::{AgreementState, ProductState};
use pdop_proto::review::v1 as pb;
use pdop_proto::review::v1::ProductReview;
use pdop_proto::review::v1::review_service_client::ReviewServiceClient;
use pdop_review::Review;
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
    _running: Running,
    pub client: ReviewServiceClient<Channel>,
}

/// The organizations, resources and agreement of one profile's world.
pub struct World {
    pub profile: &'static str,
}

impl World {
    fn org(&self, suffix: &str) -> String {
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
    pub fn op(&self) -> String {
        self.org("op")
    }
    /// Providers of r1 and r2.
    pub fn dp(&self) -> String {
        self.org("dp")
    }
    pub fn dp2(&self) -> String {
        self.org("dp2")
    }
    /// An industry regulator (行业主管部门).
    pub fn ir(&self) -> String {
        self.org("ir")
    }
    /// A developer (never a party to scenarios).
    pub fn dev(&self) -> String {
        self.org("dev")
    }
    pub fn agreement(&self) -> String {
        format!("agreements/{}-a1", self.profile)
    }
    /// General data in the agreement, provided by `dp`.
    pub fn r1(&self) -> String {
        format!("resources/{}-r1", self.profile)
    }
    /// Personal information in the agreement, provided by `dp2`.
    pub fn r2(&self) -> String {
        format!("resources/{}-r2", self.profile)
    }
    /// CORE data, listed in the agreement all the same.
    pub fn core(&self) -> String {
        format!("resources/{}-core", self.profile)
    }
    /// General data outside the agreement.
    pub fn outside(&self) -> String {
        format!("resources/{}-out", self.profile)
    }
    /// Negative-listed data in the agreement.
    pub fn listed(&self) -> String {
        format!("resources/{}-neg", self.profile)
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
    pub fn as_dp2<T>(&self, m: T) -> tonic::Request<T> {
        acting(&self.dp2(), &[Role::DataProvider], m)
    }
    pub fn as_dev<T>(&self, m: T) -> tonic::Request<T> {
        acting(&self.dev(), &[Role::Developer], m)
    }
    pub fn as_ir<T>(&self, m: T) -> tonic::Request<T> {
        acting(&self.ir(), &[Role::IndustryRegulator], m)
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

impl Harness {
    pub fn grpc_addr(&self) -> std::net::SocketAddr {
        self._running.grpc_addr
    }

    /// Moves the service's clock forward by whole days, waking its scheduler.
    pub fn advance_days(&self, days: i64) {
        self._running.platform.clock.advance(chrono::Duration::days(days));
    }

    pub async fn publish(&self, subject: &str, id: &str, payload: Vec<u8>) {
        publish_as_relay(&self.nats.url(), &self.namespace, subject, id, id, id, payload)
            .await
            .unwrap();
    }

    pub async fn until(&self, what: &str, sql: &str) {
        until_holds(&self.db.pool, what, sql).await.unwrap();
    }

    async fn jurisdiction(&self, name: &str, parent: &str, profile: &str) {
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

    async fn organization(&self, w: &World, name: &str, role: OrganizationRole) {
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

    async fn resource(&self, w: &World, name: &str, provider: &str, grade: DataGrade, personal: bool) {
        let event = ResourceCreated {
            resource: Some(ResourceSnapshot {
                name: name.into(),
                display_name: name.trim_start_matches("resources/").into(),
                provider: Some(org_ref(provider, OrganizationRole::DataProvider)),
                jurisdiction: Some(JurisdictionRef {
                    name: w.jurisdiction(),
                    ..Default::default()
                }),
                grade: grade as i32,
                has_personal_info: personal,
                fields: if personal {
                    vec![
                        FieldFlags {
                            field_key: "name".into(),
                            personal_info: true,
                            ..Default::default()
                        },
                        FieldFlags {
                            field_key: "plate".into(),
                            ..Default::default()
                        },
                    ]
                } else {
                    Vec::new()
                },
                authorizable: true,
                ..Default::default()
            }),
            ..Default::default()
        };
        self.publish(
            "pdop.registry.resource.created",
            &format!("r-{name}"),
            event.encode_to_vec(),
        )
        .await;
    }

    /// Announces another developer of `w` (`organizations/{profile}-{suffix}`) and waits until it is known.
    pub async fn developer(&self, w: &World, suffix: &str) -> String {
        let name = w.org(suffix);
        self.organization(w, &name, OrganizationRole::Developer).await;
        let id = name.trim_start_matches("organizations/");
        self.until(
            "the developer is known",
            &format!("SELECT EXISTS (SELECT 1 FROM organizations WHERE id = '{id}')"),
        )
        .await;
        name
    }

    /// Announces the agreement in `state` (a later call with another state moves the read model).
    pub async fn agreement(&self, w: &World, state: AgreementState, event_id: &str) {
        let resource = |r: String| AuthorizedResource {
            resource: r,
            ..Default::default()
        };
        let signed = AgreementSigned {
            agreement: Some(AgreementSummary {
                name: w.agreement(),
                jurisdiction: Some(JurisdictionRef {
                    name: w.jurisdiction(),
                    ..Default::default()
                }),
                implementing_agency: Some(org_ref(&w.ia(), OrganizationRole::ImplementingAgency)),
                operator: Some(org_ref(&w.op(), OrganizationRole::Operator)),
                resources: vec![
                    resource(w.r1()),
                    resource(w.r2()),
                    resource(w.core()),
                    resource(w.listed()),
                ],
                term: Some(DateRange {
                    start_date: Some(date(2026, 1, 1)),
                    end_date: Some(date(2030, 12, 31)),
                }),
                state: state as i32,
                ..Default::default()
            }),
            ..Default::default()
        };
        self.publish("pdop.registry.agreement.signed", event_id, signed.encode_to_vec())
            .await;
    }

    /// Announces one profile's world and waits until the service knows all of it.
    pub async fn world(&self, profile: &'static str) -> World {
        let w = World { profile };
        self.jurisdiction(&w.jurisdiction(), "jurisdictions/china", profile)
            .await;
        for (name, role) in [
            (w.da(), OrganizationRole::DataAuthority),
            (w.ia(), OrganizationRole::ImplementingAgency),
            (w.op(), OrganizationRole::Operator),
            (w.dp(), OrganizationRole::DataProvider),
            (w.dp2(), OrganizationRole::DataProvider),
            (w.ir(), OrganizationRole::IndustryRegulator),
            (w.dev(), OrganizationRole::Developer),
        ] {
            self.organization(&w, &name, role).await;
        }
        self.resource(&w, &w.r1(), &w.dp(), DataGrade::General, false)
            .await;
        self.resource(&w, &w.r2(), &w.dp2(), DataGrade::General, true)
            .await;
        self.resource(&w, &w.core(), &w.dp(), DataGrade::Core, false)
            .await;
        self.resource(&w, &w.outside(), &w.dp(), DataGrade::General, false)
            .await;
        self.resource(&w, &w.listed(), &w.dp(), DataGrade::General, false)
            .await;
        let listed = NegativeListEntryAdded {
            name: format!("negativeListEntries/{profile}-n1"),
            resource: w.listed(),
            ..Default::default()
        };
        self.publish(
            "pdop.registry.negative_list_entry.added",
            &format!("n-{profile}"),
            listed.encode_to_vec(),
        )
        .await;
        self.agreement(&w, AgreementState::Active, &format!("a-{profile}"))
            .await;
        let p = profile;
        self.until(
            &format!("the registry's facts of {p} are known"),
            &format!(
                "SELECT (SELECT count(*) FROM organizations WHERE id LIKE '{p}-%') = 7
                    AND (SELECT count(*) FROM resources WHERE id LIKE '{p}-%') = 5
                    AND EXISTS (SELECT 1 FROM negative_list WHERE resource_id = '{p}-neg')
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

    /// The subjects the service enqueued about any of `ce_subjects`, in outbox order.
    pub async fn subjects(&self, ce_subjects: &[&str]) -> Vec<String> {
        sqlx::query_scalar("SELECT subject FROM outbox WHERE ce_subject = ANY($1) ORDER BY seq")
            .bind(ce_subjects)
            .fetch_all(&self.db.pool)
            .await
            .unwrap()
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

/// A review service that knows the jurisdiction tree's root (`jurisdictions/china`, where test tokens act).
pub async fn start() -> Harness {
    start_from(None).await
}

/// As `start`, on a manual clock standing at 09:00 China time on `day` (moved with [`Harness::advance_days`]).
pub async fn start_on(day: chrono::NaiveDate) -> Harness {
    start_from(Some(Arc::new(ManualClock::on(day)))).await
}

/// As `start`, with configuration overrides (`section.key`, value), e.g. a test profile directory.
pub async fn start_with(overrides: &[(&str, String)]) -> Harness {
    start_from_with(None, overrides).await
}

async fn start_from(clock: Option<Arc<dyn Clock>>) -> Harness {
    start_from_with(clock, &[]).await
}

async fn start_from_with(clock: Option<Arc<dyn Clock>>, overrides: &[(&str, String)]) -> Harness {
    let env = TestEnv::new().await.unwrap();
    let nats = PrivateNats::start().await.unwrap();
    let db = env.fresh_database().await.unwrap();
    let running = match clock {
        Some(clock) => {
            spawn_service_with_clock::<Review>(&db, &nats.url(), &env.namespace, overrides, clock).await
        }
        None => spawn_service::<Review>(&db, &nats.url(), &env.namespace, overrides).await,
    }
    .unwrap();
    let client = ReviewServiceClient::connect(format!("http://{}", running.grpc_addr))
        .await
        .unwrap();
    let h = Harness {
        nats,
        namespace: env.namespace.clone(),
        db,
        _running: running,
        client,
    };
    h.jurisdiction("jurisdictions/china", "", "national").await;
    h
}

/// An operator product of `w` built from `w.r1()`, UNDER_REVIEW in the registry, naming `scenarios`.
pub fn product(w: &World, id: &str, scenarios: &[&str]) -> ProductSnapshot {
    ProductSnapshot {
        name: format!("products/{}-{id}", w.profile),
        display_name: "企业信用评估接口".into(),
        operator: Some(org_ref(&w.op(), OrganizationRole::Operator)),
        agreement: w.agreement(),
        jurisdiction: Some(JurisdictionRef {
            name: w.jurisdiction(),
            ..Default::default()
        }),
        source_resources: vec![w.r1()],
        use_class: UseClass::IndustryDevelopment as i32,
        state: ProductState::UnderReview as i32,
        scenario_applications: scenarios.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    }
}

/// Announces the product submitted (event `event_id`) and returns its open review once the service opened it.
pub async fn submitted(h: &mut Harness, w: &World, p: &ProductSnapshot, event_id: &str) -> ProductReview {
    let event = ProductSubmitted {
        product: Some(p.clone()),
        ..Default::default()
    };
    h.publish("pdop.registry.product.submitted", event_id, event.encode_to_vec())
        .await;
    let id = p.name.trim_start_matches("products/");
    h.until(
        "the review is open",
        &format!("SELECT EXISTS (SELECT 1 FROM product_reviews WHERE product_id = '{id}')"),
    )
    .await;
    let req = pb::ListProductReviewsRequest {
        product: p.name.clone(),
        ..Default::default()
    };
    let listed = h
        .client
        .list_product_reviews(w.as_operator(req))
        .await
        .unwrap()
        .into_inner();
    listed.product_reviews.into_iter().next().unwrap()
}
