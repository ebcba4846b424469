//! The `campaigns` table: a campaign as its message, with its jurisdiction, evaluating organization, subject kind,
//! year, covered period, state and parties.

use chrono::{DateTime, NaiveDate, Utc};
use pdop_kit::documents::{self, COLUMNS, Row, column};
use pdop_proto::evaluation::v1::EvaluationCampaign;

use super::{Tx, id_of};
use crate::domain::campaign::{COLLECTION, period};
use crate::domain::{Error, ErrorReason};

super::document!(
    EvaluationCampaign,
    "campaigns",
    COLLECTION,
    ErrorReason::CampaignNotFound
);

pub async fn lock(tx: &mut Tx, name: &str, etag: &str) -> Result<EvaluationCampaign, Error> {
    documents::lock(tx, name, etag, "name").await
}

pub async fn read<'e>(db: impl sqlx::PgExecutor<'e>, name: &str) -> Result<EvaluationCampaign, Error> {
    documents::read(db, name).await
}

fn parties(c: &EvaluationCampaign) -> Vec<String> {
    std::iter::once(&c.evaluating_organization)
        .chain(&c.evaluators)
        .chain(&c.subjects)
        .map(|o| column(o, "organizations"))
        .collect()
}

fn days(c: &EvaluationCampaign) -> (NaiveDate, NaiveDate) {
    period(c).unwrap_or_default()
}

pub async fn insert(
    tx: &mut Tx,
    c: &EvaluationCampaign,
    now: DateTime<Utc>,
) -> Result<EvaluationCampaign, Error> {
    let id = id_of(&c.name, COLLECTION, "name")?;
    let (from, until) = days(c);
    let row = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO campaigns (id, jurisdiction_id, evaluating_id, subject_kind, year, period_start, period_end,
                                state, parties, body, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(column(&c.jurisdiction, "jurisdictions"))
    .bind(column(&c.evaluating_organization, "organizations"))
    .bind(i16::try_from(c.subject_kind).unwrap_or(0))
    .bind(c.year)
    .bind(from)
    .bind(until)
    .bind(i16::try_from(c.state).unwrap_or(0))
    .bind(parties(c))
    .bind(documents::stored(c))
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.into_document())
}

pub async fn save(
    tx: &mut Tx,
    c: &EvaluationCampaign,
    now: DateTime<Utc>,
) -> Result<EvaluationCampaign, Error> {
    let id = id_of(&c.name, COLLECTION, "name")?;
    let (from, until) = days(c);
    let row = sqlx::query_as::<_, Row>(&format!(
        "UPDATE campaigns SET jurisdiction_id = $2, subject_kind = $3, year = $4, period_start = $5,
                period_end = $6, state = $7, parties = $8, body = $9, update_time = $10, version = version + 1
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(column(&c.jurisdiction, "jurisdictions"))
    .bind(i16::try_from(c.subject_kind).unwrap_or(0))
    .bind(c.year)
    .bind(from)
    .bind(until)
    .bind(i16::try_from(c.state).unwrap_or(0))
    .bind(parties(c))
    .bind(documents::stored(c))
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.into_document())
}

/// Another campaign of the same jurisdiction, subject kind and evaluating organization that clashes with `c`:
/// the same year (`annual`), or an overlapping covered period (`periodic`) (inferred, §3.3).
pub async fn clashing(tx: &mut Tx, c: &EvaluationCampaign, annual: bool) -> Result<Option<String>, Error> {
    let (from, until) = days(c);
    let id: Option<String> = sqlx::query_scalar(
        "SELECT id FROM campaigns
         WHERE id <> $1 AND jurisdiction_id = $2 AND subject_kind = $3 AND evaluating_id = $4
           AND (CASE WHEN $5 THEN year = $6 ELSE period_start <= $8 AND period_end >= $7 END)
         LIMIT 1",
    )
    .bind(column(&c.name, COLLECTION))
    .bind(column(&c.jurisdiction, "jurisdictions"))
    .bind(i16::try_from(c.subject_kind).unwrap_or(0))
    .bind(column(&c.evaluating_organization, "organizations"))
    .bind(annual)
    .bind(c.year)
    .bind(from)
    .bind(until)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(id.map(|id| format!("{COLLECTION}/{id}")))
}

pub struct Filter<'a> {
    pub jurisdiction: Option<&'a str>,
    pub year: i32,
    pub subject_kind: i32,
    pub evaluating: Option<&'a str>,
    pub state: i32,
    pub visible_to: &'a str,
    pub supervised: Vec<String>,
    pub size: i64,
    pub after: Option<(DateTime<Utc>, String)>,
}

pub async fn list(pool: &sqlx::PgPool, f: Filter<'_>) -> Result<(Vec<EvaluationCampaign>, String), Error> {
    let (after_time, after_id) = f.after.unzip();
    let rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM campaigns
         WHERE ($1::timestamptz IS NULL OR (create_time, id) > ($1, $2))
           AND ($3::text IS NULL OR jurisdiction_id = $3)
           AND ($4::integer = 0 OR year = $4)
           AND ($5::smallint = 0 OR subject_kind = $5)
           AND ($6::text IS NULL OR evaluating_id = $6)
           AND ($7::smallint = 0 OR state = $7)
           AND ($8 = ANY(parties) OR jurisdiction_id = ANY($9::text[]))
         ORDER BY create_time, id LIMIT $10"
    ))
    .bind(after_time)
    .bind(after_id)
    .bind(f.jurisdiction)
    .bind(f.year)
    .bind(i16::try_from(f.subject_kind).unwrap_or(0))
    .bind(f.evaluating)
    .bind(i16::try_from(f.state).unwrap_or(0))
    .bind(f.visible_to)
    .bind(f.supervised)
    .bind(f.size + 1)
    .fetch_all(pool)
    .await?;
    Ok(documents::page(rows, f.size))
}
