//! The `evaluations` table: an evaluation as its message, with its campaign, subject, year, state, grade, the
//! self-assessment due date and parties.

use chrono::{DateTime, NaiveDate, Utc};
use pdop_kit::convert::due_date;
use pdop_kit::documents::{self, COLUMNS, Row, column};
use pdop_proto::evaluation::v1::{Evaluation, EvaluationState};

use super::{Tx, id_of};
use crate::domain::evaluation::COLLECTION;
use crate::domain::{Error, ErrorReason};

super::document!(
    Evaluation,
    "evaluations",
    COLLECTION,
    ErrorReason::EvaluationNotFound
);

pub async fn lock(tx: &mut Tx, name: &str, etag: &str) -> Result<Evaluation, Error> {
    documents::lock(tx, name, etag, "name").await
}

pub async fn read<'e>(db: impl sqlx::PgExecutor<'e>, name: &str) -> Result<Evaluation, Error> {
    documents::read(db, name).await
}

fn parties(e: &Evaluation) -> Vec<String> {
    [&e.subject, &e.evaluating_organization]
        .into_iter()
        .chain(e.evaluators.iter().map(|a| &a.organization))
        .map(|o| column(o, "organizations"))
        .collect()
}

fn grade(e: &Evaluation) -> i16 {
    let result = e.final_result.as_ref().or(e.result.as_ref());
    result.map_or(0, |r| i16::try_from(r.grade).unwrap_or(0))
}

pub async fn insert(tx: &mut Tx, e: &Evaluation, now: DateTime<Utc>) -> Result<Evaluation, Error> {
    let id = id_of(&e.name, COLLECTION, "name")?;
    let row = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO evaluations (id, campaign_id, jurisdiction_id, subject_id, year, state, grade, self_due,
                                  parties, body, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(column(&e.campaign, crate::domain::campaign::COLLECTION))
    .bind(column(&e.jurisdiction, "jurisdictions"))
    .bind(column(&e.subject, "organizations"))
    .bind(e.year)
    .bind(i16::try_from(e.state).unwrap_or(0))
    .bind(grade(e))
    .bind(due_date(e.self_assessment_deadline.as_ref()))
    .bind(parties(e))
    .bind(documents::stored(e))
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.into_document())
}

pub async fn save(tx: &mut Tx, e: &Evaluation, now: DateTime<Utc>) -> Result<Evaluation, Error> {
    let id = id_of(&e.name, COLLECTION, "name")?;
    let row = sqlx::query_as::<_, Row>(&format!(
        "UPDATE evaluations SET state = $2, grade = $3, self_due = $4, parties = $5, body = $6, update_time = $7,
                version = version + 1
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(i16::try_from(e.state).unwrap_or(0))
    .bind(grade(e))
    .bind(due_date(e.self_assessment_deadline.as_ref()))
    .bind(parties(e))
    .bind(documents::stored(e))
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.into_document())
}

/// Every evaluation of a campaign, locked (closing a campaign, changing its evaluators).
pub async fn of_campaign(tx: &mut Tx, campaign: &str) -> Result<Vec<Evaluation>, Error> {
    let rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM evaluations WHERE campaign_id = $1 ORDER BY create_time, id FOR UPDATE"
    ))
    .bind(column(campaign, crate::domain::campaign::COLLECTION))
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(Row::into_document).collect())
}

/// Up to 100 evaluations still collecting data whose self-assessment date passed before `today`.
pub async fn collection_passed(pool: &sqlx::PgPool, today: NaiveDate) -> Result<Vec<String>, Error> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM evaluations WHERE state = $1 AND self_due < $2 ORDER BY self_due, id LIMIT 100",
    )
    .bind(EvaluationState::DataCollection as i16)
    .bind(today)
    .fetch_all(pool)
    .await?;
    Ok(ids.into_iter().map(|id| format!("{COLLECTION}/{id}")).collect())
}

pub struct Filter<'a> {
    pub campaign: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub jurisdiction: Option<&'a str>,
    pub year: i32,
    pub state: i32,
    pub grade: i32,
    pub visible_to: &'a str,
    pub supervised: Vec<String>,
    pub size: i64,
    pub after: Option<(DateTime<Utc>, String)>,
}

pub async fn list(pool: &sqlx::PgPool, f: Filter<'_>) -> Result<(Vec<Evaluation>, String), Error> {
    let (after_time, after_id) = f.after.unzip();
    let rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM evaluations
         WHERE ($1::timestamptz IS NULL OR (create_time, id) > ($1, $2))
           AND ($3::text IS NULL OR campaign_id = $3)
           AND ($4::text IS NULL OR subject_id = $4)
           AND ($5::text IS NULL OR jurisdiction_id = $5)
           AND ($6::integer = 0 OR year = $6)
           AND ($7::smallint = 0 OR state = $7)
           AND ($8::smallint = 0 OR grade = $8)
           AND ($9 = ANY(parties) OR jurisdiction_id = ANY($10::text[]))
         ORDER BY create_time, id LIMIT $11"
    ))
    .bind(after_time)
    .bind(after_id)
    .bind(f.campaign)
    .bind(f.subject)
    .bind(f.jurisdiction)
    .bind(f.year)
    .bind(i16::try_from(f.state).unwrap_or(0))
    .bind(i16::try_from(f.grade).unwrap_or(0))
    .bind(f.visible_to)
    .bind(f.supervised)
    .bind(f.size + 1)
    .fetch_all(pool)
    .await?;
    Ok(documents::page(rows, f.size))
}
