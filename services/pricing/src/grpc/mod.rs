//! The gRPC handlers of the moved modules: parse the request into typed values (collecting every violation),
//! then hand `mutate` a body that reads, decides (in `domain`) and writes (in `storage`); reads use the pool.

pub mod annual;
pub mod caps;
pub mod cases;
pub mod prices;

use pdop_kit::Violations;
use pdop_kit::auth::Caller;
use pdop_proto::pricing::v1::PricingCase;
use prost_types::FieldMask;

use crate::domain::Error;
use crate::domain::mask::{self, Mask};
use crate::storage::{self, Tx};

/// THREATS H2: a supervisor (pricing authority, implementing agency) acts only on a case of its jurisdiction or
/// one below it. Also called by the modules not yet moved (the `Error` becomes their `Status`).
pub(crate) async fn in_scope(tx: &mut Tx, caller: &Caller, case: &PricingCase) -> Result<(), Error> {
    let row = storage::cases::ancestry(tx, case).await?;
    crate::domain::case::may_supervise(caller, &case.name, &row)
}

/// What every Update RPC parses first (AIP-134, AIP-154): the resource's name (`<field>.name` in `collection`),
/// its mask resolved against the `mutable` paths (`populated` says which fields an absent mask means), and the
/// etag to check (the request's, else the one on the resource sent).
pub(crate) fn update_envelope(
    field: &str,
    name: &str,
    collection: &str,
    update_mask: Option<&FieldMask>,
    mutable: &[&'static str],
    populated: impl Fn(&str) -> bool,
    (request_etag, resource_etag): (String, &str),
) -> Result<(Mask, String), Error> {
    let mut v = Violations::new();
    if pdop_kit::names::parse(name, collection).is_none() {
        v.add(format!("{field}.name"), pdop_kit::names::expected(collection));
    }
    let mask = mask::resolve(update_mask, mutable, &mut v, populated);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    let etag = if request_etag.is_empty() {
        resource_etag.to_owned()
    } else {
        request_etag
    };
    Ok((mask, etag))
}
