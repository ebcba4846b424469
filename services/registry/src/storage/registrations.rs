//! The `registrations` table: the application as its message, with its kind, subject, applicant, jurisdiction,
//! state, code and validity end as columns for the listings, the code's uniqueness and the expiry sweep.

use chrono::{DateTime, NaiveDate, Utc};
use pdop_kit::convert::{etag, naive_date, timestamp};
use pdop_proto::registry::v1::registration::Subject;
use pdop_proto::registry::v1::{Registration, RegistrationState};
use prost::Message;

use super::{Tx, check_etag, id_of};
use crate::domain::registration::COLLECTION;
use crate::domain::{Error, ErrorReason};
use crate::names;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    applicant_id: String,
    body: Vec<u8>,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
    version: i64,
}

const COLUMNS: &str = "id, applicant_id, body, create_time, update_time, version";

impl Row {
    fn to_proto(&self) -> Registration {
        let mut r = Registration::decode(self.body.as_slice()).unwrap_or_default();
        r.name = names::registration(&self.id);
        r.create_time = Some(timestamp(self.create_time));
        r.update_time = Some(timestamp(self.update_time));
        r.etag = etag(self.version);
        r
    }
}

async fn fetch<'e>(db: impl sqlx::PgExecutor<'e>, id: &str, name: &str, lock: bool) -> Result<Row, Error> {
    pdop_kit::handling::fetch_row(db, "registrations", COLUMNS, id, lock)
        .await?
        .ok_or_else(|| Error::not_found(ErrorReason::RegistrationNotFound, name))
}

/// The registration `name` (the request's `field`), locked for a change, with the caller's etag checked.
pub async fn lock_named(tx: &mut Tx, name: &str, etag: &str, field: &str) -> Result<Registration, Error> {
    let id = id_of(name, COLLECTION, field)?;
    let row = fetch(&mut **tx, id, name, true).await?;
    check_etag(etag, row.version, name)?;
    Ok(row.to_proto())
}

/// The registration `name` (the request's `name`), locked for a change, with the caller's etag checked.
pub async fn lock(tx: &mut Tx, name: &str, etag: &str) -> Result<Registration, Error> {
    lock_named(tx, name, etag, "name").await
}

/// The registration `name` (the request's `field`), read in the transaction without a lock.
pub async fn get(tx: &mut Tx, name: &str, field: &str) -> Result<Registration, Error> {
    let id = id_of(name, COLLECTION, field)?;
    Ok(fetch(&mut **tx, id, name, false).await?.to_proto())
}

/// The registration `name`, read from the pool with no transaction, with its applicant's name.
pub async fn read(pool: &sqlx::PgPool, name: &str) -> Result<(Registration, String), Error> {
    let id = id_of(name, COLLECTION, "name")?;
    let row = fetch(pool, id, name, false).await?;
    Ok((row.to_proto(), names::organization(&row.applicant_id)))
}

/// The ids of the subject columns: the resource or the product registered.
fn subject_ids(reg: &Registration) -> (Option<&str>, Option<&str>) {
    match &reg.subject {
        Some(Subject::Resource(n)) => (names::parse(n, "resources"), None),
        Some(Subject::Product(n)) => (None, names::parse(n, "products")),
        None => (None, None),
    }
}

/// Stores a new application under `id`.
pub async fn insert(
    tx: &mut Tx,
    id: &str,
    reg: &Registration,
    now: DateTime<Utc>,
) -> Result<Registration, Error> {
    let (resource_id, product_id) = subject_ids(reg);
    let row = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO registrations (id, kind, resource_id, product_id, applicant_id, jurisdiction_id, state, body,
                                    create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(i16::try_from(reg.kind).unwrap_or(0))
    .bind(resource_id)
    .bind(product_id)
    .bind(reg.applicant.trim_start_matches("organizations/"))
    .bind(reg.jurisdiction.trim_start_matches("jurisdictions/"))
    .bind(i16::try_from(reg.state).unwrap_or(0))
    .bind(reg.encode_to_vec())
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.to_proto())
}

