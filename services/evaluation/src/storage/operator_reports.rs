//! The `operator_reports` table (a report as its message, with its operator, agreement, period, recipients and
//! state as columns) and `operator_report_dues` (each report an agreement owes, settled once after its due date).

use chrono::{DateTime, NaiveDate, Utc};
use pdop_kit::documents::{self, COLUMNS, Row, column};
use pdop_kit::handling::is_unique_violation;
use pdop_proto::evaluation::v1::OperatorReport;

use super::{Tx, facts, id_of, new_id};
use crate::domain::report_dues::Expected;
use crate::domain::reports::{COLLECTION, Parties};
use crate::domain::{Error, ErrorReason};

super::document!(
    OperatorReport,
    "operator_reports",
    COLLECTION,
    ErrorReason::OperatorReportNotFound
);

/// A fresh `operatorReports/{id}`.
pub fn new_name() -> String {
    format!("{COLLECTION}/{}", new_id())
}

/// Stores a new report; a second one for the same agreement, kind and period is ALREADY_EXISTS.
pub async fn insert(tx: &mut Tx, r: &OperatorReport, now: DateTime<Utc>) -> Result<OperatorReport, Error> {
    let id = id_of(&r.name, COLLECTION, "name")?;
    let inserted = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO operator_reports (id, jurisdiction_id, operator_id, agreement_id, kind, year, quarter, recipients,
                                       state, body, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(column(&r.jurisdiction, "jurisdictions"))
    .bind(column(&r.operator, "organizations"))
    .bind(column(&r.agreement, "agreements"))
    .bind(i16::try_from(r.kind).unwrap_or(0))
    .bind(r.year)
    .bind(r.quarter)
    .bind(&r.recipients)
    .bind(i16::try_from(r.state).unwrap_or(0))
    .bind(documents::stored::<ErrorReason, _>(r))
    .bind(now)
    .fetch_one(&mut **tx)
    .await;
    match inserted {
        Ok(row) => Ok(row.into_document()),
        Err(e) if is_unique_violation(&e) => Err(Error::AlreadyExists {
            reason: ErrorReason::ReportExists,
            message: format!(
                "{} already has a report of kind {} for {} quarter {}: one report per period (§3.7)",
                r.agreement, r.kind, r.year, r.quarter
            ),
        }),
        Err(e) => Err(e.into()),
    }
}

pub async fn lock(tx: &mut Tx, name: &str, etag: &str, field: &str) -> Result<OperatorReport, Error> {
    documents::lock(tx, name, etag, field).await
}

pub async fn read(pool: &sqlx::PgPool, name: &str) -> Result<OperatorReport, Error> {
    documents::read(pool, name).await
}

pub async fn save(tx: &mut Tx, r: &OperatorReport, now: DateTime<Utc>) -> Result<OperatorReport, Error> {
    documents::save(tx, r, &r.name, r.state, now).await
}

/// The report of `agreement` (an id) for the period of `e`, if one was started.
pub async fn of_period(tx: &mut Tx, agreement: &str, e: &Expected) -> Result<Option<OperatorReport>, Error> {
    let row = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM operator_reports WHERE agreement_id = $1 AND kind = $2 AND year = $3 AND quarter = $4"
    ))
    .bind(agreement)
    .bind(e.kind as i16)
    .bind(e.year)
    .bind(e.quarter)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(Row::into_document))
}

pub struct Filter<'a> {
    pub operator: Option<&'a str>,
    pub agreement: Option<&'a str>,
    pub jurisdiction: Option<&'a str>,
    pub kind: i32,
    pub year: i32,
    pub state: i32,
    /// The caller's organization id: its own reports and those addressed to it.
    pub visible_to: &'a str,
    /// Jurisdiction ids whose reports the caller supervises.
    pub supervised: Vec<String>,
    pub size: i64,
    pub after: Option<(i32, i32, String)>,
}

