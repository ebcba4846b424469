//! The registry facts every other service keeps as a read model, because none of them calls the registry: the
//! jurisdictions (with their rule profile and parent, which `scope` walks) and the organizations (with their roles,
//! credit status and display name). Each service's migration creates the two tables:
//!
//! ```sql
//! CREATE TABLE jurisdictions (id text PRIMARY KEY, profile_id text NOT NULL, parent_id text,
//!                             body bytea NOT NULL);  -- pdop.common.v1.JurisdictionRef
//! CREATE TABLE organizations (id text PRIMARY KEY, jurisdiction_id text NOT NULL, roles smallint[] NOT NULL,
//!                             credit_status smallint NOT NULL, body bytea NOT NULL);  -- OrganizationRef
//! ```
//!
//! Applying an event twice leaves the same row.

use std::sync::Arc;

use pdop_proto::common::{JurisdictionRef, OrganizationRef};
use pdop_proto::registry::events::v1 as rev;
use pdop_rules::{Profile, Profiles};
use prost::Message;
use sqlx::PgExecutor;

use crate::names;
use crate::service_error::{Error, Reason};

/// Applies a registry jurisdiction or organization event (`pdop.registry.<aggregate>.<fact>`); `false` for any
/// other event, which the caller handles.
pub async fn apply(
    tx: &mut crate::uow::Tx,
    aggregate: &str,
    fact: &str,
    payload: &[u8],
) -> Result<bool, crate::events::HandleError> {
    match (aggregate, fact) {
        ("jurisdiction", "created") => {
            let e = rev::JurisdictionCreated::decode(payload)?;
            upsert_jurisdiction(&mut **tx, e.jurisdiction.as_ref(), &e.parent).await?;
        }
        ("jurisdiction", "updated") => {
            let e = rev::JurisdictionUpdated::decode(payload)?;
            upsert_jurisdiction(&mut **tx, e.jurisdiction.as_ref(), &e.parent).await?;
        }
        ("organization", "created") => {
            let e = rev::OrganizationCreated::decode(payload)?;
            let (o, j) = (e.organization.as_ref(), e.jurisdiction.as_ref());
            upsert_organization(&mut **tx, o, j, e.credit_status).await?;
        }
        ("organization", "updated") => {
            let e = rev::OrganizationUpdated::decode(payload)?;
            let (o, j) = (e.organization.as_ref(), e.jurisdiction.as_ref());
            upsert_organization(&mut **tx, o, j, e.credit_status).await?;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// The profile `jurisdiction` is bound to; NOT_FOUND (`not_found`) while the registry has not announced it.
pub async fn profile<'e, R: Reason>(
    db: impl PgExecutor<'e>,
    profiles: &Profiles,
    jurisdiction: &str,
    not_found: R,
) -> Result<Arc<Profile>, Error<R>> {
    let profile_id = profile_id(db, jurisdiction)
        .await?
        .ok_or_else(|| Error::not_found(not_found, jurisdiction))?;
    profiles.shared(&profile_id).ok_or_else(|| {
        Error::Internal(anyhow::anyhow!(
            "{jurisdiction} is bound to unknown profile {profile_id}"
        ))
    })
}

/// Records a jurisdiction announced by `JurisdictionCreated` / `JurisdictionUpdated`.
pub async fn upsert_jurisdiction<'e>(
    db: impl PgExecutor<'e>,
    j: Option<&JurisdictionRef>,
    parent: &str,
) -> Result<(), sqlx::Error> {
    let Some(j) = j else { return Ok(()) };
    let Some(id) = names::parse(&j.name, "jurisdictions") else {
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO jurisdictions (id, profile_id, parent_id, body) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET profile_id = excluded.profile_id, parent_id = excluded.parent_id,
                                        body = excluded.body",
    )
    .bind(id)
    .bind(&j.profile_id)
    .bind(names::parse(parent, "jurisdictions"))
    .bind(j.encode_to_vec())
    .execute(db)
    .await?;
    Ok(())
}

/// Records an organization announced by `OrganizationCreated` / `OrganizationUpdated`.
pub async fn upsert_organization<'e>(
    db: impl PgExecutor<'e>,
    o: Option<&OrganizationRef>,
    j: Option<&JurisdictionRef>,
    credit_status: i32,
) -> Result<(), sqlx::Error> {
    let Some(o) = o else { return Ok(()) };
    let Some(id) = names::parse(&o.name, "organizations") else {
        return Ok(());
    };
    let roles: Vec<i16> = o.roles.iter().map(|r| i16::try_from(*r).unwrap_or(0)).collect();
    let jurisdiction = j
        .and_then(|j| names::parse(&j.name, "jurisdictions"))
        .unwrap_or_default();
    sqlx::query(
        "INSERT INTO organizations (id, jurisdiction_id, roles, credit_status, body) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET jurisdiction_id = excluded.jurisdiction_id, roles = excluded.roles,
                                        credit_status = excluded.credit_status, body = excluded.body",
    )
    .bind(id)
    .bind(jurisdiction)
    .bind(roles)
    .bind(i16::try_from(credit_status).unwrap_or(0))
    .bind(o.encode_to_vec())
    .execute(db)
    .await?;
    Ok(())
}

