//! Checks every service runs in its own tests.

use std::collections::BTreeSet;

use prost::Message;

use crate::Service;
use crate::auth::Access;
use crate::rpc::snake_case;

/// Deny by default (`design/SPINE.md` §8, THREATS M7): panics unless
/// - every RPC of `S::GRPC_SERVICE` in `S::descriptor_set()` has exactly one policy line, and no line names an RPC
///   the contract lacks;
/// - an RPC is `Unimplemented` exactly when the service's `rpcs!` list has no line for it;
/// - only the RPCs in `public` are `Public`.
pub fn assert_policy_covers<S: Service>(public: &[&str]) {
    let contract = contract_methods(S::descriptor_set(), S::GRPC_SERVICE);
    assert!(
        !contract.is_empty(),
        "{} has no RPC in its descriptor set",
        S::GRPC_SERVICE
    );
    let policy = S::policy();
    let mut lined = BTreeSet::new();
    let mut problems = Vec::new();
    for (method, access) in policy.lines(S::GRPC_SERVICE) {
        lined.insert(method.to_owned());
        if !contract.contains(method) {
            problems.push(format!("{method} has a policy line but is not in the contract"));
        }
        let built = S::IMPLEMENTED.contains(&snake_case(method).as_str());
        match (access, built) {
            (Access::Unimplemented, true) => problems.push(format!(
                "{method} is implemented but its policy line says Unimplemented"
            )),
            (Access::Unimplemented, false) => {}
            (_, false) => problems.push(format!(
                "{method} has no handler in the rpcs! list; its policy line must be Unimplemented"
            )),
            (Access::Public, true) if !public.contains(&method) => {
                problems.push(format!("{method} is Public but not in the list of public RPCs"))
            }
            _ => {}
        }
    }
    for method in &contract {
        if !lined.contains(method) {
            problems.push(format!("{method} has no policy line"));
        }
    }
    for method in S::IMPLEMENTED {
        if !contract.iter().any(|m| snake_case(m) == *method) {
            problems.push(format!("{method} is in the rpcs! list but not in the contract"));
        }
    }
    assert!(
        problems.is_empty(),
        "{}:\n{}",
        S::GRPC_SERVICE,
        problems.join("\n")
    );
}

/// The RPC names of `service` (`pdop.registry.v1.RegistryService`) in an encoded file descriptor set.
pub fn contract_methods(descriptor_set: &[u8], service: &str) -> BTreeSet<String> {
    let Ok(set) = prost_types::FileDescriptorSet::decode(descriptor_set) else {
        return BTreeSet::new();
    };
    let Some((package, name)) = service.rsplit_once('.') else {
        return BTreeSet::new();
    };
    set.file
        .iter()
        .filter(|f| f.package() == package)
        .flat_map(|f| f.service.iter())
        .filter(|s| s.name() == name)
        .flat_map(|s| s.method.iter().map(|m| m.name().to_owned()))
        .collect()
}
