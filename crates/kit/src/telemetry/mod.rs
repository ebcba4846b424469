//! Logging and tracing set-up. Logs go to stdout as JSON or pretty text; spans always carry W3C trace
//! context (so it crosses gRPC and NATS), and are exported over OTLP/HTTP or OTLP/HTTPS only when an endpoint
//! is set. JSON log lines written inside a traced span carry its `trace_id` and `span_id`.

mod export;
mod json_log;

pub use export::ExportClient;

use anyhow::Context as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::{LogFormat, TelemetrySettings};

/// How long one export request may take (the OTLP exporters' usual default).
const EXPORT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Flushes and shuts down trace export when dropped; hold it in `main`.
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Err(err) = self.provider.shutdown() {
            // Stdout may already be gone at this point; stderr is the last resort.
            eprintln!("trace export shutdown failed: {err}");
        }
    }
}

/// Installs the global subscriber and propagator. Safe to call more than once (tests): later calls
/// keep the first subscriber and return a guard for a provider that exports nothing.
pub fn init(service: &'static str, settings: &TelemetrySettings) -> anyhow::Result<TelemetryGuard> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let provider = tracer_provider(service, settings)?;
    let tracer = provider.tracer(service);
    opentelemetry::global::set_tracer_provider(provider.clone());

    let filter = EnvFilter::try_new(&settings.log_filter)
        .with_context(|| format!("invalid telemetry.log_filter `{}`", settings.log_filter))?;
    let fmt_layer = match settings.log_format {
        LogFormat::Json => json_layer(std::io::stdout).boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer().compact().boxed(),
    };
    // Spans carry trace context whatever the log filter says, but only from INFO up: unfiltered, every debug and
    // trace event of h2, hyper and sqlx became an event on the request's span, costing more than the request.
    let otel_layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(tracing_subscriber::filter::LevelFilter::INFO);
    let installed = Registry::default()
        .with(otel_layer)
        .with(fmt_layer.with_filter(filter))
        .try_init();
    if installed.is_err() {
        tracing::debug!("global subscriber already installed; keeping it");
    }
    Ok(TelemetryGuard { provider })
}

/// The JSON log layer: one object per line, with the current span's fields and its trace and span ids.
pub fn json_layer<S, W>(writer: W) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let format = tracing_subscriber::fmt::format()
        .json()
        .with_current_span(true)
        .with_span_list(false);
    let (format, capture) = json_log::with_trace_ids(format);
    tracing_subscriber::fmt::layer()
        .json()
        .event_format(format)
        .with_writer(writer)
        .and_then(capture)
}

/// The tracer provider of `service`: spans get ids in any case, and are exported when an endpoint is set.
pub fn tracer_provider(
    service: &'static str,
    settings: &TelemetrySettings,
) -> anyhow::Result<SdkTracerProvider> {
    let resource = Resource::builder()
        .with_service_name(service)
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    let builder = SdkTracerProvider::builder().with_resource(resource);
    if settings.otlp_endpoint.is_empty() {
        // No exporter: spans still get ids, so trace context propagates; nothing is sent anywhere.
        return Ok(builder.build());
    }
    use opentelemetry_otlp::{WithExportConfig, WithHttpConfig as _};
    let endpoint = format!("{}/v1/traces", settings.otlp_endpoint.trim_end_matches('/'));
    let client = ExportClient::new(&endpoint, settings.otlp_ca_file.as_deref(), EXPORT_TIMEOUT)?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .with_timeout(EXPORT_TIMEOUT)
        .with_http_client(client)
        .build()
        .context("building the OTLP span exporter (telemetry.otlp_endpoint)")?;
    Ok(builder.with_batch_exporter(exporter).build())
}

/// Returns a subscriber that discards everything, for tests that want quiet output unless `TEST_LOG`
/// is set.
pub fn init_for_tests() {
    let settings = TelemetrySettings {
        log_format: LogFormat::Pretty,
        log_filter: std::env::var("TEST_LOG").unwrap_or_else(|_| "off".into()),
        otlp_endpoint: String::new(),
        otlp_ca_file: None,
    };
    if let Ok(guard) = init("test", &settings) {
        // The provider must outlive every test in the binary.
        std::mem::forget(guard);
    }
}
