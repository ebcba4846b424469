//! The `data_use_applications` table: the application as its message, with its jurisdiction, operator,
//! agreement, scenario, kind, state, parties, providers and resources as columns.

use chrono::{DateTime, Utc};
use pdop_kit::names;
use pdop_proto::review::v1::{DataUseApplication, DataUseApplicationState as State};

use super::documents::{self, COLUMNS, column};
use super::{Tx, facts, id_of};
use crate::domain::data_use::{self, COLLECTION, Parties};
use crate::domain::{Error, ErrorReason};

documents::document!(
    DataUseApplication,
    "data_use_applications",
    COLLECTION,
    ErrorReason::DataUseApplicationNotFound
);

/// The application `name` (the request's `field`), locked for a change, with the caller's etag checked.
pub async fn lock(tx: &mut Tx, name: &str, etag: &str, field: &str) -> Result<DataUseApplication, Error> {
    documents::lock(tx, name, etag, field).await
}

/// The application `name`, read from the pool with no transaction.
pub async fn read(pool: &sqlx::PgPool, name: &str) -> Result<DataUseApplication, Error> {
    documents::read(pool, name).await
}

fn ids<'a>(names: impl Iterator<Item = &'a str>, collection: &str) -> Vec<String> {
    let mut out: Vec<String> = names
        .filter_map(|n| names::parse(n, collection))
        .map(str::to_owned)
        .collect();
    out.sort();
    out.dedup();
    out
}

fn parties(a: &DataUseApplication) -> Vec<String> {
    let orgs = [a.operator.as_str(), a.co_applicant.as_str()]
        .into_iter()
        .chain(a.items.iter().map(|i| i.provider.as_str()))
        .chain(a.reviewers.iter().map(|s| s.organization.as_str()));
    ids(orgs, "organizations")
}

pub async fn insert(
    tx: &mut Tx,
    a: &DataUseApplication,
    now: DateTime<Utc>,
) -> Result<DataUseApplication, Error> {
    let id = id_of(&a.name, COLLECTION, "name")?;
    let row = sqlx::query_as::<_, documents::Row>(&format!(
        "INSERT INTO data_use_applications
             (id, jurisdiction_id, operator_id, agreement_id, scenario_id, kind, state, parties, providers, resources,
              body, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(column(&a.jurisdiction, "jurisdictions"))
    .bind(column(&a.operator, "organizations"))
    .bind(column(&a.agreement, "agreements"))
    .bind(column(&a.scenario_application, "scenarioApplications"))
    .bind(i16::try_from(a.kind).unwrap_or(0))
    .bind(i16::try_from(a.state).unwrap_or(0))
    .bind(parties(a))
    .bind(ids(a.items.iter().map(|i| i.provider.as_str()), "organizations"))
    .bind(ids(a.items.iter().map(|i| i.resource.as_str()), "resources"))
    .bind(documents::stored(a))
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.into_document())
}

pub async fn save(
    tx: &mut Tx,
    a: &DataUseApplication,
    now: DateTime<Utc>,
) -> Result<DataUseApplication, Error> {
    let id = id_of(&a.name, COLLECTION, "name")?;
    let row = sqlx::query_as::<_, documents::Row>(&format!(
        "UPDATE data_use_applications SET state = $2, parties = $3, providers = $4, resources = $5, body = $6,
                                          update_time = $7, version = version + 1
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(i16::try_from(a.state).unwrap_or(0))
    .bind(parties(a))
    .bind(ids(a.items.iter().map(|i| i.provider.as_str()), "organizations"))
    .bind(ids(a.items.iter().map(|i| i.resource.as_str()), "resources"))
    .bind(documents::stored(a))
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.into_document())
}

async fn names_where(tx: &mut Tx, column: &str, id: &str, states: &[State]) -> Result<Vec<String>, Error> {
    let states: Vec<i16> = states.iter().map(|s| *s as i16).collect();
    let ids: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT id FROM data_use_applications WHERE {column} = $1 AND state = ANY($2) ORDER BY id"
    ))
    .bind(id)
    .bind(states)
    .fetch_all(&mut **tx)
    .await?;
    Ok(ids.iter().map(|id| format!("{COLLECTION}/{id}")).collect())
}

/// Names of the applications under a scenario in one of `states` (§2.3: its revocation takes them).
pub async fn under_scenario(tx: &mut Tx, scenario: &str, states: &[State]) -> Result<Vec<String>, Error> {
    let id = names::parse(scenario, "scenarioApplications").unwrap_or_default();
    names_where(tx, "scenario_id", id, states).await
}

/// Names of the applications under an agreement in one of `states` (R-RV-15 revokes the granted ones).
pub async fn under_agreement(tx: &mut Tx, agreement: &str, states: &[State]) -> Result<Vec<String>, Error> {
    let id = names::parse(agreement, "agreements").unwrap_or_default();
    names_where(tx, "agreement_id", id, states).await
}

/// The references the events of `a` carry: applicant, jurisdiction and the providers holding items.
pub async fn parties_of(tx: &mut Tx, a: &DataUseApplication) -> Result<Parties, Error> {
    let mut providers = Vec::new();
    for p in data_use::providers(a) {
        providers.push(facts::organization(tx, &p).await?);
    }
    Ok(Parties {
        operator: facts::organization(tx, &a.operator).await?,
        jurisdiction: facts::jurisdiction(tx, &a.jurisdiction).await?,
        providers,
    })
}

/// What a listing filters on; `visible_to` limits it to applications where the organization is a party, and
/// `supervised` (a supervisor's own jurisdiction and those below) widens it to every application there.
pub struct Filter<'a> {
    pub jurisdiction: Option<&'a str>,
    pub operator: Option<&'a str>,
    pub scenario: Option<&'a str>,
    pub provider: Option<&'a str>,
    pub resource: Option<&'a str>,
    pub kind: i32,
    pub state: i32,
    pub visible_to: &'a str,
    pub supervised: Option<Vec<String>>,
    pub size: i64,
    pub after: Option<(DateTime<Utc>, String)>,
}

pub async fn list(pool: &sqlx::PgPool, f: Filter<'_>) -> Result<(Vec<DataUseApplication>, String), Error> {
    let (after_time, after_id) = f.after.unzip();
    let rows = sqlx::query_as::<_, documents::Row>(&format!(
        "SELECT {COLUMNS} FROM data_use_applications
         WHERE ($1::timestamptz IS NULL OR (create_time, id) > ($1, $2))
           AND ($3::text IS NULL OR jurisdiction_id = $3)
           AND ($4::text IS NULL OR operator_id = $4)
           AND ($5::text IS NULL OR scenario_id = $5)
           AND ($6::text IS NULL OR $6 = ANY(providers))
           AND ($7::text IS NULL OR $7 = ANY(resources))
           AND ($8::smallint = 0 OR kind = $8)
           AND ($9::smallint = 0 OR state = $9)
           AND ($10::text = ANY(parties) OR jurisdiction_id = ANY($11::text[]))
         ORDER BY create_time, id LIMIT $12"
    ))
    .bind(after_time)
    .bind(after_id)
    .bind(f.jurisdiction)
    .bind(f.operator)
    .bind(f.scenario)
    .bind(f.provider)
    .bind(f.resource)
    .bind(i16::try_from(f.kind).unwrap_or(0))
    .bind(i16::try_from(f.state).unwrap_or(0))
    .bind(f.visible_to)
    .bind(f.supervised.unwrap_or_default())
    .bind(f.size + 1)
    .fetch_all(pool)
    .await?;
    Ok(documents::page(rows, f.size))
}
