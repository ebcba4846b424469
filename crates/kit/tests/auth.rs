//! Bearer-token authentication and per-RPC roles through a real gRPC server.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::sync::Arc;

use pdop_kit::Running;
use pdop_kit::auth::{Access, Policy, Role, SigningKey, claims_for, mint};
use pdop_kit::config::{AuthSettings, ServiceDefaults};
use pdop_kit::{Platform, Service};
use pdop_proto::registry::v1::GetJurisdictionRequest;
use pdop_proto::registry::v1::registry_service_client::RegistryServiceClient;
use pdop_proto::registry::v1::registry_service_server::{RegistryService, RegistryServiceServer};
use pdop_testkit::{DEV_SECRET, TestDb, TestEnv, dev_token, spawn_service};
use tonic::service::Routes;
use tonic::{Code, Request};

/// A service whose only allowed RPC is `GetJurisdiction`, for data authorities; its handler is the
/// generated `UNIMPLEMENTED` stub, so passing authorization shows up as `UNIMPLEMENTED`.
struct Guarded;

struct Stub;
impl RegistryService for Stub {}

impl Service for Guarded {
    type Config = serde_json::Value;
    type State = Arc<Platform>;
    const IMPLEMENTED: &'static [&'static str] = &[];
    const DEFAULTS: ServiceDefaults = ServiceDefaults {
        name: "authtest",
        grpc_port: 0,
        admin_port: 0,
    };
    const GRPC_SERVICE: &'static str = "pdop.registry.v1.RegistryService";
    const CONFIG_DEFAULTS: &'static str = "authtest: {}";

    fn descriptor_set() -> &'static [u8] {
        pdop_proto::FILE_DESCRIPTOR_SET
    }

    fn migrator() -> sqlx::migrate::Migrator {
        sqlx::migrate::Migrator::DEFAULT
    }

    fn policy() -> Policy {
        Policy::table(
            Self::GRPC_SERVICE,
            [
                ("GetJurisdiction", Access::Roles(vec![Role::DataAuthority])),
                ("ListJurisdictions", Access::Unimplemented),
            ],
        )
    }

    fn build(platform: Arc<Platform>, _: Self::Config) -> anyhow::Result<Arc<Platform>> {
        Ok(platform)
    }

    fn routes(_: Arc<Arc<Platform>>) -> Routes {
        Routes::new(RegistryServiceServer::new(Stub))
    }
}

/// The guarded service on free ports (kept with its environment and database) and a client of it.
async fn start_guarded() -> (
    TestEnv,
    TestDb,
    Running,
    RegistryServiceClient<tonic::transport::Channel>,
) {
    let env = TestEnv::new().await.unwrap();
    let db = env.fresh_database().await.unwrap();
    let running = spawn_service::<Guarded>(&db, &env.nats_url, &env.namespace, &[])
        .await
        .unwrap();
    let client = RegistryServiceClient::connect(format!("http://{}", running.grpc_addr))
        .await
        .unwrap();
    (env, db, running, client)
}

async fn call(
    client: &mut RegistryServiceClient<tonic::transport::Channel>,
    token: Option<&str>,
) -> tonic::Status {
    let mut request = Request::new(GetJurisdictionRequest {
        name: "jurisdictions/yunnan".into(),
    });
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("authorization", token.parse().unwrap());
    }
    client
        .get_jurisdiction(request)
        .await
        .expect_err("the stub never answers OK")
}

