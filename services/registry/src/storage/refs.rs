//! What a registration's decisions read of organizations and jurisdictions: the references its events carry,
//! the rule profile its jurisdiction is bound to, its division code and its ancestry (THREATS H2).

use std::sync::Arc;

use pdop_kit::scope::Ancestry;
use pdop_proto::common::{JurisdictionRef, OrganizationRef};
use pdop_proto::registry::v1::Registration;
use pdop_rules::{Profile, Profiles};

use super::{Tx, id_of};
use crate::domain::registration::Parties;
use crate::domain::{Error, ErrorReason};
use crate::names;

#[derive(sqlx::FromRow)]
struct Organization {
    id: String,
    display_name: String,
    uscc: String,
    roles: Vec<i16>,
}

/// The reference of the organization `name`; NOT_FOUND if absent, a violation on `field` if malformed.
pub async fn organization(tx: &mut Tx, name: &str, field: &str) -> Result<OrganizationRef, Error> {
    let id = id_of(name, "organizations", field)?;
    let row = sqlx::query_as::<_, Organization>(
        "SELECT id, display_name, uscc, roles FROM organizations WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| Error::not_found(ErrorReason::OrganizationNotFound, name))?;
    Ok(OrganizationRef {
        name: names::organization(&row.id),
        display_name: row.display_name,
        unified_social_credit_code: row.uscc,
        roles: row.roles.into_iter().map(i32::from).collect(),
    })
}

#[derive(sqlx::FromRow)]
struct Jurisdiction {
    id: String,
    display_name: String,
    level: i16,
    profile_id: String,
    division_code: String,
}

/// The reference of the jurisdiction `name`; NOT_FOUND if absent, a violation on `field` if malformed.
pub async fn jurisdiction(tx: &mut Tx, name: &str, field: &str) -> Result<JurisdictionRef, Error> {
    let id = id_of(name, "jurisdictions", field)?;
    let row = sqlx::query_as::<_, Jurisdiction>(
        "SELECT id, display_name, level, profile_id, division_code FROM jurisdictions WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| Error::not_found(ErrorReason::JurisdictionNotFound, name))?;
    Ok(JurisdictionRef {
        name: names::jurisdiction(&row.id),
        display_name: row.display_name,
        level: i32::from(row.level),
        profile_id: row.profile_id,
        division_code: row.division_code,
    })
}

/// The references the events of `reg` carry: applicant, registrant, jurisdiction.
pub async fn parties(tx: &mut Tx, reg: &Registration) -> Result<Parties, Error> {
    Ok(Parties {
        applicant: organization(tx, &reg.applicant, "applicant").await?,
        registrant: organization(tx, &reg.registrant, "registrant").await?,
        jurisdiction: jurisdiction(tx, &reg.jurisdiction, "jurisdiction").await?,
    })
}

/// The rule profile of the jurisdiction `id` (DOMAIN §6); a jurisdiction bound to no known profile is internal.
pub async fn profile_of(tx: &mut Tx, profiles: &Profiles, id: &str) -> Result<Arc<Profile>, Error> {
    let profile_id: String = sqlx::query_scalar("SELECT profile_id FROM jurisdictions WHERE id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    profiles.shared(&profile_id).ok_or_else(|| {
        Error::Internal(anyhow::anyhow!(
            "jurisdiction {id} is bound to unknown profile {profile_id}"
        ))
    })
}

/// The profile of the jurisdiction a registration belongs to.
pub async fn profile_of_registration(
    tx: &mut Tx,
    profiles: &Profiles,
    reg: &Registration,
) -> Result<Arc<Profile>, Error> {
    profile_of(
        tx,
        profiles,
        reg.jurisdiction.trim_start_matches("jurisdictions/"),
    )
    .await
}

/// The division code that goes into a code (GB/T 2260), or the jurisdiction id when it has none.
pub async fn division(tx: &mut Tx, reg: &Registration) -> Result<String, Error> {
    let j = jurisdiction(tx, &reg.jurisdiction, "jurisdiction").await?;
    let id = reg.jurisdiction.trim_start_matches("jurisdictions/");
    Ok(if j.division_code.is_empty() {
        id.to_uppercase()
    } else {
        j.division_code
    })
}

/// The registration's jurisdiction and its ancestors, for the scope check (THREATS H2).
pub async fn ancestry(tx: &mut Tx, reg: &Registration) -> Result<Ancestry, Error> {
    Ok(pdop_kit::scope::ancestry(&mut **tx, &reg.jurisdiction).await?)
}
