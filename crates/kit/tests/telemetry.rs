//! Trace export and log correlation without the process-wide globals: a tracer provider built from the
//! telemetry settings exports to an OTLP receiver over HTTPS, and a JSON log line written inside a span names
//! that span's trace and span ids.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::trace::{Span as _, TraceContextExt as _, Tracer as _, TracerProvider as _};
use pdop_kit::config::{LogFormat, TelemetrySettings};
use pdop_kit::telemetry;
use pdop_testkit::{OtlpReceiver, test_ca_file, wait_until};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;

fn settings(endpoint: String, ca_file: Option<std::path::PathBuf>) -> TelemetrySettings {
    TelemetrySettings {
        log_format: LogFormat::Json,
        log_filter: "info".into(),
        otlp_endpoint: endpoint,
        otlp_ca_file: ca_file,
    }
}

#[tokio::test]
async fn spans_are_exported_over_https_to_an_endpoint_the_configured_ca_vouches_for() {
    let receiver = OtlpReceiver::start_tls().await.unwrap();
    assert!(receiver.endpoint().starts_with("https://"));
    let provider =
        telemetry::tracer_provider("registry", &settings(receiver.endpoint(), Some(test_ca_file()))).unwrap();
    let mut span = provider.tracer("test").start("over-tls");
    let trace_id = span.span_context().trace_id().to_string();
    span.end();
    // The batch processor exports from its own thread; flushing blocks until the export is answered.
    let flushed = provider.clone();
    tokio::task::spawn_blocking(move || flushed.force_flush())
        .await
        .unwrap()
        .unwrap();
    wait_until("the span arrives over TLS", Duration::from_secs(10), || {
        let arrived = receiver
            .spans()
            .iter()
            .any(|s| s.name == "over-tls" && s.trace_id == trace_id && s.service == "registry");
        async move { arrived }
    })
    .await
    .unwrap();
    tokio::task::spawn_blocking(move || provider.shutdown())
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn an_https_endpoint_outside_the_trusted_cas_gets_nothing() {
    let receiver = OtlpReceiver::start_tls().await.unwrap();
    // The system's roots do not include the test CA: the handshake fails and the export with it. A machine
    // without any system roots refuses to build the exporter instead, which is as good.
    let provider = match telemetry::tracer_provider("registry", &settings(receiver.endpoint(), None)) {
        Ok(provider) => provider,
        Err(err) => {
            assert!(format!("{err:#}").contains("CA"), "{err:#}");
            return;
        }
    };
    let mut span = provider.tracer("test").start("untrusted");
    span.end();
    let flushed = provider.clone();
    let result = tokio::task::spawn_blocking(move || flushed.force_flush())
        .await
        .unwrap();
    assert!(result.is_err(), "export to an untrusted endpoint succeeded");
    assert!(receiver.spans().is_empty());
    let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
}

#[test]
fn a_missing_ca_file_fails_start_up_naming_the_key() {
    let built = telemetry::tracer_provider(
        "registry",
        &settings(
            "https://127.0.0.1:4318".into(),
            Some("/nonexistent/ca.pem".into()),
        ),
    );
    let Err(err) = built else {
        panic!("a missing CA file was accepted")
    };
    assert!(format!("{err:#}").contains("telemetry.otlp_ca_file"), "{err:#}");
}

/// Collects what the log layer writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The JSON lines written, under `filter`, by a warning outside any span and one inside an INFO span; and the
/// trace and span id of that span.
fn logged_under(filter: &str) -> (Vec<serde_json::Value>, String, String) {
    let provider = telemetry::tracer_provider("registry", &settings(String::new(), None)).unwrap();
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")))
        .with(telemetry::json_layer(move || writer.clone()).with_filter(EnvFilter::new(filter)));
    let (trace_id, span_id) = tracing::subscriber::with_default(subscriber, || {
        tracing::warn!("outside any span");
        let span = tracing::info_span!("request");
        let _entered = span.enter();
        tracing::warn!(answer = 42, "inside the span");
        let cx = span.context();
        let otel = cx.span();
        let sc = otel.span_context();
        (sc.trace_id().to_string(), sc.span_id().to_string())
    });
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    (lines, trace_id, span_id)
}

#[test]
fn a_json_log_line_names_the_trace_and_span_it_was_written_in() {
    // `warn` hides the span from the log itself, not its ids.
    for filter in ["info", "warn"] {
        let (lines, trace_id, span_id) = logged_under(filter);
        assert_eq!(lines.len(), 2, "{filter}: {lines:?}");
        assert!(lines[0].get("trace_id").is_none(), "{filter}: {lines:?}");
        assert_eq!(lines[1]["trace_id"], trace_id.as_str(), "{filter}: {lines:?}");
        assert_eq!(lines[1]["span_id"], span_id.as_str(), "{filter}: {lines:?}");
        assert_eq!(lines[1]["fields"]["answer"], 42, "{filter}: {lines:?}");
        assert_eq!(trace_id.len(), 32);
    }
}
