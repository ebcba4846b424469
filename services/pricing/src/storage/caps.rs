//! The `cap_prices` table: the cap as its message, with its case, product, state and expected revenue as
//! columns for the within-MAR sums and the listings.

use chrono::{DateTime, Utc};
use pdop_kit::handling::Stored;
use pdop_proto::pricing::v1::{CapPrice, CapPriceState};
use prost::Message;
use rust_decimal::Decimal;

use super::{Tx, check_etag, fetch, id_of};
use crate::domain::caps::{COLLECTION, Counted};
use crate::domain::{Error, ErrorReason};

crate::rows::body_row!(CapPrice, "cap_prices", COLLECTION, "CAP_PRICE_NOT_FOUND");

/// The cap `name` (the request's `name`), locked for a change, with the caller's etag checked.
pub async fn lock(tx: &mut Tx, name: &str, etag: &str) -> Result<CapPrice, Error> {
    let id = id_of(name, COLLECTION, "name")?;
    let row: Row = fetch(&mut **tx, id, name, ErrorReason::CapPriceNotFound, true).await?;
    check_etag(etag, row.version(), name)?;
    Ok(row.to_proto())
}

/// The cap `name`, read from the pool with no transaction.
pub async fn read(pool: &sqlx::PgPool, name: &str) -> Result<CapPrice, Error> {
    let id = id_of(name, COLLECTION, "name")?;
    let row: Row = fetch(pool, id, name, ErrorReason::CapPriceNotFound, false).await?;
    Ok(row.to_proto())
}

/// Stores a new cap under `id`.
pub async fn insert(
    tx: &mut Tx,
    id: &str,
    c: &CapPrice,
    product_id: &str,
    expected: Decimal,
    now: DateTime<Utc>,
) -> Result<CapPrice, Error> {
    let case_id = id_of(
        &c.pricing_case,
        super::cases::COLLECTION,
        "cap_price.pricing_case",
    )?;
    let row = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO cap_prices (id, pricing_case_id, product_id, state, expected_revenue, body, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(case_id)
    .bind(product_id)
    .bind(i16::try_from(c.state).unwrap_or(0))
    .bind(expected)
    .bind(c.encode_to_vec())
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.to_proto())
}

/// Writes the cap's state, expected revenue and body back.
pub async fn save(tx: &mut Tx, c: &CapPrice, now: DateTime<Utc>) -> Result<CapPrice, Error> {
    let id = id_of(&c.name, COLLECTION, "name")?;
    let expected =
        crate::domain::error::stored_required(c.expected_revenue.as_ref(), &c.name, "expected_revenue")?;
    let row = sqlx::query_as::<_, Row>(&format!(
        "UPDATE cap_prices SET state = $2, body = $3, expected_revenue = $4, update_time = $5, version = version + 1
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(i16::try_from(c.state).unwrap_or(0))
    .bind(c.encode_to_vec())
    .bind(expected.as_decimal())
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.to_proto())
}

/// What the within-MAR check of `c` sums: the case's SET and PUBLISHED caps, and the PUBLISHED cap `c` adjusts.
pub async fn counted(tx: &mut Tx, c: &CapPrice) -> Result<Counted, Error> {
    let case_id = id_of(&c.pricing_case, super::cases::COLLECTION, "pricing_case")?;
    let set_and_published: Decimal = sqlx::query_scalar(
        "SELECT COALESCE(sum(expected_revenue), 0) FROM cap_prices
         WHERE pricing_case_id = $1 AND state = ANY($2)",
    )
    .bind(case_id)
    .bind(vec![CapPriceState::Set as i16, CapPriceState::Published as i16])
    .fetch_one(&mut **tx)
    .await?;
    // A cap that adjusts another replaces its expected revenue.
    let superseded: Decimal = if c.supersedes.is_empty() {
        Decimal::ZERO
    } else {
        sqlx::query_scalar(
            "SELECT COALESCE(sum(expected_revenue), 0) FROM cap_prices WHERE id = $1 AND state = $2",
        )
        .bind(c.supersedes.trim_start_matches("capPrices/"))
        .bind(CapPriceState::Published as i16)
        .fetch_one(&mut **tx)
        .await?
    };
    Ok(Counted {
        set_and_published,
        superseded,
    })
}

/// The currently PUBLISHED cap of `product` in the case `case_id`.
pub async fn published_of(tx: &mut Tx, case_id: &str, product: &str) -> Result<Option<CapPrice>, Error> {
    let row = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM cap_prices WHERE pricing_case_id = $1 AND product_id = $2 AND state = $3
         ORDER BY id DESC LIMIT 1"
    ))
    .bind(case_id)
    .bind(product.trim_start_matches("products/"))
    .bind(CapPriceState::Published as i16)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| r.to_proto()))
}

/// A page of caps the caller may see: parties (`own` organization id) see their drafts; everyone sees what is
/// published. `None` for `own`: every cap.
pub struct Filter<'a> {
    pub after: Option<String>,
    pub case: Option<&'a str>,
    pub product: Option<&'a str>,
    pub state: i32,
    pub own: Option<String>,
    pub size: i64,
}

pub async fn list(pool: &sqlx::PgPool, f: Filter<'_>) -> Result<(Vec<CapPrice>, String), Error> {
    let mut rows = sqlx::query_as::<_, Row>(
        "SELECT p.id, p.body, p.create_time, p.update_time, p.version FROM cap_prices p
         JOIN pricing_cases c ON c.id = p.pricing_case_id
         WHERE ($1::text IS NULL OR p.id > $1)
           AND ($2::text IS NULL OR c.id = $2)
           AND ($3::text IS NULL OR p.product_id = $3)
           AND ($4::smallint = 0 OR p.state = $4)
           AND ($5::text IS NULL OR p.state >= $6 OR c.operator_id = $5 OR c.authorizing_entity_id = $5)
         ORDER BY p.id LIMIT $7",
    )
    .bind(f.after)
    .bind(f.case)
    .bind(f.product)
    .bind(i16::try_from(f.state).unwrap_or(0))
    .bind(f.own)
    .bind(CapPriceState::Published as i16)
    .bind(f.size + 1)
    .fetch_all(pool)
    .await?;
    let next = pdop_kit::handling::page_after(&mut rows, f.size, |r| r.id().to_owned());
    Ok((rows.iter().map(Row::to_proto).collect(), next))
}

/// Every PUBLISHED cap (the scheduler reads them to find those whose period is over).
pub async fn published(pool: &sqlx::PgPool) -> Result<Vec<CapPrice>, Error> {
    let rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM cap_prices WHERE state = $1 ORDER BY id"
    ))
    .bind(CapPriceState::Published as i16)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(Row::to_proto).collect())
}

/// The PUBLISHED caps of the product `product_id` in any case, locked in id order.
pub async fn lock_published_of_product(tx: &mut Tx, product_id: &str) -> Result<Vec<CapPrice>, Error> {
    let rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM cap_prices WHERE product_id = $1 AND state = $2 ORDER BY id FOR UPDATE"
    ))
    .bind(product_id)
    .bind(CapPriceState::Published as i16)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.iter().map(Row::to_proto).collect())
}
