//! Role × RPC: every RPC of a service refuses a caller without a token (UNAUTHENTICATED) and every role its
//! policy line does not list (PERMISSION_DENIED), before anything is read or written. The calls carry an empty
//! message, which every request type decodes, so one table covers the whole contract.

use std::str::FromStr;

use pdop_kit::Service;
use pdop_kit::auth::{Access, Role};
use tonic::Code;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic_prost::ProstCodec;

use crate::grpc::acting;

async fn call(channel: &Channel, path: &str, role: Option<Role>) -> Code {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    if let Err(err) = grpc.ready().await {
        panic!("{path}: the service is not ready: {err}");
    }
    let request = match role {
        Some(role) => acting("organizations/role-matrix", &[role], ()),
        None => tonic::Request::new(()),
    };
    let Ok(path) = PathAndQuery::from_str(path) else {
        panic!("{path} is not a path");
    };
    let codec = ProstCodec::<(), ()>::default();
    match grpc.unary(request, path, codec).await {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

/// Calls every built RPC of `S` at `addr` without a token and with each role its policy does not allow, and
/// asserts the refusals; returns how many calls were made.
pub async fn assert_roles_enforced<S: Service>(addr: std::net::SocketAddr) -> usize {
    let channel = match Channel::from_shared(format!("http://{addr}")) {
        Ok(endpoint) => endpoint.connect_lazy(),
        Err(err) => panic!("{addr}: {err}"),
    };
    let policy = S::policy();
    let mut calls = 0;
    let mut wrong = Vec::new();
    for (method, access) in policy.lines(S::GRPC_SERVICE) {
        let path = format!("/{}/{method}", S::GRPC_SERVICE);
        let denied: Vec<Role> = match access {
            Access::Roles(allowed) => Role::ALL.into_iter().filter(|r| !allowed.contains(r)).collect(),
            Access::Authenticated => Vec::new(),
            _ => continue,
        };
        calls += 1;
        let code = call(&channel, &path, None).await;
        if code != Code::Unauthenticated {
            wrong.push(format!("{method} without a token: {code:?}"));
        }
        for role in denied {
            calls += 1;
            let code = call(&channel, &path, Some(role)).await;
            if code != Code::PermissionDenied {
                wrong.push(format!("{method} as {role:?}: {code:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "refusals not given: {wrong:#?}");
    calls
}
