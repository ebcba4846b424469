//! The gRPC handlers of the moved modules: parse the request into typed values (collecting every violation),
//! then hand `mutate` a body that reads, decides (in `domain`) and writes (in `storage`); reads use the pool.

pub mod annual;
pub mod caps;
pub mod cases;
pub mod prices;

use pdop_kit::auth::Caller;
use pdop_proto::pricing::v1::PricingCase;

use crate::domain::Error;
use crate::storage::{self, Tx};

/// THREATS H2: a supervisor (pricing authority, implementing agency) acts only on a case of its jurisdiction or
/// one below it. Also called by the modules not yet moved (the `Error` becomes their `Status`).
pub(crate) async fn in_scope(tx: &mut Tx, caller: &Caller, case: &PricingCase) -> Result<(), Error> {
    let row = storage::cases::ancestry(tx, case).await?;
    crate::domain::case::may_supervise(caller, &case.name, &row)
}

pub(crate) use pdop_kit::mask::update_envelope;
