//! The `developer_admissions` table: an admission as its message, with its parties, developer, operator,
//! agreement and state as columns; and the read-model facts only admissions need (products, the developer's
//! blacklist entries and credit status).

use chrono::{DateTime, Utc};
use pdop_kit::names;
use pdop_proto::registry::events::v1::ProductSnapshot;
use pdop_proto::review::v1::{DeveloperAdmission, DeveloperAdmissionState as State};
use prost::Message;

use super::documents::{self, COLUMNS, column};
use super::{Tx, id_of};
use crate::domain::admission::{COLLECTION, Parties, Standing};
use crate::domain::{Error, ErrorReason};

documents::document!(
    DeveloperAdmission,
    "developer_admissions",
    COLLECTION,
    ErrorReason::DeveloperAdmissionNotFound
);

pub async fn lock(tx: &mut Tx, name: &str, etag: &str, field: &str) -> Result<DeveloperAdmission, Error> {
    documents::lock(tx, name, etag, field).await
}

pub async fn read(pool: &sqlx::PgPool, name: &str) -> Result<DeveloperAdmission, Error> {
    documents::read(pool, name).await
}

/// The references the admission's events carry, with display names (R-RV-11).
pub async fn parties(tx: &mut Tx, a: &DeveloperAdmission) -> Result<Parties, Error> {
    Ok(Parties {
        developer: super::facts::organization(tx, &a.developer).await?,
        operator: super::facts::organization(tx, &a.operator).await?,
        jurisdiction: super::facts::jurisdiction(tx, &a.jurisdiction).await?,
    })
}

fn party_ids(a: &DeveloperAdmission) -> Vec<String> {
    let mut p: Vec<String> = [a.developer.as_str(), a.operator.as_str()]
        .into_iter()
        .chain(a.reviewers.iter().map(|s| s.organization.as_str()))
        .filter_map(|o| names::parse(o, "organizations"))
        .map(str::to_owned)
        .collect();
    p.sort();
    p.dedup();
    p
}

/// The unique index keeps one open admission per developer and operator, also under concurrent requests.
fn open_exists(a: &DeveloperAdmission) -> impl FnOnce(sqlx::Error) -> Error + '_ {
    move |e| {
        if pdop_kit::handling::is_unique_violation(&e) {
            Error::refused(
                ErrorReason::AdmissionOpen,
                format!(
                    "{} already has an open admission to {}; withdraw it or wait for its decision",
                    a.developer, a.operator
                ),
            )
        } else {
            e.into()
        }
    }
}

