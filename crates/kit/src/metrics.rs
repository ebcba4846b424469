//! Prometheus metrics served on the admin port: gRPC requests by method and code, latency, outbox
//! backlog and consumer lag.

use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabels {
    pub method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodCodeLabels {
    pub method: String,
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConsumerLabels {
    pub consumer: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConsumerOutcomeLabels {
    pub consumer: String,
    pub outcome: String,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~16 s: covers pure compute through slow database writes.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.0005, 2.0, 16,
    ))
}

/// Every metric a service exports. Cloning shares the underlying series.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    pub grpc_requests: Family<MethodCodeLabels, Counter>,
    pub grpc_errors: Family<MethodCodeLabels, Counter>,
    pub grpc_latency: Family<MethodLabels, Histogram, fn() -> Histogram>,
    pub outbox_backlog: Gauge<i64, AtomicI64>,
    pub outbox_published: Counter,
    pub consumer_lag: Family<ConsumerLabels, Gauge<i64, AtomicI64>>,
    pub consumer_messages: Family<ConsumerOutcomeLabels, Counter>,
}

impl Metrics {
    /// Returns a fresh set of metrics registered under the `pdop` prefix.
    pub fn new(service: &str) -> Self {
        let mut registry = Registry::with_prefix_and_labels(
            "pdop",
            [(
                std::borrow::Cow::Borrowed("service"),
                std::borrow::Cow::Owned(service.to_owned()),
            )]
            .into_iter(),
        );
        let grpc_requests = Family::<MethodCodeLabels, Counter>::default();
        let grpc_errors = Family::<MethodCodeLabels, Counter>::default();
        let grpc_latency =
            Family::<MethodLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let outbox_backlog = Gauge::<i64, AtomicI64>::default();
        let outbox_published = Counter::default();
        let consumer_lag = Family::<ConsumerLabels, Gauge<i64, AtomicI64>>::default();
        let consumer_messages = Family::<ConsumerOutcomeLabels, Counter>::default();
        registry.register(
            "grpc_requests",
            "gRPC requests by method and status code",
            grpc_requests.clone(),
        );
        registry.register(
            "grpc_errors",
            "gRPC requests that ended with a non-OK code",
            grpc_errors.clone(),
        );
        registry.register(
            "grpc_request_duration_seconds",
            "gRPC handling time",
            grpc_latency.clone(),
        );
        registry.register(
            "outbox_backlog",
            "outbox rows not yet acknowledged by JetStream",
            outbox_backlog.clone(),
        );
        registry.register(
            "outbox_published",
            "outbox rows published and acknowledged",
            outbox_published.clone(),
        );
        registry.register(
            "consumer_lag",
            "messages pending for a durable consumer",
            consumer_lag.clone(),
        );
        registry.register(
            "consumer_messages",
            "consumed messages by outcome",
            consumer_messages.clone(),
        );
        Self {
            registry: Arc::new(registry),
            grpc_requests,
            grpc_errors,
            grpc_latency,
            outbox_backlog,
            outbox_published,
            consumer_lag,
            consumer_messages,
        }
    }

    /// Renders the OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(err) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::warn!(%err, "metrics encoding failed");
        }
        out
    }

    /// Records one finished gRPC request.
    pub fn observe_grpc(&self, method: &str, code: tonic::Code, seconds: f64) {
        let code_label = format!("{code:?}");
        let labels = MethodCodeLabels {
            method: method.to_owned(),
            code: code_label,
        };
        self.grpc_requests.get_or_create(&labels).inc();
        if code != tonic::Code::Ok {
            self.grpc_errors.get_or_create(&labels).inc();
        }
        self.grpc_latency
            .get_or_create(&MethodLabels {
                method: method.to_owned(),
            })
            .observe(seconds);
    }

    /// Records one consumed message with its outcome (`applied`, `duplicate`, `retried`, `dead_lettered`).
    pub fn observe_consumed(&self, consumer: &str, outcome: &str) {
        let labels = ConsumerOutcomeLabels {
            consumer: consumer.to_owned(),
            outcome: outcome.to_owned(),
        };
        self.consumer_messages.get_or_create(&labels).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_metrics_include_requests_and_errors_by_code() {
        let metrics = Metrics::new("registry");
        metrics.observe_grpc(
            "/pdop.registry.v1.RegistryService/GetResource",
            tonic::Code::Ok,
            0.002,
        );
        metrics.observe_grpc(
            "/pdop.registry.v1.RegistryService/GetResource",
            tonic::Code::NotFound,
            0.001,
        );
        metrics.outbox_backlog.set(3);
        let text = metrics.render();
        assert!(text.contains("pdop_grpc_requests_total{"), "{text}");
        assert!(text.contains("code=\"NotFound\""), "{text}");
        assert!(text.contains("pdop_grpc_errors_total{"), "{text}");
        assert!(
            text.contains("pdop_grpc_request_duration_seconds_bucket"),
            "{text}"
        );
        assert!(
            text.contains("pdop_outbox_backlog{service=\"registry\"} 3"),
            "{text}"
        );
    }
}
