//! W3C trace context across process boundaries: extracted from gRPC metadata and NATS headers,
//! injected into NATS headers and stored with outbox rows.

use opentelemetry::propagation::{Extractor, Injector};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The W3C header carrying the trace id and parent span id.
pub const TRACEPARENT: &str = "traceparent";

struct HttpHeaders<'a>(&'a http::HeaderMap);

impl Extractor for HttpHeaders<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct NatsHeaders<'a>(&'a async_nats::HeaderMap);

impl Extractor for NatsHeaders<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(async_nats::HeaderValue::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| name.as_ref()).collect()
    }
}

struct TextMap(std::collections::HashMap<String, String>);

impl Injector for TextMap {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

impl Extractor for TextMap {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// Makes the trace in the incoming HTTP/2 (gRPC) headers the parent of `span`.
pub fn set_parent_from_http(span: &tracing::Span, headers: &http::HeaderMap) {
    let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(&HttpHeaders(headers)));
    let _ = span.set_parent(cx);
}

/// Makes the trace in a NATS message's headers the parent of `span`.
pub fn set_parent_from_nats(span: &tracing::Span, headers: &async_nats::HeaderMap) {
    let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(&NatsHeaders(headers)));
    let _ = span.set_parent(cx);
}

/// Makes a stored `traceparent` value the parent of `span`.
pub fn set_parent_from_traceparent(span: &tracing::Span, traceparent: &str) {
    let carrier = TextMap([(TRACEPARENT.to_owned(), traceparent.to_owned())].into());
    let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(&carrier));
    let _ = span.set_parent(cx);
}

/// Returns the `traceparent` of the current span, if it belongs to a sampled or remote trace.
pub fn current_traceparent() -> Option<String> {
    traceparent_of(&tracing::Span::current())
}

/// Returns the `traceparent` naming `span`, if it belongs to a sampled or remote trace.
pub fn traceparent_of(span: &tracing::Span) -> Option<String> {
    let cx = span.context();
    let mut carrier = TextMap(Default::default());
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut carrier));
    carrier.0.remove(TRACEPARENT)
}

/// Returns the 32-hex-digit trace id inside a `traceparent` value.
pub fn trace_id_of(traceparent: &str) -> Option<&str> {
    traceparent.split('-').nth(1).filter(|id| id.len() == 32)
}

/// Returns the trace id of the current span, for audit rows and log correlation.
pub fn current_trace_id() -> Option<String> {
    current_traceparent().and_then(|tp| trace_id_of(&tp).map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_id_is_the_second_field() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(trace_id_of(tp), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert_eq!(trace_id_of("garbage"), None);
    }

    #[test]
    fn stored_traceparent_becomes_the_parent() {
        crate::telemetry::init_for_tests();
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let span = tracing::info_span!("consume");
        set_parent_from_traceparent(&span, tp);
        let _entered = span.enter();
        assert_eq!(
            current_trace_id().as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
    }
}
