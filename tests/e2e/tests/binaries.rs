//! Starts each built service binary as its own process, as an operator would, and checks that it
//! reports SERVING through `grpc.health.v1`, lists its service through reflection, and exits
//! cleanly on SIGTERM. `make test` builds the binaries first (`cargo build --bins`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use std::time::Duration;

use pdop_testkit::TestEnv;
use support::{Process, SERVICES, binary, spawn, wait_serving};
use tokio::process::Command;
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

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

/// Calls a method no service serves, on a path a client made up; answers the status code.
async fn unserved_call(channel: Channel) -> tonic::Code {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path = tonic::codegen::http::uri::PathAndQuery::from_static("/made.Up/Method-7781");
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    match grpc.unary(tonic::Request::new(()), path, codec).await {
        Ok(_) => tonic::Code::Ok,
        Err(status) => status.code(),
    }
}

/// The names and units of the OpenTelemetry semantic conventions, labels the Prometheus Operator leaves alone,
/// and templates where a caller's path could have been.
fn exposes_conventional_metrics(name: &str, metrics: &str, unserved: tonic::Code) {
    let other = format!(
        "rpc_server_call_duration_seconds_count{{rpc_system=\"grpc\",rpc_service=\"_OTHER\",rpc_method=\"_OTHER\",\
         rpc_grpc_status_code=\"{}\"}} 1",
        unserved as i32
    );
    // The health and reflection calls above went through the observed server, so they are counted.
    for expected in [
        "# TYPE rpc_server_call_duration_seconds histogram",
        "# UNIT rpc_server_call_duration_seconds seconds",
        "rpc_server_call_duration_seconds_bucket{le=\"+Inf\",rpc_system=\"grpc\",rpc_service=\"grpc.reflection.v1.ServerReflection\",rpc_method=\"ServerReflectionInfo\",rpc_grpc_status_code=\"0\"} 1",
        "rpc_server_call_duration_seconds_count{rpc_system=\"grpc\",rpc_service=\"grpc.health.v1.Health\",rpc_method=\"Check\",rpc_grpc_status_code=\"0\"}",
        // The made-up method is counted, under a fixed name.
        &other,
        "# UNIT http_server_request_duration_seconds seconds",
        "http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"/healthz\",http_response_status_code=\"200\"} 1",
        "http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"\",http_response_status_code=\"404\"} 1",
        "# TYPE messaging_client_sent_messages counter",
        "# TYPE messaging_client_consumed_messages counter",
        "# UNIT messaging_process_duration_seconds seconds",
        "\npdop_outbox_backlog 0\n",
        "# TYPE pdop_consumer_lag gauge",
        "# TYPE pdop_dead_letters gauge",
    ] {
        assert!(
            metrics.contains(expected),
            "{name} /metrics lacks {expected}: {metrics}"
        );
    }
    for raw in ["Method-7781", "made.Up", "page-7781"] {
        assert!(
            !metrics.contains(raw),
            "{name} /metrics names a requested path ({raw}): {metrics}"
        );
    }
    let clashing = pdop_testkit::clashing_labels(metrics);
    assert!(
        clashing.is_empty(),
        "{name} /metrics has labels the Prometheus Operator renames: {clashing:?}"
    );
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
        // Refused before any handler (PERMISSION_DENIED: no method, no policy entry), and still counted.
        let unserved = unserved_call(process.connect().await).await;
        assert_ne!(unserved, tonic::Code::Ok, "{name}");
        let missing = reqwest::get(format!("{admin}/no/such/page-7781")).await.unwrap();
        assert_eq!(missing.status(), reqwest::StatusCode::NOT_FOUND, "{name}");
        let metrics = reqwest::get(format!("{admin}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        exposes_conventional_metrics(name, &metrics, unserved);
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
