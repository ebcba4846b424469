//! Generated Rust code for every pdop protobuf package (compiled by `build.rs` into `OUT_DIR`).
//! Hand-written here: the module tree, which mirrors the package names so the generated cross-package
//! paths resolve, and the `Event` trait whose impls `build.rs` generates.

#![allow(clippy::all, clippy::pedantic, missing_docs, rust_2018_idioms)]

/// The encoded `FileDescriptorSet` of every package, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/pdop_descriptor.bin"));

pub mod pdop {
    pub mod common {
        pub mod v1 {
            tonic::include_proto!("pdop.common.v1");
        }
    }

    macro_rules! service_packages {
        ($($svc:ident => $api:literal, $events:literal;)*) => {
            $(
                pub mod $svc {
                    pub mod v1 {
                        tonic::include_proto!($api);
                    }
                    pub mod events {
                        pub mod v1 {
                            tonic::include_proto!($events);
                        }
                    }
                }
            )*
        };
    }

    service_packages! {
        registry => "pdop.registry.v1", "pdop.registry.events.v1";
        review => "pdop.review.v1", "pdop.review.events.v1";
        pricing => "pdop.pricing.v1", "pdop.pricing.events.v1";
        evaluation => "pdop.evaluation.v1", "pdop.evaluation.events.v1";
        disclosure => "pdop.disclosure.v1", "pdop.disclosure.events.v1";
    }
}

pub use pdop::common::v1 as common;
pub use pdop::{disclosure, evaluation, pricing, registry, review};

pub mod edge;

pub use edge::{Edge, check_encoded};

/// An event payload of a `pdop.<svc>.events.v1` package, tied to its subject and CloudEvents type.
pub trait Event: prost::Message + Default + 'static {
    /// The contract subject, e.g. `pdop.registry.registration.refused`.
    const SUBJECT: &'static str;
    /// The CloudEvents type, e.g. `pdop.registry.registration.refused.v1`.
    const TYPE: &'static str;
}

/// One event message of the contract, as listed in [`ALL_EVENTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventInfo {
    /// Protobuf full name, e.g. `pdop.registry.events.v1.RegistrationRefused`.
    pub message: &'static str,
    /// The contract subject ([`Event::SUBJECT`]).
    pub subject: &'static str,
    /// The CloudEvents type ([`Event::TYPE`]).
    pub ce_type: &'static str,
}

// One `impl Event` per event message and `ALL_EVENTS`, from the Subject line each event documents.
include!(concat!(env!("OUT_DIR"), "/events.rs"));

#[cfg(test)]
mod tests;

/// Every field shape the edge generator handles (`tests/fixture/edge_fixture.proto`), for its unit tests.
#[cfg(test)]
mod edgefixture {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/fixture/edgefixture.v1.rs"));
        include!(concat!(env!("OUT_DIR"), "/fixture/edge.rs"));
    }
}
