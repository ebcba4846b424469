//! Reads of the registry read model (`incoming`) in the caller's transaction: profiles, organizations,
//! agreements, and the organizations a campaign evaluates.

use std::sync::Arc;

use chrono::NaiveDate;
use pdop_kit::names;
use pdop_proto::common::{JurisdictionRef, OrganizationRef, OrganizationRole};
use pdop_proto::registry::events::v1::AgreementSummary;
use pdop_rules::{Profile, Profiles};
use prost::Message;

use super::{Tx, id_of};
use crate::domain::{Error, ErrorReason};

/// The profile `jurisdiction` is bound to; NOT_FOUND when the registry has not announced it (yet).
pub async fn profile(tx: &mut Tx, profiles: &Profiles, jurisdiction: &str) -> Result<Arc<Profile>, Error> {
    pdop_kit::readmodel::profile(
        &mut **tx,
        profiles,
        jurisdiction,
        ErrorReason::JurisdictionNotFound,
    )
    .await
}

/// The ids of the caller's jurisdiction and every jurisdiction below it (what a supervisor lists).
pub async fn supervised(pool: &sqlx::PgPool, jurisdiction: &str) -> Result<Vec<String>, Error> {
    Ok(pdop_kit::readmodel::below(pool, jurisdiction).await?)
}

/// The organization as announced (with its display name), or a bare reference when it was not.
pub async fn organization(tx: &mut Tx, name: &str) -> Result<OrganizationRef, Error> {
    Ok(pdop_kit::readmodel::organization(&mut **tx, name).await?)
}

/// The organization `name` (the request's `field`) must have been announced.
pub async fn known_organization(tx: &mut Tx, name: &str, field: &str) -> Result<OrganizationRef, Error> {
    id_of(name, "organizations", field)?;
    pdop_kit::readmodel::known_organization(&mut **tx, name)
        .await?
        .ok_or_else(|| Error::not_found(ErrorReason::OrganizationNotFound, name))
}

pub async fn jurisdiction(tx: &mut Tx, name: &str) -> Result<JurisdictionRef, Error> {
    Ok(pdop_kit::readmodel::jurisdiction(&mut **tx, name).await?)
}

/// The jurisdiction `name` of an organization, `jurisdictions/{id}`, as announced.
pub async fn jurisdiction_of(tx: &mut Tx, organization: &str) -> Result<Option<String>, Error> {
    let id = names::parse(organization, "organizations").unwrap_or_default();
    let j: Option<String> = sqlx::query_scalar("SELECT jurisdiction_id FROM organizations WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(j.map(|j| format!("jurisdictions/{j}")))
}

/// The agreement `name` (the request's `field`); NOT_FOUND until the registry announced it.
pub async fn agreement(tx: &mut Tx, name: &str, field: &str) -> Result<AgreementSummary, Error> {
    let id = id_of(name, "agreements", field)?;
    let body: Option<Vec<u8>> = sqlx::query_scalar("SELECT body FROM agreements WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    let body = body.ok_or_else(|| Error::not_found(ErrorReason::AgreementNotFound, name))?;
    AgreementSummary::decode(body.as_slice()).map_err(|e| Error::Internal(e.into()))
}

/// Operators with an agreement of `jurisdiction` in force at some day of `from..=until`, each with that
/// agreement (the latest if several), as (`organizations/…`, `agreements/…`).
pub async fn operators_active(
    tx: &mut Tx,
    jurisdiction: &str,
    from: NaiveDate,
    until: NaiveDate,
) -> Result<Vec<(String, String)>, Error> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT ON (operator_id) operator_id, id FROM agreements
         WHERE jurisdiction_id = $1 AND activated AND active_from <= $3 AND COALESCE(active_until, $2) >= $2
         ORDER BY operator_id, active_from DESC, id DESC",
    )
    .bind(names::parse(jurisdiction, "jurisdictions").unwrap_or_default())
    .bind(from)
    .bind(until)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(o, a)| (format!("organizations/{o}"), format!("agreements/{a}")))
        .collect())
}

/// Developers with a developer agreement of `operator` in `jurisdiction` in force at some day of `from..=until`, each with that
/// developer agreement (the latest if several).
pub async fn developers_active(
    tx: &mut Tx,
    operator: &str,
    jurisdiction: &str,
    from: NaiveDate,
    until: NaiveDate,
) -> Result<Vec<(String, String)>, Error> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT ON (developer_id) developer_id, id FROM developer_agreements
         WHERE operator_id = $1 AND jurisdiction_id = $4 AND active_from <= $3 AND COALESCE(active_until, $2) >= $2
         ORDER BY developer_id, active_from DESC, id DESC",
    )
    .bind(names::parse(operator, "organizations").unwrap_or_default())
    .bind(from)
    .bind(until)
    .bind(names::parse(jurisdiction, "jurisdictions").unwrap_or_default())
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(d, a)| (format!("organizations/{d}"), format!("developerAgreements/{a}")))
        .collect())
}

/// The organizations of `jurisdiction` holding `role`, by name.
pub async fn holders(tx: &mut Tx, jurisdiction: &str, role: OrganizationRole) -> Result<Vec<String>, Error> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM organizations WHERE jurisdiction_id = $1 AND $2 = ANY(roles) ORDER BY id",
    )
    .bind(names::parse(jurisdiction, "jurisdictions").unwrap_or_default())
    .bind(role as i16)
    .fetch_all(&mut **tx)
    .await?;
    Ok(ids.into_iter().map(|id| format!("organizations/{id}")).collect())
}
