//! Prometheus metrics served on the admin port, named after the OpenTelemetry semantic conventions as the
//! OpenTelemetry-to-Prometheus mapping writes them (`rpc.server.call.duration` in seconds becomes the histogram
//! `rpc_server_call_duration_seconds`; `messaging.*` for the relay and the consumers; `http.server.request.duration`
//! for the admin and public HTTP ports), plus the platform's own gauges under `pdop_`: outbox backlog, consumer lag
//! and dead letters.
//!
//! No series carries a label the Prometheus Operator sets when it scrapes ([`OPERATOR_LABELS`]): such a label would be
//! renamed `exported_<name>`. The scrape target's `job` and `service` already say which service a series is from.
//! Route labels are templates (the gRPC method, the HTTP route), never a path as it was requested.

mod grpc;
mod http;
mod labels;

use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Metric, Registry, Unit};

pub use grpc::{GrpcMethods, OTHER};
pub use http::observe_http;
pub use labels::*;

/// Labels the Prometheus Operator adds to every scraped series; none of ours may use them.
pub const OPERATOR_LABELS: &[&str] = &[
    "job",
    "instance",
    "namespace",
    "service",
    "pod",
    "container",
    "endpoint",
];

/// `messaging.system` of every messaging series.
pub const MESSAGING_SYSTEM: &str = "nats";

type Durations<L> = Family<L, Histogram, fn() -> Histogram>;
type Gauges<L> = Family<L, Gauge<i64, AtomicI64>>;

/// A family that is declared (`# HELP`, `# TYPE`, `# UNIT`) before its first series, where the library would leave
/// it out: a scrape then shows every family the service has, and dashboards and alerts can be checked against it.
#[derive(Debug)]
struct Declared(Box<dyn Metric>);

impl EncodeMetric for Declared {
    fn encode(&self, encoder: MetricEncoder<'_>) -> Result<(), std::fmt::Error> {
        self.0.encode(encoder)
    }

    fn metric_type(&self) -> MetricType {
        self.0.metric_type()
    }
}

fn duration_histogram() -> Histogram {
    // 0.5 ms .. ~16 s: covers pure compute through slow database writes.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.0005, 2.0, 16,
    ))
}

