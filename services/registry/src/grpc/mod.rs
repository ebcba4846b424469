//! The gRPC handlers of the moved modules: parse the request into typed values (collecting every violation),
//! then hand `mutate` a body that reads (in `storage`), decides (in `domain`) and writes (in `storage`); reads use
//! the pool.

pub mod lifecycle;
pub mod notice;
pub mod objections;
pub mod registrations;

/// Who may decide on a locked registration.
mod decide {
    use pdop_kit::uow::Call;
    use pdop_proto::registry::v1::Registration;

    use crate::domain::{Error, registration};
    use crate::storage::Tx;

    /// The registry's staff decide; never on their own organization's application.
    pub async fn may_decide(_tx: &mut Tx, call: &Call, reg: &Registration) -> Result<(), Error> {
        registration::not_own(&call.caller, reg)
    }
}
