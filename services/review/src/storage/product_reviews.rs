//! The `product_reviews` table: a product review as its message, with its parties, product and state as columns.

use chrono::{DateTime, Utc};
use pdop_kit::names;
use pdop_proto::review::v1::ProductReview;

use super::documents::{self, COLUMNS, column};
use super::{Tx, id_of};
use crate::domain::product_review::{COLLECTION, product_of};
use crate::domain::{Error, ErrorReason};

documents::document!(
    ProductReview,
    "product_reviews",
    COLLECTION,
    ErrorReason::ProductReviewNotFound
);

pub async fn lock(tx: &mut Tx, name: &str, etag: &str, field: &str) -> Result<ProductReview, Error> {
    documents::lock(tx, name, etag, field).await
}

pub async fn read(pool: &sqlx::PgPool, name: &str) -> Result<ProductReview, Error> {
    documents::read(pool, name).await
}

fn parties(r: &ProductReview) -> Vec<String> {
    let mut p: Vec<String> = [r.applicant.as_str(), r.operator.as_str()]
        .into_iter()
        .chain(r.reviewers.iter().map(|s| s.organization.as_str()))
        .filter_map(|o| names::parse(o, "organizations"))
        .map(str::to_owned)
        .collect();
    p.sort();
    p.dedup();
    p
}

/// Stores a new review; `false` when the product already has an open one (a product submitted again).
pub async fn insert(
    tx: &mut Tx,
    r: &ProductReview,
    now: DateTime<Utc>,
) -> Result<Option<ProductReview>, Error> {
    let id = id_of(&r.name, COLLECTION, "name")?;
    let row = sqlx::query_as::<_, documents::Row>(&format!(
        "INSERT INTO product_reviews
             (id, jurisdiction_id, applicant_id, operator_id, product_id, state, parties, body, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
         ON CONFLICT (product_id) WHERE product_id <> '' AND state IN (2, 3) DO NOTHING
         RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(column(&r.jurisdiction, "jurisdictions"))
    .bind(column(&r.applicant, "organizations"))
    .bind(column(&r.operator, "organizations"))
    .bind(column(product_of(r), "products"))
    .bind(i16::try_from(r.state).unwrap_or(0))
    .bind(parties(r))
    .bind(documents::stored(r))
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(documents::Row::into_document))
}

pub async fn save(tx: &mut Tx, r: &ProductReview, now: DateTime<Utc>) -> Result<ProductReview, Error> {
    let id = id_of(&r.name, COLLECTION, "name")?;
    let row = sqlx::query_as::<_, documents::Row>(&format!(
        "UPDATE product_reviews SET state = $2, parties = $3, body = $4, update_time = $5, version = version + 1
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(i16::try_from(r.state).unwrap_or(0))
    .bind(parties(r))
    .bind(documents::stored(r))
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.into_document())
}

pub struct Filter<'a> {
    pub jurisdiction: Option<&'a str>,
    pub product: Option<&'a str>,
    pub applicant: Option<&'a str>,
    pub operator: Option<&'a str>,
    pub reviewer_organization: Option<&'a str>,
    pub state: i32,
    pub visible_to: &'a str,
    pub supervised: Vec<String>,
    pub size: i64,
    pub after: Option<(DateTime<Utc>, String)>,
}

pub async fn list(pool: &sqlx::PgPool, f: Filter<'_>) -> Result<(Vec<ProductReview>, String), Error> {
    let (after_time, after_id) = f.after.unzip();
    let rows = sqlx::query_as::<_, documents::Row>(&format!(
        "SELECT {COLUMNS} FROM product_reviews
         WHERE ($1::timestamptz IS NULL OR (create_time, id) > ($1, $2))
           AND ($3::text IS NULL OR jurisdiction_id = $3)
           AND ($4::text IS NULL OR product_id = $4)
           AND ($5::text IS NULL OR applicant_id = $5)
           AND ($6::text IS NULL OR operator_id = $6)
           AND ($7::text IS NULL OR $7 = ANY(parties))
           AND ($8::smallint = 0 OR state = $8)
           AND ($9::text = ANY(parties) OR jurisdiction_id = ANY($10::text[]))
         ORDER BY create_time, id LIMIT $11"
    ))
    .bind(after_time)
    .bind(after_id)
    .bind(f.jurisdiction)
    .bind(f.product)
    .bind(f.applicant)
    .bind(f.operator)
    .bind(f.reviewer_organization)
    .bind(i16::try_from(f.state).unwrap_or(0))
    .bind(f.visible_to)
    .bind(f.supervised)
    .bind(f.size + 1)
    .fetch_all(pool)
    .await?;
    Ok(documents::page(rows, f.size))
}

/// Whether a newer review of the same registry product exists (an appeal against this one is SUPERSEDED).
pub async fn superseded(tx: &mut Tx, r: &ProductReview) -> Result<bool, Error> {
    let id = id_of(&r.name, COLLECTION, "name")?;
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM product_reviews n, product_reviews o
                        WHERE o.id = $1 AND o.product_id <> '' AND n.product_id = o.product_id
                          AND (n.create_time, n.id) > (o.create_time, o.id))",
    )
    .bind(id)
    .fetch_one(&mut **tx)
    .await?)
}
