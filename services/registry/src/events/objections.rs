//! Objections received from the disclosure service's ObjectionFiled event (N3 Art.12): recorded PENDING against
//! the registration under notice, in the transaction the kit's consumer gives; a redelivery changes nothing.

use pdop_kit::uow::{self, Call, Tx};
use pdop_proto::disclosure::events::v1::ObjectionFiled;

use crate::domain::registration::COLLECTION;
use crate::domain::{Error, objection};
use crate::names;
use crate::storage;

/// The identity and action objections are recorded under.
pub const CONSUMER: &str = "registry-review-consumer";
pub const RECEIVED: &str = "registry.ObjectionReceived";

/// Records the objection `filed` and audits it on its registration (`max_payload` bounds the kit's events).
pub async fn record(
    tx: &mut Tx,
    call: &Call,
    filed: &ObjectionFiled,
    max_payload: usize,
) -> Result<(), Error> {
    let (Some(registration_id), Some(objection_id)) = (
        names::parse(&filed.subject, COLLECTION),
        names::parse(&filed.name, "objections"),
    ) else {
        return Ok(());
    };
    // An objection to a registration this registry does not hold is dropped; any other failure (a deadlock,
    // a lost connection) has aborted the transaction and reaches the consumer, which retries what is transient.
    let mut reg = match storage::registrations::lock(tx, &filed.subject, "").await {
        Ok(reg) => reg,
        Err(Error::NotFound { .. }) => return Ok(()),
        Err(err) => return Err(err),
    };
    let o = objection::filed(filed);
    if !storage::objections::insert(tx, objection_id, registration_id, &o, call.now).await? {
        return Ok(());
    }
    let change = objection::received(&mut reg, &filed.name);
    storage::registrations::save(tx, &reg, call.now).await?;
    uow::record::<Error>(tx, call, vec![change.recorded()], max_payload).await?;
    Ok(())
}
