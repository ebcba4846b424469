use std::sync::Arc;

use pdop_kit::Service;
use pdop_kit::auth::{Role, SigningKey, claims_for, mint};
use pdop_kit::clock::Clock;
use pdop_kit::config::{AuthSettings, load_with_overrides};
use pdop_kit::events::Namespace;
use pdop_kit::server::{Running, start, start_with_clock};

use crate::env::TestDb;

/// The HS256 secret services started by [`spawn_service`] accept.
pub const DEV_SECRET: &str = "pdop-test-secret-0123456789";

/// Starts service `S` on free ports against `db`, and `nats_url` in `namespace` (the test's own, `TestEnv::namespace`),
/// and waits until it is SERVING. `overrides` are extra dotted configuration keys
/// (e.g. `("outbox.poll_interval", "100ms")`).
pub async fn spawn_service<S: Service>(
    db: &TestDb,
    nats_url: &str,
    namespace: &Namespace,
    overrides: &[(&str, String)],
) -> anyhow::Result<Running> {
    spawn::<S>(db, nats_url, namespace, overrides, None).await
}

/// Like [`spawn_service`], on `clock` (a [`pdop_kit::clock::ManualClock`], moved through
/// `running.platform.clock.advance(..)`, which also wakes the service's periodic tasks).
pub async fn spawn_service_with_clock<S: Service>(
    db: &TestDb,
    nats_url: &str,
    namespace: &Namespace,
    overrides: &[(&str, String)],
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Running> {
    spawn::<S>(db, nats_url, namespace, overrides, Some(clock)).await
}

/// Starts `S` on `clock`, or on the clock its settings configure (development mode: one the admin port moves).
async fn spawn<S: Service>(
    db: &TestDb,
    nats_url: &str,
    namespace: &Namespace,
    overrides: &[(&str, String)],
    clock: Option<Arc<dyn Clock>>,
) -> anyhow::Result<Running> {
    pdop_kit::telemetry::init_for_tests();
    let mut all: Vec<(&str, String)> = vec![
        ("grpc.addr", "127.0.0.1:0".to_owned()),
        ("admin.addr", "127.0.0.1:0".to_owned()),
        ("database.url", db.url.clone()),
        ("nats.url", nats_url.to_owned()),
        ("nats.namespace", namespace.to_string()),
        ("auth.dev_mode", "true".to_owned()),
        ("auth.dev_secret", DEV_SECRET.to_owned()),
        ("grpc.shutdown_grace", "2s".to_owned()),
    ];
    all.extend(overrides.iter().cloned());
    let (settings, own) = load_with_overrides::<S::Config>(S::DEFAULTS, S::CONFIG_DEFAULTS, &all)?;
    let mut running = match clock {
        Some(clock) => start_with_clock::<S>(settings, own, clock).await?,
        None => start::<S>(settings, own).await?,
    };
    running.wait_ready().await?;
    Ok(running)
}

/// A bearer token (`Bearer …` value) signed with [`DEV_SECRET`], valid for an hour.
pub fn dev_token(organization: &str, roles: &[Role]) -> String {
    match bearer_signed_with(DEV_SECRET, "test-user", organization, roles, 3600) {
        Ok(token) => token,
        Err(err) => panic!("minting a test token: {err}"),
    }
}

/// A bearer token (`Bearer …` value) for `subject` of `organization` holding `roles`, signed with the development
/// HS256 `secret` a service in `auth.dev_mode` accepts, valid for `ttl_secs`, acting in `jurisdictions/china`, the root every test harness builds its tree under.
pub fn bearer_signed_with(
    secret: &str,
    subject: &str,
    organization: &str,
    roles: &[Role],
    ttl_secs: u64,
) -> anyhow::Result<String> {
    bearer_in(
        secret,
        subject,
        organization,
        roles,
        "jurisdictions/china",
        ttl_secs,
    )
}

/// A bearer token (`Bearer …` value) signed with [`DEV_SECRET`], valid for an hour, acting in `jurisdiction`.
pub fn dev_token_in(organization: &str, roles: &[Role], jurisdiction: &str) -> String {
    match bearer_in(DEV_SECRET, "test-user", organization, roles, jurisdiction, 3600) {
        Ok(token) => token,
        Err(err) => panic!("minting a test token: {err}"),
    }
}

fn bearer_in(
    secret: &str,
    subject: &str,
    organization: &str,
    roles: &[Role],
    jurisdiction: &str,
    ttl_secs: u64,
) -> anyhow::Result<String> {
    let settings = AuthSettings {
        issuer: "pdop".to_owned(),
        audience: "pdop".to_owned(),
        ed25519_public_keys: Vec::new(),
        ed25519_public_keys_file: None,
        dev_mode: true,
        dev_secret: secret.to_owned().into(),
    };
    let claims = claims_for(
        &settings,
        subject,
        organization,
        roles.to_vec(),
        jurisdiction,
        ttl_secs,
    );
    Ok(format!(
        "Bearer {}",
        mint(&claims, &SigningKey::Hs256(secret.to_owned()))?
    ))
}