/// The id of the profile `jurisdiction` is bound to; `None` until the registry announced it.
pub async fn profile_id<'e>(
    db: impl PgExecutor<'e>,
    jurisdiction: &str,
) -> Result<Option<String>, sqlx::Error> {
    let id = names::parse(jurisdiction, "jurisdictions").unwrap_or_default();
    sqlx::query_scalar("SELECT profile_id FROM jurisdictions WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await
}

/// The organization as announced (with its display name and roles), or `None`.
pub async fn known_organization<'e>(
    db: impl PgExecutor<'e>,
    name: &str,
) -> Result<Option<OrganizationRef>, sqlx::Error> {
    let id = names::parse(name, "organizations").unwrap_or_default();
    let body: Option<Vec<u8>> = sqlx::query_scalar("SELECT body FROM organizations WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await?;
    Ok(body.and_then(|b| OrganizationRef::decode(b.as_slice()).ok()))
}

/// The organization as announced, or a bare reference (its name only) when it was not.
pub async fn organization<'e>(db: impl PgExecutor<'e>, name: &str) -> Result<OrganizationRef, sqlx::Error> {
    Ok(known_organization(db, name)
        .await?
        .unwrap_or_else(|| OrganizationRef {
            name: name.to_owned(),
            ..Default::default()
        }))
}

/// The jurisdiction as announced, or a bare reference when it was not.
pub async fn jurisdiction<'e>(db: impl PgExecutor<'e>, name: &str) -> Result<JurisdictionRef, sqlx::Error> {
    let id = names::parse(name, "jurisdictions").unwrap_or_default();
    let body: Option<Vec<u8>> = sqlx::query_scalar("SELECT body FROM jurisdictions WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await?;
    Ok(body
        .and_then(|b| JurisdictionRef::decode(b.as_slice()).ok())
        .unwrap_or_else(|| JurisdictionRef {
            name: name.to_owned(),
            ..Default::default()
        }))
}

/// The ids of `jurisdiction` and every jurisdiction below it (what a supervisor lists).
pub async fn below<'e>(db: impl PgExecutor<'e>, jurisdiction: &str) -> Result<Vec<String>, sqlx::Error> {
    let Some(id) = names::parse(jurisdiction, "jurisdictions") else {
        return Ok(Vec::new());
    };
    sqlx::query_scalar(
        "WITH RECURSIVE down (id, depth) AS (
             SELECT $1::text, 0
             UNION ALL
             SELECT j.id, down.depth + 1 FROM jurisdictions j JOIN down ON j.parent_id = down.id WHERE down.depth < 16
         )
         SELECT DISTINCT id FROM down",
    )
    .bind(id)
    .fetch_all(db)
    .await
}
