//! Label sets, named as the OpenTelemetry attributes they carry (`rpc.method` is `rpc_method`).

use std::sync::Arc;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};

use super::MESSAGING_SYSTEM;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RpcLabels {
    pub rpc_system: &'static str,
    /// `pdop.registry.v1.RegistryService`, or `_OTHER` for a path the server does not serve.
    pub rpc_service: Arc<str>,
    /// `GetResource`, or `_OTHER`.
    pub rpc_method: Arc<str>,
    /// The numeric gRPC status code (0 is OK).
    pub rpc_grpc_status_code: i32,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// `GET`, `POST`, ..., or `_OTHER`.
    pub http_request_method: &'static str,
    /// The matched route template (`/entries/{sequence}`); empty when no route matched.
    pub http_route: Option<String>,
    pub http_response_status_code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SentLabels {
    pub messaging_system: &'static str,
    pub messaging_operation_name: &'static str,
    /// The contract subject (`pdop.registry.resource.created`): one per event type, whatever the namespace.
    pub messaging_destination_name: String,
}

impl SentLabels {
    pub fn new(destination: &str) -> Self {
        Self {
            messaging_system: MESSAGING_SYSTEM,
            messaging_operation_name: "send",
            messaging_destination_name: destination.to_owned(),
        }
    }
}

/// What became of a consumed message.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)] // the label values as they are exported
pub enum Outcome {
    applied,
    duplicate,
    retried,
    dead_lettered,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProcessLabels {
    pub messaging_system: &'static str,
    pub messaging_operation_name: &'static str,
    /// The contract subject of the message.
    pub messaging_destination_name: String,
    /// The durable consumer (`disclosure-registry`).
    pub messaging_consumer_group_name: String,
}

impl ProcessLabels {
    pub fn new(group: &str, destination: &str) -> Self {
        Self {
            messaging_system: MESSAGING_SYSTEM,
            messaging_operation_name: "process",
            messaging_destination_name: destination.to_owned(),
            messaging_consumer_group_name: group.to_owned(),
        }
    }
}

/// A processed message's labels and what became of it.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConsumedLabels {
    #[prometheus(flatten)]
    pub message: ProcessLabels,
    pub pdop_outcome: Outcome,
}

/// One durable consumer: its group name and the subjects it reads (`pdop.registry.>`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConsumerGroupLabels {
    pub messaging_system: &'static str,
    pub messaging_destination_name: String,
    pub messaging_consumer_group_name: String,
}

impl ConsumerGroupLabels {
    pub fn new(group: &str, destination: &str) -> Self {
        Self {
            messaging_system: MESSAGING_SYSTEM,
            messaging_destination_name: destination.to_owned(),
            messaging_consumer_group_name: group.to_owned(),
        }
    }
}
