//! The `scenario_applications` table: the application as its message, with its jurisdiction, operator,
//! agreement, state and parties (applicant and panel organizations) as columns.

use chrono::{DateTime, Utc};
use pdop_kit::names;
use pdop_proto::review::v1::{ScenarioApplication, ScenarioApplicationState};

use super::documents::{self, COLUMNS, column};
use super::{Tx, id_of};
use crate::domain::scenario::COLLECTION;
use crate::domain::{Error, ErrorReason};

documents::document!(
    ScenarioApplication,
    "scenario_applications",
    COLLECTION,
    ErrorReason::ScenarioApplicationNotFound
);

/// The application `name` (the request's `field`), locked for a change, with the caller's etag checked.
pub async fn lock(tx: &mut Tx, name: &str, etag: &str, field: &str) -> Result<ScenarioApplication, Error> {
    documents::lock(tx, name, etag, field).await
}

/// The application `name`, read from the pool with no transaction.
pub async fn read(pool: &sqlx::PgPool, name: &str) -> Result<ScenarioApplication, Error> {
    documents::read(pool, name).await
}

fn parties(a: &ScenarioApplication) -> Vec<String> {
    let mut p: Vec<String> = std::iter::once(a.operator.as_str())
        .chain(a.reviewers.iter().map(|s| s.organization.as_str()))
        .filter_map(|o| names::parse(o, "organizations"))
        .map(str::to_owned)
        .collect();
    p.sort();
    p.dedup();
    p
}

fn resources(a: &ScenarioApplication) -> Vec<String> {
    a.data_demands
        .iter()
        .map(|d| column(&d.resource, "resources"))
        .collect()
}

pub async fn insert(
    tx: &mut Tx,
    a: &ScenarioApplication,
    now: DateTime<Utc>,
) -> Result<ScenarioApplication, Error> {
    let id = id_of(&a.name, COLLECTION, "name")?;
    let row = sqlx::query_as::<_, documents::Row>(&format!(
        "INSERT INTO scenario_applications
             (id, jurisdiction_id, operator_id, agreement_id, state, parties, resources, body, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(column(&a.jurisdiction, "jurisdictions"))
    .bind(column(&a.operator, "organizations"))
    .bind(column(&a.agreement, "agreements"))
    .bind(i16::try_from(a.state).unwrap_or(0))
    .bind(parties(a))
    .bind(resources(a))
    .bind(documents::stored(a))
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.into_document())
}

pub async fn save(
    tx: &mut Tx,
    a: &ScenarioApplication,
    now: DateTime<Utc>,
) -> Result<ScenarioApplication, Error> {
    let id = id_of(&a.name, COLLECTION, "name")?;
    let row = sqlx::query_as::<_, documents::Row>(&format!(
        "UPDATE scenario_applications SET state = $2, parties = $3, resources = $4, body = $5, update_time = $6,
                                          version = version + 1
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(i16::try_from(a.state).unwrap_or(0))
    .bind(parties(a))
    .bind(resources(a))
    .bind(documents::stored(a))
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.into_document())
}

/// Names of the APPROVED applications under an agreement (R-RV-15 revokes them when it ends).
pub async fn approved_under(tx: &mut Tx, agreement_id: &str) -> Result<Vec<String>, Error> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM scenario_applications WHERE agreement_id = $1 AND state = $2 ORDER BY id",
    )
    .bind(agreement_id)
    .bind(ScenarioApplicationState::Approved as i16)
    .fetch_all(&mut **tx)
    .await?;
    Ok(ids.iter().map(|id| format!("{COLLECTION}/{id}")).collect())
}

/// What a listing filters on; `visible_to` limits it to applications where the organization is a party, and
/// `jurisdictions` (a supervisor's own and those below) widens it to every application there.
pub struct Filter<'a> {
    pub jurisdiction: Option<&'a str>,
    pub operator: Option<&'a str>,
    pub agreement: Option<&'a str>,
    pub reviewer_organization: Option<&'a str>,
    pub resource: Option<&'a str>,
    pub state: i32,
    pub visible_to: &'a str,
    pub supervised: Option<Vec<String>>,
    pub size: i64,
    pub after: Option<(DateTime<Utc>, String)>,
}

pub async fn list(pool: &sqlx::PgPool, f: Filter<'_>) -> Result<(Vec<ScenarioApplication>, String), Error> {
    let (after_time, after_id) = f.after.unzip();
    let rows = sqlx::query_as::<_, documents::Row>(&format!(
        "SELECT {COLUMNS} FROM scenario_applications
         WHERE ($1::timestamptz IS NULL OR (create_time, id) > ($1, $2))
           AND ($3::text IS NULL OR jurisdiction_id = $3)
           AND ($4::text IS NULL OR operator_id = $4)
           AND ($5::text IS NULL OR agreement_id = $5)
           AND ($6::text IS NULL OR $6 = ANY(parties))
           AND ($7::smallint = 0 OR state = $7)
           AND ($8::text = ANY(parties) OR jurisdiction_id = ANY($9::text[]))
           AND ($10::text IS NULL OR $10 = ANY(resources))
         ORDER BY create_time, id LIMIT $11"
    ))
    .bind(after_time)
    .bind(after_id)
    .bind(f.jurisdiction)
    .bind(f.operator)
    .bind(f.agreement)
    .bind(f.reviewer_organization)
    .bind(i16::try_from(f.state).unwrap_or(0))
    .bind(f.visible_to)
    .bind(f.supervised.unwrap_or_default())
    .bind(f.resource)
    .bind(f.size + 1)
    .fetch_all(pool)
    .await?;
    Ok(documents::page(rows, f.size))
}

/// The states of the named applications that exist (a product review's scenarios, S-HN Art.15).
pub async fn states(
    tx: &mut Tx,
    names_: &[String],
) -> Result<Vec<(String, ScenarioApplicationState)>, Error> {
    let ids: Vec<String> = names_.iter().map(|n| column(n, COLLECTION)).collect();
    let rows: Vec<(String, i16)> =
        sqlx::query_as("SELECT id, state FROM scenario_applications WHERE id = ANY($1)")
            .bind(&ids)
            .fetch_all(&mut **tx)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(id, state)| {
            (
                format!("{COLLECTION}/{id}"),
                ScenarioApplicationState::try_from(i32::from(state)).unwrap_or_default(),
            )
        })
        .collect())
}
