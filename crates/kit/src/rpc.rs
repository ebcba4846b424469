//! Handler delegation as data (`design/SPINE.md` §10): a service lists its RPCs in [`rpcs!`](crate::rpcs), one
//! line each, and the macro writes the tonic trait impl. Each generated method builds the [`Call`] (caller and
//! action from the auth layer, `now` from the platform clock), runs the handler and maps its error to a `Status`
//! once. The list also gives the names of the implemented RPCs, which the policy coverage test compares with the
//! policy table.

use std::future::Future;

use tonic::{Request, Response, Status};

use crate::Platform;
use crate::uow::Call;

/// Runs a handler of the new shape: `async fn(&State, Call, Req) -> Result<Resp, Error>`.
pub async fn unary<'s, S, Req, Resp, E, F, Fut>(
    state: &'s S,
    request: Request<Req>,
    handler: F,
) -> Result<Response<Resp>, Status>
where
    S: AsRef<Platform>,
    F: FnOnce(&'s S, Call, Req) -> Fut,
    Fut: Future<Output = Result<Resp, E>>,
    Status: From<E>,
{
    let call = Call::of(state.as_ref(), &request)?;
    handler(state, call, request.into_inner())
        .await
        .map(Response::new)
        .map_err(Status::from)
}

/// The edge check every request passes before its handler (THREATS H1.1, L10): no control characters, bounded
/// strings and lists; a violation is `INVALID_ARGUMENT` naming the field path.
pub fn check_edge<S: AsRef<Platform>, M: pdop_proto::Edge>(
    state: &S,
    request: &Request<M>,
) -> Result<(), Status> {
    crate::edge::check(request.get_ref()).map_err(|v| state.as_ref().errors.invalid(&v))
}

/// `GetLogInfo` → `get_log_info`: how tonic names the trait method of an RPC.
pub fn snake_case(rpc: &str) -> String {
    let mut out = String::with_capacity(rpc.len() + 4);
    for (i, c) in rpc.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Writes a service's tonic trait impl from one line per implemented RPC:
///
/// ```ignore
/// pdop_kit::rpcs! {
///     RegistryService for Registry;
///     refuse_registration(pb::RefuseRegistrationRequest) -> pb::RefuseRegistrationResponse = grpc::registrations::refuse;
///     get_jurisdiction(pb::GetJurisdictionRequest) -> pb::GetJurisdictionResponse = jurisdictions::get, plain;
///     create_jurisdiction(pb::CreateJurisdictionRequest) -> pb::CreateJurisdictionResponse = jurisdictions::create, caller;
/// }
/// ```
///
/// A handler alone has the new shape (`&State, Call, Req`); `, caller` and `, plain` mark handlers not moved yet
/// (`&State, &Caller, Req` and `&State, Req`, returning `Status`). The macro defines `Rpcs`, the server's
/// handler type (`Rpcs::new(state)`), and `Rpcs::IMPLEMENTED`. Streaming RPCs are written by hand in a trailing
/// `[streaming subscribe_entries] { … }` block that names them (and calls [`check_edge`] themselves).
/// Every generated method first runs [`check_edge`] on the request.
#[macro_export]
macro_rules! rpcs {
    (
        $trait_:ident for $service:ty;
        $( $method:ident($req:ty) -> $resp:ty = $handler:path $(, $kind:ident)?; )*
        $( [streaming $($stream:ident),* $(,)?] { $($streams:tt)* } )?
    ) => {
        /// The service's gRPC handlers: one delegation per RPC, written by `pdop_kit::rpcs!`.
        pub struct Rpcs(::std::sync::Arc<<$service as $crate::Service>::State>);

        impl Rpcs {
            pub fn new(state: ::std::sync::Arc<<$service as $crate::Service>::State>) -> Self {
                Self(state)
            }

            /// The trait methods this list implements; every other RPC answers UNIMPLEMENTED.
            pub const IMPLEMENTED: &'static [&'static str] = &[
                $(stringify!($method),)*
                $($(stringify!($stream),)*)?
            ];

            #[allow(dead_code)]
            fn state(&self) -> &<$service as $crate::Service>::State {
                &self.0
            }
        }

        #[::tonic::async_trait]
        impl $trait_ for Rpcs {
            $(
                async fn $method(
                    &self,
                    request: ::tonic::Request<$req>,
                ) -> ::std::result::Result<::tonic::Response<$resp>, ::tonic::Status> {
                    $crate::rpc::check_edge(&*self.0, &request)?;
                    $crate::rpcs!(@call $($kind)? self, request, $handler)
                }
            )*
            $($($streams)*)?
        }
    };
    (@call $this:ident, $request:ident, $handler:path) => {
        $crate::rpc::unary(&*$this.0, $request, $handler).await
    };
    // Handlers not moved to the new shape yet, written inline: their futures borrow the caller.
    (@call caller $this:ident, $request:ident, $handler:path) => {{
        let call = $crate::uow::Call::of((*$this.0).as_ref(), &$request)?;
        $handler(&*$this.0, &call.caller, $request.into_inner())
            .await
            .map(::tonic::Response::new)
    }};
    (@call plain $this:ident, $request:ident, $handler:path) => {
        $handler(&*$this.0, $request.into_inner())
            .await
            .map(::tonic::Response::new)
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_names_become_trait_method_names() {
        assert_eq!(snake_case("GetLogInfo"), "get_log_info");
        assert_eq!(
            snake_case("ListRegistrationObjections"),
            "list_registration_objections"
        );
        assert_eq!(snake_case("Get"), "get");
    }
}
