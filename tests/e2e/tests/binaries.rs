//! Starts each built service binary as its own process, as an operator would, and checks that it
//! reports SERVING through `grpc.health.v1`, lists its service through reflection, and exits
//! cleanly on SIGTERM. `make test` builds the binaries first (`cargo build --bins`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use std::time::Duration;

use pdop_testkit::TestEnv;
use support::{Process, binary, spawn, wait_serving};
use tokio::process::Command;
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

const SERVICES: [(&str, &str); 5] = [
    ("registry", "pdop.registry.v1.RegistryService"),
    ("review", "pdop.review.v1.ReviewService"),
    ("pricing", "pdop.pricing.v1.PricingService"),
    ("evaluation", "pdop.evaluation.v1.EvaluationService"),
    ("disclosure", "pdop.disclosure.v1.DisclosureService"),
];

async fn listed_services(channel: Channel) -> anyhow::Result<Vec<String>> {
    let mut client = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await?
        .into_inner();
    let Some(response) = responses.next().await else {
        anyhow::bail!("no reflection response")
    };
    match response?.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            Ok(list.service.into_iter().map(|s| s.name).collect())
        }
        other => anyhow::bail!("unexpected reflection response {other:?}"),
    }
}

/// Sends SIGTERM to the process this test started (by its PID) and waits for its exit status.
async fn terminate(process: &mut Process) -> anyhow::Result<std::process::ExitStatus> {
    let pid = process
        .child
        .id()
        .ok_or_else(|| anyhow::anyhow!("{} already exited", process.name))?;
    Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .await?;
    Ok(tokio::time::timeout(Duration::from_secs(30), process.child.wait()).await??)
}

#[tokio::test]
async fn every_service_binary_serves_health_and_reflection_then_stops_cleanly() {
    let env = TestEnv::new().await.unwrap();
    let mut processes = Vec::new();
    for (name, _) in SERVICES {
        processes.push(spawn(name, &env, &[]).await.unwrap());
    }
    for (process, (name, grpc_service)) in processes.iter_mut().zip(SERVICES) {
        wait_serving(process, grpc_service).await;
        let connected = process.connect().await;
        let listed = listed_services(connected).await.unwrap();
        assert!(
            listed.iter().any(|s| s == grpc_service),
            "{name} reflection lists {listed:?}"
        );

        let admin = format!("http://127.0.0.1:{}", process.admin);
        let healthz = reqwest::get(format!("{admin}/healthz")).await.unwrap();
        assert_eq!(healthz.status(), reqwest::StatusCode::OK, "{name} /healthz");
        let metrics = reqwest::get(format!("{admin}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // The reflection call above went through the observed server, so it is counted.
        assert!(
            metrics.contains("pdop_grpc_requests_total{"),
            "{name} /metrics: {metrics}"
        );
        assert!(
            metrics.contains("pdop_outbox_backlog"),
            "{name} /metrics: {metrics}"
        );
    }
    for process in &mut processes {
        let status = terminate(process).await.unwrap();
        assert!(
            status.success(),
            "{} exited with {status} after SIGTERM",
            process.name
        );
    }
}

#[tokio::test]
async fn a_bad_configuration_value_stops_start_up_naming_the_key() {
    let output = Command::new(binary("registry"))
        .env("PDOP_GRPC__REQUEST_TIMEOUT", "soon")
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("grpc.request_timeout"), "stderr: {stderr}");
}
