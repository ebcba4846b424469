//! gRPC method names for the RPC labels, from the service's own descriptors: a request path the server does not
//! serve is `_OTHER`, so an arbitrary path cannot add a series.

use std::collections::HashMap;
use std::sync::Arc;

use prost::Message;

/// Reported for a service or method the server does not know (the semantic conventions' value).
pub const OTHER: &str = "_OTHER";

/// Health and reflection, served by every service beside its own.
const ALWAYS: &[(&str, &str)] = &[
    ("grpc.health.v1.Health", "Check"),
    ("grpc.health.v1.Health", "Watch"),
    ("grpc.reflection.v1.ServerReflection", "ServerReflectionInfo"),
];

/// The served methods by request path (`/package.Service/Method`).
#[derive(Debug)]
pub struct GrpcMethods {
    by_path: HashMap<String, (Arc<str>, Arc<str>)>,
    other: Arc<str>,
}

impl Default for GrpcMethods {
    fn default() -> Self {
        let mut methods = Self {
            by_path: HashMap::new(),
            other: Arc::from(OTHER),
        };
        for (service, method) in ALWAYS {
            methods.add(service, method);
        }
        methods
    }
}

impl GrpcMethods {
    /// Every method of every service in an encoded `FileDescriptorSet`, plus health and reflection.
    pub fn from_descriptor_set(bytes: &[u8]) -> anyhow::Result<Self> {
        let set = prost_types::FileDescriptorSet::decode(bytes)?;
        let mut methods = Self::default();
        for file in &set.file {
            for service in &file.service {
                let full = match file.package() {
                    "" => service.name().to_owned(),
                    package => format!("{package}.{}", service.name()),
                };
                for method in &service.method {
                    methods.add(&full, method.name());
                }
            }
        }
        Ok(methods)
    }

    fn add(&mut self, service: &str, method: &str) {
        self.by_path.insert(
            format!("/{service}/{method}"),
            (Arc::from(service), Arc::from(method)),
        );
    }

    /// `(rpc.service, rpc.method)` of a request path; `_OTHER` for both when it is not served here.
    pub fn resolve(&self, path: &str) -> (Arc<str>, Arc<str>) {
        match self.by_path.get(path) {
            Some((service, method)) => (service.clone(), method.clone()),
            None => (self.other.clone(), self.other.clone()),
        }
    }
}