pub async fn insert(
    tx: &mut Tx,
    a: &DeveloperAdmission,
    now: DateTime<Utc>,
) -> Result<DeveloperAdmission, Error> {
    let id = id_of(&a.name, COLLECTION, "name")?;
    let row = sqlx::query_as::<_, documents::Row>(&format!(
        "INSERT INTO developer_admissions
             (id, jurisdiction_id, developer_id, operator_id, agreement_id, state, parties, body, create_time,
              update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(column(&a.jurisdiction, "jurisdictions"))
    .bind(column(&a.developer, "organizations"))
    .bind(column(&a.operator, "organizations"))
    .bind(column(&a.agreement, "agreements"))
    .bind(i16::try_from(a.state).unwrap_or(0))
    .bind(party_ids(a))
    .bind(documents::stored(a))
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(open_exists(a))?;
    Ok(row.into_document())
}

pub async fn save(
    tx: &mut Tx,
    a: &DeveloperAdmission,
    now: DateTime<Utc>,
) -> Result<DeveloperAdmission, Error> {
    let id = id_of(&a.name, COLLECTION, "name")?;
    let row = sqlx::query_as::<_, documents::Row>(&format!(
        "UPDATE developer_admissions SET state = $2, parties = $3, body = $4, update_time = $5,
             version = version + 1
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(i16::try_from(a.state).unwrap_or(0))
    .bind(party_ids(a))
    .bind(documents::stored(a))
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(open_exists(a))?;
    Ok(row.into_document())
}

/// The open admission of `developer` to `operator`, if any (§2.7).
pub async fn open_of(tx: &mut Tx, developer: &str, operator: &str) -> Result<Option<String>, Error> {
    let id: Option<String> = sqlx::query_scalar(
        "SELECT id FROM developer_admissions
         WHERE developer_id = $1 AND operator_id = $2 AND state IN (1, 2, 3, 4, 5) LIMIT 1",
    )
    .bind(column(developer, "organizations"))
    .bind(column(operator, "organizations"))
    .fetch_optional(&mut **tx)
    .await?;
    Ok(id.map(|id| format!("{COLLECTION}/{id}")))
}

/// The ADMITTED admissions under the operator agreement `agreement_id` (R-RV-15), or of `developer_id`.
pub async fn admitted(
    tx: &mut Tx,
    agreement_id: Option<&str>,
    developer_id: Option<&str>,
) -> Result<Vec<String>, Error> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM developer_admissions
         WHERE state = $1 AND ($2::text IS NULL OR agreement_id = $2) AND ($3::text IS NULL OR developer_id = $3)
         ORDER BY id",
    )
    .bind(State::Admitted as i16)
    .bind(agreement_id)
    .bind(developer_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(ids.into_iter().map(|id| format!("{COLLECTION}/{id}")).collect())
}

pub struct Filter<'a> {
    pub jurisdiction: Option<&'a str>,
    pub developer: Option<&'a str>,
    pub operator: Option<&'a str>,
    pub reviewer_organization: Option<&'a str>,
    pub state: i32,
    pub visible_to: &'a str,
    pub supervised: Vec<String>,
    pub size: i64,
    pub after: Option<(DateTime<Utc>, String)>,
}

pub async fn list(pool: &sqlx::PgPool, f: Filter<'_>) -> Result<(Vec<DeveloperAdmission>, String), Error> {
    let (after_time, after_id) = f.after.unzip();
    let rows = sqlx::query_as::<_, documents::Row>(&format!(
        "SELECT {COLUMNS} FROM developer_admissions
         WHERE ($1::timestamptz IS NULL OR (create_time, id) > ($1, $2))
           AND ($3::text IS NULL OR jurisdiction_id = $3)
           AND ($4::text IS NULL OR developer_id = $4)
           AND ($5::text IS NULL OR operator_id = $5)
           AND ($6::text IS NULL OR $6 = ANY(parties))
           AND ($7::smallint = 0 OR state = $7)
           AND ($8::text = ANY(parties) OR jurisdiction_id = ANY($9::text[]))
         ORDER BY create_time, id LIMIT $10"
    ))
    .bind(after_time)
    .bind(after_id)
    .bind(f.jurisdiction)
    .bind(f.developer)
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

/// Each requested product as announced (NOT_FOUND for one never announced), in order.
pub async fn products(tx: &mut Tx, requested: &[String], field: &str) -> Result<Vec<ProductSnapshot>, Error> {
    let mut out = Vec::with_capacity(requested.len());
    for (i, name) in requested.iter().enumerate() {
        let id = id_of(name, "products", &format!("{field}[{i}]"))?;
        let body: Option<Vec<u8>> = sqlx::query_scalar("SELECT body FROM products WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
        let body = body.ok_or_else(|| Error::not_found(ErrorReason::ProductNotFound, name))?;
        out.push(ProductSnapshot::decode(body.as_slice()).map_err(|e| Error::Internal(e.into()))?);
    }
    Ok(out)
}

/// The providers of the products' source resources (Laiyuan's 数源单位 seats, S-LY §三(三)2).
pub async fn providers(tx: &mut Tx, products: &[ProductSnapshot]) -> Result<Vec<String>, Error> {
    let ids: Vec<String> = products
        .iter()
        .flat_map(|p| p.source_resources.iter())
        .map(|r| column(r, "resources"))
        .collect();
    let providers: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT provider_id FROM resources WHERE id = ANY($1) AND provider_id <> '' ORDER BY provider_id",
    )
    .bind(ids)
    .fetch_all(&mut **tx)
    .await?;
    Ok(providers
        .into_iter()
        .map(|p| format!("organizations/{p}"))
        .collect())
}

/// The developer's active blacklist entries and credit status as the registry announced them (R-RV-17).
pub async fn standing(tx: &mut Tx, developer: &str) -> Result<Standing, Error> {
    let id = column(developer, "organizations");
    let entries: Vec<(String, i16)> =
        sqlx::query_as("SELECT id, action FROM blacklist WHERE organization_id = $1 AND active ORDER BY id")
            .bind(&id)
            .fetch_all(&mut **tx)
            .await?;
    let credit: Option<i16> = sqlx::query_scalar("SELECT credit_status FROM organizations WHERE id = $1")
        .bind(&id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(Standing {
        entries: entries.into_iter().map(|(n, a)| (n, i32::from(a))).collect(),
        credit_status: i32::from(credit.unwrap_or(0)),
    })
}
