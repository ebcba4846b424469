//! The `annual_checks` table: one check per case and year, kept as its message.

use chrono::{DateTime, Utc};
use pdop_kit::handling::Stored;
use pdop_proto::pricing::v1::{AnnualCheck, PricingCase};
use prost::Message;

use super::{Tx, check_etag, fetch, id_of};
use crate::domain::annual::COLLECTION;
use crate::domain::{Error, ErrorReason};

crate::rows::body_row!(AnnualCheck, "annual_checks", COLLECTION, "ANNUAL_CHECK_NOT_FOUND");

/// The check `name` (the request's `name`), locked for a change, with the caller's etag checked.
pub async fn lock(tx: &mut Tx, name: &str, etag: &str) -> Result<AnnualCheck, Error> {
    let id = id_of(name, COLLECTION, "name")?;
    let row: Row = fetch(&mut **tx, id, name, ErrorReason::AnnualCheckNotFound, true).await?;
    check_etag(etag, row.version(), name)?;
    Ok(row.to_proto())
}

/// The check `name`, read from the pool with no transaction.
pub async fn read(pool: &sqlx::PgPool, name: &str) -> Result<AnnualCheck, Error> {
    let id = id_of(name, COLLECTION, "name")?;
    let row: Row = fetch(pool, id, name, ErrorReason::AnnualCheckNotFound, false).await?;
    Ok(row.to_proto())
}

/// Stores a new check under `id`; a second check of the same case and year is ALREADY_EXISTS.
pub async fn insert(
    tx: &mut Tx,
    id: &str,
    a: &AnnualCheck,
    case_id: &str,
    now: DateTime<Utc>,
) -> Result<AnnualCheck, Error> {
    let inserted = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO annual_checks (id, pricing_case_id, year, state, body, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(case_id)
    .bind(a.year)
    .bind(i16::try_from(a.state).unwrap_or(0))
    .bind(a.encode_to_vec())
    .bind(now)
    .fetch_one(&mut **tx)
    .await;
    match inserted {
        Ok(row) => Ok(row.to_proto()),
        Err(err) if pdop_kit::handling::is_unique_violation(&err) => Err(Error::AlreadyExists {
            reason: ErrorReason::CheckExists,
            message: format!("{} already has a check for {}", a.pricing_case, a.year),
        }),
        Err(err) => Err(err.into()),
    }
}

/// Writes the check's state and body back.
pub async fn save(tx: &mut Tx, a: &AnnualCheck, now: DateTime<Utc>) -> Result<AnnualCheck, Error> {
    let id = id_of(&a.name, COLLECTION, "name")?;
    let row = sqlx::query_as::<_, Row>(&format!(
        "UPDATE annual_checks SET state = $2, body = $3, update_time = $4, version = version + 1
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(i16::try_from(a.state).unwrap_or(0))
    .bind(a.encode_to_vec())
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.to_proto())
}

/// A check with the body of its case, so that readability is decided by the same rule as a single read.
#[derive(sqlx::FromRow)]
struct Listed {
    #[sqlx(flatten)]
    row: Row,
    case_body: Vec<u8>,
    case_id: String,
    year: i32,
}

pub struct Filter<'a> {
    pub after: Option<(String, i32)>,
    pub case: Option<&'a str>,
    pub year: i32,
    pub state: i32,
    pub size: i64,
}

/// A page of checks ordered by case and year, each with its case; the token points after the last row read.
pub async fn list(
    pool: &sqlx::PgPool,
    f: Filter<'_>,
) -> Result<(Vec<(AnnualCheck, PricingCase)>, String), Error> {
    let (after_case, after_year) = f.after.unzip();
    let mut rows = sqlx::query_as::<_, Listed>(
        "SELECT a.id, a.body, a.create_time, a.update_time, a.version, a.year,
                c.id AS case_id, c.body AS case_body
         FROM annual_checks a JOIN pricing_cases c ON c.id = a.pricing_case_id
         WHERE ($1::text IS NULL OR (c.id, a.year) > ($1, $2))
           AND ($3::text IS NULL OR c.id = $3)
           AND ($4 = 0 OR a.year = $4)
           AND ($5::smallint = 0 OR a.state = $5)
         ORDER BY c.id, a.year LIMIT $6",
    )
    .bind(after_case)
    .bind(after_year)
    .bind(f.case)
    .bind(f.year)
    .bind(i16::try_from(f.state).unwrap_or(0))
    .bind(f.size + 1)
    .fetch_all(pool)
    .await?;
    let next = pdop_kit::handling::page_after(&mut rows, f.size, |r| (r.case_id.clone(), r.year));
    let checks = rows
        .iter()
        .filter_map(|r| {
            let case = PricingCase::decode(r.case_body.as_slice()).ok()?;
            Some((r.row.to_proto(), case))
        })
        .collect();
    Ok((checks, next))
}