/// A page ordered by year and quarter, latest first, then name.
pub async fn list(pool: &sqlx::PgPool, f: Filter<'_>) -> Result<(Vec<OperatorReport>, String), Error> {
    let (year, quarter, id) = match f.after {
        Some((y, q, id)) => (Some(y), Some(q), Some(id)),
        None => (None, None, None),
    };
    let mut rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM operator_reports
         WHERE ($1::int IS NULL OR (year, quarter) < ($1, $2) OR ((year, quarter) = ($1, $2) AND id > $3))
           AND ($4::text IS NULL OR operator_id = $4)
           AND ($5::text IS NULL OR agreement_id = $5)
           AND ($6::text IS NULL OR jurisdiction_id = $6)
           AND ($7::smallint = 0 OR kind = $7)
           AND ($8::int = 0 OR year = $8)
           AND ($9::smallint = 0 OR state = $9)
           AND (operator_id = $10 OR ('organizations/' || $10) = ANY(recipients)
                OR jurisdiction_id = ANY($11::text[]))
         ORDER BY year DESC, quarter DESC, id LIMIT $12"
    ))
    .bind(year)
    .bind(quarter)
    .bind(id)
    .bind(f.operator)
    .bind(f.agreement)
    .bind(f.jurisdiction)
    .bind(i16::try_from(f.kind).unwrap_or(0))
    .bind(f.year)
    .bind(i16::try_from(f.state).unwrap_or(0))
    .bind(f.visible_to)
    .bind(f.supervised)
    .bind(f.size + 1)
    .fetch_all(pool)
    .await?;
    let size = usize::try_from(f.size).unwrap_or(usize::MAX);
    let more = rows.len() > size;
    rows.truncate(size);
    let reports: Vec<OperatorReport> = rows.into_iter().map(Row::into_document).collect();
    let next = match reports.last() {
        Some(r) if more => {
            pdop_kit::pagination::encode_token(&(r.year, r.quarter, column(&r.name, COLLECTION)))
        }
        _ => String::new(),
    };
    Ok((reports, next))
}

/// An agreement the registry announced as in force at some time, with the days it was.
#[derive(Debug, Clone)]
pub struct InForce {
    pub agreement: String,
    pub jurisdiction: String,
    pub operator: String,
    pub from: NaiveDate,
    pub until: Option<NaiveDate>,
}

/// Every agreement that has been in force (the operators owing reports).
pub async fn agreements_in_force(pool: &sqlx::PgPool) -> Result<Vec<InForce>, Error> {
    let rows: Vec<(String, String, String, NaiveDate, Option<NaiveDate>)> = sqlx::query_as(
        "SELECT id, jurisdiction_id, operator_id, active_from, active_until FROM agreements
         WHERE activated AND active_from IS NOT NULL ORDER BY id",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(a, j, o, from, until)| InForce {
            agreement: format!("agreements/{a}"),
            jurisdiction: format!("jurisdictions/{j}"),
            operator: format!("organizations/{o}"),
            from,
            until,
        })
        .collect())
}

/// The periods of `agreement` (an id) already settled, as (kind, year, quarter).
pub async fn settled(pool: &sqlx::PgPool, agreement: &str) -> Result<Vec<(i16, i32, i32)>, Error> {
    Ok(
        sqlx::query_as("SELECT kind, year, quarter FROM operator_report_dues WHERE agreement_id = $1")
            .bind(agreement)
            .fetch_all(pool)
            .await?,
    )
}

/// Settles the period of `e` for `agreement` (an id) as overdue or on time; `false` when it was settled already.
pub async fn settle(
    tx: &mut Tx,
    agreement: &str,
    e: &Expected,
    overdue: bool,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    let due = pdop_kit::convert::due_date(Some(&e.due))
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("a report due of {agreement} has no date")))?;
    let inserted = sqlx::query(
        "INSERT INTO operator_report_dues (agreement_id, kind, year, quarter, due, overdue, settled_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind(agreement)
    .bind(e.kind as i16)
    .bind(e.year)
    .bind(e.quarter)
    .bind(due)
    .bind(overdue)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// The references a report's events carry.
pub async fn parties(tx: &mut Tx, r: &OperatorReport) -> Result<Parties, Error> {
    Ok(Parties {
        operator: facts::organization(tx, &r.operator).await?,
        jurisdiction: facts::jurisdiction(tx, &r.jurisdiction).await?,
    })
}
