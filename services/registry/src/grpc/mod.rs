//! The gRPC handlers of the moved modules: parse the request into typed values (collecting every violation),
//! then hand `mutate` a body that reads (in `storage`), decides (in `domain`) and writes (in `storage`); reads use
//! the pool.

pub mod follow_ups;
pub mod lifecycle;
pub mod notice;
pub mod objections;
pub mod registrations;

/// Who may decide on a locked registration.
mod decide {
    use pdop_kit::uow::Call;
    use pdop_proto::registry::v1::Registration;

    use crate::domain::{Error, registration};
    use crate::storage::{self, Tx};

    /// The registry's staff decide on registrations of their jurisdiction and those below it (THREATS H2), never
    /// on their own organization's application.
    pub async fn may_decide(tx: &mut Tx, call: &Call, reg: &Registration) -> Result<(), Error> {
        let ancestry = storage::refs::ancestry(tx, reg).await?;
        registration::may_decide(&call.caller, &ancestry, reg)
    }
}
