//! The spans that cross process boundaries, named and attributed as the OpenTelemetry semantic conventions
//! for RPC and messaging expect, so that tracing back ends group and link them: one SERVER span per gRPC call,
//! one PRODUCER span per relayed outbox row and one CONSUMER span per handled event.

use tonic::Code;

use crate::events::IncomingEvent;

/// The span of one gRPC call at the server, named `pdop.<service>.v1.<Service>/<Method>` from its request path.
/// [`record_grpc_status`] completes it once the call's status is known.
pub fn rpc_server(path: &str) -> tracing::Span {
    let name = path.trim_start_matches('/');
    let (service, method) = name.split_once('/').unwrap_or((name, ""));
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
        otel.name = format!("publish {wire_subject}"),
        otel.kind = "producer",
        messaging.system = "nats",
        messaging.operation.type = "send",
        messaging.operation.name = "publish",
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
    use super::*;

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
