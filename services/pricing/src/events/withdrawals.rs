//! A withdrawn product (下架) is no longer priced: its PUBLISHED caps and prices end (已终止) in the transaction
//! that applies the registry's event.

use pdop_kit::uow::{Call, RecordedChange, Tx};

use crate::domain::ending::EndReason;
use crate::domain::{Error, caps, prices};
use crate::storage;

/// Ends the PUBLISHED caps and prices of the product `product_id` and returns the changes to record.
pub async fn end_priced(tx: &mut Tx, call: &Call, product_id: &str) -> Result<Vec<RecordedChange>, Error> {
    let mut changes = Vec::new();
    for mut c in storage::caps::lock_published_of_product(tx, product_id).await? {
        let case = storage::cases::get(tx, &c.pricing_case, "pricing_case", false).await?;
        let change = caps::end(&mut c, &case, call, EndReason::ProductWithdrawn)?;
        storage::caps::save(tx, &c, call.now).await?;
        changes.push(change.recorded());
    }
    for mut p in storage::prices::lock_published_of_product(tx, product_id).await? {
        let case = storage::cases::get(tx, &p.pricing_case, "pricing_case", false).await?;
        let change = prices::end(&mut p, &case, call, EndReason::ProductWithdrawn)?;
        storage::prices::save(tx, &p, call.now).await?;
        changes.push(change.recorded());
    }
    Ok(changes)
}