#[tokio::test]
async fn tokens_and_roles_are_enforced() {
    let (_env, _db, running, mut client) = start_guarded().await;

    let missing = call(&mut client, None).await;
    assert_eq!(missing.code(), Code::Unauthenticated, "{missing:?}");

    let settings = dev_settings();
    let mut expired = claims_for(
        &settings,
        "u1",
        "organizations/o1",
        vec![Role::DataAuthority],
        "",
        60,
    );
    expired.exp = expired.iat - 3600;
    let expired = format!(
        "Bearer {}",
        mint(&expired, &SigningKey::Hs256(DEV_SECRET.into())).unwrap()
    );
    let status = call(&mut client, Some(&expired)).await;
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");

    let forged = claims_for(
        &settings,
        "u1",
        "organizations/o1",
        vec![Role::DataAuthority],
        "",
        60,
    );
    let forged = format!(
        "Bearer {}",
        mint(&forged, &SigningKey::Hs256("another-secret-0123456789".into())).unwrap()
    );
    assert_eq!(
        call(&mut client, Some(&forged)).await.code(),
        Code::Unauthenticated
    );

    let wrong_role = call(
        &mut client,
        Some(&dev_token("organizations/o1", &[Role::Operator])),
    )
    .await;
    assert_eq!(wrong_role.code(), Code::PermissionDenied, "{wrong_role:?}");

    let allowed = call(
        &mut client,
        Some(&dev_token("organizations/o1", &[Role::DataAuthority])),
    )
    .await;
    assert_eq!(
        allowed.code(),
        Code::Unimplemented,
        "an allowed caller reaches the handler: {allowed:?}"
    );

    // Deny by default (THREATS M7): an RPC without a policy line is refused to every role; one listed as not
    // built answers UNIMPLEMENTED before any token is looked at.
    let unlisted = client
        .get_organization(authorized(
            pdop_proto::registry::v1::GetOrganizationRequest::default(),
            &dev_token("organizations/o1", &Role::ALL),
        ))
        .await
        .expect_err("no policy line");
    assert_eq!(unlisted.code(), Code::PermissionDenied, "{unlisted:?}");
    let unbuilt = client
        .list_jurisdictions(pdop_proto::registry::v1::ListJurisdictionsRequest::default())
        .await
        .expect_err("not built");
    assert_eq!(unbuilt.code(), Code::Unimplemented, "{unbuilt:?}");

    running.shutdown().await.unwrap();
}

/// The settings of a service in development mode, for minting tokens it accepts.
fn dev_settings() -> AuthSettings {
    AuthSettings {
        issuer: "pdop".into(),
        audience: "pdop".into(),
        ed25519_public_keys: vec![],
        ed25519_public_keys_file: None,
        dev_mode: true,
        dev_secret: DEV_SECRET.to_owned().into(),
    }
}

fn authorized<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", token.parse().unwrap());
    request
}

#[tokio::test]
async fn the_development_clock_moves_through_the_admin_port() {
    // SPINE §6: in development mode `POST /dev/clock/advance?by=10d` moves the service's clock.
    let (_env, _db, running, _client) = start_guarded().await;
    let before = running.platform.clock.now();
    let answer = post(running.admin_addr, "/dev/clock/advance?by=10d").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let moved = running.platform.clock.now() - before;
    assert!(moved >= chrono::Duration::days(10), "{moved}");
    let refused = post(running.admin_addr, "/dev/clock/advance?by=soon").await;
    assert!(refused.starts_with("HTTP/1.1 400"), "{refused}");
    running.shutdown().await.unwrap();
}

async fn post(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request =
        format!("POST {path} HTTP/1.1\r\nHost: admin\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

#[tokio::test]
async fn a_token_without_org_or_jurisdiction_is_refused() {
    // THREATS H2.1: an empty `org` claim would pass every "not your own organization" check.
    let (_env, _db, running, mut client) = start_guarded().await;
    let settings = dev_settings();
    let token = |org: &str, roles: Vec<Role>, jurisdiction: &str| {
        let claims = claims_for(&settings, "u1", org, roles, jurisdiction, 60);
        format!(
            "Bearer {}",
            mint(&claims, &SigningKey::Hs256(DEV_SECRET.into())).unwrap()
        )
    };
    let no_org = call(
        &mut client,
        Some(&token("", vec![Role::DataAuthority], "jurisdictions/yunnan")),
    )
    .await;
    assert_eq!(no_org.code(), Code::Unauthenticated, "{no_org:?}");
    assert!(no_org.message().contains("org"), "{no_org:?}");
    let no_jurisdiction = call(
        &mut client,
        Some(&token("organizations/o1", vec![Role::DataAuthority], "")),
    )
    .await;
    assert_eq!(
        no_jurisdiction.code(),
        Code::Unauthenticated,
        "{no_jurisdiction:?}"
    );
    // An auditor reads across organizations and needs neither.
    let auditor = call(&mut client, Some(&token("", vec![Role::Auditor], ""))).await;
    assert_eq!(
        auditor.code(),
        Code::PermissionDenied,
        "authenticated, then refused by role: {auditor:?}"
    );
    running.shutdown().await.unwrap();
}