/// Writes the registration's state, code, validity end and body back.
pub async fn save(tx: &mut Tx, reg: &Registration, now: DateTime<Utc>) -> Result<Registration, Error> {
    let id = id_of(&reg.name, COLLECTION, "name")?;
    let row = sqlx::query_as::<_, Row>(&format!(
        "UPDATE registrations SET state = $2, registration_code = $3, body = $4, update_time = $5, validity_end = $6,
                version = version + 1
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(i16::try_from(reg.state).unwrap_or(0))
    .bind(Some(reg.registration_code.clone()).filter(|c| !c.is_empty()))
    .bind(reg.encode_to_vec())
    .bind(now)
    .bind(reg.validity.as_ref().and_then(|v| v.end_date.as_ref()).and_then(naive_date))
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.to_proto())
}

/// A page of registrations; `organization` limits it to one applicant's.
pub struct Filter<'a> {
    pub after: Option<(DateTime<Utc>, String)>,
    pub jurisdiction: Option<&'a str>,
    pub organization: Option<String>,
    pub resource: Option<&'a str>,
    pub kind: i32,
    pub state: i32,
    pub registration_code: &'a str,
    pub size: i64,
}

pub async fn list(pool: &sqlx::PgPool, f: Filter<'_>) -> Result<(Vec<Registration>, String), Error> {
    let (after_time, after_id) = f.after.unzip();
    let mut rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM registrations
         WHERE ($1::timestamptz IS NULL OR (create_time, id) > ($1, $2))
           AND ($3::text IS NULL OR jurisdiction_id = $3)
           AND ($4::text IS NULL OR applicant_id = $4)
           AND ($5::text IS NULL OR resource_id = $5)
           AND ($6::smallint = 0 OR kind = $6)
           AND ($7::smallint = 0 OR state = $7)
           AND ($8::text = '' OR registration_code = $8)
         ORDER BY create_time, id LIMIT $9"
    ))
    .bind(after_time)
    .bind(after_id)
    .bind(f.jurisdiction)
    .bind(f.organization)
    .bind(f.resource)
    .bind(i16::try_from(f.kind).unwrap_or(0))
    .bind(i16::try_from(f.state).unwrap_or(0))
    .bind(f.registration_code.trim())
    .bind(f.size + 1)
    .fetch_all(pool)
    .await?;
    let next = pdop_kit::handling::page_after(&mut rows, f.size, |r| (r.create_time, r.id.clone()));
    Ok((rows.iter().map(Row::to_proto).collect(), next))
}

/// Names of CODED registrations whose validity ended before `today` (at most 100 a sweep).
pub async fn due_for_expiry(pool: &sqlx::PgPool, today: NaiveDate) -> Result<Vec<String>, Error> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM registrations WHERE state = $1 AND validity_end < $2 ORDER BY id LIMIT 100",
    )
    .bind(RegistrationState::Coded as i16)
    .bind(today)
    .fetch_all(pool)
    .await?;
    Ok(ids.iter().map(|id| names::registration(id)).collect())
}

/// The next free code for `division` in `year`. Codes are numbered per code space (the code without its sequence
/// number), not per jurisdiction: jurisdictions may share a division code, and a format may leave the division
/// out, yet every code must stay unique. A code already taken (numbered before code spaces) is skipped.
pub async fn next_code(tx: &mut Tx, pattern: &str, division: &str, year: i32) -> Result<String, Error> {
    use crate::domain::registration::{code_space, format_code};
    if !pattern.contains("{seq}") {
        return Err(Error::Internal(anyhow::anyhow!(
            "registry.registration_code_format `{pattern}` has no {{seq}}, so its codes cannot be unique"
        )));
    }
    let space = code_space(pattern, division, year);
    loop {
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO registration_code_spaces (space, last) VALUES ($1, 1)
             ON CONFLICT (space) DO UPDATE SET last = registration_code_spaces.last + 1
             RETURNING last",
        )
        .bind(&space)
        .fetch_one(&mut **tx)
        .await?;
        let code = format_code(pattern, division, year, seq);
        let taken: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM registrations WHERE registration_code = $1)")
                .bind(&code)
                .fetch_one(&mut **tx)
                .await?;
        if !taken {
            return Ok(code);
        }
    }
}