/// Every metric a service exports. Cloning shares the underlying series.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    methods: Arc<GrpcMethods>,
    /// `rpc.server.call.duration`: one observation per gRPC call, by method and status code.
    pub rpc_duration: Durations<RpcLabels>,
    /// `http.server.request.duration`: the admin port and the disclosure service's public port.
    pub http_duration: Durations<HttpLabels>,
    /// `messaging.client.sent.messages`: outbox rows the relay published and JetStream acknowledged.
    pub sent_messages: Family<SentLabels, Counter>,
    /// `messaging.client.consumed.messages`, by outcome (`applied`, `duplicate`, `retried`, `dead_lettered`).
    pub consumed_messages: Family<ConsumedLabels, Counter>,
    /// `messaging.process.duration`: from taking a message to its ack (shared by the messages of one batch).
    pub process_duration: Durations<ProcessLabels>,
    /// Outbox rows not yet acknowledged by JetStream, as the relay last counted them.
    pub outbox_backlog: Gauge<i64, AtomicI64>,
    /// Messages of a durable consumer's stream not yet acknowledged (pending delivery or pending ack).
    pub consumer_lag: Gauges<ConsumerGroupLabels>,
    /// Messages a durable consumer moved to its dead-letter subject that are still in the dead-letter stream.
    pub dead_letters: Gauges<ConsumerGroupLabels>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Returns a fresh set of metrics; gRPC methods other than health and reflection are `_OTHER` until
    /// [`Metrics::with_grpc_methods`] names them.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let rpc_duration = Durations::<RpcLabels>::new_with_constructor(duration_histogram);
        let http_duration = Durations::<HttpLabels>::new_with_constructor(duration_histogram);
        let sent_messages = Family::<SentLabels, Counter>::default();
        let consumed_messages = Family::<ConsumedLabels, Counter>::default();
        let process_duration = Durations::<ProcessLabels>::new_with_constructor(duration_histogram);
        let outbox_backlog = Gauge::<i64, AtomicI64>::default();
        let consumer_lag = Gauges::<ConsumerGroupLabels>::default();
        let dead_letters = Gauges::<ConsumerGroupLabels>::default();
        let seconds = Some(Unit::Seconds);
        for (name, help, unit, metric) in [
            (
                "rpc_server_call_duration",
                "Duration of gRPC calls handled by the server",
                seconds.clone(),
                Declared(Box::new(rpc_duration.clone())),
            ),
            (
                "http_server_request_duration",
                "Duration of HTTP requests handled by the server",
                seconds.clone(),
                Declared(Box::new(http_duration.clone())),
            ),
            (
                "messaging_client_sent_messages",
                "Messages the outbox relay published and JetStream acknowledged",
                None,
                Declared(Box::new(sent_messages.clone())),
            ),
            (
                "messaging_client_consumed_messages",
                "Messages a durable consumer finished with, by outcome",
                None,
                Declared(Box::new(consumed_messages.clone())),
            ),
            (
                "messaging_process_duration",
                "Duration of processing a consumed message, from taking it to its ack",
                seconds,
                Declared(Box::new(process_duration.clone())),
            ),
            (
                "pdop_outbox_backlog",
                "Outbox rows not yet acknowledged by JetStream",
                None,
                Declared(Box::new(outbox_backlog.clone())),
            ),
            (
                "pdop_consumer_lag",
                "Messages of a durable consumer's stream not yet acknowledged by it",
                None,
                Declared(Box::new(consumer_lag.clone())),
            ),
            (
                "pdop_dead_letters",
                "Messages a durable consumer moved to its dead-letter subject, still in the dead-letter stream",
                None,
                Declared(Box::new(dead_letters.clone())),
            ),
        ] {
            match unit {
                Some(unit) => registry.register_with_unit(name, help, unit, metric),
                None => registry.register(name, help, metric),
            }
        }
        Self {
            registry: Arc::new(registry),
            methods: Arc::new(GrpcMethods::default()),
            rpc_duration,
            http_duration,
            sent_messages,
            consumed_messages,
            process_duration,
            outbox_backlog,
            consumer_lag,
            dead_letters,
        }
    }

    /// Names the gRPC methods of `descriptor_set` (an encoded `FileDescriptorSet`) in the RPC labels.
    pub fn with_grpc_methods(mut self, descriptor_set: &[u8]) -> anyhow::Result<Self> {
        self.methods = Arc::new(GrpcMethods::from_descriptor_set(descriptor_set)?);
        Ok(self)
    }

    /// Renders the OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(err) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::warn!(%err, "metrics encoding failed");
        }
        out
    }

    /// The service and method a request `path` (`/package.Service/Method`) names, or `_OTHER` twice for a path
    /// that names no method the server knows, so callers cannot mint series or span names.
    pub fn grpc_method(&self, path: &str) -> (Arc<str>, Arc<str>) {
        self.methods.resolve(path)
    }

    /// Records one finished gRPC call to `path` (`/package.Service/Method`); see [`Self::grpc_method`].
    pub fn observe_grpc(&self, path: &str, code: tonic::Code, seconds: f64) {
        let (service, method) = self.grpc_method(path);
        self.observe_rpc(service, method, code, seconds);
    }

    /// Records one finished gRPC call to a method [`Self::grpc_method`] resolved.
    pub fn observe_rpc(&self, service: Arc<str>, method: Arc<str>, code: tonic::Code, seconds: f64) {
        self.rpc_duration
            .get_or_create(&RpcLabels {
                rpc_system: "grpc",
                rpc_service: service,
                rpc_method: method,
                rpc_grpc_status_code: code as i32,
            })
            .observe(seconds);
    }

    /// Records one consumed message of `destination` (its contract subject) by `group` (the durable).
    pub fn observe_consumed(&self, group: &str, destination: &str, outcome: Outcome) {
        self.consumed_messages
            .get_or_create(&ConsumedLabels {
                message: ProcessLabels::new(group, destination),
                pdop_outcome: outcome,
            })
            .inc();
    }
}

#[cfg(test)]
mod tests;
