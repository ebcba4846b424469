//! The `specific_prices` table: the price as its message, with its case, product and state as columns.

use chrono::{DateTime, Utc};
use pdop_kit::handling::Stored;
use pdop_proto::pricing::v1::{SpecificPrice, SpecificPriceState};
use prost::Message;

use super::{Tx, check_etag, fetch, id_of};
use crate::domain::prices::COLLECTION;
use crate::domain::{Error, ErrorReason};

crate::rows::body_row!(
    SpecificPrice,
    "specific_prices",
    COLLECTION,
    "SPECIFIC_PRICE_NOT_FOUND"
);

/// The price `name` (the request's `name`), locked for a change, with the caller's etag checked.
pub async fn lock(tx: &mut Tx, name: &str, etag: &str) -> Result<SpecificPrice, Error> {
    let id = id_of(name, COLLECTION, "name")?;
    let row: Row = fetch(&mut **tx, id, name, ErrorReason::SpecificPriceNotFound, true).await?;
    check_etag(etag, row.version(), name)?;
    Ok(row.to_proto())
}

/// The price `name`, read from the pool with no transaction.
pub async fn read(pool: &sqlx::PgPool, name: &str) -> Result<SpecificPrice, Error> {
    let id = id_of(name, COLLECTION, "name")?;
    let row: Row = fetch(pool, id, name, ErrorReason::SpecificPriceNotFound, false).await?;
    Ok(row.to_proto())
}

/// Stores a new price under `id`.
pub async fn insert(
    tx: &mut Tx,
    id: &str,
    p: &SpecificPrice,
    case_id: &str,
    product_id: &str,
    now: DateTime<Utc>,
) -> Result<SpecificPrice, Error> {
    let row = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO specific_prices (id, pricing_case_id, product_id, state, body, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(case_id)
    .bind(product_id)
    .bind(i16::try_from(p.state).unwrap_or(0))
    .bind(p.encode_to_vec())
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.to_proto())
}

/// Writes the price's state and body back.
pub async fn save(tx: &mut Tx, p: &SpecificPrice, now: DateTime<Utc>) -> Result<SpecificPrice, Error> {
    let id = id_of(&p.name, COLLECTION, "name")?;
    let row = sqlx::query_as::<_, Row>(&format!(
        "UPDATE specific_prices SET state = $2, body = $3, update_time = $4, version = version + 1
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(i16::try_from(p.state).unwrap_or(0))
    .bind(p.encode_to_vec())
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.to_proto())
}

/// The PUBLISHED prices of `product` in the case `case_id`, locked in id order.
pub async fn lock_published_of(
    tx: &mut Tx,
    case_id: &str,
    product: &str,
) -> Result<Vec<SpecificPrice>, Error> {
    let rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM specific_prices
         WHERE pricing_case_id = $1 AND product_id = $2 AND state = $3 ORDER BY id FOR UPDATE"
    ))
    .bind(case_id)
    .bind(product.trim_start_matches("products/"))
    .bind(SpecificPriceState::Published as i16)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.iter().map(Row::to_proto).collect())
}

/// A page of prices: drafts only to the case's operator and authorizing entity (`own` organization id);
/// published prices to everyone.
pub struct Filter<'a> {
    pub after: Option<String>,
    pub case: Option<&'a str>,
    pub product: Option<&'a str>,
    pub operator: Option<&'a str>,
    pub state: i32,
    pub own: String,
    pub size: i64,
}

pub async fn list(pool: &sqlx::PgPool, f: Filter<'_>) -> Result<(Vec<SpecificPrice>, String), Error> {
    let mut rows = sqlx::query_as::<_, Row>(
        "SELECT p.id, p.body, p.create_time, p.update_time, p.version FROM specific_prices p
         JOIN pricing_cases c ON c.id = p.pricing_case_id
         WHERE ($1::text IS NULL OR p.id > $1)
           AND ($2::text IS NULL OR c.id = $2)
           AND ($3::text IS NULL OR p.product_id = $3)
           AND ($4::text IS NULL OR c.operator_id = $4)
           AND ($5::smallint = 0 OR p.state = $5)
           AND (p.state <> $6 OR c.operator_id = $7 OR c.authorizing_entity_id = $7)
         ORDER BY p.id LIMIT $8",
    )
    .bind(f.after)
    .bind(f.case)
    .bind(f.product)
    .bind(f.operator)
    .bind(i16::try_from(f.state).unwrap_or(0))
    .bind(SpecificPriceState::Draft as i16)
    .bind(f.own)
    .bind(f.size + 1)
    .fetch_all(pool)
    .await?;
    let next = pdop_kit::handling::page_after(&mut rows, f.size, |r| r.id().to_owned());
    Ok((rows.iter().map(Row::to_proto).collect(), next))
}

/// Every PUBLISHED price (the scheduler reads them to find those whose period is over).
pub async fn published(pool: &sqlx::PgPool) -> Result<Vec<SpecificPrice>, Error> {
    let rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM specific_prices WHERE state = $1 ORDER BY id"
    ))
    .bind(SpecificPriceState::Published as i16)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(Row::to_proto).collect())
}

/// The PUBLISHED prices of the product `product_id` in any case, locked in id order.
pub async fn lock_published_of_product(tx: &mut Tx, product_id: &str) -> Result<Vec<SpecificPrice>, Error> {
    let rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM specific_prices WHERE product_id = $1 AND state = $2 ORDER BY id FOR UPDATE"
    ))
    .bind(product_id)
    .bind(SpecificPriceState::Published as i16)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.iter().map(Row::to_proto).collect())
}
