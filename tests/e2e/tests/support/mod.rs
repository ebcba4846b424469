//! Starting the built binaries as separate processes, as an operator would (`make test` builds them
//! first with `cargo build --bins`).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pdop_testkit::{TestDb, TestEnv, free_port, wait_until};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// The HS256 secret of the services a test starts in development mode (`pdop-token --dev-secret`).
pub const DEV_SECRET: &str = pdop_testkit::DEV_SECRET;

/// Each service binary's name and the gRPC service it serves.
pub const SERVICES: [(&str, &str); 5] = [
    ("registry", "pdop.registry.v1.RegistryService"),
    ("review", "pdop.review.v1.ReviewService"),
    ("pricing", "pdop.pricing.v1.PricingService"),
    ("evaluation", "pdop.evaluation.v1.EvaluationService"),
    ("disclosure", "pdop.disclosure.v1.DisclosureService"),
];

/// The repository's root (scripts/, examples/, proto/).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The built binary `pdop-<name>` (`PDOP_BIN_DIR`, else the target dir's `debug`).
pub fn binary(name: &str) -> PathBuf {
    let dir = match std::env::var("PDOP_BIN_DIR") {
        Ok(dir) => PathBuf::from(dir),
        Err(_) => {
            let target = std::env::var("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|_| repo_root().join("target"));
            target.join("debug")
        }
    };
    let path = dir.join(format!("pdop-{name}"));
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --bins` first",
        path.display()
    );
    path
}

pub struct Process {
    pub name: &'static str,
    pub child: Child,
    pub grpc: u16,
    pub admin: u16,
    /// The process's own database, for waiting on what it has stored.
    pub db: TestDb,
}

impl Process {
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc)
    }

    pub async fn connect(&self) -> Channel {
        Channel::from_shared(self.endpoint())
            .unwrap()
            .connect()
            .await
            .unwrap()
    }
}

/// Starts `pdop-<name>` on a fresh database, the test's NATS namespace and free ports, with `extra`
/// environment on top.
pub async fn spawn(name: &'static str, env: &TestEnv, extra: &[(&str, &str)]) -> anyhow::Result<Process> {
    spawn_writing(name, env, extra, Stdio::null()).await
}

/// The lines a process has written to stdout so far (its JSON log).
pub type LogLines = Arc<Mutex<Vec<String>>>;

/// As [`spawn`], keeping what the process writes to stdout.
pub async fn spawn_logged(
    name: &'static str,
    env: &TestEnv,
    extra: &[(&str, &str)],
) -> anyhow::Result<(Process, LogLines)> {
    let mut process = spawn_writing(name, env, extra, Stdio::piped()).await?;
    let stdout = process
        .child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let log = LogLines::default();
    let collected = log.clone();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            collected.lock().unwrap().push(line);
        }
    });
    Ok((process, log))
}

async fn spawn_writing(
    name: &'static str,
    env: &TestEnv,
    extra: &[(&str, &str)],
    stdout: Stdio,
) -> anyhow::Result<Process> {
    let db = env.fresh_database().await?;
    let grpc = free_port()?;
    let admin = free_port()?;
    let mut command = Command::new(binary(name));
    if name == "disclosure" {
        // Its public HTTP port too, so that nothing else on the machine is in the way.
        command.env(
            "PDOP_DISCLOSURE__HTTP_ADDR",
            format!("127.0.0.1:{}", free_port()?),
        );
    }
    command
        .env("PDOP_DATABASE__URL", &db.url)
        .env("PDOP_NATS__URL", &env.nats_url)
        .env("PDOP_NATS__NAMESPACE", env.namespace.as_str())
        .env("PDOP_GRPC__ADDR", format!("127.0.0.1:{grpc}"))
        .env("PDOP_ADMIN__ADDR", format!("127.0.0.1:{admin}"))
        .env("PDOP_TELEMETRY__LOG_FILTER", "warn");
    for (key, value) in extra {
        command.env(key, value);
    }
    let child = command.stdout(stdout).kill_on_drop(true).spawn()?;
    Ok(Process {
        name,
        child,
        grpc,
        admin,
        db,
    })
}

/// As [`spawn`], in development mode (HS256 tokens signed with [`DEV_SECRET`]), and waits until SERVING.
pub async fn spawn_dev(name: &'static str, grpc_service: &str, env: &TestEnv) -> Process {
    let dev = [
        ("PDOP_AUTH__DEV_MODE", "true"),
        ("PDOP_AUTH__DEV_SECRET", DEV_SECRET),
    ];
    let mut process = spawn(name, env, &dev).await.unwrap();
    wait_serving(&mut process, grpc_service).await;
    process
}

pub async fn health(channel: Channel, service: &str) -> Option<ServingStatus> {
    let mut client = HealthClient::new(channel);
    let request = HealthCheckRequest {
        service: service.to_owned(),
    };
    let response = client.check(request).await.ok()?;
    ServingStatus::try_from(response.into_inner().status).ok()
}

/// Waits until `process` reports `grpc_service` SERVING through `grpc.health.v1`.
pub async fn wait_serving(process: &mut Process, grpc_service: &str) {
    let channel = Channel::from_shared(process.endpoint()).unwrap();
    wait_until(
        &format!("{} reports SERVING", process.name),
        Duration::from_secs(60),
        || {
            let channel = channel.clone();
            async move {
                match channel.connect().await {
                    Ok(ch) => health(ch, grpc_service).await == Some(ServingStatus::Serving),
                    Err(_) => false,
                }
            }
        },
    )
    .await
    .unwrap_or_else(|err| {
        panic!(
            "{err}; is {} still running? {:?}",
            process.name,
            process.child.try_wait()
        )
    });
}

/// A token minted by `pdop-token`, as a reader of the README would: `roles` comma separated, acting in
/// `jurisdiction`.
pub async fn mint_token(roles: &str, jurisdiction: &str) -> String {
    let output = Command::new(binary("token"))
        .args([
            "--dev-secret",
            DEV_SECRET,
            "--roles",
            roles,
            "--jurisdiction",
            jurisdiction,
        ])
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "pdop-token: {output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// Runs `pdop-seed` against `registry` with `token`, as `make run` does.
pub async fn seed(registry: &Process, token: &str) -> std::process::Output {
    Command::new(binary("seed"))
        .args(["--registry", &registry.endpoint()])
        .env("PDOP_TOKEN", token)
        .output()
        .await
        .unwrap()
}
