//! Products as the registry announced them (read model kept by `incoming`).

use pdop_proto::registry::events::v1::ProductSnapshot;
use prost::Message;

use super::Tx;
use crate::domain::case::Product;
use crate::domain::{Error, ErrorReason};

/// The product `name`; `NOT_FOUND` when the registry never announced it.
pub async fn get(tx: &mut Tx, name: &str) -> Result<Product, Error> {
    let id = pdop_kit::names::parse(name, "products")
        .unwrap_or_default()
        .to_owned();
    let row: Option<(String, i16, i16, Vec<u8>)> =
        sqlx::query_as("SELECT operator_id, use_class, state, body FROM products WHERE id = $1")
            .bind(&id)
            .fetch_optional(&mut **tx)
            .await?;
    let (operator_id, use_class, state, body) =
        row.ok_or_else(|| Error::not_found(ErrorReason::ProductNotFound, name))?;
    Ok(Product {
        id,
        operator_id,
        use_class,
        state,
        display_name: ProductSnapshot::decode(body.as_slice())
            .unwrap_or_default()
            .display_name,
    })
}
