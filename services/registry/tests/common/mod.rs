//! A registry on free ports against a fresh database, plus helpers to call it as a given role.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use pdop_kit::Running;
use pdop_kit::auth::Role;
use pdop_proto::common::{JurisdictionLevel, OrganizationRole};
use pdop_proto::registry::v1::registry_service_client::RegistryServiceClient;
use pdop_proto::registry::v1::*;
use pdop_registry::Registry;
use pdop_testkit::{TestDb, TestEnv, dev_token, spawn_service};
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

/// Valid unified social credit codes (published, check digits correct).
pub const CODES: [&str; 7] = [
    "91350100M000100Y43",
    "91110000600037341L",
    "91310000631696382C",
    "91440300568520498A",
    "9144030071526726XG",
    "91340600MA2PBM9HXD",
    "121200004013590816",
];

pub struct Harness {
    pub env: TestEnv,
    pub db: TestDb,
    pub running: Running,
    pub client: RegistryServiceClient<Channel>,
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with_nats(None).await
    }

    pub async fn start_with_nats(nats_url: Option<String>) -> Self {
        let env = TestEnv::new().await.unwrap();
        let db = env.fresh_database().await.unwrap();
        let nats = nats_url.unwrap_or_else(|| env.nats_url.clone());
        let running = spawn_service::<Registry>(&db, &nats, &[]).await.unwrap();
        let client = RegistryServiceClient::connect(format!("http://{}", running.grpc_addr))
            .await
            .unwrap();
        Self {
            env,
            db,
            running,
            client,
        }
    }

    /// Payloads of outbox rows with `subject`, oldest first (published or not).
    pub async fn events(&self, subject: &str) -> Vec<Vec<u8>> {
        sqlx::query_scalar("SELECT payload FROM outbox WHERE subject = $1 ORDER BY seq")
            .bind(subject)
            .fetch_all(&self.db.pool)
            .await
            .unwrap()
    }

    pub async fn audit_rows(&self, action: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = $1")
            .bind(action)
            .fetch_one(&self.db.pool)
            .await
            .unwrap()
    }

    /// A national root and one province bound to `profile`, as the data authority.
    pub async fn province(&mut self, id: &str, profile: &str) -> Jurisdiction {
        if self.get_jurisdiction("jurisdictions/china").await.is_err() {
            self.create_jurisdiction(
                "china",
                "中华人民共和国",
                JurisdictionLevel::National,
                "",
                "national",
            )
            .await
            .unwrap();
        }
        self.create_jurisdiction(
            id,
            id,
            JurisdictionLevel::Province,
            "jurisdictions/china",
            profile,
        )
        .await
        .unwrap()
    }

    pub async fn create_jurisdiction(
        &mut self,
        id: &str,
        display_name: &str,
        level: JurisdictionLevel,
        parent: &str,
        profile: &str,
    ) -> Result<Jurisdiction, Status> {
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
        let response = self.client.create_jurisdiction(authority(request)).await?;
        Ok(response.into_inner().jurisdiction.unwrap())
    }

    pub async fn get_jurisdiction(&mut self, name: &str) -> Result<Jurisdiction, Status> {
        let request = as_role(GetJurisdictionRequest { name: name.into() }, &[Role::Operator]);
        Ok(self
            .client
            .get_jurisdiction(request)
            .await?
            .into_inner()
            .jurisdiction
            .unwrap())
    }

    pub async fn create_organization(
        &mut self,
        organization: Organization,
        id: &str,
    ) -> Result<Organization, Status> {
        let request = CreateOrganizationRequest {
            organization: Some(organization),
            organization_id: id.into(),
            request_id: String::new(),
        };
        Ok(self
            .client
            .create_organization(authority(request))
            .await?
            .into_inner()
            .organization
            .unwrap())
    }
}

/// A request carrying a token for the data authority `organizations/authority`.
pub fn authority<T>(message: T) -> Request<T> {
    as_role(message, &[Role::DataAuthority])
}

pub fn as_role<T>(message: T, roles: &[Role]) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        dev_token("organizations/authority", roles).parse().unwrap(),
    );
    request
}

/// Asserts INVALID_ARGUMENT whose BadRequest names exactly `fields`.
pub fn assert_invalid(status: &Status, fields: &[&str]) {
    use tonic_types::StatusExt;
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let details = status.get_error_details();
    let named: Vec<String> = details
        .bad_request()
        .map(|b| b.field_violations.iter().map(|f| f.field.clone()).collect())
        .unwrap_or_default();
    assert_eq!(named, fields, "{status:?}");
}

/// The `ErrorInfo.reason` of a status.
pub fn reason(status: &Status) -> String {
    use tonic_types::StatusExt;
    status
        .get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

pub const STATS: &str = "organizations/yn-stats";
pub const TRANSPORT: &str = "organizations/yn-transport";

/// A province (profile yunnan) with two data providers.
pub async fn setup() -> Harness {
    let mut h = Harness::start().await;
    h.province("yunnan", "yunnan").await;
    for (id, code) in [("yn-stats", CODES[0]), ("yn-transport", CODES[1])] {
        let org = Organization {
            display_name: id.into(),
            unified_social_credit_code: code.into(),
            roles: vec![OrganizationRole::DataProvider as i32],
            jurisdiction: "jurisdictions/yunnan".into(),
            ..Default::default()
        };
        h.create_organization(org, id).await.unwrap();
    }
    h
}

pub fn provider<T>(org: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    let token = pdop_testkit::dev_token(org, &[Role::DataProvider]);
    request
        .metadata_mut()
        .insert("authorization", token.parse().unwrap());
    request
}

pub fn field(key: &str, code: &str, authoritative: bool) -> ResourceField {
    ResourceField {
        field_key: key.into(),
        display_name: key.into(),
        data_item_code: code.into(),
        authoritative_source: authoritative,
        ..Default::default()
    }
}

pub fn resource(owner: &str, name: &str, fields: Vec<ResourceField>) -> Resource {
    Resource {
        display_name: name.into(),
        provider: owner.into(),
        jurisdiction: "jurisdictions/yunnan".into(),
        fields,
        ..Default::default()
    }
}

pub async fn create(h: &mut Harness, owner: &str, id: &str, r: Resource) -> Result<Resource, tonic::Status> {
    let request = CreateResourceRequest {
        resource: Some(r),
        resource_id: id.into(),
        request_id: String::new(),
    };
    Ok(h.client
        .create_resource(provider(owner, request))
        .await?
        .into_inner()
        .resource
        .unwrap())
}
