//! The `evidence_records` table: each record as its message (with who recorded it, since records never change),
//! beside the organization, jurisdiction, kind, date and source event that listings and evaluations select by.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use pdop_kit::convert::naive_date;
use pdop_kit::documents::{self, COLUMNS, Document, Row, column};
use pdop_proto::evaluation::v1::EvidenceRecord;
use prost::Message;

use super::{Tx, id_of};
use crate::domain::evidence::COLLECTION;
use crate::domain::{Error, ErrorReason};

/// A record's only output field kept by the row is its name: `recorded` is written once, in the body.
impl Document<ErrorReason> for EvidenceRecord {
    const TABLE: &'static str = "evidence_records";
    const COLLECTION: &'static str = COLLECTION;
    const NOT_FOUND: ErrorReason = ErrorReason::EvidenceRecordNotFound;

    fn stamp(
        &mut self,
        name: String,
        _create_time: Option<prost_types::Timestamp>,
        _update_time: Option<prost_types::Timestamp>,
        _etag: String,
    ) {
        self.name = name;
    }
}

/// Stores a new record. A collected fact already recorded for the same (source event, organization) is not
/// recorded again (§3.5): `None` then.
pub async fn insert(
    tx: &mut Tx,
    r: &EvidenceRecord,
    now: DateTime<Utc>,
) -> Result<Option<EvidenceRecord>, Error> {
    let id = id_of(&r.name, COLLECTION, "name")?;
    let occur_time = r
        .occur_time
        .as_ref()
        .and_then(|t| DateTime::<Utc>::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
        .unwrap_or(now);
    let occur_date = r
        .occur_date
        .as_ref()
        .and_then(naive_date)
        .unwrap_or_else(|| pdop_kit::clock::china_date(occur_time));
    let source = Some(r.source_event_id.as_str()).filter(|s| !s.is_empty());
    let row = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO evidence_records (id, organization_id, jurisdiction_id, kind, occur_time, occur_date,
                                       source_event_id, body, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
         ON CONFLICT (source_event_id, organization_id) WHERE source_event_id IS NOT NULL DO NOTHING
         RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(column(&r.organization, "organizations"))
    .bind(column(&r.jurisdiction, "jurisdictions"))
    .bind(i16::try_from(r.kind).unwrap_or(0))
    .bind(occur_time)
    .bind(occur_date)
    .bind(source)
    .bind(documents::stored(r))
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(Row::into_document))
}

pub async fn read(pool: &sqlx::PgPool, name: &str) -> Result<EvidenceRecord, Error> {
    documents::read(pool, name).await
}

#[derive(sqlx::FromRow)]
struct Listed {
    id: String,
    body: Vec<u8>,
    occur_time: DateTime<Utc>,
}

impl Listed {
    fn into_record(self) -> Result<EvidenceRecord, Error> {
        let mut r = EvidenceRecord::decode(self.body.as_slice())
            .map_err(|e| Error::Internal(anyhow::anyhow!("{COLLECTION}/{}: {e}", self.id)))?;
        r.name = format!("{COLLECTION}/{}", self.id);
        Ok(r)
    }
}

fn records(rows: Vec<Listed>) -> Result<Vec<EvidenceRecord>, Error> {
    rows.into_iter().map(Listed::into_record).collect()
}

/// The records about `organization` (`organizations/…`) whose fact is dated within `from..=until` (Asia/Shanghai),
/// by date, then time: what an evaluation of that covered period links (§3.3).
pub async fn of_period(
    tx: &mut Tx,
    organization: &str,
    from: NaiveDate,
    until: NaiveDate,
) -> Result<Vec<EvidenceRecord>, Error> {
    let rows = sqlx::query_as::<_, Listed>(
        "SELECT id, body, occur_time FROM evidence_records
         WHERE organization_id = $1 AND occur_date BETWEEN $2 AND $3
         ORDER BY occur_date, occur_time, id",
    )
    .bind(column(organization, "organizations"))
    .bind(from)
    .bind(until)
    .fetch_all(&mut **tx)
    .await?;
    records(rows)
}

/// The providers of `resources` the registry has announced, by resource name (`resources/…` →
/// `organizations/…`).
pub async fn providers(tx: &mut Tx, resources: &[String]) -> Result<BTreeMap<String, String>, Error> {
    let ids: Vec<String> = resources.iter().map(|r| column(r, "resources")).collect();
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, provider_id FROM resources WHERE id = ANY($1) AND provider_id <> ''")
            .bind(&ids)
            .fetch_all(&mut **tx)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(r, p)| (format!("resources/{r}"), format!("organizations/{p}")))
        .collect())
}

/// ListEvidenceRecords: the request's filters (ids, without collection), and what the caller may see: the
/// records about its own organization and, for a supervisor, those of the jurisdictions it supervises.
pub struct Filter<'a> {
    pub organization: Option<&'a str>,
    pub jurisdiction: Option<&'a str>,
    pub kind: i32,
    pub occur_after: Option<NaiveDate>,
    pub occur_before: Option<NaiveDate>,
    pub visible_to: &'a str,
    pub supervised: Vec<String>,
    pub size: i64,
    pub after: Option<(DateTime<Utc>, String)>,
}

/// A page of records ordered by occur_time, then name, and the token after it.
pub async fn list(pool: &sqlx::PgPool, f: Filter<'_>) -> Result<(Vec<EvidenceRecord>, String), Error> {
    let (after_time, after_id) = f.after.unzip();
    let mut rows = sqlx::query_as::<_, Listed>(
        "SELECT id, body, occur_time FROM evidence_records
         WHERE ($1::timestamptz IS NULL OR (occur_time, id) > ($1, $2))
           AND ($3::text IS NULL OR organization_id = $3)
           AND ($4::text IS NULL OR jurisdiction_id = $4)
           AND ($5::smallint = 0 OR kind = $5)
           AND ($6::date IS NULL OR occur_date >= $6)
           AND ($7::date IS NULL OR occur_date <= $7)
           AND (organization_id = $8 OR jurisdiction_id = ANY($9::text[]))
         ORDER BY occur_time, id LIMIT $10",
    )
    .bind(after_time)
    .bind(after_id)
    .bind(f.organization)
    .bind(f.jurisdiction)
    .bind(i16::try_from(f.kind).unwrap_or(-1))
    .bind(f.occur_after)
    .bind(f.occur_before)
    .bind(f.visible_to)
    .bind(f.supervised)
    .bind(f.size + 1)
    .fetch_all(pool)
    .await?;
    let next = pdop_kit::handling::page_after(&mut rows, f.size, |r| (r.occur_time, r.id.clone()));
    Ok((records(rows)?, next))
}

#[cfg(test)]
#[path = "evidence_tests.rs"]
mod tests;
