//! The spans that cross process boundaries, named and attributed as the OpenTelemetry semantic conventions
//! for RPC and messaging expect, so that tracing back ends group and link them: one SERVER span per gRPC call,
//! one PRODUCER span per relayed outbox row and one CONSUMER span per handled event.

use std::pin::Pin;
use std::task::Poll;

use http_body::{Body, Frame};
use tonic::Code;

use crate::events::IncomingEvent;

/// The span of one gRPC call at the server, named `pdop.<service>.v1.<Service>/<Method>`. `service` and `method`
/// are those the server knows (`_OTHER` for a path that names none, so callers cannot mint span names).
/// [`record_grpc_status`] completes it once the call's status is known.
pub fn rpc_server(service: &str, method: &str) -> tracing::Span {
    let name = if method == crate::metrics::OTHER {
        method.to_owned()
    } else {
        format!("{service}/{method}")
    };
    tracing::info_span!(
        "grpc",
        otel.name = name,
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = service,
        rpc.method = method,
        rpc.grpc.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    )
}

/// Records the final gRPC status of the call `span` covers; the codes that say the server failed mark the span
/// as an error (a refused argument or a missing row is the caller's, not the server's).
pub fn record_grpc_status(span: &tracing::Span, code: Code) {
    span.record("rpc.grpc.status_code", code as i64);
    if server_fault(code) {
        record_failure(span);
    }
}

/// The gRPC status code in `headers` (or trailers), if they carry one.
pub fn grpc_status_in(headers: &http::HeaderMap) -> Option<Code> {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map(Code::from_i32)
}

/// What to do once a call's final code is known (record its span's status and its duration).
pub type OnEnd = Box<dyn FnOnce(Code) + Send + Sync>;

/// A gRPC response body that runs the call's [`OnEnd`] when the body ends, with the code its trailers carry (a
/// streaming call's, or an OK unary call's): span and duration cover the whole call, and the status is final.
pub struct TracedBody<B> {
    inner: B,
    /// Until the code is known.
    on_end: Option<OnEnd>,
}

impl<B> TracedBody<B> {
    /// Wraps `inner`; `known` is the code already read from the headers (a trailers-only response).
    pub fn new(inner: B, known: Option<Code>, on_end: OnEnd) -> Self {
        let mut body = Self {
            inner,
            on_end: Some(on_end),
        };
        if let Some(code) = known {
            body.finish(code);
        }
        body
    }

    fn finish(&mut self, code: Code) {
        if let Some(on_end) = self.on_end.take() {
            on_end(code);
        }
    }
}

impl<B: Body + Unpin> Body for TracedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    let code = grpc_status_in(trailers).unwrap_or(Code::Unknown);
                    self.finish(code);
                }
            }
            Poll::Ready(Some(Err(_))) => self.finish(Code::Internal),
            // gRPC clients read a body that ends without trailers as a failed call.
            Poll::Ready(None) => self.finish(Code::Unknown),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for TracedBody<B> {
    fn drop(&mut self) {
        // Dropped before its end: the client went away.
        self.finish(Code::Cancelled);
    }
}

/// The codes the conventions count as a server-side error.
fn server_fault(code: Code) -> bool {
    matches!(
        code,
        Code::Unknown
            | Code::DeadlineExceeded
            | Code::Unimplemented
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss
    )
}

/// The span of publishing one outbox row to `wire_subject`: the PRODUCER of the event's trace.
pub fn publish(wire_subject: &str, message_id: &str) -> tracing::Span {
    tracing::info_span!(
        "publish",
        otel.name = format!("send {wire_subject}"),
        otel.kind = "producer",
        messaging.system = "nats",
        messaging.operation.type = "send",
        messaging.operation.name = "send",
        messaging.destination.name = wire_subject,
        messaging.message.id = message_id,
        otel.status_code = tracing::field::Empty,
    )
}

/// Marks `span` as failed (a server fault, a publish that was not acknowledged).
pub fn record_failure(span: &tracing::Span) {
    span.record("otel.status_code", "ERROR");
}

