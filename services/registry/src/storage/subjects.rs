//! What a registration reads and writes of its subject (the resource or product registered), whose own modules
//! have not moved yet: the resource's registrability and link, the product's lock, link and listing.

use chrono::{DateTime, Utc};
use pdop_proto::registry::v1::{Product, Resource, ResourceState};
use prost::Message;

use super::{Tx, id_of};
use crate::domain::registration::ResourceFacts;
use crate::domain::{Error, ErrorReason};
use crate::names;
// One mapping of the products table, shared with the products module until it moves here too.
use crate::products::{COLUMNS as PRODUCT_COLUMNS, Row as ProductRow};

/// What a registration needs of its resource.
pub struct ForRegistration {
    pub provider: String,
    pub jurisdiction_id: String,
    pub facts: ResourceFacts,
}

#[derive(sqlx::FromRow)]
struct ResourceRow {
    provider_id: String,
    jurisdiction_id: String,
    state: i16,
    body: Vec<u8>,
}

/// The resource `name` (the request's `field`), locked; NOT_FOUND if absent, RESOURCE_RETIRED if retired.
pub async fn resource(tx: &mut Tx, name: &str, field: &str) -> Result<ForRegistration, Error> {
    let id = id_of(name, "resources", field)?;
    let row = sqlx::query_as::<_, ResourceRow>(
        "SELECT provider_id, jurisdiction_id, state, body FROM resources WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| Error::not_found(ErrorReason::ResourceNotFound, name))?;
    if row.state == ResourceState::Retired as i16 {
        return Err(Error::refused(
            ErrorReason::ResourceRetired,
            format!("{name} is retired"),
        ));
    }
    let r = Resource::decode(row.body.as_slice()).unwrap_or_default();
    Ok(ForRegistration {
        provider: names::organization(&row.provider_id),
        jurisdiction_id: row.jurisdiction_id,
        facts: ResourceFacts {
            state: ResourceState::try_from(i32::from(row.state)).unwrap_or(ResourceState::Unspecified),
            state_asset_duties_fulfilled: r.state_asset_duties_fulfilled,
        },
    })
}

/// Links the resource `id` to its coded registration (or unlinks it), which makes it authorizable when it is
/// also catalogued, not core data and not negative-listed.
pub async fn link_resource(
    tx: &mut Tx,
    id: &str,
    registration_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE resources SET registration_id = $2, version = version + 1, update_time = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(registration_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The product `name`, locked; `None` when the name is malformed or the product absent.
pub async fn lock_product(tx: &mut Tx, name: &str) -> Result<Option<Product>, Error> {
    let Some(id) = names::parse(name, "products") else {
        return Ok(None);
    };
    let row = sqlx::query_as::<_, ProductRow>(&format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| r.to_proto()))
}

/// Writes the product back.
pub async fn save_product(tx: &mut Tx, p: &Product, now: DateTime<Utc>) -> Result<Product, Error> {
    let id = id_of(&p.name, "products", "product")?;
    let row = sqlx::query_as::<_, ProductRow>(&format!(
        "UPDATE products SET display_name = $2, kind = $3, use_class = $4, state = $5, body = $6, update_time = $7,
                last_review_id = $8, version = version + 1
         WHERE id = $1 RETURNING {PRODUCT_COLUMNS}"
    ))
    .bind(id)
    .bind(&p.display_name)
    .bind(i16::try_from(p.kind).unwrap_or(0))
    .bind(i16::try_from(p.use_class).unwrap_or(0))
    .bind(i16::try_from(p.state).unwrap_or(0))
    .bind(p.encode_to_vec())
    .bind(now)
    .bind(names::parse(&p.last_review, "productReviews"))
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.to_proto())
}
