//! Events: CloudEvents over NATS JetStream, written through a transactional outbox and consumed by
//! durable pull consumers with an inbox for idempotency.

mod consumer;
mod consumer_gauges;
mod namespace;
mod nats;
mod outbox;
mod relay;
mod wake;

pub use consumer::{
    ConsumerHandle, ConsumerRuntime, ConsumerSpec, HandleError, Handler, IncomingEvent, spawn_consumer,
};
pub use namespace::{InvalidNamespace, Namespace};
pub use nats::{connect, ensure_dead_letter_stream, ensure_stream};
pub use outbox::{OutgoingEvent, enqueue_at};
pub use relay::{Relay, RelayHandle};
pub use wake::OutboxWaker;

/// CloudEvents and NATS header names used on the wire (binary content mode).
pub mod headers {
    pub const SPECVERSION: &str = "ce-specversion";
    pub const ID: &str = "ce-id";
    pub const SOURCE: &str = "ce-source";
    pub const TYPE: &str = "ce-type";
    pub const SUBJECT: &str = "ce-subject";
    pub const TIME: &str = "ce-time";
    pub const CONTENT_TYPE: &str = "content-type";
    pub const PROTOBUF: &str = "application/protobuf";
    /// Why a message was moved to the dead-letter subject.
    pub const DEAD_LETTER_REASON: &str = "pdop-dead-letter-reason";
}

/// Returns the service segment of a contract subject, `pdop.<service>.<aggregate>.<verb>`.
pub fn service_of(subject: &str) -> Option<&str> {
    let mut parts = subject.split('.');
    match (parts.next(), parts.next()) {
        (Some("pdop"), Some(service)) if !service.is_empty() => Some(service),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_is_the_second_subject_token() {
        assert_eq!(service_of("pdop.registry.agreement.signed"), Some("registry"));
        assert_eq!(service_of("other.registry.x"), None);
        assert_eq!(service_of("pdop"), None);
    }
}