/// The span of one consumer handling one event that arrived on `wire_subject`: the CONSUMER, child of the
/// producer's span.
pub fn consume(consumer: &str, wire_subject: &str, event: &IncomingEvent) -> tracing::Span {
    tracing::info_span!(
        "consume",
        otel.name = format!("process {wire_subject}"),
        otel.kind = "consumer",
        messaging.system = "nats",
        messaging.operation.type = "process",
        messaging.operation.name = "process",
        messaging.destination.name = wire_subject,
        messaging.consumer.group.name = consumer,
        messaging.message.id = %event.id,
        // The names the JSON logs have always carried, kept for the log queries written against them.
        consumer,
        subject = %event.subject,
        event_id = %event.id,
        attempt = event.attempt,
    )
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    use bytes::Bytes;
    use futures_util::FutureExt as _;
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    /// Collects every `rpc.grpc.status_code` recorded on a span.
    #[derive(Clone, Default)]
    struct Codes(Arc<Mutex<Vec<i64>>>);

    impl tracing::field::Visit for Codes {
        fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
            if field.name() == "rpc.grpc.status_code" {
                self.0.lock().unwrap().push(value);
            }
        }

        fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
    }

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Codes {
        fn on_record(
            &self,
            _: &tracing::span::Id,
            values: &tracing::span::Record<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            values.record(&mut self.clone());
        }
    }

    impl Codes {
        fn seen(&self) -> Vec<i64> {
            self.0.lock().unwrap().clone()
        }
    }

    /// A response body of the given frames.
    struct Frames(VecDeque<Frame<Bytes>>);

    impl Body for Frames {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(self.0.pop_front().map(Ok))
        }
    }

    fn streamed(code: &str) -> Frames {
        let mut trailers = http::HeaderMap::new();
        trailers.insert("grpc-status", code.parse().unwrap());
        Frames(VecDeque::from([
            Frame::data(Bytes::from_static(b"one")),
            Frame::data(Bytes::from_static(b"two")),
            Frame::trailers(trailers),
        ]))
    }

    /// `body` as the observe layer wraps it, its end recorded on an RPC span.
    fn traced(body: Frames, known: Option<Code>) -> TracedBody<Frames> {
        let span = rpc_server("pdop.x.v1.X", "Watch");
        TracedBody::new(body, known, Box::new(move |code| record_grpc_status(&span, code)))
    }

    fn next_frame(body: &mut TracedBody<Frames>) -> bool {
        std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx))
            .now_or_never()
            .flatten()
            .is_some()
    }

    #[test]
    fn a_streamed_call_records_the_code_of_its_trailers_when_they_come() {
        let codes = Codes::default();
        let _default = tracing::subscriber::set_default(tracing_subscriber::registry().with(codes.clone()));
        let mut body = traced(streamed("5"), None);
        assert!(next_frame(&mut body));
        assert!(codes.seen().is_empty(), "no code before the trailers");
        while next_frame(&mut body) {}
        assert_eq!(codes.seen(), [Code::NotFound as i64]);
        drop(body);
        assert_eq!(codes.seen(), [Code::NotFound as i64], "recorded once");
    }

    #[test]
    fn a_trailers_only_code_is_recorded_at_once_and_an_abandoned_stream_is_cancelled() {
        let codes = Codes::default();
        let _default = tracing::subscriber::set_default(tracing_subscriber::registry().with(codes.clone()));
        let refused = traced(Frames(VecDeque::new()), Some(Code::InvalidArgument));
        assert_eq!(codes.seen(), [Code::InvalidArgument as i64]);
        drop(refused);
        let mut abandoned = traced(streamed("0"), None);
        assert!(next_frame(&mut abandoned));
        drop(abandoned);
        assert_eq!(
            codes.seen(),
            [Code::InvalidArgument as i64, Code::Cancelled as i64]
        );
    }

    #[test]
    fn only_server_side_codes_are_errors() {
        assert!(server_fault(Code::Internal));
        assert!(server_fault(Code::Unavailable));
        assert!(!server_fault(Code::Ok));
        assert!(!server_fault(Code::InvalidArgument));
        assert!(!server_fault(Code::NotFound));
        assert!(!server_fault(Code::PermissionDenied));
    }
}
